// `perplexity`: the quality cost of sparsity on plain text, per route, like llama-perplexity. The text file is
// tokenized as is (no chat template; BOS when the vocabulary asks for it) and cut into consecutive chunks of up to
// --chunk tokens, each starting with BOS where the model uses one. Each chunk is prefilled once per route (teacher
// forcing) and its second half is scored: targets at positions floor(L/2)..L-1 of a chunk of L tokens, each
// predicted from everything before it in the chunk (llama-perplexity's rule: every scored token has at least half a
// chunk of context, so sparse layers that only drop far tokens are actually exercised). The last chunk may be
// shorter; it is scored by the same rule.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "app/cli/commands.h"
#include "app/cli/number_checks.h"
#include "app/cli/route_set.h"
#include "app/cli/chat_options.h"
#include "app/cli/run_options.h"
#include "engine/core/error.h"
#include "engine/core/input_file.h"
#include "engine/runtime/session.h"

namespace flux::cli {
namespace {

using engine::require;

struct PerplexityOptions {
  ModelOptions model;
  RouteOptions route;  // router file and SA parameters; the routes come from --routes
  RouteSetOptions routes;
  bool routes_given = false;
  std::string file;
  bool parse_special = true;  // --parse-special / --no-parse-special
  int chunk = 0;  // 0: -c when given, else min(model context, 2048)
  int max_tokens = 0;
  int score_block = 256;
  std::string json, csv;
};

struct RouteScore {
  RouteChoice route;
  std::string spec;  // the RouteSpec as the engine resolved it (describe)
  int64_t tokens_scored = 0, tokens_prefilled = 0;
  double nll = 0.0;  // sum of −ln p over the scored tokens
  double prefill_ms = 0.0, score_ms = 0.0;
  std::vector<double> chunk_sa_fraction;

  double mean_nll() const { return nll / static_cast<double>(tokens_scored); }
  double perplexity() const { return std::exp(mean_nll()); }
  double bits_per_token() const { return mean_nll() / std::log(2.0); }
  double sa_fraction() const {
    double s = 0.0;
    for (double f : chunk_sa_fraction) s += f;
    return chunk_sa_fraction.empty() ? 0.0 : s / static_cast<double>(chunk_sa_fraction.size());
  }
  double tokens_per_s() const { return prefill_ms > 0 ? tokens_prefilled / (prefill_ms / 1000.0) : 0.0; }
};

std::vector<std::vector<int32_t>> text_chunks(const engine::Engine& engine, const std::string& text, int chunk,
                                              int max_tokens, bool parse_special, int64_t& text_tokens) {
  engine::RunSettings raw;
  raw.chat = false;
  raw.parse_special = parse_special;
  std::vector<int32_t> ids = engine.tokenize_prompt(text, raw);
  const engine::Tokenizer& tok = engine.tokenizer();
  const bool bos = tok.add_bos() && tok.bos_id() && !ids.empty() && ids.front() == *tok.bos_id();
  std::vector<int32_t> body(ids.begin() + (bos ? 1 : 0), ids.end());
  if (max_tokens > 0 && static_cast<int>(body.size()) > max_tokens) body.resize(static_cast<std::size_t>(max_tokens));
  text_tokens = static_cast<int64_t>(body.size());
  require(body.size() + (bos ? 1 : 0) >= 2, "perplexity: the text has {} token(s){}; scoring needs at least 2",
          body.size(), bos ? " after BOS" : "");
  const std::size_t per_chunk = static_cast<std::size_t>(chunk) - (bos ? 1 : 0);
  std::vector<std::vector<int32_t>> chunks;
  for (std::size_t at = 0; at < body.size(); at += per_chunk) {
    std::vector<int32_t> c;
    if (bos) c.push_back(*tok.bos_id());
    c.insert(c.end(), body.begin() + static_cast<std::ptrdiff_t>(at),
             body.begin() + static_cast<std::ptrdiff_t>(std::min(body.size(), at + per_chunk)));
    if (c.size() >= 2) chunks.push_back(std::move(c));  // a 1-token tail (no BOS) has nothing to score
  }
  return chunks;
}

RouteScore score_route(engine::Engine& engine, RouteSet& set, const RouteChoice& route,
                       const std::vector<std::vector<int32_t>>& chunks, const PerplexityOptions& o) {
  RouteScore s;
  s.route = route;
  set.run_under(engine, route, [&] {
    const engine::RoutingPlan plan = engine.plan(route_spec(route.options));
    s.spec = plan.spec;
    engine::Backend& backend = engine.backend();
    const int n_layers = engine.config().n_layers;
    for (const auto& chunk : chunks) {
      engine::Session session(engine.decoder(), static_cast<int64_t>(chunk.size()));
      session.set_router(engine.router());
      session.set_prefill_chunk(o.model.prefill_chunk);
      session.set_record_block_masks(false);
      int sa_layers = 0;
      const engine::TimeMark t0 = backend.mark();
      engine::TimeMark layers_done = t0;
      const int64_t first = std::max<int64_t>(1, static_cast<int64_t>(chunk.size()) / 2);
      const std::vector<double> logp = session.prefill_target_logprobs(
          chunk, plan, first,
          [&](const engine::LayerReport& r) {
            sa_layers += r.mode == engine::LayerMode::SA;
            if (r.index == n_layers - 1) layers_done = backend.mark();
          },
          o.score_block);
      const engine::TimeMark t1 = backend.mark();
      s.prefill_ms += backend.elapsed_ms(t0, layers_done);
      s.score_ms += backend.elapsed_ms(layers_done, t1);
      for (double lp : logp) s.nll -= lp;
      s.tokens_scored += static_cast<int64_t>(logp.size());
      s.tokens_prefilled += static_cast<int64_t>(chunk.size());
      s.chunk_sa_fraction.push_back(static_cast<double>(sa_layers) / n_layers);
    }
    return 0;
  });
  std::fprintf(stderr, "%-18s %7lld tokens  ppl %9.4f  %6.3f bits/token  SA %5.1f%%  prefill %9.1f ms\n",
               s.route.name.c_str(), static_cast<long long>(s.tokens_scored), s.perplexity(), s.bits_per_token(),
               s.sa_fraction() * 100.0, s.prefill_ms);
  return s;
}

nlohmann::json spread(const std::vector<double>& v) {
  double mean = 0.0, var = 0.0;
  for (double x : v) mean += x;
  mean /= static_cast<double>(v.size());
  for (double x : v) var += (x - mean) * (x - mean);
  const double sd = v.size() > 1 ? std::sqrt(var / static_cast<double>(v.size() - 1)) : 0.0;
  return {{"mean", mean},
          {"std", sd},
          {"min", *std::min_element(v.begin(), v.end())},
          {"max", *std::max_element(v.begin(), v.end())},
          {"n", v.size()}};
}

int run_perplexity(PerplexityOptions& o) {
  RouteSet set(o.routes, o.route);  // unknown routes fail before the model loads
  const std::string text = engine::read_input_file(o.file, "text file");
  require(text.find_first_not_of(" \t\r\n") != std::string::npos, "perplexity: {} is empty", o.file);
  auto engine = engine::Engine::load(model_path(o.model), engine_options(o.model, &o.route));
  require(engine->has_tokenizer(), "perplexity: the model has no tokenizer (random weights score no text)");
  if (engine->router() == nullptr) {
    const auto& names = set.names();
    if (std::find(names.begin(), names.end(), "router") != names.end()) {
      require(!o.routes_given, "perplexity: route 'router' needs a router (--router FILE), and the model has none");
      set.drop("router");
      std::fprintf(stderr, "perplexity: the model has no layer router; skipping route 'router'\n");
    }
  }
  set.load_routers(*engine);
  const int chunk = o.chunk > 0           ? o.chunk
                    : o.model.context > 0 ? o.model.context
                                          : std::min(engine->context_length(), 2048);
  require(chunk >= 2 && chunk <= engine->context_length(), "perplexity: --chunk {} must be in 2..{} (the context)",
          chunk, engine->context_length());
  int64_t text_tokens = 0;
  const auto chunks = text_chunks(*engine, text, chunk, o.max_tokens, o.parse_special, text_tokens);
  std::fprintf(stderr, "perplexity: %lld tokens in %zu chunk(s) of up to %d on %s (%s), router: %s\n",
               static_cast<long long>(text_tokens), chunks.size(), chunk, engine->summary().name.c_str(),
               engine->backend().name().c_str(),
               engine->router_source().empty() ? "none" : engine->router_source().c_str());

  std::vector<RouteScore> scores;
  for (const RouteChoice& r : set.fixed()) scores.push_back(score_route(*engine, set, r, chunks, o));
  double router_sa = -1.0;
  for (const auto& s : scores)
    if (s.route.name == "router") router_sa = s.sa_fraction();
  if (set.has_matched())
    for (const RouteChoice& r : set.matched(router_sa, engine->config().n_layers))
      scores.push_back(score_route(*engine, set, r, chunks, o));

  std::printf(
      "| route | tokens scored | perplexity | bits/token | SA fraction | prefill ms | prefill tok/s |\n"
      "|---|---:|---:|---:|---:|---:|---:|\n");
  nlohmann::json routes = nlohmann::json::array();
  std::map<std::string, std::vector<double>> group_ppl, group_bits;
  for (const auto& s : scores) {
    std::printf("| %s | %lld | %.4f | %.4f | %.3f | %.1f | %.1f |\n", s.route.name.c_str(),
                static_cast<long long>(s.tokens_scored), s.perplexity(), s.bits_per_token(), s.sa_fraction(),
                s.prefill_ms, s.tokens_per_s());
    routes.push_back({{"route", s.route.name},
                      {"group", s.route.group},
                      {"spec", s.spec},
                      {"seed", s.route.seed > 0 ? nlohmann::json(s.route.seed) : nlohmann::json(nullptr)},
                      {"sa_layers", s.route.sa_layers},
                      {"tokens_scored", s.tokens_scored},
                      {"tokens_prefilled", s.tokens_prefilled},
                      {"nll_sum", s.nll},
                      {"perplexity", s.perplexity()},
                      {"bits_per_token", s.bits_per_token()},
                      {"sa_fraction", s.sa_fraction()},
                      {"chunk_sa_fraction", s.chunk_sa_fraction},
                      {"prefill_ms", s.prefill_ms},
                      {"score_ms", s.score_ms},
                      {"prefill_tokens_per_s", s.tokens_per_s()}});
    if (s.route.group != s.route.name) {
      group_ppl[s.route.group].push_back(s.perplexity());
      group_bits[s.route.group].push_back(s.bits_per_token());
    }
  }
  nlohmann::json groups = nlohmann::json::object();
  for (const auto& [g, ppl] : group_ppl) {
    groups[g] = {{"perplexity", spread(ppl)}, {"bits_per_token", spread(group_bits[g])}};
    std::printf("\n%s over %zu seeds: perplexity mean %.4f ± %.4f (std), min %.4f, max %.4f\n", g.c_str(), ppl.size(),
                groups[g]["perplexity"]["mean"].get<double>(), groups[g]["perplexity"]["std"].get<double>(),
                groups[g]["perplexity"]["min"].get<double>(), groups[g]["perplexity"]["max"].get<double>());
  }
  if (!o.json.empty()) {
    const nlohmann::json doc = {
        {"model", engine->summary().name},
        {"backend", engine->backend().name()},
        {"device", engine->backend().device_name()},
        {"router", engine->router_source().empty() ? nlohmann::json(nullptr) : nlohmann::json(engine->router_source())},
        {"file", o.file},
        {"text_tokens", text_tokens},
        {"parse_special", o.parse_special},
        {"chunk", chunk},
        {"chunks", chunks.size()},
        {"scoring", "second half of each chunk: targets floor(L/2)..L-1 of a chunk of L tokens"},
        {"router_sa_fraction", router_sa >= 0 ? nlohmann::json(router_sa) : nlohmann::json(nullptr)},
        {"routes", routes},
        {"groups", groups}};
    std::ofstream f(o.json);
    require(f.good(), "perplexity: cannot write {}", o.json);
    f << doc.dump(1) << '\n';
    require(f.good(), "perplexity: writing {} failed", o.json);
  }
  if (!o.csv.empty()) {
    std::ofstream f(o.csv);
    require(f.good(), "perplexity: cannot write {}", o.csv);
    f << "route,group,tokens_scored,perplexity,bits_per_token,sa_fraction,prefill_ms,prefill_tokens_per_s\n";
    for (const auto& s : scores)
      f << s.route.name << ',' << s.route.group << ',' << s.tokens_scored << ',' << s.perplexity() << ','
        << s.bits_per_token() << ',' << s.sa_fraction() << ',' << s.prefill_ms << ',' << s.tokens_per_s() << '\n';
    require(f.good(), "perplexity: writing {} failed", o.csv);
  }
  return 0;
}

}  // namespace

Command add_perplexity_command(CLI::App& app) {
  auto o = std::make_shared<PerplexityOptions>();
  CLI::App* cmd = app.add_subcommand(
      "perplexity",
      "perplexity and bits per token of a text file per route (chunks up to the context, the second half of each "
      "chunk scored, as llama-perplexity), with the SA fraction and prefill time");
  add_model_options(*cmd, o->model);
  add_route_options(*cmd, o->route);
  cmd->add_option("-f,--file", o->file, "the text to score (plain text, no chat template)")->required();
  add_parse_special_option(*cmd, o->parse_special);
  CLI::Option* routes = add_route_set_options(*cmd, o->routes, "fa,router,sa:streaming");
  cmd->add_option("--chunk", o->chunk, "tokens per chunk, BOS included (default: -c if given, else min(context, 2048))")
      ->check(positive());
  cmd->add_option("--max-tokens", o->max_tokens, "score only the first N tokens of the text (0 = all)")
      ->check(non_negative());
  cmd->add_option("--score-block", o->score_block, "positions per lm_head block (bounds the logits held at once)")
      ->check(positive());
  cmd->add_option("--json", o->json, "write the per-route results as JSON");
  cmd->add_option("--csv", o->csv, "write one CSV row per route");
  return {cmd, [o, routes] {
            o->routes_given = routes->count() > 0;
            return run_perplexity(*o);
          }};
}

}  // namespace flux::cli
