#include "app/cli/route_set.h"
#include "app/cli/number_checks.h"

#include <algorithm>
#include <cstdio>
#include <set>

#include <fmt/format.h>

#include "engine/core/error.h"
#include "engine/routing/matched_baselines.h"
#include "engine/routing/router_file.h"
#include "engine/routing/router_files.h"

namespace flux::cli {

using engine::fail;
using engine::require;

std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= s.size()) {
    const std::size_t end = std::min(s.find(',', start), s.size());
    if (end > start) out.push_back(s.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

CLI::Option* add_route_set_options(CLI::App& app, RouteSetOptions& o, const std::string& default_routes) {
  o.routes = default_routes;
  CLI::Option* routes = app.add_option(
      "--routes", o.routes,
      "comma-separated routes: router, fa, sa, sa:streaming, sa:triangle, sa:xattn, first-k:N, every-other; "
      "first-k:match and random:match (static layer sets at the router's measured mean SA fraction, rounded to "
      "round(f*layers) SA layers; need 'router' in the list); NAME of a --route-file or --named-router");
  app.add_option("--route-file", o.route_files,
                 "NAME=FILE.json: a route JSON (e.g. the best fixed layer set) compared as route NAME (repeatable)");
  app.add_option("--named-router", o.named_routers,
                 "NAME=ROUTER.safetensors: another router file, run as preset 'router' under route NAME, e.g. "
                 "elastic=resources/routers/previous/SmolLM2-135M-Instruct.elastic.router.safetensors (repeatable)");
  app.add_option("--random-seeds", o.random_seeds, "random:match: how many random layer sets (seeds 1..S)")
      ->check(positive());
  return routes;
}

namespace {

std::pair<std::string, std::string> name_and_value(const std::string& item, const char* flag) {
  const std::size_t eq = item.find('=');
  require(eq != std::string::npos && eq > 0 && eq + 1 < item.size(), "{} '{}': expected NAME=PATH", flag, item);
  return {item.substr(0, eq), item.substr(eq + 1)};
}

bool is_preset(const std::string& name) {
  return name == "router" || name == "fa" || name == "sa" || name == "every-other" || name.starts_with("first-k:") ||
         name.starts_with("sa:");
}

}  // namespace

RouteSet::RouteSet(const RouteSetOptions& options, const RouteOptions& base)
    : base_(base), random_seeds_(options.random_seeds) {
  require(random_seeds_ > 0, "--random-seeds {} must be > 0", random_seeds_);
  std::vector<std::string> defined;
  for (const auto& item : options.route_files) {
    auto [name, path] = name_and_value(item, "--route-file");
    require(path.size() > 5 && path.ends_with(".json"), "--route-file {}: {} is not a .json route file", name, path);
    engine::load_route_file(path);  // fail now, before a model loads
    route_files_[name] = path;
    defined.push_back(name);
  }
  for (const auto& item : options.named_routers) {
    auto [name, path] = name_and_value(item, "--named-router");
    router_paths_[name] = path;
    defined.push_back(name);
  }
  std::set<std::string> seen;
  for (const auto& name : defined) {
    require(!is_preset(name) && name != "first-k:match" && name != "random:match",
            "route name '{}' is taken by a preset; pick another NAME", name);
    require(seen.insert(name).second, "route name '{}' is defined twice", name);
  }
  names_ = split_commas(options.routes);
  for (const auto& name : defined)  // a defined route is meant to run: listed or not
    if (std::find(names_.begin(), names_.end(), name) == names_.end()) names_.push_back(name);
  require(!names_.empty(), "--routes is empty");
  std::set<std::string> listed;
  for (const auto& name : names_) {
    require(listed.insert(name).second, "route '{}' is listed twice", name);
    if (name == "first-k:match")
      first_k_match_ = true;
    else if (name == "random:match")
      random_match_ = true;
    else if (name.starts_with("sa:"))
      require(name == "sa:streaming" || name == "sa:triangle" || name == "sa:xattn",
              "unknown route '{}' (SA kinds: sa:streaming, sa:triangle, sa:xattn)", name);
    else if (is_preset(name))
      engine::parse_route_spec(name);  // first-k:N must parse
    else if (!route_files_.contains(name) && !router_paths_.contains(name))
      fail(
          "unknown route '{}' (router, fa, sa, sa:KIND, first-k:N, every-other, first-k:match, random:match, or a "
          "NAME from --route-file / --named-router)",
          name);
  }
  if (has_matched())
    require(listed.contains("router"),
            "first-k:match and random:match take the router's measured SA fraction: add 'router' to --routes");
}

void RouteSet::drop(const std::string& name) {
  std::erase(names_, name);
  if (name == "router" && has_matched())
    fail("first-k:match and random:match need the route 'router', and the model has no router (--router FILE)");
}

std::vector<RouteChoice> RouteSet::fixed() const {
  std::vector<RouteChoice> out;
  for (const auto& name : names_) {
    if (name == "first-k:match" || name == "random:match") continue;
    RouteChoice c;
    c.name = c.group = name;
    c.options = base_;
    if (name.starts_with("sa:")) {
      c.options.route = "sa";
      c.options.sa_kind = name.substr(3);
    } else if (const auto f = route_files_.find(name); f != route_files_.end()) {
      c.options.route = f->second;
    } else if (router_paths_.contains(name)) {
      c.options.route = "router";
      c.router = name;
    } else {
      c.options.route = name;
    }
    out.push_back(std::move(c));
  }
  return out;
}

std::vector<RouteChoice> RouteSet::matched(double router_sa_fraction, int n_layers) const {
  const int k = matched_sa_layers(router_sa_fraction, n_layers);
  std::vector<RouteChoice> out;
  for (const auto& name : names_) {
    if (name == "first-k:match") {
      RouteChoice c;
      c.name = c.group = name;
      c.options = base_;
      c.options.route = fmt::format("first-k:{}", n_layers - k);
      c.sa_layers = engine::first_k_match_layers(n_layers, k);
      out.push_back(std::move(c));
    } else if (name == "random:match") {
      const std::vector<std::vector<int>> sets = engine::random_match_sets(n_layers, k, random_seeds_);
      if (int(sets.size()) < random_seeds_)
        std::fprintf(stderr, "random:match: only %zu distinct sets of %d SA layers in %d; running those\n",
                     sets.size(), k, n_layers);
      for (std::size_t i = 0; i < sets.size(); ++i) {
        RouteChoice c;
        c.seed = int(i) + 1;
        c.name = fmt::format("random:match#{}", c.seed);
        c.group = name;
        c.sa_layers = sets[i];
        c.options = base_;
        std::string overrides;
        for (int l : c.sa_layers) overrides += fmt::format("{}{}=SA", overrides.empty() ? "" : ",", l);
        c.options.route = overrides.empty() ? "fa" : "fa override=" + overrides;
        out.push_back(std::move(c));
      }
    }
  }
  return out;
}

void RouteSet::load_routers(engine::Engine& engine) {
  for (const auto& [name, path] : router_paths_) {
    try {
      routers_.load(engine, name, path);
    } catch (const engine::Error& e) {
      fail("--named-router {}={}: {}", name, path, e.what());
    }
  }
}

}  // namespace flux::cli
