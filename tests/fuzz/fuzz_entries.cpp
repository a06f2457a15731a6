#include "tests/fuzz/fuzz_entries.h"

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>

#include "engine/core/error.h"
#include "engine/format/gguf_file.h"
#include "engine/format/gguf_model_config.h"
#include "engine/format/gguf_names.h"
#include "engine/format/gguf_vocab.h"
#include "engine/format/hf_config.h"
#include "engine/format/safetensors_file.h"
#include "engine/format/tensor_convert.h"
#include "engine/routing/router_file.h"
#include "engine/routing/route_spec.h"
#include "engine/runtime/run_report.h"
#include "engine/tokenizer/chat_template_jinja.h"
#include "engine/tokenizer/hf_tokenizer_json.h"
#include "engine/tokenizer/tokenizer.h"
#include "tests/fuzz/fuzz_files.h"

namespace flux::fuzz {
namespace {

using engine::Error;

// Runs `body`; a flux::engine::Error is the parser rejecting the input cleanly, anything else propagates (libFuzzer
// reports an uncaught exception as a crash; the replay test fails).
template <typename F>
void expect_clean(F&& body) {
  try {
    body();
  } catch (const Error&) {
  }
}

// Converts every float-convertible tensor, so the quant decoders see the fuzzed bytes too.
void touch_tensors(const std::vector<engine::TensorView>& tensors) {
  for (const auto& t : tensors) {
    if (!engine::is_float_storage(t.type)) continue;
    expect_clean([&] { (void)engine::to_f32(t); });
  }
}

// Encodes and decodes a fixed text with the tokenizer built from `vocab`: special tokens, bytes, and a chat marker.
void exercise_tokenizer(const engine::VocabData& vocab) {
  const auto tok = engine::make_tokenizer(vocab);
  const auto ids = tok->encode("Hello  wörld 123 <|im_start|>user\n\xF0\x9F\x98\x80 \xC3\x28!");
  (void)tok->decode(ids);
  for (const int32_t id : ids) (void)tok->token_text(id);
}

void gguf_file(Bytes data) {
  static MemFile file("gguf");
  expect_clean([&] {
    const engine::GgufFile gguf(file.write(data));
    for (const auto& key : gguf.metadata_keys()) (void)gguf.describe(key);
    for (const auto& t : gguf.tensors()) (void)engine::hf_name_from_gguf(t.name);
    touch_tensors(gguf.tensors());
    expect_clean([&] { (void)engine::model_config_from_gguf(gguf); });
  });
}

void gguf_vocab(Bytes data) {
  static MemFile file("gguf_vocab");
  expect_clean([&] {
    const engine::GgufFile gguf(file.write(data));
    exercise_tokenizer(engine::vocab_from_gguf(gguf));
  });
}

void safetensors_file(Bytes data) {
  static MemFile file("safetensors");
  expect_clean([&] {
    const engine::SafetensorsFile st(file.write(data));
    touch_tensors(st.tensors());
  });
}

// A model folder with two valid shards; the fuzz bytes are its model.safetensors.index.json.
void safetensors_index(Bytes data) {
  static const std::filesystem::path dir = [] {
    const auto d = scratch_dir() / "sharded";
    std::filesystem::create_directories(d / "sub");
    // {"a": F32 [2]} and {"b": F32 [1]} with their data.
    const std::string a = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
    const std::string b = R"({"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})";
    auto shard = [](const std::string& header, std::size_t data_bytes) {
      std::string s(8, '\0');
      const uint64_t n = header.size();
      for (int i = 0; i < 8; ++i) s[static_cast<std::size_t>(i)] = static_cast<char>((n >> (8 * i)) & 0xff);
      return s + header + std::string(data_bytes, '\0');
    };
    write_file(d / "a.safetensors", shard(a, 8));
    write_file(d / "sub" / "b.safetensors", shard(b, 4));
    write_file(scratch_dir() / "outside.safetensors", shard(b, 4));
    return d;
  }();
  write_file(dir / "model.safetensors.index.json", data);
  expect_clean([&] { touch_tensors(engine::SafetensorsModel::open(dir).tensors()); });
}

void hf_config(Bytes data) {
  static MemFile file("config.json");
  expect_clean([&] { (void)engine::model_config_from_hf_file(file.write(data)); });
}

void tokenizer_json(Bytes data) {
  static MemFile file("tokenizer.json");
  expect_clean([&] { exercise_tokenizer(engine::vocab_from_hf_tokenizer_json(file.write(data))); });
}

void router_file(Bytes data) {
  static MemFile file("router");
  expect_clean([&] {
    const engine::LayerRouter router = engine::load_router(file.write(data));
    (void)engine::router_config_json(router.config()).dump();
  });
}

void routing_policy(Bytes data) {
  static MemFile file("route.json");
  expect_clean([&] {
    const auto policy = engine::load_route_file(file.write(data).string());
    (void)engine::resolve(policy, 30, {});
  });
}

// The route text grammar (--route "router sa=triangle override=0-3=FA ..."): a parsed spec must describe itself as
// text that parses back to the same spec (docs/routing.md), and resolve on a 30-layer model or reject cleanly.
void route_spec(Bytes data) {
  const std::string_view text(reinterpret_cast<const char*>(data.data()), data.size());
  expect_clean([&] {
    const engine::RouteSpec spec = engine::parse_route_spec(text);
    const std::string canonical = engine::describe(spec);
    if (engine::describe(engine::parse_route_spec(canonical)) != canonical) std::abort();  // round trip broke
    (void)engine::resolve(spec, 30, {});
  });
  expect_clean([&] { (void)engine::describe_overrides(engine::parse_overrides(text)); });
}

// A model's Jinja chat template (untrusted: it comes with the GGUF or tokenizer_config.json), compiled and rendered
// for a short conversation under the renderer's default limits.
void chat_template(Bytes data) {
  const std::string source(reinterpret_cast<const char*>(data.data()), data.size());
  expect_clean([&] {
    const engine::JinjaChatTemplate t = engine::JinjaChatTemplate::compile(source);
    engine::ChatTemplateInputs in;
    in.messages = {{"system", "Be brief."}, {"user", "Hi <|im_start|> {{ x }}"}, {"assistant", "Hello."},
                   {"user", "Bye"}};
    in.bos_token = "<s>";
    in.eos_token = "</s>";
    in.now = std::time_t{1700000000};
    // Smaller limits than a real render's (4 MiB, 20M steps): the same limit checks trip, only sooner, so a
    // long run explores templates instead of spending seconds per input building values near the size limit.
    in.limits.max_output_bytes = size_t{64} << 10;
    in.limits.max_steps = 200'000;
    (void)t.render(in);
  });
}

// No file import exists for reports: the GUI's comparison view and tests read them through from_json.
void run_report(Bytes data) {
  const auto j = nlohmann::json::parse(data.begin(), data.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return;
  expect_clean([&] {
    const engine::RunReport report = engine::RunReport::from_json(j);
    (void)report.to_json().dump();
    (void)report.to_csv();
  });
}

}  // namespace

const std::vector<Target>& targets() {
  static const std::vector<Target> all = {
      {"gguf_file", gguf_file, 16384},
      {"gguf_vocab", gguf_vocab, 16384},
      {"safetensors_file", safetensors_file, 4096},
      {"safetensors_index", safetensors_index, 2048},
      {"hf_config", hf_config, 4096},
      {"tokenizer_json", tokenizer_json, 8192},
      {"router_file", router_file, 8192},
      {"routing_policy", routing_policy, 1024},
      {"run_report", run_report, 8192},
      {"route_spec", route_spec, 512},
      {"chat_template", chat_template, 4096},
  };
  return all;
}

const Target* find_target(std::string_view name) {
  for (const Target& t : targets())
    if (t.name == name) return &t;
  return nullptr;
}

}  // namespace flux::fuzz
