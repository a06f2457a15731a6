#include "engine/runtime/engine.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>

#include "engine/backend/cuda_factory.h"
#include "engine/core/error.h"
#include "engine/core/input_file.h"
#include "engine/core/memory_budget.h"
#include "engine/format/json_input.h"
#include "engine/model/weight_loader.h"
#include "engine/tokenizer/chat_template_jinja.h"
#include "engine/routing/router_file.h"
#include "engine/runtime/sampler.h"
#include "engine/runtime/session.h"
#include "engine/runtime/token_sampler.h"
#include "engine/tokenizer/utf8_stream.h"

namespace flux::engine {

std::unique_ptr<Backend> make_backend(const std::string& name, int threads) {
  if (name == "cpu") return make_cpu_backend(threads);
#ifdef FLUX_HAVE_CUDA
  if (name == "cuda") {
    // Same words with or without CUDA in the build: a missing GPU or driver is the user's situation, not a crash.
    require(cuda_device_available(),
            "backend 'cuda' is not available: no usable CUDA device on this machine (no NVIDIA GPU, or its driver is "
            "missing or older than this build's CUDA runtime); use --backend cpu or auto");
    return make_cuda_backend();
  }
  if (name == "auto") return cuda_device_available() ? make_cuda_backend() : make_cpu_backend(threads);
#else
  if (name == "auto") return make_cpu_backend(threads);
  if (name == "cuda") fail("backend 'cuda' is not available in this build (built without FLUX_WITH_CUDA or no GPU)");
#endif
  fail("unknown backend '{}' (use auto, cpu or cuda)", name);
}

namespace {

// Non-finite logits come from non-finite weights kept as stored (the loader checks its fp32 copies) or a config
// that overflows: an error, never NUL bytes with status ok.
void require_finite_logits(Backend& backend, const Tensor& logits, const std::string& model) {
  std::vector<float> host(static_cast<std::size_t>(logits.rows * logits.cols));
  backend.download(logits, host);
  const auto bad = std::find_if(host.begin(), host.end(), [](float v) { return !std::isfinite(v); });
  if (bad != host.end())
    fail("{}: the prompt's logits are {} after prefill: the model's weights (or its config, e.g. rope theta) hold "
         "non-finite values",
         model, std::isnan(*bad) ? "NaN" : "infinite");
}

// The HF config.json of a safetensors checkpoint (beside the file or inside the directory), if any.
std::optional<nlohmann::json> read_hf_config(const std::filesystem::path& path) {
  const std::filesystem::path p =
      std::filesystem::is_directory(path) ? path / "config.json" : path.parent_path() / "config.json";
  // ModelFiles::open has read and validated this file already; the same bounded, non-blocking reader here.
  return parse_json_limited(read_input_file(p, "model config", std::size_t{16} << 20), p.string());
}

}  // namespace

std::optional<LayerRouter> load_engine_router(const ModelFiles& files, const EngineOptions& options,
                                              std::string& source) {
  std::optional<LayerRouter> router;
  if (!options.router_path.empty()) {
    router = load_router(options.router_path);
    source = options.router_path.string();
  } else {  // the checkpoint's own router, else the one shipped for this model
    const std::optional<nlohmann::json> hf = files.format() == "gguf" ? std::nullopt : read_hf_config(files.path());
    if (options.checkpoint_router) router = router_from_checkpoint(files, hf ? &*hf : nullptr);
    if (router) source = "checkpoint";
    if (!router && options.default_router) {
      const auto dirs = options.router_dirs.empty() ? default_router_dirs() : options.router_dirs;
      if (const auto shipped = find_default_router(files.path(), dirs)) {
        router = load_router(*shipped);
        source = shipped->string();
      }
    }
  }
  if (router) {
    try {
      check_router_matches(*router, files.config());
    } catch (const Error& e) {
      // Name the file: a shipped router is picked up silently, so the user must learn which one to replace.
      fail("layer router {} does not fit {}: {}{}", source, files.path().string(), e.what(),
           options.router_path.empty() && source != "checkpoint" ? " (--router none runs without it)" : "");
    }
    spdlog::info("layer router ({}): {} layers, {}", source, router->n_layers(),
                 describe_router(router->config(), router->softmax_head()));
  }
  return router;
}

namespace {

// "auto": as stored on the CPU. On CUDA, a model of more than 1B parameters keeps its blocks (the block GEMV decodes
// the 8B shape's Q4_K at 3.54 vs 5.25 ms/token for bf16, in 6.3 instead of 17.1 GiB: bench/RESULTS.md, H200), a small
// one is expanded to bf16 (SmolLM2's Q4_1 decodes 3 % slower as blocks, and its short prefills pay the dequantizing).
// `--weights native` / `f32` choose either way.
WeightStorage weight_storage(const std::string& weights, const Backend& backend, int64_t n_params) {
  require(weights == "auto" || weights == "native" || weights == "f32", "weights '{}': use auto, native or f32",
          weights);
  constexpr int64_t kBlocksOnCudaFrom = 1'000'000'000;
  if (weights == "auto")
    return backend.name() == "cuda" && n_params <= kBlocksOnCudaFrom ? WeightStorage::F32 : WeightStorage::Native;
  return weights == "f32" ? WeightStorage::F32 : WeightStorage::Native;
}

}  // namespace

std::unique_ptr<Engine> Engine::load(const std::filesystem::path& path, const EngineOptions& options,
                                     const LoadProgress& progress, const std::atomic<bool>* cancel) {
  if (!options.random_weights.empty()) return load_random(options, progress);
  std::unique_ptr<Engine> e(new Engine());
  if (progress) progress(0.0, "opening " + path.string());
  const ModelFiles files = ModelFiles::open(path);
  validate_decoder_tensors(files);
  e->summary_ = files.summary();
  e->tokenizer_ = files.make_tokenizer();
  e->backend_ = make_backend(options.backend, options.threads);
  e->backend_->set_kv_dtype(options.cpu_weights == "f32" ? DType::F32 : DType::F16);  // the reference keeps fp32
  e->context_length_ = options.context_length > 0 ? options.context_length : files.config().context_length;
  if (options.context_length > files.config().context_length)
    spdlog::warn("context {} tokens is above the {} tokens {} was trained for: positions past them are untested",
                 options.context_length, files.config().context_length, files.name());
  e->chat_format_ = detect_chat_format(files.vocab().chat_template, files.config().architecture);
  e->default_system_prompt_ = default_system_prompt(files.vocab().chat_template);
  e->load_chat_template(files.vocab().chat_template);
  e->chat_template_text_ = files.vocab().chat_template;
  e->named_chat_templates_ = files.vocab().named_chat_templates;
  DecoderWeights weights = load_decoder_weights(
      files, *e->backend_,
      [&](double f, const std::string& tensor) {
        if (progress) progress(f, tensor);
      },
      cancel, weight_storage(options.cpu_weights, *e->backend_, e->summary_.n_params));
  e->model_files_ = files.mapped_files();
  e->check_model_unchanged();  // the loader copied (or kept) pages of the mapping: they must be the file's
  e->decoder_ = std::make_unique<Decoder>(files.config(), std::move(weights), *e->backend_);
  e->router_ = load_engine_router(files, options, e->router_source_);
  spdlog::info("loaded {} ({} layers, {} backend)", path.string(), files.config().n_layers, e->backend_->name());
  return e;
}

void Engine::load_chat_template(const std::string& jinja_text) {
  const std::string family(chat_format_name(chat_format_));
  if (jinja_text.empty()) {
    chat_template_source_ = family + " (built in: the model has no chat template)";
    return;
  }
  try {
    chat_template_ = std::make_shared<const JinjaChatTemplate>(JinjaChatTemplate::compile(jinja_text));
    chat_template_source_ = "the model's Jinja template";
  } catch (const Error& e) {
    chat_template_source_ = family + " (built in: " + e.what() + ")";
    spdlog::warn("{}: the model's chat template does not compile, using the built-in {} format: {}", summary_.name,
                 family, e.what());
  }
}

std::vector<int32_t> Engine::tokenize_prompt(const std::string& prompt, const RunSettings& settings) const {
  const UnmarkedText prompt_text = render_prompt_text(prompt, settings);
  const std::string& text = prompt_text.text;
  std::string bos_text;
  if (tokenizer_->bos_id()) bos_text = tokenizer_->token_text(*tokenizer_->bos_id());
  std::vector<int32_t> ids;
  // Llama-3, Mistral and Gemma templates print BOS themselves; encode() turns that text into the id (unless the
  // text there is the user's, with parse_special off).
  const bool printed_bos = !bos_text.empty() && text.starts_with(bos_text) &&
                           (prompt_text.literal_at.empty() || prompt_text.literal_at.front() != 0);
  if (tokenizer_->add_bos() && tokenizer_->bos_id() && !printed_bos) ids.push_back(*tokenizer_->bos_id());
  const std::vector<int32_t> body = tokenizer_->encode(text, /*parse_special=*/true, prompt_text.literal_at);
  ids.insert(ids.end(), body.begin(), body.end());
  return ids;
}

void Engine::swap_router(std::optional<LayerRouter>& router, std::string& source) {
  if (router) check_router_matches(*router, config());
  std::swap(router_, router);
  std::swap(router_source_, source);
}

RouteDefaults Engine::route_defaults() const { return flux::engine::route_defaults(router()); }

RoutingPlan Engine::plan(const RouteSpec& spec) const { return resolve(spec, config().n_layers, route_defaults()); }

std::vector<int32_t> Engine::prompt_of(const RunRequest& request) const {
  require(!request.prompt_tokens.empty() || request.prompt.find_first_not_of(" \t\r\n") != std::string::npos,
          "the prompt is empty");
  std::vector<int32_t> prompt =
      !request.prompt_tokens.empty() ? request.prompt_tokens : tokenize_prompt(request.prompt, request.settings);
  require(static_cast<int>(prompt.size()) < context_length_,
          "the prompt has {} tokens but the context holds {} (shorten the prompt or raise -c up to the model's {})",
          prompt.size(), context_length_, config().context_length);
  return prompt;
}

MemoryReport Engine::estimate_memory(const RunRequest& request) const {
  require(request.settings.max_new_tokens >= 0, "max new tokens {} must be >= 0", request.settings.max_new_tokens);
  const auto prompt_tokens = static_cast<int64_t>(prompt_of(request).size());
  MemoryReport m = flux::engine::estimate_memory(config(), plan(request.route), prompt_tokens,
                                                 request.settings.max_new_tokens, context_length_,
                                                 backend_->kv_bytes_per_element());
  m.weights = decoder_->weight_bytes();
  return m;
}

MemoryReport Engine::measure_memory(const KvCache& kv, int64_t prompt_tokens) {
  MemoryReport m = measure_kv_memory(kv, prompt_tokens);
  m.weights = decoder_->weight_bytes();
  if (const std::size_t peak = backend_->peak_memory_bytes(); peak > 0) {
    // At the peak every layer still held its full capacity (the session allocates it before prefill; streaming
    // rings shrink after their layer): that allocation is kv_all_fa.
    m.workspace_measured = true;
    m.workspace = peak > m.weights + m.kv_all_fa ? peak - m.weights - m.kv_all_fa : 0;
  }
  return m;
}

void Engine::check_model_unchanged() const {
  for (const auto& f : model_files_) f->check_unchanged();
}

RunReport Engine::run(const RunRequest& request, RunObserver* observer, const std::atomic<bool>* cancel) {
  check_model_unchanged();
  RunObserver silent;
  RunObserver& obs = observer != nullptr ? *observer : silent;
  const ModelConfig& cfg = config();
  RunReport report;
  report.started_at = iso8601_now();
  report.model_name = summary_.name;
  report.model_path = summary_.path;
  report.router = router_source_;
  report.architecture = cfg.architecture;
  report.backend = backend_->name();
  report.device = backend_->device_name();
  report.execution = weight_execution(decoder_->weights(), *backend_);
  report.settings = request.settings;
  report.settings.context_length = context_length_;
  const RoutingPlan plan = this->plan(request.route);
  report.settings.route = plan.spec;
  report.settings.overrides = describe_overrides(request.route.overrides);
  report.dense = plan.dense;
  report.sparse = plan.sparse;
  if (router_) report.router_description = describe_router(router_->config(), router_->softmax_head());
  validate(request.settings.sampler);
  require(request.settings.max_new_tokens >= 0, "max new tokens {} must be >= 0", request.settings.max_new_tokens);

  const std::vector<int32_t> prompt = prompt_of(request);
  report.prompt_tokens = static_cast<int>(prompt.size());
  obs.on_started(report);

  const auto prompt_tokens = static_cast<int64_t>(prompt.size());
  const int64_t capacity = run_capacity(context_length_, prompt_tokens, request.settings.max_new_tokens);
  if (backend_->name() == "cpu")  // CUDA reports its own out-of-memory with the device's numbers
    require_memory(static_cast<std::size_t>(capacity) * static_cast<std::size_t>(cfg.n_layers) * 2 *
                       static_cast<std::size_t>(cfg.kv_dim()) * backend_->kv_bytes_per_element(),
                   fmt::format("the KV cache for {} tokens", capacity));
  Session session(*decoder_, capacity, cancel);
  session.set_router(router());
  session.set_prefill_chunk(request.prefill_chunk);
  session.set_record_block_masks(request.record_block_masks);
  TokenSampler sampler(request.settings.sampler, *backend_);  // on the backend: only the token id is read back
  const std::vector<int32_t> stops = tokenizer_ ? stop_ids(request.settings) : std::vector<int32_t>{};
  if (tokenizer_ && request.prompt_tokens.empty())
    // The report is JSON: a prompt with invalid UTF-8 (tokenized as given) is kept with U+FFFD in their place.
    report.rendered_prompt = sanitize_utf8(render_prompt(request.prompt, request.settings, &report.chat_format));
  std::vector<int32_t> history = prompt;
  Utf8StreamDecoder utf8;
  const TimeMark t0 = backend_->mark();

  auto emit_token = [&](int32_t id, double ms) {
    TokenReport t{id, tokenizer_ ? utf8.push(tokenizer_->token_text(id)) : fmt::format("[{}]", id), ms};
    report.output_text += t.text;
    report.tokens.push_back(t);
    obs.on_token(static_cast<int>(report.tokens.size()) - 1, report.tokens.back());
  };

  try {
    const int n_layers = cfg.n_layers;
    backend_->reset_peak_memory();
    Tensor logits = session.prefill_logits(prompt, plan, [&](const LayerReport& layer) {
      report.layers.push_back(layer);
      obs.on_layer_routed(layer);
      obs.on_layer_prefilled(layer);
      obs.on_progress({"prefill", static_cast<double>(layer.index + 1) / n_layers, -1.0});
    });
    report.summary.prefill_ms = backend_->elapsed_ms(t0, backend_->mark());
    check_model_unchanged();  // weights read in place: a truncation during prefill read zeros, not the model
    require_finite_logits(*backend_, logits, summary_.name);
    report.stop_reason = "length";
    TimeMark step_start = t0;
    for (int i = 0; i < request.settings.max_new_tokens; ++i) {
      if (i > 0) {
        if (session.position() >= context_length_) {
          report.stop_reason = "context";
          break;
        }
        logits = session.decode_logits(history.back());
        check_model_unchanged();
      }
      const int32_t id = sampler.sample(logits, history);
      const TimeMark now = backend_->mark();
      const double ms = backend_->elapsed_ms(step_start, now);
      step_start = now;
      if (i == 0) report.summary.ttft_ms = ms;
      if (std::find(stops.begin(), stops.end(), id) != stops.end()) {
        report.stop_reason = "eos";
        break;
      }
      history.push_back(id);
      emit_token(id, ms);
      obs.on_progress({"decode", static_cast<double>(i + 1) / request.settings.max_new_tokens, -1.0});
    }
  } catch (const Cancelled&) {
    report.status = "cancelled";
    report.stop_reason = "cancelled";
  }
  report.output_text += utf8.flush();
  report.summary.total_ms = backend_->elapsed_ms(t0, backend_->mark());
  report.summary.peak_memory_bytes = backend_->peak_memory_bytes();
  report.memory = measure_memory(session.kv_cache(), prompt_tokens);
  for (auto& layer : report.layers) {  // the state after decode, as report.memory says
    const LayerMemory& m = report.memory.layers.at(static_cast<std::size_t>(layer.index));
    layer.kv_bytes = m.kv_reserved;
    layer.kv_bytes_kept = m.kv_kept;
    layer.kv_bytes_read = m.kv_read;
    layer.kv_bytes_new = m.kv_new_tokens;
  }
  report.finalize_summary();
  obs.on_finished(report);
  return report;
}

}  // namespace flux::engine
