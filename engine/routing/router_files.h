// Router files other than the engine's own (the previously shipped Elastic router, a sweep's --named-router, the
// app's "router-file:PATH"), loaded and checked against the model once, swapped into the engine around one run and
// back afterwards (also when the run throws). One definition for the CLI's route sets and the app's worker.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "engine/routing/layer_router.h"

namespace flux::engine {

class Engine;

class RouterFiles {
 public:
  // Loads `path` as `name` (again: nothing to do) and checks it against engine's model; throws Error "the router
  // file PATH does not fit this model: …" when it does not.
  void load(Engine& engine, const std::string& name, const std::string& path);
  bool contains(const std::string& name) const { return loaded_.contains(name); }
  // run() with router `name` in the engine; an empty name runs under the engine's own router.
  template <typename F>
  auto run_under(Engine& engine, const std::string& name, F&& run) {
    if (name.empty()) return run();
    swap(engine, name);
    struct Back {
      RouterFiles& files;
      Engine& engine;
      const std::string& name;
      ~Back() { files.swap(engine, name); }
    } back{*this, engine, name};
    return run();
  }

 private:
  // Exchanges the engine's router with the one kept as `name`.
  void swap(Engine& engine, const std::string& name);
  struct Loaded {
    std::optional<LayerRouter> router;
    std::string source;
  };
  std::map<std::string, Loaded> loaded_;
};

}  // namespace flux::engine
