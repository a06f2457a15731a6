// Turns the tensors of opened model files into DecoderWeights on a backend: checks every tensor the decoder needs
// is present with the expected shape, dequantizes to fp32, undoes the GGUF Q/K row permutation, uploads.
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <vector>

#include "engine/backend/backend.h"
#include "engine/model/decoder_weights.h"
#include "engine/model/model_files.h"

namespace flux::engine {

// One tensor the decoder needs: HF name and expected PyTorch shape.
struct RequiredTensor {
  std::string name;
  std::vector<int64_t> shape;
};

// The tensors a decoder with this config needs (lm_head only when embeddings are untied).
std::vector<RequiredTensor> required_tensors(const ModelConfig& config);
// Throws Error naming the first missing tensor or shape mismatch.
void validate_decoder_tensors(const ModelFiles& files);

// Dequantizes one tensor to fp32 in HF layout (GGUF llama Q/K permutation undone).
std::vector<float> load_tensor_f32(const ModelFiles& files, const std::string& hf_name);

using WeightProgress = std::function<void(double fraction, const std::string& tensor)>;
DecoderWeights load_decoder_weights(const ModelFiles& files, Backend& backend, const WeightProgress& progress = {},
                                    const std::atomic<bool>* cancel = nullptr);

// GGUF llama → HF row order for a Q or K projection [n_heads·head_dim, in] (in place).
void unpermute_rope_rows(std::vector<float>& w, int n_heads, int head_dim, int64_t cols);

}  // namespace flux::engine
