// `bench`: llama-bench-style throughput of prefill (test ppN) and decode (test tgN @ dN: N decode steps after an
// N-token prompt) on random token ids, for one or several routes, as markdown, CSV, JSON or JSON lines with
// llama-bench's fields (avg_ts ± stddev_ts over repetitions, backends, n_threads, model_size...) plus ours (route, SA
// layers and fraction, attention ms, KV bytes). Timings, not tests: results go to bench/RESULTS.md.
// Decode steps sample greedily on the backend and feed the token back (what generate does: one id read per step).
// --roofline adds the HBM bound: bytes read per token (weights + the KV the step attends) over the device copy
// bandwidth measured in the same process. On the CPU the header says how idle the cores were just before (other
// programs slow every number). --json FILE keeps the older per-length document (bench/cpu/run.sh reads it).
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
#include "engine/runtime/memory_report.h"
#include "engine/runtime/run_report.h"
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
  std::string output = "md";  // -o md|csv|json|jsonl
  std::string json;           // also write the older per-length document here
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
  if (xs.empty()) return s;
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

// Bytes one decode step reads: the weights as stored (block quants at their size; engine::decode_weight_bytes) plus
// the K and V rows each layer's step attends.
double decode_bytes(engine::Engine& e, const engine::KvCache& kv, std::size_t kv_bytes_per_element) {
  const engine::ModelConfig& c = e.config();
  int64_t kv_rows = 0;
  for (int l = 0; l < c.n_layers; ++l) kv_rows += kv.rows_read(l);  // reference decode reads a subset of the rows
  return static_cast<double>(engine::decode_weight_bytes(e.decoder().weights())) +
         static_cast<double>(2 * kv_rows * c.kv_dim()) * static_cast<double>(kv_bytes_per_element);
}

// --route: one route (preset, spec text or FILE.json), or a comma-separated list of route names when the text has
// no spaces and no '=' (a spec's override list has both commas and '='): router, fa, sa, sa:KIND, first-k:N, ...
std::vector<std::pair<std::string, RouteOptions>> bench_routes(const RouteOptions& base) {
  const bool list = base.route.find(',') != std::string::npos && base.route.find_first_of(" =") == std::string::npos;
  std::vector<std::string> names;
  std::stringstream ss(base.route);
  for (std::string item; list && std::getline(ss, item, ',');)
    if (!item.empty()) names.push_back(item);
  if (!list) names.push_back(base.route);
  std::vector<std::pair<std::string, RouteOptions>> out;
  for (const auto& name : names) {
    RouteOptions o = base;
    o.route = name;
    if (name.starts_with("sa:")) {
      const std::string kind = name.substr(3);
      engine::require(kind == "streaming" || kind == "triangle" || kind == "xattn",
                      "bench --route {}: SA kinds are sa:streaming, sa:triangle, sa:xattn", name);
      o.route = "sa";
      o.sa_kind = kind;
    }
    route_spec(o);  // a bad route fails before the model loads
    out.emplace_back(name, o);
  }
  return out;
}

// One route at one prompt length: every timed repetition.
struct Measurement {
  std::string route;  // as the user named it ("" = the default), and the plan's description
  std::string spec;
  int n_prompt = 0, n_gen = 0;
  std::vector<double> prefill_ms, decode_ms_per_token, attention_ms;
  int sa_layers = 0;
  std::size_t kv_bytes = 0, peak_bytes = 0;
  double read_bytes = 0.0;  // one decode step (--roofline)
};

Measurement measure(engine::Engine& engine, const engine::RoutingPlan& plan, const BenchOptions& o, int n_prompt,
                    int warmups, std::mt19937& rng) {
  engine::Backend& backend = engine.backend();
  std::uniform_int_distribution<int32_t> token(0, engine.config().vocab_size - 1);
  Measurement m;
  m.n_prompt = n_prompt;
  m.n_gen = o.n_gen;
  backend.reset_peak_memory();
  for (int rep = 0; rep < warmups + o.repetitions; ++rep) {
    std::vector<int32_t> prompt(static_cast<std::size_t>(n_prompt));
    for (auto& t : prompt) t = token(rng);
    engine::Session session(engine.decoder(), n_prompt + o.n_gen);
    session.set_router(engine.router());  // route "router": the router decides during prefill (its cost included)
    session.set_prefill_chunk(o.model.prefill_chunk);
    const engine::SampleParams greedy;
    double attention = 0.0;
    m.sa_layers = 0;
    const auto on_layer = [&](const engine::LayerReport& r) {
      attention += r.attention_ms;
      m.sa_layers += r.mode == engine::LayerMode::SA;
    };
    auto t0 = backend.mark();
    engine::Tensor logits = session.prefill_logits(prompt, plan, on_layer);
    int32_t next = backend.sample_token(logits, greedy);
    auto t1 = backend.mark();
    for (int i = 0; i < o.n_gen; ++i) next = backend.sample_token(session.decode_logits(next), greedy);
    auto t2 = backend.mark();
    if (rep < warmups) continue;
    m.prefill_ms.push_back(backend.elapsed_ms(t0, t1));
    m.attention_ms.push_back(attention);
    if (o.n_gen > 0) m.decode_ms_per_token.push_back(backend.elapsed_ms(t1, t2) / o.n_gen);
    m.read_bytes = decode_bytes(engine, session.kv_cache(), backend.kv_bytes_per_element());
    m.kv_bytes = engine::measure_kv_memory(session.kv_cache(), n_prompt).kv_reserved_total();
  }
  m.peak_bytes = backend.peak_memory_bytes();
  return m;
}

// What every row shares: the model and the machine.
struct BenchContext {
  std::string model_filename, model_type, backend, device, test_time;
  std::size_t model_size = 0;
  int64_t n_params = 0;
  int n_threads = 0, n_layers = 0;
  double bandwidth = 0.0;  // --roofline, bytes/s
};

// One llama-bench test row: pp (prefill, n_gen 0) or tg (decode after an n_depth-token prompt, n_prompt 0).
nlohmann::json test_row(const BenchContext& c, const Measurement& m, bool decode) {
  std::vector<double> ns, ts;  // llama-bench: samples_ns whole nanoseconds, t/s per sample, then mean and sd
  if (decode) {
    for (double ms : m.decode_ms_per_token) {
      ns.push_back(std::round(ms * m.n_gen * 1e6));
      ts.push_back(1000.0 / ms);
    }
  } else {
    for (double ms : m.prefill_ms) {
      ns.push_back(std::round(ms * 1e6));
      ts.push_back(m.n_prompt * 1000.0 / ms);
    }
  }
  const Stat sns = stat(ns), sts = stat(ts);
  nlohmann::json row = {
      {"model_filename", c.model_filename},
      {"model_type", c.model_type},
      {"model_size", c.model_size},
      {"model_n_params", c.n_params},
      {"backends", c.backend},
      {"gpu_info", c.backend == "cuda" ? c.device : ""},
      {"cpu_info", c.backend == "cpu" ? c.device : ""},
      {"n_threads", c.n_threads},
      {"n_prompt", decode ? 0 : m.n_prompt},
      {"n_gen", decode ? m.n_gen : 0},
      {"n_depth", decode ? m.n_prompt : 0},
      {"test", decode ? fmt::format("tg{} @ d{}", m.n_gen, m.n_prompt) : fmt::format("pp{}", m.n_prompt)},
      {"test_time", c.test_time},
      {"avg_ns", static_cast<int64_t>(std::llround(sns.mean))},
      {"stddev_ns", static_cast<int64_t>(std::llround(sns.sd))},
      {"avg_ts", sts.mean},
      {"stddev_ts", sts.sd},
      {"samples_ns", std::vector<int64_t>(ns.begin(), ns.end())},
      {"samples_ts", ts},
      {"route", m.route},
      {"route_spec", m.spec},
      {"n_layers", c.n_layers},
      {"sa_layers", m.sa_layers},
      {"sa_fraction", c.n_layers > 0 ? static_cast<double>(m.sa_layers) / c.n_layers : 0.0},
      {"kv_bytes", m.kv_bytes},
      {"peak_bytes", m.peak_bytes},
  };
  if (!decode) row["attention_ms"] = stat(m.attention_ms).mean;
  if (decode && c.bandwidth > 0.0) row["roofline_ms_per_token"] = m.read_bytes / c.bandwidth * 1e3;
  return row;
}

std::string human_size(double bytes) { return fmt::format("{:.2f} MiB", bytes / (1024.0 * 1024.0)); }
std::string human_params(int64_t n) {
  return n >= 1'000'000'000 ? fmt::format("{:.2f} B", n * 1e-9) : fmt::format("{:.2f} M", n * 1e-6);
}

// The columns of -o md and -o csv, in order (JSON keeps every field).
const std::vector<std::string> kCsvFields = {
    "model_filename", "model_type", "model_size", "model_n_params", "backends", "n_threads", "route", "test",
    "n_prompt", "n_gen", "n_depth", "avg_ns", "stddev_ns", "avg_ts", "stddev_ts", "sa_layers", "sa_fraction",
    "attention_ms", "kv_bytes", "peak_bytes", "roofline_ms_per_token"};

std::string csv_cell(const nlohmann::json& v) {
  if (v.is_null()) return "";
  if (v.is_string()) {
    std::string s = v.get<std::string>();
    if (s.find_first_of(",\"\n") == std::string::npos) return s;
    std::string q = "\"";
    for (char ch : s) q += ch == '"' ? std::string("\"\"") : std::string(1, ch);
    return q + "\"";
  }
  return v.dump();
}

class RowWriter {
 public:
  RowWriter(std::string format, bool roofline) : format_(std::move(format)), roofline_(roofline) {}
  void begin() {
    if (format_ == "md") {
      std::printf("| model | size | params | backend | threads | route | test | t/s | SA layers | attention ms | "
                  "KV MiB | peak GiB |%s\n",
                  roofline_ ? " roofline ms/token | decode / roofline |" : "");
      std::printf("|---|---:|---:|---|---:|---|---:|---:|---:|---:|---:|---:|%s\n", roofline_ ? "---:|---:|" : "");
    } else if (format_ == "csv") {
      for (std::size_t i = 0; i < kCsvFields.size(); ++i) std::printf("%s%s", i ? "," : "", kCsvFields[i].c_str());
      std::printf("\n");
    }
  }
  void add(const nlohmann::json& row) {
    if (format_ == "md") {
      const bool decode = row["n_gen"].get<int>() > 0;
      std::printf("| %s | %s | %s | %s | %d | %s | %s | %.2f ± %.2f | %d/%d | %s | %.2f | %.2f |",
                  row["model_type"].get<std::string>().c_str(),
                  human_size(row["model_size"].get<double>()).c_str(),
                  human_params(row["model_n_params"].get<int64_t>()).c_str(),
                  row["backends"].get<std::string>().c_str(), row["n_threads"].get<int>(),
                  row["route"].get<std::string>().c_str(), row["test"].get<std::string>().c_str(),
                  row["avg_ts"].get<double>(), row["stddev_ts"].get<double>(), row["sa_layers"].get<int>(),
                  row["n_layers"].get<int>(),
                  decode ? "-" : fmt::format("{:.1f}", row["attention_ms"].get<double>()).c_str(),
                  row["kv_bytes"].get<double>() / (1024.0 * 1024.0),
                  row["peak_bytes"].get<double>() / (1024.0 * 1024.0 * 1024.0));
      if (roofline_ && decode) {
        const double bound = row["roofline_ms_per_token"].get<double>();
        const double ms = 1000.0 / row["avg_ts"].get<double>();
        std::printf(" %.2f | %.2fx |", bound, ms / bound);
      } else if (roofline_) {
        std::printf(" - | - |");
      }
      std::printf("\n");
    } else if (format_ == "csv") {
      for (std::size_t i = 0; i < kCsvFields.size(); ++i)
        std::printf("%s%s", i ? "," : "", csv_cell(row.value(kCsvFields[i], nlohmann::json())).c_str());
      std::printf("\n");
    } else if (format_ == "jsonl") {
      std::printf("%s\n", row.dump().c_str());
    } else {
      rows_.push_back(row);
    }
    std::fflush(stdout);
  }
  void end() {
    if (format_ == "json") std::printf("%s\n", rows_.dump(2).c_str());
  }

 private:
  std::string format_;
  bool roofline_;
  nlohmann::json rows_ = nlohmann::json::array();
};

// The older --json document: one entry per route and prompt length with every repetition's times.
nlohmann::json legacy_row(const Measurement& m) {
  const Stat p = stat(m.prefill_ms), d = stat(m.decode_ms_per_token);
  return {{"route", m.spec},
          {"n_prompt", m.n_prompt},
          {"n_gen", m.n_gen},
          {"prefill_ms", m.prefill_ms},
          {"prefill_tok_s", m.n_prompt * 1000.0 / p.mean},
          {"sa_layers", m.sa_layers},
          {"attention_ms", m.attention_ms},
          {"decode_ms_per_token", m.decode_ms_per_token},
          {"decode_tok_s", d.mean > 0 ? 1000.0 / d.mean : 0.0},
          {"kv_bytes", m.kv_bytes},
          {"peak_bytes", m.peak_bytes}};
}

int run_bench(const BenchOptions& o) {
  const auto routes = bench_routes(o.route);
  const std::vector<int> lengths = parse_list(o.prompt_lengths);
  auto engine = engine::Engine::load(model_path(o.model), engine_options(o.model, &o.route));
  engine::Backend& backend = engine->backend();
  // The table owns stdout in md; the machine-readable formats keep it clean (the header goes to stderr).
  FILE* info = o.output == "md" ? stdout : stderr;
  BenchContext c;
  c.model_filename = o.model.random_weights.empty() ? model_path(o.model).string() : "random:" + o.model.random_weights;
  c.model_type = engine->summary().name;
  c.model_size = engine->decoder().weight_bytes();
  c.n_params = engine::parameter_count(engine->config());
  c.backend = backend.name();
  c.device = backend.device_name();
  c.n_threads = backend.threads();
  c.n_layers = engine->config().n_layers;
  c.test_time = engine::iso8601_now();
  std::fprintf(info, "model: %s | backend: %s (%s) | weights: %s | router: %s\n", c.model_type.c_str(),
               c.backend.c_str(), c.device.c_str(),
               engine::weight_execution(engine->decoder().weights(), backend).c_str(),
               engine->router_source().empty() ? "none" : engine->router_source().c_str());
  std::vector<engine::RoutingPlan> plans;
  for (const auto& [name, options] : routes) {
    plans.push_back(engine->plan(route_spec(options)));
    const engine::RoutingPlan& plan = plans.back();
    std::fprintf(info, "route %s: %s | FA = %s, SA = %s, decode %s | SA sink %d, window %d, n_last %d, block %d\n",
                 name.empty() ? "(default)" : name.c_str(), plan.spec.c_str(),
                 engine::attention_mode_name(plan.dense.mode), engine::attention_mode_name(plan.sparse.mode),
                 engine::decode_mode_name(plan.decode()), plan.sparse.sink, plan.sparse.window, plan.sparse.n_last,
                 plan.sparse.block);
  }
  std::fprintf(info, "prefill chunk %lld rows | %d layers, %.2f B parameters\n",
               static_cast<long long>(o.model.prefill_chunk), c.n_layers, static_cast<double>(c.n_params) * 1e-9);
  if (backend.name() == "cpu") {
    const double idle = engine::idle_cpu_cores(200);
    std::fprintf(info, "cpu: %d usable cores, %d threads, %.1f idle over 200 ms before the run\n",
                 engine::usable_cpu_cores(), c.n_threads, idle);
  }
  c.bandwidth = o.roofline ? copy_bandwidth(backend) : 0.0;
  if (o.roofline) std::fprintf(info, "device copy bandwidth (1 GiB D2D, read + write): %.0f GB/s\n", c.bandwidth * 1e-9);
  if (info == stdout) std::printf("\n");
  std::fflush(info);

  RowWriter writer(o.output, o.roofline);
  writer.begin();
  nlohmann::json legacy = nlohmann::json::array();
  std::mt19937 rng(static_cast<uint32_t>(o.seed));
  bool warmed = false;
  for (std::size_t r = 0; r < routes.size(); ++r) {
    for (int n_prompt : lengths) {
      engine::require(n_prompt + o.n_gen <= engine->context_length(), "bench: {} + {} tokens exceed the context {}",
                      n_prompt, o.n_gen, engine->context_length());
      Measurement m = measure(*engine, plans[r], o, n_prompt, warmed ? 0 : o.warmup, rng);
      warmed = true;
      m.route = routes[r].first.empty() ? plans[r].spec : routes[r].first;
      m.spec = plans[r].spec;
      writer.add(test_row(c, m, false));
      if (o.n_gen > 0) writer.add(test_row(c, m, true));
      legacy.push_back(legacy_row(m));
    }
  }
  writer.end();
  if (!o.json.empty()) {
    std::string route_names;
    for (const auto& p : plans) route_names += (route_names.empty() ? "" : ",") + p.spec;
    const nlohmann::json doc = {{"model", c.model_type}, {"backend", c.backend}, {"device", c.device},
                                {"route", route_names},  {"n_layers", c.n_layers}, {"rows", legacy}};
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
  CLI::App* cmd = app.add_subcommand(
      "bench", "prefill (ppN) and decode (tgN @ dN) throughput on random tokens, llama-bench fields, per route");
  add_model_options(*cmd, o->model);
  add_route_options(*cmd, o->route);
  cmd->get_option("--route")->description(
      "one route (a preset, a route spec such as \"router sa=triangle\", or FILE.json) or a comma-separated list of "
      "route names: router, fa, sa, sa:streaming, sa:triangle, sa:xattn, first-k:N, every-other");
  cmd->add_option("-p,--n-prompt", o->prompt_lengths, "prompt lengths, comma-separated (e.g. 512,4096)");
  cmd->add_option("-n,--n-gen", o->n_gen, "decode steps after each prefill")->check(CLI::NonNegativeNumber);
  cmd->add_option("-r,--repetitions", o->repetitions, "timed repetitions (after the warm-up)")->check(CLI::PositiveNumber);
  cmd->add_option("--seed", o->seed, "seed of the random tokens");
  cmd->add_option("-w,--warmup", o->warmup, "untimed runs before the first length")->check(CLI::NonNegativeNumber);
  cmd->add_flag("--roofline", o->roofline,
                "measure the device copy bandwidth and print decode against its HBM bound (bytes read / bandwidth)");
  cmd->add_option("-o,--output", o->output,
                  "output format on stdout: md (table), csv, json (an array of llama-bench rows), jsonl (one per line)")
      ->check(CLI::IsMember({"md", "csv", "json", "jsonl"}));
  cmd->add_option("--json", o->json, "also write the per-length rows (every repetition's times) as JSON to this file");
  return {cmd, [o] { return run_bench(*o); }};
}

}  // namespace flux::cli
