// Random-weight models of real shapes, for benchmarks at scale without checkpoints: a preset names the
// architecture's config, and weights are filled on the backend by Backend::random (uniform, std 0.02 like HF's
// initializer_range; norms 1), seeded, so a run is reproducible and no fp32 host copy of 8B parameters exists.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/backend/backend.h"
#include "engine/model/decoder_weights.h"
#include "engine/model/model_config.h"

namespace flux::engine {

// "qwen3-8b", "llama3.1-8b", "smollm2-135m".
std::vector<std::string> random_weight_presets();
// Throws Error listing the presets for an unknown name.
ModelConfig random_preset_config(std::string_view preset);
// Matrices (projections, embeddings) stored as `matrices` (Backend::random_weight; F32: Backend::random).
DecoderWeights make_random_weights(const ModelConfig& config, Backend& backend, uint64_t seed,
                                   StorageType matrices = StorageType::F32);
// --random-quant's names ("q4_k", "q8_0", "bf16", ...; "" = F32) as storage types; throws Error for others.
StorageType random_matrix_type(std::string_view name);
// Parameters of a decoder with this config (embeddings counted once when tied).
int64_t parameter_count(const ModelConfig& config);

}  // namespace flux::engine
