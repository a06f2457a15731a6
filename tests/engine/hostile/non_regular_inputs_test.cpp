// Files that are not regular files, where a model, config, tokenizer, router or route file belongs: a FIFO must be
// refused at once by name (opening one for reading used to wait for a writer forever), a folder and a device too.
// A hang here would show as the test's timeout in CTest.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>

#include "engine/core/input_file.h"
#include "engine/format/hf_config.h"
#include "engine/model/model_files.h"
#include "engine/routing/route_spec.h"
#include "engine/routing/router_file.h"
#include "tests/engine/support/error_of.h"
#include "tests/engine/support/gguf_builder.h"

namespace flux::engine {
namespace {

namespace fs = std::filesystem;
using flux::test::error_of;

// A fresh folder under the test scratch space holding a FIFO called `name`.
fs::path fifo_in(const std::string& folder, const std::string& name) {
  const fs::path dir = flux::test::write_test_file(folder + "/.keep", {}).parent_path();
  const fs::path fifo = dir / name;
  fs::remove(fifo);
  EXPECT_EQ(::mkfifo(fifo.c_str(), 0600), 0) << fifo;
  return fifo;
}

// An HF folder (the tiny Llama test model) whose file `replaced` is a FIFO.
fs::path hf_folder_with_fifo(const std::string& replaced) {
  const fs::path src = fs::path(FLUX_TEST_DATA_DIR) / "tiny_llama";
  const fs::path dir = fifo_in("fifo_hf_" + replaced, replaced).parent_path();
  for (const char* f : {"config.json", "model.safetensors"})
    if (f != replaced) fs::copy_file(src / f, dir / f, fs::copy_options::overwrite_existing);
  return dir;
}

TEST(NonRegularInputs, FifosAreRefusedByName) {
  EXPECT_ERROR(error_of([] { ModelFiles::open(fifo_in("fifo_gguf", "model.gguf")); }), "is a FIFO, not a regular file");
  EXPECT_ERROR(error_of([] { ModelFiles::open(hf_folder_with_fifo("config.json")); }), "is a FIFO");
  EXPECT_ERROR(error_of([] { ModelFiles::open(hf_folder_with_fifo("model.safetensors")); }), "is a FIFO");
  EXPECT_ERROR(error_of([] { model_config_from_hf_file(fifo_in("fifo_cfg", "config.json")); }), "model config");
  EXPECT_ERROR(error_of([] { load_route_file(fifo_in("fifo_route", "route.json").string()); }), "route file");
  EXPECT_ERROR(error_of([] { load_router(fifo_in("fifo_router", "r.router.safetensors")); }), "is a FIFO");
}

TEST(NonRegularInputs, TokenizerFifoIsRefusedByName) {
  const std::string message = error_of([] { ModelFiles::open(hf_folder_with_fifo("tokenizer.json")); });
  EXPECT_ERROR(message, "tokenizer");
  EXPECT_ERROR(message, "is a FIFO");
}

TEST(NonRegularInputs, FoldersAndDevicesAreRefused) {
  const fs::path dir = fifo_in("folder_as_file", "x").parent_path();
  EXPECT_ERROR(error_of([&] { load_route_file(dir.string()); }), "is a folder, not a regular file");
  EXPECT_ERROR(error_of([] { read_input_file("/dev/zero", "prompt file"); }), "is a device");
  EXPECT_ERROR(error_of([] { read_input_file("/nonexistent/x.json", "route file"); }), "cannot open");
}

TEST(NonRegularInputs, ReadsAreBounded) {
  const fs::path big = flux::test::write_test_file("bounded/big.txt", std::vector<uint8_t>(3 << 20, 'a'));
  EXPECT_ERROR(error_of([&] { read_input_file(big, "route file", std::size_t{1} << 20); }), "3.0 MiB, more than");
  EXPECT_EQ(read_input_file(big, "route file").size(), std::size_t{3} << 20);
}

}  // namespace
}  // namespace flux::engine
