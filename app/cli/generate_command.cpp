// `generate`: stream a completion to stdout, timings to stderr, optionally a JSON/CSV report.
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <limits>
#include <random>

#include "app/cli/chat_options.h"
#include "app/cli/commands.h"
#include "app/cli/number_checks.h"
#include "app/cli/run_options.h"
#include "engine/core/error.h"
#include "engine/runtime/trace_export.h"

namespace flux::cli {
namespace {

std::atomic<bool> g_cancel{false};
void on_sigint(int) { g_cancel.store(true); }

class StreamingPrinter final : public engine::RunObserver {
 public:
  void on_token(int, const engine::TokenReport& t) override {
    std::fwrite(t.text.data(), 1, t.text.size(), stdout);
    std::fflush(stdout);
  }
};

struct GenerateOptions {
  ModelOptions model;
  PromptOptions prompt;
  ChatTemplateOptions chat;
  RouteOptions route;
  int n_predict = 128;
  engine::SamplerSettings sampler;
  std::string report;
  std::string trace;  // --trace FILE.json: Chrome trace-event timeline (engine/runtime/trace_export.h)
  bool quiet = false;
  int prompt_tokens = 0;  // > 0: a synthetic prompt of this many random token ids (seeded by --seed)
  bool overwrite = false;       // --report may replace an existing file
  bool no_block_masks = false;  // the report keeps no XAttention selections (huge runs)
  int64_t seed = 42;            // --seed; -1 = a random one (as llama.cpp), which the report records
};

double mib(std::size_t bytes) { return static_cast<double>(bytes) / (1024.0 * 1024.0); }

// One line on what the run held: weights, KV against all-FA for the same prompt and -n, workspace where tracked.
void print_memory(const engine::MemoryReport& m) {
  std::string workspace = "workspace not tracked on this backend";
  if (m.workspace_measured)
    workspace = fmt::format("workspace {:.1f} MiB (device peak - weights - KV)", mib(m.workspace));
  const double saving = m.kv_saving() * 100.0;
  const std::string vs_fa = saving >= 0.5 ? fmt::format("-{:.0f}%", saving) : "no saving";
  std::fprintf(stderr,
               "memory: weights %.1f MiB | KV %.2f MiB reserved of %.2f MiB all-FA (%s), %.2f MiB kept, %.2f MiB "
               "read by the last decode step | %s\n",
               mib(m.weights), mib(m.kv_reserved_total()), mib(m.kv_all_fa), vs_fa.c_str(), mib(m.kv_kept_total()),
               mib(m.kv_read_total()), workspace.c_str());
}

void print_timings(const engine::RunReport& r) {
  const auto& s = r.summary;
  std::fprintf(stderr,
               "\n\n[%s · %s · weights %s] prompt %d tokens, prefill %.1f ms (%.1f tok/s; attention %.1f ms of it), TTFT %.1f ms, "
               "decode %zu tokens at %.2f ms/token (%.1f tok/s), SA layers %.0f%%, KV %.2f MiB, peak device memory "
               "%.2f GiB, stop: %s\n",
               r.backend.c_str(), r.device.c_str(), r.execution.c_str(), r.prompt_tokens, s.prefill_ms, s.prefill_tokens_per_s,
               s.attention_ms, s.ttft_ms, r.tokens.size(), s.decode_ms_per_token, s.decode_tokens_per_s,
               s.sa_fraction * 100.0, mib(s.kv_bytes),
               static_cast<double>(s.peak_memory_bytes) / (1024.0 * 1024.0 * 1024.0), r.stop_reason.c_str());
  print_memory(r.memory);
  std::fprintf(stderr, "route: %s | FA = %s, SA = %s | decode mode: %s\n", r.settings.route.c_str(),
               engine::attention_mode_name(r.dense.mode), engine::attention_mode_name(r.sparse.mode),
               engine::decode_mode_name(r.sparse.decode));
  if (!r.router_description.empty()) std::fprintf(stderr, "router: %s\n", r.router_description.c_str());
}

// Seeded random token ids in [0, vocab): prompts of any length for models without a tokenizer (random weights).
std::vector<int32_t> synthetic_prompt(int n, int vocab, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int32_t> token(0, vocab - 1);
  std::vector<int32_t> ids(static_cast<std::size_t>(n));
  for (auto& t : ids) t = token(rng);
  return ids;
}

int run_generate(const GenerateOptions& o) {
  engine::require(o.prompt_tokens > 0 || o.model.random_weights.empty(),
                  "--random-weights has no tokenizer: give the prompt length with --prompt-tokens N");
  engine::require(o.prompt_tokens == 0 || (o.prompt.prompt.empty() && o.prompt.file.empty()),
                  "--prompt-tokens replaces the prompt text: drop -p/-f");
  const std::string prompt = read_prompt(o.prompt);
  // Check the report path before spending time on the run.
  if (!o.report.empty()) {
    const std::filesystem::path path(o.report);
    engine::require(path.extension() == ".json" || path.extension() == ".csv",
                    "--report {}: the file must end in .json or .csv", o.report);
    const std::filesystem::path dir = path.has_parent_path() ? path.parent_path() : ".";
    engine::require(std::filesystem::is_directory(dir) && ::access(dir.c_str(), W_OK) == 0,
                    "--report {}: cannot write the report: {} is not a writable directory", o.report, dir.string());
    std::error_code ec;  // symlink_status: a dangling link is there too, and would be followed
    engine::require(o.overwrite || !std::filesystem::exists(std::filesystem::symlink_status(path, ec)),
                    "--report {}: the file exists (give --overwrite to replace it)", o.report);
  }
  if (!o.trace.empty()) {  // like --report: a bad path fails before the run
    const std::filesystem::path path(o.trace);
    engine::require(path.extension() == ".json", "--trace {}: the file must end in .json (Chrome trace-event JSON)",
                    o.trace);
    const std::filesystem::path dir = path.has_parent_path() ? path.parent_path() : ".";
    engine::require(std::filesystem::is_directory(dir) && ::access(dir.c_str(), W_OK) == 0,
                    "--trace {}: cannot write the trace: {} is not a writable directory", o.trace, dir.string());
  }
  auto engine = engine::Engine::load(model_path(o.model), engine_options(o.model, &o.route));
  engine::RunRequest request;
  request.prompt = prompt;
  if (o.prompt_tokens > 0)
    request.prompt_tokens = synthetic_prompt(o.prompt_tokens, engine->config().vocab_size, o.sampler.seed);
  request.prefill_chunk = o.model.prefill_chunk;
  request.record_block_masks = !o.no_block_masks;
  request.settings.chat = o.prompt.chat;
  request.settings.system_prompt = o.prompt.system_prompt;
  apply_chat_template_options(o.chat, request.settings);
  if (o.chat.verbose_prompt && request.prompt_tokens.empty()) print_verbose_prompt(*engine, prompt, request.settings);
  request.settings.max_new_tokens = o.n_predict;
  request.settings.sampler = o.sampler;
  request.route = route_spec(o.route);

  // Ctrl-C, a kill (SIGTERM) or a closed terminal (SIGHUP) cancel the run the same way: the partial report is kept.
  for (const int sig : {SIGINT, SIGTERM, SIGHUP}) std::signal(sig, on_sigint);
  StreamingPrinter printer;
  const engine::RunReport report = engine->run(request, &printer, &g_cancel);
  for (const int sig : {SIGINT, SIGTERM, SIGHUP}) std::signal(sig, SIG_DFL);
  if (!o.quiet) print_timings(report);
  if (!o.report.empty()) {
    report.save(o.report);
    if (!o.quiet) std::fprintf(stderr, "report written to %s\n", o.report.c_str());
  }
  if (!o.trace.empty()) {
    engine::save_trace(report, o.trace);
    if (!o.quiet) std::fprintf(stderr, "trace written to %s (open it in ui.perfetto.dev or chrome://tracing)\n", o.trace.c_str());
  }
  return report.status == "cancelled" ? 130 : 0;
}

}  // namespace

Command add_generate_command(CLI::App& app) {
  auto o = std::make_shared<GenerateOptions>();
  CLI::App* cmd = app.add_subcommand("generate", "generate text from a prompt, streaming it to stdout");
  add_model_options(*cmd, o->model);
  add_prompt_options(*cmd, o->prompt);
  add_chat_template_options(*cmd, o->chat);
  add_route_options(*cmd, o->route);
  cmd->add_option("-n,--n-predict", o->n_predict, "tokens to generate")->check(non_negative());
  cmd->add_option("--temp", o->sampler.temperature, "temperature (0 = greedy)")->check(non_negative());
  cmd->add_option("--top-k", o->sampler.top_k, "top-k (0 = off)")->check(non_negative());
  cmd->add_option("--top-p", o->sampler.top_p, "top-p (1 = off)")->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--repeat-penalty", o->sampler.repetition_penalty, "repetition penalty (1 = off)");
  cmd->add_option("--repeat-last-n", o->sampler.repeat_last_n, "tokens the penalty looks back");
  cmd->add_option("--seed", o->seed, "sampling seed (-1 = random; the report records the seed used)")
      ->check(CLI::Range(int64_t{-1}, std::numeric_limits<int64_t>::max()));
  cmd->add_option("--report", o->report, "write a run report (.json or .csv)");
  cmd->add_option("--trace", o->trace,
                  "write the run's timeline as Chrome trace-event JSON (Perfetto, chrome://tracing): a span per "
                  "layer's prefill (router / attention / rest) and per decode step");
  cmd->add_flag("--overwrite", o->overwrite, "let --report replace an existing file");
  cmd->add_flag("-q,--quiet", o->quiet, "no timing summary on stderr");
  cmd->add_flag("--no-block-masks", o->no_block_masks,
                "do not record XAttention block selections in the report (each is n(n+1)/2 bytes for n blocks)");
  cmd->add_option("--prompt-tokens", o->prompt_tokens,
                  "a synthetic prompt of N random token ids instead of -p/-f (required with --random-weights)")
      ->check(positive());
  return {cmd, [o] {
            o->sampler.seed = o->seed == -1 ? std::random_device{}() : static_cast<uint64_t>(o->seed);
            return run_generate(*o);
          }};
}

}  // namespace flux::cli
