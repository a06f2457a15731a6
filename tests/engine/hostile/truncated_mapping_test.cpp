// A model file truncated by another process while we have it mapped: touching a lost page used to raise SIGBUS and
// kill the process (CLI and app). Now the lost pages read as zeros (mapping_guard.h) and every reader learns it from
// MappedFile::check_unchanged — the loader after its copy, Engine::run before, after prefill and after each decode
// step (the CPU backend keeps native weights in place, so decode reads the file's pages). Each test truncates for
// real (ftruncate on a copy), so a missing guard shows as the test binary dying with SIGBUS.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <thread>
#include <vector>

#include "engine/core/mapped_file.h"
#include "engine/model/model_files.h"
#include "engine/model/weight_loader.h"
#include "engine/runtime/engine.h"
#include "tests/engine/support/error_of.h"
#include "tests/engine/support/gguf_builder.h"
#include "tests/engine/support/skip_under_asan.h"

namespace flux::engine {
namespace {

namespace fs = std::filesystem;
using flux::test::error_of;

fs::path copy_to_temp(const fs::path& src, const std::string& name) {
  const fs::path dst = flux::test::test_temp_dir() / name;
  fs::copy_file(src, dst, fs::copy_options::overwrite_existing);
  return dst;
}

void truncate_to(const fs::path& path, std::size_t bytes) {
  ASSERT_EQ(::truncate(path.c_str(), static_cast<off_t>(bytes)), 0) << path;
}

TEST(TruncatedMapping, LostPagesReadAsZerosOnAnyThreadAndAreReported) {
  const fs::path path = flux::test::write_test_file("trunc/plain.bin", std::vector<uint8_t>(1 << 20, 0xAB));
  const MappedFile file(path);
  EXPECT_NO_THROW(file.check_unchanged());
  truncate_to(path, 10000);
  const std::byte* data = file.bytes().data();
  EXPECT_EQ(data[100], std::byte{0xAB});  // still backed by the file
  std::vector<int> seen(4, -1);
  std::vector<std::thread> readers;
  for (int t = 0; t < 4; ++t)  // OpenMP workers touch weights too: the handler is per process, not per thread
    readers.emplace_back([&, t] { seen[t] = static_cast<int>(data[(1 << 19) + t * 70000]); });
  for (auto& r : readers) r.join();
  EXPECT_EQ(seen, std::vector<int>(4, 0));
  const std::string e = error_of([&] { file.check_unchanged(); });
  EXPECT_ERROR(e, "changed while it was being read (truncated to 10000 bytes, was 1048576)");
  EXPECT_ERROR(e, path.string());
}

TEST(TruncatedMapping, GrownOrRewrittenFilesAreReportedToo) {
  const fs::path path = flux::test::write_test_file("trunc/grown.bin", std::vector<uint8_t>(8192, 1));
  const MappedFile file(path);
  truncate_to(path, 9000);
  EXPECT_ERROR(error_of([&] { file.check_unchanged(); }), "(now 9000 bytes, was 8192)");
  const fs::path same = flux::test::write_test_file("trunc/same.bin", std::vector<uint8_t>(8192, 1));
  const MappedFile rewritten(same);
  struct timespec times[2] = {{0, UTIME_OMIT}, {12345, 0}};  // a write in place moves the modification time
  ASSERT_EQ(::utimensat(AT_FDCWD, same.c_str(), times, 0), 0);
  EXPECT_ERROR(error_of([&] { rewritten.check_unchanged(); }), "rewritten in place");
}

TEST(TruncatedMapping, ASigbusOutsideGuardedMappingsStillKills) {
  FLUX_SKIP_UNDER_ASAN("it takes SIGBUS itself, so the signal's default action is not what runs");
  GTEST_FLAG_SET(death_test_style, "threadsafe");  // a fresh process: no OpenMP pool forked
  const fs::path path = flux::test::write_test_file("trunc/guarded.bin", std::vector<uint8_t>(8192, 1));
  const MappedFile file(path);  // the handler is installed
  EXPECT_EXIT(::raise(SIGBUS), ::testing::KilledBySignal(SIGBUS), "");
  const fs::path other = flux::test::write_test_file("trunc/unguarded.bin", std::vector<uint8_t>(65536, 1));
  const int fd = ::open(other.c_str(), O_RDONLY);
  void* raw = ::mmap(nullptr, 65536, PROT_READ, MAP_PRIVATE, fd, 0);  // not a MappedFile: not guarded
  ASSERT_NE(raw, MAP_FAILED);
  truncate_to(other, 100);
  EXPECT_EXIT((void)*static_cast<volatile const char*>(static_cast<const char*>(raw) + 40000),
              ::testing::KilledBySignal(SIGBUS), "");
  ::munmap(raw, 65536);
  ::close(fd);
}

TEST(TruncatedMapping, TheLoaderReportsATruncationDuringItsCopy) {
  const fs::path path = copy_to_temp(fs::path(FLUX_TEST_DATA_DIR) / "tiny_llama/tiny_llama.gguf", "loader.gguf");
  const ModelFiles files = ModelFiles::open(path);
  truncate_to(path, 64 * 1024);  // the header survives, the tensor data does not
  auto backend = make_cpu_backend(1);
  const std::string e = error_of([&] {
    (void)load_decoder_weights(files, *backend, {}, nullptr, WeightStorage::F32);  // dequantizes: reads every page
    files.check_unchanged();
  });
  EXPECT_ERROR(e, "changed while it was being read (truncated to 65536 bytes");
}

// Truncates its file when the first token arrives, so decode reads lost pages of weights kept in place.
struct TruncateOnFirstToken : RunObserver {
  fs::path path;
  void on_token(int index, const TokenReport&) override {
    if (index == 0) {
      EXPECT_EQ(::truncate(path.c_str(), 4096), 0);
    }
  }
};

TEST(TruncatedMapping, ARunFailsByNameWhenTheModelIsTruncatedDuringDecode) {
  const fs::path demo = fs::path(FLUX_SOURCE_DIR) / "models/SmolLM2-135M-Instruct.Q4_1.gguf";
  if (!fs::exists(demo)) GTEST_SKIP() << "demo model not present";
  const fs::path path = copy_to_temp(demo, "decode.gguf");
  EngineOptions options;
  options.backend = "cpu";
  options.threads = 2;
  const auto engine = Engine::load(path, options);
  RunRequest request;
  request.prompt = "The capital of France is";
  request.settings.max_new_tokens = 4;
  EXPECT_EQ(engine->run(request).status, "ok");
  TruncateOnFirstToken observer;
  observer.path = path;
  const std::string e = error_of([&] { (void)engine->run(request, &observer); });
  EXPECT_ERROR(e, "changed while it was being read (truncated to 4096 bytes");
  // The engine stays refused, not silently wrong: the next run fails before it starts.
  EXPECT_ERROR(error_of([&] { (void)engine->run(request); }), "load the model again");
}

}  // namespace
}  // namespace flux::engine
