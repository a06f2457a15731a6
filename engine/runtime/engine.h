// The engine's front door: loads a model (weights + tokenizer) onto a backend and runs prompts end to end
// (tokenize → prefill under a RoutingPlan → decode → RunReport). No Qt; the GUI drives it from a worker thread.
#pragma once

#include <atomic>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "engine/backend/backend.h"
#include "engine/model/decoder.h"
#include "engine/model/model_files.h"
#include "engine/routing/layer_router.h"
#include "engine/routing/route_spec.h"
#include "engine/runtime/run_observer.h"
#include "engine/runtime/run_report.h"
#include "engine/tokenizer/chat_template.h"
#include "engine/tokenizer/tokenizer.h"
#include "engine/tokenizer/user_text_marks.h"

namespace flux::engine {

class JinjaChatTemplate;  // engine/tokenizer/chat_template_jinja.h (kept out of this header: Qt code includes it)

struct EngineOptions {
  std::string backend = "auto";  // "auto" (CUDA when a GPU is present), "cpu", "cuda"
  int threads = 0;               // CPU threads, 0 = all cores
  int context_length = 0;        // 0 = the model's
  // Our router file. Empty: the checkpoint's own router, else the router shipped for this model
  // (find_default_router in router_dirs, default_router_dirs() when empty), unless default_router is false.
  std::filesystem::path router_path = {};
  bool default_router = true;
  bool checkpoint_router = true;  // false: ignore a checkpoint's own router tensors too (--router none)
  std::vector<std::filesystem::path> router_dirs = {};
  // A random-weight preset (random_weights.h: "qwen3-8b", "llama3.1-8b", "smollm2-135m"): no files, no tokenizer;
  // the model path is ignored and prompts are given as token ids (RunRequest::prompt_tokens).
  std::string random_weights = {};
  uint64_t random_seed = 1;
  // Weight storage (--weights): "native" keeps GGUF blocks (both backends) and 16-bit types (CPU) and stores the CPU
  // KV cache as fp16; "f32" dequantizes at load (fp32 on the CPU, bf16 on CUDA) and keeps an fp32 CPU cache (the
  // reference); "auto" is native on the CPU and the dequantized bf16 on CUDA (faster decode there today).
  std::string cpu_weights = "auto";
  // --random-weights stored as GGML blocks of this type ("q4_k", "q4_0", "q8_0", ...; "" = fp32 / the device's).
  std::string random_quant = {};
};

// Called while loading with the fraction done (0..1) and what is being loaded.
using LoadProgress = std::function<void(double fraction, const std::string& what)>;

struct RunRequest {
  std::string prompt;
  RunSettings settings;  // route and overrides are ignored: Engine::run describes them from `route`
  RouteSpec route;  // the run's routing; unset fields take the router's / checkpoint's defaults
  std::vector<int32_t> prompt_tokens = {};  // when not empty: the prompt as token ids (prompt text and chat ignored)
  int64_t prefill_chunk = 0;                // prefill rows per chunk (Session::set_prefill_chunk), 0 = all at once
  bool record_block_masks = true;           // report XAttention selections (Session::set_record_block_masks)
};

// The Layer Router Engine::load attaches to `files` under `options` (router_path, else the checkpoint's own, else the
// one shipped for the model by file name), checked against the model's shape; `source` receives where it came from.
// Throws Error naming the router file when it does not fit. `inspect` checks a model's default pair with it.
std::optional<LayerRouter> load_engine_router(const ModelFiles& files, const EngineOptions& options, std::string& source);

class Engine {
 public:
  static std::unique_ptr<Engine> load(const std::filesystem::path& path, const EngineOptions& options,
                                      const LoadProgress& progress = {}, const std::atomic<bool>* cancel = nullptr);

  const ModelSummary& summary() const { return summary_; }
  const ModelConfig& config() const { return decoder_->config(); }
  const Tokenizer& tokenizer() const { return *tokenizer_; }
  bool has_tokenizer() const { return tokenizer_ != nullptr; }  // false for random-weight models
  Backend& backend() { return *backend_; }
  Decoder& decoder() { return *decoder_; }
  int context_length() const { return context_length_; }
  ChatFormat chat_format() const { return chat_format_; }
  // How --chat prompts are built: "the model's Jinja template", or the built-in family and why (no template, or
  // the template's compile error).
  const std::string& chat_template_source() const { return chat_template_source_; }

  // The prompt text the tokenizer gets: settings.chat renders the chat template — settings.chat_template (a Jinja
  // file, or the name of one of the model's named templates) or the model's own, with settings.chat_template_kwargs
  // as extra variables — else the prompt as given. `chat_format` (when given) receives what built it, as the report's
  // chat_format says. Throws Error for an unknown template name, an unreadable file, kwargs that are not a JSON
  // object, or a template that fails to compile or render.
  std::string render_prompt(const std::string& prompt, const RunSettings& settings,
                            std::string* chat_format = nullptr) const;
  // The model's named chat templates (HF tokenizer_config.json list form), "default" among them when present.
  std::vector<std::string> chat_template_names() const;
  // The prompt as the model sees it: chat template (if settings.chat) and BOS (if the vocabulary asks for it).
  // settings.parse_special: whether control-token spellings in the user's text (prompt, system prompt) become control
  // tokens; the template's own always do.
  std::vector<int32_t> tokenize_prompt(const std::string& prompt, const RunSettings& settings) const;
  // The plan of a spec on this model: resolve() with the loaded router's (or checkpoint's) defaults. Preset
  // "router" without a router is all FA.
  RoutingPlan plan(const RouteSpec& spec) const;
  RoutingPlan default_plan() const { return plan(RouteSpec{}); }
  RouteDefaults route_defaults() const;
  // The Layer Router (from router_path or the checkpoint), or null when the model has none.
  const LayerRouter* router() const { return router_ ? &*router_ : nullptr; }
  // Where the router came from: its file, "checkpoint", or "" without a router.
  const std::string& router_source() const { return router_source_; }
  // Exchanges the Layer Router and its source with `router` / `source`, both ways, so one loaded model runs several
  // router files in turn (sweep and perplexity baselines). A router that does not fit the model throws Error and
  // nothing changes.
  void swap_router(std::optional<LayerRouter>& router, std::string& source);

  // The memory a run of `request` will hold, before running it (tokenizes and plans; memory_report.h): the KV per
  // layer by the cache's own rules, weights as the backend holds them, workspace not estimated (0). Throws Error for
  // the requests run() rejects (empty prompt, over the context).
  MemoryReport estimate_memory(const RunRequest& request) const;

  // Runs one prompt to completion or cancellation. Bad requests (empty prompt, over the context) throw Error;
  // a cancelled run returns a report with status "cancelled" holding what was done.
  RunReport run(const RunRequest& request, RunObserver* observer = nullptr,
                const std::atomic<bool>* cancel = nullptr);

 private:
  Engine() = default;
  static std::unique_ptr<Engine> load_random(const EngineOptions& options, const LoadProgress& progress);
  void load_chat_template(const std::string& jinja_text);  // compile it, or note why the built-in family is used
  // render_prompt's text, and where in it the user's control spellings stay text (settings.parse_special off).
  UnmarkedText render_prompt_text(const std::string& prompt, const RunSettings& settings,
                                  std::string* chat_format = nullptr) const;
  // Ids that end generation: the family's stops and EOS, plus (with settings.chat) the end-of-turn tokens the run's
  // template prints (Gemma's <end_of_turn>, Phi-3's <|end|>, ...). engine_chat.cpp.
  std::vector<int32_t> stop_ids(const RunSettings& settings) const;
  // The request's prompt as token ids, checked against the context (run() and estimate_memory()).
  std::vector<int32_t> prompt_of(const RunRequest& request) const;
  // report.memory after a run: the cache's KV, the weights, and the workspace where the device tracks its peak.
  MemoryReport measure_memory(const KvCache& kv, int64_t prompt_tokens);
  // Throws Error when a model file changed under the mapped weights (they are read in place: mapping_guard.h).
  void check_model_unchanged() const;

  ModelSummary summary_;
  std::unique_ptr<Backend> backend_;
  std::unique_ptr<Tokenizer> tokenizer_;
  std::unique_ptr<Decoder> decoder_;
  ChatFormat chat_format_ = ChatFormat::Raw;
  std::shared_ptr<const JinjaChatTemplate> chat_template_;  // the model's own template, when it compiles
  std::string chat_template_source_;
  std::string chat_template_text_;                          // the model's own Jinja text ("" when none)
  std::map<std::string, std::string> named_chat_templates_;  // HF list-form templates by name
  std::string default_system_prompt_;
  int context_length_ = 0;
  std::optional<LayerRouter> router_;
  std::string router_source_;
  std::vector<std::shared_ptr<const MappedFile>> model_files_;  // watched while the weights point into them
};

// Picks the backend for "auto"/"cpu"/"cuda"; throws Error when "cuda" is asked for but unavailable.
std::unique_ptr<Backend> make_backend(const std::string& name, int threads);

}  // namespace flux::engine
