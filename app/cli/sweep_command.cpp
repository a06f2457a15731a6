// `sweep`: run a task file (JSONL: needle-in-a-haystack grid + robust tasks, tools/router/make_eval_set.py) under
// several routes — router, all-FA, all-SA of each kind, and the static baselines at the router's SA fraction
// (route_set.h) — with one loaded model; score each answer and report accuracy, SA fraction and timings per task kind
// and route, the spread over random layer sets, the router's margins over each baseline, and the needle grid.
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <tuple>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "app/cli/chat_options.h"
#include "app/cli/commands.h"
#include "app/cli/number_checks.h"
#include "app/cli/route_set.h"
#include "app/cli/run_options.h"
#include "app/cli/sweep_comparison.h"
#include "engine/core/error.h"
#include "engine/core/input_file.h"
#include "engine/runtime/answer_check.h"

namespace flux::cli {
namespace {

struct SweepTask {
  std::string id, kind, task, system_prompt, prompt, answer;
  std::vector<std::string> answers;  // every one must appear (multi-value tasks); else {answer}
  int line = 0;  // in the task file, for error messages
  int context_tokens = 0;
  double depth = -1.0;  // < 0: none
};

struct SweepOptions {
  ModelOptions model;
  RouteOptions route;  // router file, SA parameters; the route itself comes from --routes
  RouteSetOptions routes;
  ChatTemplateOptions chat;  // every task runs as a chat prompt
  std::string tasks;
  bool routes_given = false;     // --routes on the command line (else a model without a router skips "router")
  std::string match_on = "all";  // the tasks whose router SA fraction the matched baselines take
  int n_predict = 32;
  int limit = 0;
  std::string out, csv;
};

std::vector<SweepTask> load_tasks(const std::string& path) {
  // A FIFO or a device is refused by name, not read forever; the size is bounded (engine/core/input_file.h).
  std::istringstream in(engine::read_input_file(path, "task file"));
  std::vector<SweepTask> tasks;
  std::string line;
  for (int line_no = 1; std::getline(in, line); ++line_no) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    try {
      const nlohmann::json j = nlohmann::json::parse(line);
      SweepTask t;
      engine::require(j.is_object(), "not a JSON object");
      t.line = line_no;
      t.id = j.value("id", "task-" + std::to_string(line_no));
      t.kind = j.at("kind").get<std::string>();
      engine::require(t.kind == "needle" || t.kind == "robust", "kind must be needle or robust, not '{}'", t.kind);
      t.task = j.value("task", "");
      if (j.contains("context_tokens")) {  // 1e300 or -3 converted silently to INT_MIN before
        const auto& c = j["context_tokens"];
        engine::require(c.is_number_integer() && c.get<int64_t>() >= 0 && c.get<int64_t>() <= (int64_t{1} << 24),
                        "context_tokens must be a whole number from 0 to {}, not {}", int64_t{1} << 24, c.dump());
        t.context_tokens = c.get<int>();
      }
      if (j.contains("depth") && j["depth"].is_number()) t.depth = j["depth"].get<double>();
      // [optional system message, one user message]: the chat template wraps them as the CLI's --chat does.
      const auto& messages = j.at("messages");
      engine::require(messages.is_array() && !messages.empty() && messages.size() <= 2,
                      "messages must be [system?, user], not {} entries", messages.size());
      if (messages.size() == 2) {
        engine::require(messages[0].at("role") == "system", "with two messages the first must be the system one");
        t.system_prompt = messages[0].at("content").get<std::string>();
      }
      engine::require(messages.back().at("role") == "user", "the last message must have role user");
      t.prompt = messages.back().at("content").get<std::string>();
      t.answer = j.at("answer").get<std::string>();
      engine::require(!engine::lower_trimmed(t.answer).empty(), "empty answer");
      t.answers = j.value("answers", std::vector<std::string>{t.answer});
      for (const std::string& a : t.answers)
        engine::require(!engine::lower_trimmed(a).empty(), "empty answer in answers");
      tasks.push_back(std::move(t));
    } catch (const nlohmann::json::exception& e) {
      engine::fail("sweep: {} line {}: {}", path, line_no, e.what());
    } catch (const engine::Error& e) {
      engine::fail("sweep: {} line {}: {}", path, line_no, e.what());
    }
  }
  engine::require(!tasks.empty(), "sweep: {} has no tasks", path);
  return tasks;
}

// Quotes a CSV field when it holds a comma, quote or line break (RFC 4180).
std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + '"';
}

struct Cell {
  int n = 0, correct = 0;
  double sa = 0.0, prefill_ms = 0.0, decode_ms = 0.0;
};

// Per layer: the router's FA probability, or null where no router ran (forced routes).
nlohmann::json router_fa_probs(const engine::RunReport& rep) {
  nlohmann::json probs = nlohmann::json::array();
  for (const auto& l : rep.layers)
    probs.push_back(l.router_score ? nlohmann::json(l.router_score->fa_prob()) : nlohmann::json(nullptr));
  return probs;
}

using GridKey = std::tuple<std::string, int, double>;  // (route, context tokens, depth)

// One markdown table per route: needle accuracy with context down and depth across.
void print_needle_grids(const std::map<GridKey, Cell>& grid, const std::vector<std::string>& routes) {
  std::set<int> contexts;
  std::set<double> depths;
  for (const auto& [key, c] : grid) {
    contexts.insert(std::get<1>(key));
    depths.insert(std::get<2>(key));
  }
  if (contexts.empty()) return;
  for (const std::string& route : routes) {
    std::printf("\nneedle accuracy, route %s (rows: context tokens, columns: depth)\n\n| context |", route.c_str());
    for (double d : depths) std::printf(" %s |", d < 0 ? "-" : fmt::format("{:g}", d).c_str());
    std::printf("\n|---:|");
    for (std::size_t i = 0; i < depths.size(); ++i) std::printf("---:|");
    std::printf("\n");
    for (int ctx : contexts) {
      std::printf("| %d |", ctx);
      for (double d : depths) {
        const auto it = grid.find({route, ctx, d});
        if (it == grid.end())
          std::printf(" |");
        else
          std::printf(" %.2f |", static_cast<double>(it->second.correct) / it->second.n);
      }
      std::printf("\n");
    }
  }
}

int run_sweep(const SweepOptions& o) {
  std::vector<SweepTask> tasks = load_tasks(o.tasks);
  if (o.limit > 0 && static_cast<int>(tasks.size()) > o.limit) tasks.resize(static_cast<std::size_t>(o.limit));
  RouteSet set(o.routes, o.route);  // unknown routes fail before the model loads
  auto engine = engine::Engine::load(resolve_model_path(o.model.model), engine_options(o.model, &o.route));
  if (engine->router() == nullptr) {
    const auto& names = set.names();
    if (std::find(names.begin(), names.end(), "router") != names.end()) {
      engine::require(!o.routes_given, "sweep: route 'router' needs a router (--router FILE), and the model has none");
      set.drop("router");
      std::fprintf(stderr, "sweep: the model has no layer router; skipping route 'router'\n");
    }
  }
  set.load_routers(*engine);
  // Every prompt must fit before the first run, so a long sweep does not die half-way.
  for (const SweepTask& t : tasks) {
    engine::RunSettings s;
    s.system_prompt = t.system_prompt;
    s.parse_special = o.chat.parse_special;
    const std::size_t n = engine->tokenize_prompt(t.prompt, s).size();
    engine::require(static_cast<int>(n) + o.n_predict <= engine->context_length(),
                    "sweep: {} line {} (task {}): the prompt has {} tokens, + {} to generate exceeds the context {}",
                    o.tasks, t.line, t.id, n, o.n_predict, engine->context_length());
  }
  std::fprintf(stderr, "sweep: %zu tasks x %zu routes%s on %s (%s), router: %s\n", tasks.size(), set.names().size(),
               set.has_matched() ? " (random:match counts once)" : "", engine->summary().name.c_str(),
               engine->backend().name().c_str(),
               engine->router_source().empty() ? "none" : engine->router_source().c_str());

  nlohmann::json results = nlohmann::json::array();
  std::vector<SweepOutcome> outcomes;
  std::vector<std::string> routes;                              // as run: the matched ones after the others
  std::map<std::pair<std::string, std::string>, Cell> by_kind;  // (kind, route)
  std::map<GridKey, Cell> grid;                                 // needle tasks only
  auto run_all = [&](const std::vector<RouteChoice>& choices) {
    for (const RouteChoice& c : choices) routes.push_back(c.name);
    for (std::size_t ti = 0; ti < tasks.size(); ++ti) {
      const SweepTask& t = tasks[ti];
      for (const RouteChoice& choice : choices) {
        const std::string& spec = choice.name;
        engine::RunRequest request;
        request.prompt = t.prompt;
        request.settings.chat = true;
        request.settings.system_prompt = t.system_prompt;
        apply_chat_template_options(o.chat, request.settings);
        if (o.chat.verbose_prompt && &choice == &choices.front()) print_verbose_prompt(*engine, t.prompt, request.settings);
        request.settings.max_new_tokens = o.n_predict;
        request.route = route_spec(choice.options);
        const engine::RunReport rep =
            set.run_under(*engine, choice, [&] { return engine->run(request, nullptr, nullptr); });
        engine::require(rep.status == "ok", "sweep: task {} route {}: {}", t.id, spec, rep.error);
        const bool correct = engine::answers_in_output(rep.output_text, t.answers);
        std::string modes;
        for (const auto& l : rep.layers) modes += l.mode == engine::LayerMode::SA ? 'S' : 'F';
        results.push_back({{"id", t.id},
                           {"kind", t.kind},
                           {"task", t.task},
                           {"context_tokens", t.context_tokens},
                           {"prompt_tokens", rep.prompt_tokens},
                           {"depth", t.depth < 0 ? nlohmann::json(nullptr) : nlohmann::json(t.depth)},
                           {"route", spec},
                           {"group", choice.group},
                           {"route_spec", rep.settings.route},
                           {"answer", t.answer},
                           {"output", rep.output_text},
                           {"correct", correct},
                           {"sa_fraction", rep.summary.sa_fraction},
                           {"prefill_ms", rep.summary.prefill_ms},
                           {"decode_ms_per_token", rep.summary.decode_ms_per_token},
                           {"modes", modes},
                           {"router_fa_probs", router_fa_probs(rep)}});
        outcomes.push_back({ti, t.kind, spec, choice.group, correct, rep.summary.sa_fraction});
        for (Cell* c :
             {&by_kind[{t.kind, spec}], t.kind == "needle" ? &grid[{spec, t.context_tokens, t.depth}] : nullptr}) {
          if (c == nullptr) continue;
          c->n += 1;
          c->correct += correct;
          c->sa += rep.summary.sa_fraction;
          c->prefill_ms += rep.summary.prefill_ms;
          c->decode_ms += rep.summary.decode_ms_per_token;
        }
        std::fprintf(stderr, "%-28s %-16s %s sa %3.0f%% prefill %7.1f ms  %s\n", t.id.c_str(), spec.c_str(),
                     correct ? "ok  " : "MISS", rep.summary.sa_fraction * 100.0, rep.summary.prefill_ms, modes.c_str());
      }
    }
  };
  run_all(set.fixed());
  nlohmann::json match = nullptr;
  if (set.has_matched()) {
    // The router's mean SA fraction over the --match-on tasks sets the matched baselines' share.
    double sum = 0.0;
    int n = 0;
    for (const auto& out : outcomes)
      if (out.route == "router" && (o.match_on == "all" || out.kind == o.match_on)) {
        sum += out.sa_fraction;
        ++n;
      }
    engine::require(n > 0, "sweep: --match-on {}: the task file has no {} tasks", o.match_on, o.match_on);
    const double f = sum / n;
    const int n_layers = engine->config().n_layers;
    const std::vector<RouteChoice> matched = set.matched(f, n_layers);
    nlohmann::json sets = nlohmann::json::object();
    for (const auto& c : matched) sets[c.name] = c.sa_layers;
    match = {{"on", o.match_on},
             {"router_sa_fraction", f},
             {"sa_layers", matched_sa_layers(f, n_layers)},
             {"n_layers", n_layers},
             {"layer_sets", sets}};
    std::fprintf(stderr, "sweep: router SA fraction %.3f on %s tasks -> %d of %d layers SA for the matched routes\n", f,
                 o.match_on.c_str(), matched_sa_layers(f, n_layers), n_layers);
    run_all(matched);
  }

  nlohmann::json summary = nlohmann::json::array();
  std::printf(
      "| kind | route | n | accuracy | SA fraction | prefill ms | decode ms/token "
      "|\n|---|---|---:|---:|---:|---:|---:|\n");
  for (const auto& [key, c] : by_kind) {
    const double n = c.n;
    std::printf("| %s | %s | %d | %.2f | %.2f | %.1f | %.2f |\n", key.first.c_str(), key.second.c_str(), c.n,
                c.correct / n, c.sa / n, c.prefill_ms / n, c.decode_ms / n);
    summary.push_back({{"kind", key.first},
                       {"route", key.second},
                       {"n", c.n},
                       {"accuracy", c.correct / n},
                       {"sa_fraction", c.sa / n},
                       {"prefill_ms", c.prefill_ms / n},
                       {"decode_ms_per_token", c.decode_ms / n}});
  }
  const nlohmann::json comparison = compare_routes(outcomes, routes);
  print_route_comparison(comparison);
  print_needle_grids(grid, routes);
  nlohmann::json grid_json = nlohmann::json::array();
  for (const auto& [key, c] : grid) {
    grid_json.push_back({{"route", std::get<0>(key)},
                         {"context_tokens", std::get<1>(key)},
                         {"depth", std::get<2>(key)},
                         {"n", c.n},
                         {"accuracy", static_cast<double>(c.correct) / c.n},
                         {"sa_fraction", c.sa / c.n}});
  }
  const nlohmann::json doc = {
      {"model", engine->summary().name},
      {"backend", engine->backend().name()},
      {"router", engine->router_source().empty() ? nlohmann::json(nullptr) : nlohmann::json(engine->router_source())},
      {"device", engine->backend().device_name()},
      {"tasks_file", o.tasks},
      {"routes", routes},
      {"n_predict", o.n_predict},
      {"summary", summary},
      {"match", match},
      {"route_summary", comparison["routes"]},
      {"margins", comparison["margins"]},
      {"needle_grid", grid_json},
      {"results", results}};
  if (!o.out.empty()) {
    std::ofstream f(o.out);
    engine::require(f.good(), "sweep: cannot write {}", o.out);
    f << doc.dump(1) << '\n';
    engine::require(f.good(), "sweep: writing {} failed", o.out);
  }
  if (!o.csv.empty()) {
    std::ofstream f(o.csv);
    engine::require(f.good(), "sweep: cannot write {}", o.csv);
    f << "id,kind,task,context_tokens,depth,route,correct,sa_fraction,prefill_ms,decode_ms_per_token,modes\n";
    for (const auto& r : results) {
      f << csv_field(r["id"].get<std::string>()) << ',' << r["kind"].get<std::string>() << ','
        << csv_field(r["task"].get<std::string>()) << ',' << r["context_tokens"].get<int>() << ','
        << (r["depth"].is_null() ? "" : r["depth"].dump()) << ',' << r["route"].get<std::string>() << ','
        << (r["correct"].get<bool>() ? 1 : 0) << ',' << r["sa_fraction"].get<double>() << ','
        << r["prefill_ms"].get<double>() << ',' << r["decode_ms_per_token"].get<double>() << ','
        << r["modes"].get<std::string>() << '\n';
    }
    engine::require(f.good(), "sweep: writing {} failed", o.csv);
  }
  return 0;
}

}  // namespace

Command add_sweep_command(CLI::App& app) {
  auto o = std::make_shared<SweepOptions>();
  CLI::App* cmd =
      app.add_subcommand("sweep", "score a task file (JSONL) under several routes: accuracy, SA fraction, timings");
  add_model_options(*cmd, o->model);
  add_route_options(*cmd, o->route);
  add_chat_template_options(*cmd, o->chat);
  cmd->add_option("--tasks", o->tasks, "task file, one JSON object per line (tools/router/make_eval_set.py)")
      ->required();
  CLI::Option* routes = add_route_set_options(*cmd, o->routes, "router,fa,sa:streaming,sa:triangle,sa:xattn");
  cmd->add_option("--match-on", o->match_on,
                  "first-k:match / random:match take the router's mean SA fraction over these tasks")
      ->check(CLI::IsMember({"all", "needle", "robust"}));
  cmd->add_option("-n,--n-predict", o->n_predict, "tokens to generate per task (greedy)")->check(positive());
  cmd->add_option("--limit", o->limit, "run only the first N tasks")->check(non_negative());
  cmd->add_option("--out", o->out, "write the results as JSON");
  cmd->add_option("--csv", o->csv, "write one CSV row per task and route");
  return {cmd, [o, routes] {
            o->routes_given = routes->count() > 0;
            return run_sweep(*o);
          }};
}

}  // namespace flux::cli
