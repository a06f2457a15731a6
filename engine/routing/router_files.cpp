#include "engine/routing/router_files.h"

#include "engine/core/error.h"
#include "engine/routing/router_file.h"
#include "engine/runtime/engine.h"

namespace flux::engine {

void RouterFiles::load(Engine& engine, const std::string& name, const std::string& path) {
  if (loaded_.contains(name)) return;
  Loaded l{load_router(path), path};
  try {
    engine.swap_router(l.router, l.source);  // checks it against the model
  } catch (const Error& e) {
    fail("the router file {} does not fit this model: {}", path, e.what());
  }
  engine.swap_router(l.router, l.source);  // and back
  loaded_.emplace(name, std::move(l));
}

void RouterFiles::swap(Engine& engine, const std::string& name) {
  Loaded& l = loaded_.at(name);
  engine.swap_router(l.router, l.source);
}

}  // namespace flux::engine
