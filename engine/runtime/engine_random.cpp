// Engine::load for random-weight presets: the config from the preset, weights generated on the backend, no
// tokenizer, and no router unless one is named (--router FILE: a router of the preset's shape, to time routing on
// the device; its decisions on random weights mean nothing).
#include <spdlog/spdlog.h>

#include "engine/core/error.h"
#include "engine/core/memory_budget.h"
#include "engine/format/ggml_quant.h"
#include "engine/model/random_weights.h"
#include "engine/routing/router_file.h"
#include "engine/runtime/engine.h"

namespace flux::engine {

std::unique_ptr<Engine> Engine::load_random(const EngineOptions& options, const LoadProgress& progress) {
  std::unique_ptr<Engine> e(new Engine());
  const ModelConfig config = random_preset_config(options.random_weights);
  if (progress) progress(0.0, config.name);
  e->backend_ = make_backend(options.backend, options.threads);
  e->backend_->set_kv_dtype(options.cpu_weights == "f32" ? DType::F32 : DType::F16);  // the reference keeps fp32
  e->context_length_ = options.context_length > 0 ? options.context_length : config.context_length;
  e->summary_.name = config.name;
  e->summary_.path = "random:" + options.random_weights;
  e->summary_.format = "random";
  e->summary_.config = config;
  e->summary_.n_params = parameter_count(config);
  const StorageType matrices = random_matrix_type(options.random_quant);
  e->summary_.quantization = matrices != StorageType::F32            ? storage_type_name(matrices)
                             : e->backend_->bytes_per_element() == 2 ? "BF16"
                                                                     : "F32";
  e->summary_.chat_format = "raw";
  if (e->backend_->name() == "cpu") {  // generated in host memory: refuse by size, not by std::bad_alloc midway
    const int64_t unit = 256 * 1024;   // a whole number of blocks of every type
    const double per_param = static_cast<double>(tensor_bytes(matrices, unit)) / static_cast<double>(unit);
    require_memory(static_cast<std::size_t>(per_param * static_cast<double>(e->summary_.n_params)),
                   fmt::format("{}, stored as {},", config.name, e->summary_.quantization));
  }
  e->decoder_ = std::make_unique<Decoder>(config, make_random_weights(config, *e->backend_, options.random_seed, matrices),
                                          *e->backend_);
  if (!options.router_path.empty()) {
    LayerRouter router = load_router(options.router_path);
    check_router_matches(router, config);
    e->router_ = std::move(router);
    e->router_source_ = options.router_path.string();
  }
  e->backend_->synchronize();
  if (progress) progress(1.0, config.name);
  spdlog::info("{}: {} layers, {:.2f} B parameters, seed {}, {} backend", config.name, config.n_layers,
               static_cast<double>(e->summary_.n_params) * 1e-9, options.random_seed, e->backend_->name());
  return e;
}

}  // namespace flux::engine
