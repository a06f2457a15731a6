// Turns the tensors of opened model files into DecoderWeights on a backend: checks every tensor the decoder needs
// is present with the expected shape, undoes the GGUF Q/K row permutation, uploads: matrices in their file's storage
// type (Backend::upload_weight decides what it keeps) or, for the fp32 reference, dequantized to fp32.
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

// Native: 2-D weights go to Backend::upload_weight as stored (the CPU keeps GGML blocks and 16-bit types); F32:
// everything dequantized to fp32 first (the reference quantized execution is compared against). 1-D tensors
// (norms, biases) are fp32 either way.
enum class WeightStorage { Native, F32 };

using WeightProgress = std::function<void(double fraction, const std::string& tensor)>;
DecoderWeights load_decoder_weights(const ModelFiles& files, Backend& backend, const WeightProgress& progress = {},
                                    const std::atomic<bool>* cancel = nullptr,
                                    WeightStorage storage = WeightStorage::Native);

// GGUF llama → HF row order for a Q or K projection [n_heads·head_dim, in] (in place).
void unpermute_rope_rows(std::vector<float>& w, int n_heads, int head_dim, int64_t cols);
// The same on rows of row_bytes bytes each (block-quantized rows move whole).
void unpermute_rope_rows(std::vector<std::byte>& w, int n_heads, int head_dim, int64_t row_bytes);

}  // namespace flux::engine
