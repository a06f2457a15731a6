// Reading and writing Layer Routers: our own router file (safetensors + "flux_router" JSON metadata, see
// docs/router-format.md) and the authors' mask_allocator tensors inside an HF checkpoint.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

#include "engine/model/model_config.h"
#include "engine/model/model_files.h"
#include "engine/routing/layer_router.h"

namespace flux::engine {

// Loads our router format; throws Error naming the file and the missing/ill-shaped tensor or config key.
LayerRouter load_router(const std::filesystem::path& path);
void save_router(const LayerRouter& router, const std::filesystem::path& path);

// Throws Error when the router was built for a different layer count, head_dim or KV head count.
void check_router_matches(const LayerRouter& router, const ModelConfig& model);

// The authors' router inside an HF checkpoint (model.layers.{L}.self_attn.mask_allocator.*): the family from the
// tensors' shapes, configured from config.json (toggle_type, retrieval_mode, sink_size, local_window_size,
// triangle_n_last, pooling_mode, pool_size, use_softmax, block_size, mask_temp; PawQwen3Config defaults where absent).
// Flux checkpoints decode in the reference mode by default. nullopt when the checkpoint carries no router tensors;
// Error when it carries some but not all, bad shapes, or a key value the engine does not implement (named).
std::optional<LayerRouter> router_from_checkpoint(const ModelFiles& files, const nlohmann::json* hf_config);
RouterConfig checkpoint_router_config(const nlohmann::json* hf_config, RouterFamily family, bool softmax_head,
                                      const std::string& source);

// The router shipped for a model file, when there is one: "<model>.router.safetensors" next to the model, then
// "<dir>/<stem>.router.safetensors" in each search dir, where <stem> is the model's file name without extension
// and without a trailing quantization tag (SmolLM2-135M-Instruct.Q4_1.gguf → SmolLM2-135M-Instruct).
std::optional<std::filesystem::path> find_default_router(const std::filesystem::path& model_path,
                                                         const std::vector<std::filesystem::path>& search_dirs);
// Where shipped routers live: $FLUXSCOPE_ROUTERS, <exe dir>/../share/fluxscope/resources/routers (installs), and
// the source tree's resources/routers (FLUX_RESOURCES_DIR, so a build tree finds them without installing).
std::vector<std::filesystem::path> default_router_dirs();

// RouterConfig <-> JSON (the "flux_router" metadata object).
nlohmann::json router_config_json(const RouterConfig& config);
RouterConfig router_config_from_json(const nlohmann::json& j, const std::string& source);

}  // namespace flux::engine
