// The routes that `sweep` and `perplexity` compare, by name (--routes), including the static baselines of the null
// hypothesis "a fixed layer set with the router's SA share does as well":
//   router, fa, sa, sa:KIND (streaming | triangle | xattn), first-k:N, every-other   presets (route_spec.h)
//   first-k:match     first-k:N with N = L − round(f·L), f = the router's mean SA fraction on the same input
//   random:match      --random-seeds S random sets of round(f·L) SA layers, one route per seed (random:match#1..S)
//   NAME              a --route-file NAME=FILE.json (the engine's route JSON) or a --named-router NAME=ROUTER file
//                     (preset router under that router file, e.g. elastic=resources/routers/...safetensors)
// The matched routes need "router" in the same list: it runs first and its measured fraction sets theirs.
#pragma once

#include <CLI/CLI.hpp>

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "app/cli/run_options.h"
#include "engine/routing/matched_baselines.h"
#include "engine/routing/router_files.h"

namespace flux::cli {

struct RouteSetOptions {
  std::string routes;
  std::vector<std::string> route_files;    // NAME=FILE.json
  std::vector<std::string> named_routers;  // NAME=ROUTER.safetensors
  int random_seeds = 5;
};
// --routes (its help lists the names above), --route-file, --named-router, --random-seeds.
CLI::Option* add_route_set_options(CLI::App& app, RouteSetOptions& o, const std::string& default_routes);

struct RouteChoice {
  std::string name;   // in tables and JSON; random:match#S for the seeds
  std::string group;  // random:match for every seed, else the name
  RouteOptions options;
  std::string router;          // a --named-router name: runs under that router file; "" = the engine's router
  std::vector<int> sa_layers;  // matched baselines: the SA layers they force
  int seed = 0;                // random:match: 1..S
};

// The comma-separated list, names split from their definitions (nothing loaded yet).
class RouteSet {
 public:
  RouteSet(const RouteSetOptions& options, const RouteOptions& base);  // throws Error naming an unknown route

  const std::vector<std::string>& names() const { return names_; }  // as listed, defined names appended
  void drop(const std::string& name);                               // e.g. "router" on a model without one
  // The routes that do not depend on the router's measurement, in list order.
  std::vector<RouteChoice> fixed() const;
  bool has_matched() const { return first_k_match_ || random_match_; }
  // first-k:match and random:match#1..S for the router's measured mean SA fraction on n_layers layers.
  std::vector<RouteChoice> matched(double router_sa_fraction, int n_layers) const;

  // Loads the --named-router files (checked against the model) once; run_under swaps one in around a run.
  void load_routers(engine::Engine& engine);
  template <typename F>
  auto run_under(engine::Engine& engine, const RouteChoice& route, F&& run) {
    return routers_.run_under(engine, route.router, std::forward<F>(run));
  }

 private:
  RouteOptions base_;
  std::vector<std::string> names_;
  std::map<std::string, std::string> route_files_;
  std::map<std::string, std::string> router_paths_;  // --named-router NAME → PATH
  engine::RouterFiles routers_;
  bool first_k_match_ = false, random_match_ = false;
  int random_seeds_ = 5;
};

// The matched layer counts and random sets live in the engine (the app's needle grid draws the same ones).
using engine::matched_sa_layers;
using engine::random_layer_set;

std::vector<std::string> split_commas(const std::string& s);

}  // namespace flux::cli
