// `bench`: llama-bench-style throughput of prefill (pp) and decode (tg) on random token ids, per routing preset,
// as a markdown table (mean ± sd over repetitions). Timings, not tests: results go to bench/RESULTS.md.
#include <cmath>
#include <cstdio>
#include <random>
#include <sstream>

#include "app/cli/commands.h"
#include "app/cli/run_options.h"
#include "engine/core/error.h"
#include "engine/runtime/session.h"

namespace flux::cli {
namespace {

struct BenchOptions {
  ModelOptions model;
  RouteOptions route;
  std::string prompt_lengths = "512";
  int n_gen = 32;
  int repetitions = 3;
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

int run_bench(const BenchOptions& o) {
  auto engine = engine::Engine::load(resolve_model_path(o.model.model), engine_options(o.model));
  engine::Backend& backend = engine->backend();
  const engine::RoutingPlan plan = make_plan(o.route, engine->config().n_layers);
  std::mt19937 rng(static_cast<uint32_t>(o.seed));
  std::uniform_int_distribution<int32_t> token(0, engine->config().vocab_size - 1);
  std::printf("model: %s | backend: %s (%s) | route: %s, SA kind %s\n\n", engine->summary().name.c_str(),
              backend.name().c_str(), backend.device_name().c_str(), o.route.route.c_str(), o.route.sa_kind.c_str());
  std::printf("| n_prompt | n_gen | prefill ms | prefill tok/s | decode ms/token | decode tok/s |\n");
  std::printf("|---:|---:|---:|---:|---:|---:|\n");
  for (int n_prompt : parse_list(o.prompt_lengths)) {
    engine::require(n_prompt + o.n_gen <= engine->context_length(), "bench: {} + {} tokens exceed the context {}",
                    n_prompt, o.n_gen, engine->context_length());
    std::vector<double> prefill_ms, decode_ms;
    for (int rep = 0; rep <= o.repetitions; ++rep) {  // repetition 0 warms up
      std::vector<int32_t> prompt(static_cast<std::size_t>(n_prompt));
      for (auto& t : prompt) t = token(rng);
      engine::Session session(engine->decoder(), n_prompt + o.n_gen);
      auto t0 = backend.mark();
      std::vector<float> logits = session.prefill(prompt, plan);
      auto t1 = backend.mark();
      for (int i = 0; i < o.n_gen; ++i) logits = session.decode(token(rng));
      auto t2 = backend.mark();
      if (rep == 0) continue;
      prefill_ms.push_back(backend.elapsed_ms(t0, t1));
      if (o.n_gen > 0) decode_ms.push_back(backend.elapsed_ms(t1, t2) / o.n_gen);
    }
    const Stat p = stat(prefill_ms);
    const Stat d = o.n_gen > 0 ? stat(decode_ms) : Stat{};
    std::printf("| %d | %d | %.1f ± %.1f | %.1f | %.2f ± %.2f | %.2f |\n", n_prompt, o.n_gen, p.mean, p.sd,
                n_prompt * 1000.0 / p.mean, d.mean, d.sd, d.mean > 0 ? 1000.0 / d.mean : 0.0);
    std::fflush(stdout);
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
  return {cmd, [o] { return run_bench(*o); }};
}

}  // namespace flux::cli
