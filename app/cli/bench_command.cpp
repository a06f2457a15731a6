// `bench`: llama-bench-style throughput of prefill (pp) and decode (tg) on random token ids, per routing preset,
// as a markdown table (mean ± sd over repetitions). Timings, not tests: results go to bench/RESULTS.md.
// Decode steps sample greedily on the backend and feed the token back (what generate does: one id read per step).
// --roofline adds the HBM bound: bytes read per token (weights + the KV the step attends) over the device copy
// bandwidth measured in the same process. Each row also gives the prefill's SA layers and its attention time (the
// per-layer attention_ms of the run report, summed), so a sparse route's saving shows where it happens; on the CPU
// the header says how idle the cores were just before (other programs slow every number). --json writes the rows.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>

#include "app/cli/commands.h"
#include "app/cli/run_options.h"
#include "engine/backend/cpu_threads.h"
#include "engine/core/error.h"
#include "engine/model/random_weights.h"
#include "engine/runtime/session.h"

#include <nlohmann/json.hpp>

namespace flux::cli {
namespace {

struct BenchOptions {
  ModelOptions model;
  RouteOptions route;
  std::string prompt_lengths = "512";
  int n_gen = 32;
  int repetitions = 3;
  int warmup = 1;  // untimed runs before the first length (kernels, GEMM heuristics and pools warm up once)
  bool roofline = false;
  std::string json;  // also write the rows here
  uint64_t seed = 1;
};

std::vector<int> parse_list(const std::string& text) {
  std::vector<int> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    const int v = std::atoi(item.c_str());
    engine::require(v > 0, "bench: '{}' is not a positive length", item);
    out.push_back(v);
  }
  return out;
}

struct Stat {
  double mean = 0, sd = 0;
};
Stat stat(const std::vector<double>& xs) {
  Stat s;
  for (double x : xs) s.mean += x;
  s.mean /= static_cast<double>(xs.size());
  for (double x : xs) s.sd += (x - s.mean) * (x - s.mean);
  s.sd = xs.size() > 1 ? std::sqrt(s.sd / static_cast<double>(xs.size() - 1)) : 0.0;
  return s;
}

// Read + write bytes per second of a 1 GiB device-to-device copy (median of 5 after one warm-up): the bandwidth a
// memory-bound decode step can hope for.
double copy_bandwidth(engine::Backend& backend) {
  const int64_t cols = 4096;
  const int64_t rows = (int64_t{1} << 30) / (cols * static_cast<int64_t>(backend.bytes_per_element()));
  engine::Tensor a = backend.random(rows, cols, 1.0f, 7);
  engine::Tensor b = backend.empty(rows, cols);
  std::vector<double> ms;
  for (int i = 0; i < 6; ++i) {
    const engine::TimeMark t0 = backend.mark();
    backend.copy_rows(a, 0, b, 0, rows);
    const double t = backend.elapsed_ms(t0, backend.mark());
    if (i > 0) ms.push_back(t);
  }
  std::sort(ms.begin(), ms.end());
  return 2.0 * static_cast<double>(int64_t{1} << 30) / (ms[ms.size() / 2] * 1e-3);
}

// Bytes one decode step reads: every weight but the embedding table (one row gathered; tied tables count once, as
// the lm_head) plus the K and V rows each layer's step attends.
double decode_bytes(const engine::ModelConfig& c, const engine::KvCache& kv, std::size_t bytes_per_element) {
  int64_t weights = engine::parameter_count(c);
  if (!c.tied_embeddings) weights -= int64_t{c.vocab_size} * c.hidden;
  int64_t kv_rows = 0;
  for (int l = 0; l < c.n_layers; ++l) kv_rows += kv.rows_read(l);  // reference decode reads a subset of the rows
  return static_cast<double>(weights + 2 * kv_rows * c.kv_dim()) * static_cast<double>(bytes_per_element);
}

int run_bench(const BenchOptions& o) {
  auto engine = engine::Engine::load(model_path(o.model), engine_options(o.model, &o.route));
  engine::Backend& backend = engine->backend();
  const engine::RoutingPlan plan = engine->plan(route_spec(o.route));
  const std::string& route = plan.spec;
  std::mt19937 rng(static_cast<uint32_t>(o.seed));
  std::uniform_int_distribution<int32_t> token(0, engine->config().vocab_size - 1);
  std::printf("model: %s | backend: %s (%s) | weights: %s | route: %s | FA = %s, SA = %s, decode %s | router: %s\n\n",
              engine->summary().name.c_str(), backend.name().c_str(), backend.device_name().c_str(),
              engine::weight_execution(engine->decoder().weights(), backend).c_str(), route.c_str(),
              engine::attention_mode_name(plan.dense.mode), engine::attention_mode_name(plan.sparse.mode),
              engine::decode_mode_name(plan.decode()),
              engine->router_source().empty() ? "none" : engine->router_source().c_str());
  std::printf(
      "SA parameters: sink %d, window %d, n_last %d, block %d | prefill chunk %lld rows | %d layers, "
      "%.2f B parameters\n",
      plan.sparse.sink, plan.sparse.window, plan.sparse.n_last, plan.sparse.block,
      static_cast<long long>(o.model.prefill_chunk), engine->config().n_layers,
      static_cast<double>(engine::parameter_count(engine->config())) * 1e-9);
  if (backend.name() == "cpu") {
    const double idle = engine::idle_cpu_cores(200);
    std::printf("cpu: %d usable cores, %.1f idle over 200 ms before the run\n", engine::usable_cpu_cores(), idle);
  }
  const double bandwidth = o.roofline ? copy_bandwidth(backend) : 0.0;
  if (o.roofline) std::printf("device copy bandwidth (1 GiB D2D, read + write): %.0f GB/s\n", bandwidth * 1e-9);
  std::printf(
      "\n| n_prompt | n_gen | prefill ms | prefill tok/s | SA layers | attention ms | decode ms/token | decode tok/s | "
      "peak GiB |%s\n",
      o.roofline ? " roofline ms/token | decode / roofline |" : "");
  std::printf("|---:|---:|---:|---:|---:|---:|---:|---:|---:|%s\n", o.roofline ? "---:|---:|" : "");
  nlohmann::json rows = nlohmann::json::array();
  bool warmed = false;
  for (int n_prompt : parse_list(o.prompt_lengths)) {
    engine::require(n_prompt + o.n_gen <= engine->context_length(), "bench: {} + {} tokens exceed the context {}",
                    n_prompt, o.n_gen, engine->context_length());
    std::vector<double> prefill_ms, decode_ms, attention_ms;
    int sa_layers = 0;
    double read_bytes = 0.0;
    backend.reset_peak_memory();
    const int warmups = warmed ? 0 : o.warmup;
    warmed = true;
    for (int rep = 0; rep < warmups + o.repetitions; ++rep) {
      std::vector<int32_t> prompt(static_cast<std::size_t>(n_prompt));
      for (auto& t : prompt) t = token(rng);
      engine::Session session(engine->decoder(), n_prompt + o.n_gen);
      session.set_router(engine->router());  // route "router": the router decides during prefill (its cost included)
      session.set_prefill_chunk(o.model.prefill_chunk);
      const engine::SampleParams greedy;
      double attention = 0.0;
      sa_layers = 0;
      const auto on_layer = [&](const engine::LayerReport& r) {
        attention += r.attention_ms;
        sa_layers += r.mode == engine::LayerMode::SA;
      };
      auto t0 = backend.mark();
      engine::Tensor logits = session.prefill_logits(prompt, plan, on_layer);
      int32_t next = backend.sample_token(logits, greedy);
      auto t1 = backend.mark();
      for (int i = 0; i < o.n_gen; ++i) next = backend.sample_token(session.decode_logits(next), greedy);
      auto t2 = backend.mark();
      if (rep < warmups) continue;
      prefill_ms.push_back(backend.elapsed_ms(t0, t1));
      attention_ms.push_back(attention);
      if (o.n_gen > 0) decode_ms.push_back(backend.elapsed_ms(t1, t2) / o.n_gen);
      read_bytes = decode_bytes(engine->config(), session.kv_cache(), backend.bytes_per_element());
    }
    const Stat p = stat(prefill_ms);
    const Stat d = o.n_gen > 0 ? stat(decode_ms) : Stat{};
    const Stat a = stat(attention_ms);
    const double peak_gib = static_cast<double>(backend.peak_memory_bytes()) / (1024.0 * 1024.0 * 1024.0);
    std::printf("| %d | %d | %.1f ± %.1f | %.1f | %d | %.1f | %.2f ± %.2f | %.2f | %.2f |", n_prompt, o.n_gen, p.mean,
                p.sd, n_prompt * 1000.0 / p.mean, sa_layers, a.mean, d.mean, d.sd, d.mean > 0 ? 1000.0 / d.mean : 0.0,
                peak_gib);
    rows.push_back({{"n_prompt", n_prompt},
                    {"n_gen", o.n_gen},
                    {"prefill_ms", prefill_ms},
                    {"prefill_tok_s", n_prompt * 1000.0 / p.mean},
                    {"sa_layers", sa_layers},
                    {"attention_ms", attention_ms},
                    {"decode_ms_per_token", decode_ms},
                    {"decode_tok_s", d.mean > 0 ? 1000.0 / d.mean : 0.0},
                    {"peak_bytes", backend.peak_memory_bytes()}});
    if (o.roofline) {
      const double bound_ms = read_bytes / bandwidth * 1e3;
      std::printf(" %.2f | %.2fx |", bound_ms, d.mean / bound_ms);
    }
    std::printf("\n");
    std::fflush(stdout);
  }
  if (!o.json.empty()) {
    const nlohmann::json doc = {{"model", engine->summary().name},
                                {"backend", backend.name()},
                                {"device", backend.device_name()},
                                {"route", route},
                                {"n_layers", engine->config().n_layers},
                                {"rows", rows}};
    std::ofstream f(o.json);
    engine::require(f.good(), "bench: cannot write {}", o.json);
    f << doc.dump(1) << '\n';
    engine::require(f.good(), "bench: writing {} failed", o.json);
  }
  return 0;
}

}  // namespace

Command add_bench_command(CLI::App& app) {
  auto o = std::make_shared<BenchOptions>();
  CLI::App* cmd = app.add_subcommand("bench", "prefill and decode throughput on random tokens (markdown table)");
  add_model_options(*cmd, o->model);
  add_route_options(*cmd, o->route);
  cmd->add_option("-p,--n-prompt", o->prompt_lengths, "prompt lengths, comma-separated (e.g. 512,4096)");
  cmd->add_option("-n,--n-gen", o->n_gen, "decode steps after each prefill")->check(CLI::NonNegativeNumber);
  cmd->add_option("-r,--repetitions", o->repetitions, "timed repetitions (after one warm-up)")->check(CLI::PositiveNumber);
  cmd->add_option("--seed", o->seed, "seed of the random tokens");
  cmd->add_option("-w,--warmup", o->warmup, "untimed runs before the first length")->check(CLI::NonNegativeNumber);
  cmd->add_flag("--roofline", o->roofline,
                "measure the device copy bandwidth and print decode against its HBM bound (bytes read / bandwidth)");
  cmd->add_option("--json", o->json, "also write the rows (every repetition's times) as JSON to this file");
  return {cmd, [o] { return run_bench(*o); }};
}

}  // namespace flux::cli
