// Everything one run produced — settings, routing plan, per-layer prefill timing, per-token decode timing, output —
// as a copyable value that serializes to JSON and CSV (schema: docs/report-schema.md).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/attention/block_mask.h"
#include "engine/routing/routing_plan.h"
#include "engine/runtime/memory_report.h"
#include "engine/runtime/sampler.h"

namespace flux::engine {

// 2: FA-side attention, decode mode, route spec, router description, per-layer FA probability and threshold.
// 3: per-layer attention_ms, block_mask (XAttention), kv_bytes_new; the memory report. Version 2 files still load.
inline constexpr int kReportSchemaVersion = 3;

struct RunSettings {
  bool chat = true;
  std::string system_prompt;
  std::string chat_template;         // --chat-template: a Jinja file or a named template of the model; "" = its own
  std::string chat_template_kwargs;  // --chat-template-kwargs: a JSON object of extra template variables, "" = none
  // Control-token spellings in the user's text (prompt, system prompt) become control tokens (HF's default; the CLI's
  // --parse-special), or stay text (--no-parse-special; the app's default). The template's own always are tokens.
  bool parse_special = true;
  int max_new_tokens = 0;
  int context_length = 0;
  SamplerSettings sampler;
  std::string route;      // the run's RouteSpec, described (route_spec.h grammar), e.g. "router sa=triangle"
  std::string overrides;  // the spec's overrides, e.g. "0-5=FA"
};

struct LayerReport {
  int index = 0;
  LayerMode mode = LayerMode::FA;
  std::string attention = "full";  // the attention kind that ran: full / xattn (FA side), streaming / triangle / xattn
  std::optional<RouterScore> router_score;  // when the router ran on this layer
  std::vector<float> router_logits;         // the router head's raw outputs (RouterDecision::logits)
  float router_threshold = 0.5f;
  DecisionSource source = DecisionSource::Default;
  double prefill_ms = 0.0;
  double router_ms = 0.0;
  double attention_ms = 0.0;      // the prefill attention op alone (CUDA events / CPU timer), summed over chunks
  // The recorded selection of data-dependent (XAttention) layers; shared, never copied, between the report, the
  // app's history and its views (a 128K-token mask is megabytes). Null: none recorded.
  std::shared_ptr<const BlockMask> block_mask;
  std::size_t kv_bytes = 0;       // allocated for the layer's KV cache
  std::size_t kv_bytes_kept = 0;  // of the cached rows holding a position (less than kv_bytes once a ring evicts)
  std::size_t kv_bytes_read = 0;  // that the newest position's decode step reads (block streaming: its sink + local)
  std::size_t kv_bytes_new = 0;   // of kv_bytes: rows reserved for the tokens still to be generated
  double density = 1.0;  // computed attention blocks / causal blocks during prefill
};

struct TokenReport {
  int32_t id = 0;
  std::string text;
  double ms = 0.0;
};

struct RunSummary {
  double ttft_ms = 0.0;
  double prefill_ms = 0.0;
  double attention_ms = 0.0;  // sum of layers[].attention_ms (derived)
  double prefill_tokens_per_s = 0.0;
  double decode_ms_per_token = 0.0;
  double decode_tokens_per_s = 0.0;
  double total_ms = 0.0;
  double sa_fraction = 0.0;
  std::size_t kv_bytes = 0;
  std::size_t peak_memory_bytes = 0;  // device allocator high-water mark of the run (0 on the CPU: not tracked)
};

struct RunReport {
  std::string status = "ok";  // "ok", "cancelled", "error"
  std::string error;
  std::string started_at;     // ISO 8601, UTC
  std::string model_name, model_path, architecture;
  std::string backend, device;
  std::string execution;      // how the weights multiply (weight_execution: "q4_1 x q8", "bf16", "f32"); "" if unknown
  std::string router;         // the router's file, "checkpoint", or "" (none)
  std::string router_description;  // family, input, pooling and decision rule (describe_router), "" without one
  RunSettings settings;
  AttentionPlan dense;        // what FA meant in this run (full, or XAttention)
  AttentionPlan sparse;       // what SA meant in this run, and its decode mode (sparse.decode)
  int prompt_tokens = 0;
  std::vector<LayerReport> layers;
  std::vector<TokenReport> tokens;
  std::string output_text;
  std::string chat_format;      // what built the prompt (Engine::render_prompt): a Jinja template, a built-in family
  std::string rendered_prompt;  // the prompt text the tokenizer got (after the chat template); "" for token prompts
  std::string stop_reason;    // "eos", "length", "context", "cancelled"
  RunSummary summary;
  MemoryReport memory;        // measured by Engine::run (memory.measured); empty in version-2 reports

  // Fills summary from layers and tokens (ttft and prefill_ms are measured, not derived, and set by the caller).
  void finalize_summary();

  nlohmann::json to_json() const;
  static RunReport from_json(const nlohmann::json& j);
  std::string to_csv() const;
  // Writes JSON or CSV by the file extension (.json / .csv); throws Error naming the path when it cannot.
  void save(const std::filesystem::path& path) const;
};

std::string iso8601_now();

// The mask a layer ran: the recorded one, else static_block_mask of the plan it ran (report.dense for FA layers,
// report.sparse for SA layers) over report.prompt_tokens, counted out of `n_heads` heads (the recorded mask keeps
// its own count). Throws Error for an XAttention layer with none recorded and for a layer index out of range.
BlockMask layer_block_mask(const RunReport& report, int layer, int n_heads = 1);
// The same without a copy of a recorded mask (the report's own); a static one is built fresh.
std::shared_ptr<const BlockMask> shared_layer_block_mask(const RunReport& report, int layer, int n_heads = 1);

}  // namespace flux::engine
