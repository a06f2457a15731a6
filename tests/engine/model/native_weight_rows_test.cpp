// Native (block) weights keep the loader's llama GGUF Q/K row permutation: undoing it on whole block rows
// (unpermute_rope_rows on bytes) gives the rows the fp32 path gives, and the CPU backend's stored q_proj multiplies
// as those rows do.
#include <gtest/gtest.h>

#include <filesystem>
#include <vector>

#include "engine/backend/cpu/weight_matmul.h"
#include "engine/backend/cpu_backend.h"
#include "engine/format/ggml_quant.h"
#include "engine/model/weight_loader.h"

namespace flux::engine {
namespace {

TEST(NativeWeightRows, PermutedBlockRowsEqualThePermutedFp32Rows) {
  const std::filesystem::path model = std::filesystem::path(FLUX_SOURCE_DIR) / "models" /
                                      "SmolLM2-135M-Instruct.Q4_1.gguf";
  if (!std::filesystem::exists(model)) GTEST_SKIP() << model << " missing: run tools/fetch-demo-model.sh";
  const ModelFiles files = ModelFiles::open(model);
  ASSERT_TRUE(files.rope_permuted());
  const ModelConfig& c = files.config();
  for (const char* name : {"model.layers.3.self_attn.q_proj.weight", "model.layers.3.self_attn.k_proj.weight"}) {
    const TensorView* t = files.find(name);
    ASSERT_NE(t, nullptr);
    ASSERT_EQ(t->type, StorageType::Q4_1);
    const int64_t rows = t->shape[0], cols = t->shape[1];
    std::vector<std::byte> bytes(t->bytes.begin(), t->bytes.end());
    const bool q = std::string(name).find("q_proj") != std::string::npos;
    unpermute_rope_rows(bytes, q ? c.n_heads : c.n_kv_heads, c.head_dim, static_cast<int64_t>(bytes.size()) / rows);
    CpuBackend backend(1);
    const Tensor stored = backend.upload_weight(t->type, bytes, rows, cols);
    const std::vector<float> reference = load_tensor_f32(files, name);
    std::vector<float> row(static_cast<std::size_t>(cols));
    for (int64_t r = 0; r < rows; ++r) {
      cpu::weight_row_f32(stored, r, row.data());
      ASSERT_EQ(row, std::vector<float>(reference.begin() + r * cols, reference.begin() + (r + 1) * cols))
          << name << " row " << r;
    }
  }
}

}  // namespace
}  // namespace flux::engine
