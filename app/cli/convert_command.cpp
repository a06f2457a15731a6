// `convert --to safetensors OUTDIR`: write a dequantized HF-style model directory (config.json, model.safetensors in
// bf16, tokenizer.json + tokenizer_config.json) that HF transformers loads — for reference checks and router training.
#include <cstdio>
#include <fstream>

#include "app/cli/commands.h"
#include "app/cli/run_options.h"
#include "engine/core/error.h"
#include "engine/format/hf_config.h"
#include "engine/format/safetensors_writer.h"
#include "engine/format/tensor_convert.h"
#include "engine/model/model_files.h"
#include "engine/model/weight_loader.h"
#include "engine/tokenizer/hf_tokenizer_json.h"

namespace flux::cli {
namespace {
namespace fs = std::filesystem;

struct ConvertOptions {
  std::string model;
  std::string to = "safetensors";
  std::string out_dir;
  bool force = false;
};

void write_json(const fs::path& path, const nlohmann::json& j) {
  std::ofstream f(path);
  engine::require(f.good(), "{}: cannot write", path.string());
  f << j.dump(2) << "\n";
  engine::require(f.good(), "{}: write failed", path.string());
}

int run_convert(const ConvertOptions& o) {
  const engine::ModelFiles files = engine::ModelFiles::open(resolve_model_path(o.model));
  engine::validate_decoder_tensors(files);
  const fs::path out = o.out_dir;
  engine::require(o.force || !fs::exists(out / "model.safetensors"),
                  "{}: already holds a model.safetensors (use --force to overwrite)", out.string());
  std::error_code ec;
  fs::create_directories(out, ec);
  engine::require(!ec, "{}: cannot create the directory: {}", out.string(), ec.message());

  const engine::VocabData& vocab = files.vocab();
  engine::HfConfigExtras extras;
  if (vocab.bos_id) extras.bos_token_id = *vocab.bos_id;
  if (vocab.eos_id) extras.eos_token_id = *vocab.eos_id;
  if (vocab.pad_id) extras.pad_token_id = *vocab.pad_id;
  write_json(out / "config.json", engine::hf_config_json(files.config(), extras));
  write_json(out / "tokenizer.json", engine::hf_tokenizer_json(vocab));
  write_json(out / "tokenizer_config.json", engine::hf_tokenizer_config_json(vocab));

  const std::vector<engine::RequiredTensor> tensors = engine::required_tensors(files.config());
  std::vector<engine::SafetensorsTensorSpec> specs;
  for (const auto& t : tensors) specs.push_back({t.name, engine::StorageType::BF16, t.shape});
  engine::SafetensorsWriter writer(out / "model.safetensors", specs, {{"format", "pt"}});
  std::vector<uint16_t> bf16;
  for (const auto& t : tensors) {
    const std::vector<float> data = engine::load_tensor_f32(files, t.name);
    bf16.resize(data.size());
    for (std::size_t i = 0; i < data.size(); ++i) bf16[i] = engine::f32_to_bf16(data[i]);
    writer.write_tensor(t.name, std::as_bytes(std::span(bf16)));
  }
  writer.finish();
  std::fprintf(stderr, "wrote %zu tensors (bf16) and the tokenizer to %s\n", tensors.size(), out.string().c_str());
  return 0;
}

}  // namespace

Command add_convert_command(CLI::App& app) {
  auto o = std::make_shared<ConvertOptions>();
  CLI::App* cmd = app.add_subcommand("convert", "write a dequantized Hugging Face model directory");
  cmd->add_option("-m,--model", o->model, "model to convert (default: the embedded SmolLM2)");
  cmd->add_option("--to", o->to, "output format")->check(CLI::IsMember({"safetensors"}));
  cmd->add_option("out_dir", o->out_dir, "output directory")->required();
  cmd->add_flag("--force", o->force, "overwrite an existing model.safetensors");
  return {cmd, [o] { return run_convert(*o); }};
}

}  // namespace flux::cli
