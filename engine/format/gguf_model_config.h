// ModelConfig from a GGUF file's {arch}.* metadata and tensor inventory (llama, qwen2, qwen3).
#pragma once

#include "engine/format/gguf_file.h"
#include "engine/model/model_config.h"

namespace flux::engine {

// Throws Error for an unsupported general.architecture, missing or mistyped keys, or a config failing validate().
ModelConfig model_config_from_gguf(const GgufFile& file);

// True when the file's Q/K projection rows are in llama.cpp's interleaved RoPE order: the HF->GGUF converter
// permutes them for the "llama" architecture only (qwen2/qwen3 keep HF's half-rotation layout).
bool gguf_rope_permuted(const GgufFile& file);

}  // namespace flux::engine
