// Statements, scopes and macros (expressions: expressions.cpp).
#include "engine/tokenizer/jinja/evaluator.h"

#include "engine/core/error.h"
#include "engine/tokenizer/jinja/evaluator_support.h"

namespace flux::engine::jinja {
namespace {

using detail::Nest;
using detail::rethrow_located;

// Whether `v` is or holds the dict `target` (by identity).
bool holds(const Value& v, const Dict* target, int depth) {
  require(depth < 128, "value nested deeper than 128 levels");
  if (v.is_dict()) {
    if (&v.as_dict() == target) return true;
    for (const auto& entry : v.as_dict().entries) {
      if (holds(entry.second, target, depth + 1)) return true;
    }
  } else if (v.is_list()) {
    for (const Value& item : v.as_list()) {
      if (holds(item, target, depth + 1)) return true;
    }
  }
  return false;
}

}  // namespace

Evaluator::Evaluator(const RenderLimits& limits, const Dict& globals) : limits_(limits) {
  size_limit_.max_bytes = limits.max_output_bytes;
  size_limit_.steps = &steps_;
  size_limit_.max_steps = limits.max_steps;
  root_ = std::make_shared<Scope>();
  for (const auto& [k, v] : globals.entries) (*root_)[k] = v;
  scopes_.push_back(root_);
}

std::string Evaluator::render(const Body& body) {
  std::string out;
  exec_body(body, out);
  return out;
}

void Evaluator::step() {
  require(++steps_ <= limits_.max_steps, "the template ran more than {} steps (an endless or runaway loop?)",
          limits_.max_steps);
}

void Evaluator::append_output(std::string& out, const std::string& text) const {
  size_limit_.check(out.size() + text.size(), "the output");
  size_limit_.charge(text.size());
  out += text;
}

Value Evaluator::lookup(const std::string& name) const {
  for (auto it = scopes_.rbegin(); it != scopes_.rend(); ++it) {
    const auto found = (*it)->find(name);
    if (found != (*it)->end()) return found->second;
  }
  return Value();
}

void Evaluator::assign(const std::string& name, Value value) {
  (*scopes_.back())[name] = std::move(value);
}

Evaluator::Flow Evaluator::exec_body(const Body& body, std::string& out) {
  for (const NodePtr& node : body) {
    const Flow flow = exec(*node, out);
    if (flow != Flow::Normal) return flow;
  }
  return Flow::Normal;
}

Evaluator::Flow Evaluator::exec(const Node& node, std::string& out) {
  try {
    const Nest nest(nesting_, limits_.max_nesting);
    step();
    switch (node.kind) {
      case NodeKind::Text:
        append_output(out, node.text);
        break;
      case NodeKind::Output:
        append_output(out, eval(*node.exprs[0]).str(size_limit_.max_bytes));
        break;
      case NodeKind::If:
        for (size_t i = 0; i < node.exprs.size(); ++i) {
          if (eval(*node.exprs[i]).truthy()) return exec_body(node.bodies[i], out);
        }
        if (node.bodies.size() > node.exprs.size()) return exec_body(node.bodies.back(), out);
        break;
      case NodeKind::For:
        return exec_for(node, out);
      case NodeKind::Set:
        exec_set(node);
        break;
      case NodeKind::SetBlock: {
        std::string captured;
        exec_body(node.bodies[0], captured);
        assign(node.names[0], Value(std::move(captured)));
        break;
      }
      case NodeKind::Macro:
        assign(node.text, make_macro(node));
        break;
      case NodeKind::CallBlock: {
        const Expr& call = *node.exprs[0];
        const Value callee = eval(*call.kids[0]);
        require(callee.is_function(), "'{{% call %}}' of something that is not a macro");
        Args args = eval_args(call, 1);
        // caller() renders the block's body where the block stands, with the caller's parameters bound.
        const WeakScopes here(scopes_.begin(), scopes_.end());
        args.named.emplace_back("caller", Value(Function([this, &node, here](const Args& a) {
                                  return Value(run_in(here, node.bodies[0], [&] {
                                    for (size_t i = 0; i < node.names.size(); ++i) {
                                      const Value* v = a.get(i, node.names[i]);
                                      assign(node.names[i], v != nullptr ? *v : Value());
                                    }
                                  }));
                                })));
        append_output(out, callee.as_function()(args).str(size_limit_.max_bytes));
        break;
      }
      case NodeKind::Break:
        return Flow::Break;
      case NodeKind::Continue:
        return Flow::Continue;
    }
  } catch (...) {
    rethrow_located(node.line, node.column);
  }
  return Flow::Normal;
}

Evaluator::Flow Evaluator::exec_for(const Node& node, std::string& out) {
  const List all = iterate(eval(*node.exprs[0]));
  const auto bind = [&](const Value& item) {
    if (node.names.size() == 1) {
      assign(node.names[0], item);
      return;
    }
    require(item.is_list() && item.as_list().size() == node.names.size(), "cannot unpack {} into {} loop variables",
            item.repr(), node.names.size());
    for (size_t k = 0; k < node.names.size(); ++k) assign(node.names[k], item.as_list()[k]);
  };
  scopes_.push_back(std::make_shared<Scope>());
  struct Pop {
    std::vector<std::shared_ptr<Scope>>& scopes;
    ~Pop() { scopes.pop_back(); }
  } pop{scopes_};
  List items;
  if (node.exprs.size() > 1) {  // `for x in xs if cond`: the loop counts only the items that pass
    for (const Value& item : all) {
      step();
      bind(item);
      if (eval(*node.exprs[1]).truthy()) items.push_back(item);
    }
  } else {
    items = all;
  }
  if (items.empty()) return node.bodies.size() > 1 ? exec_body(node.bodies[1], out) : Flow::Normal;
  const auto n = static_cast<int64_t>(items.size());
  for (int64_t i = 0; i < n; ++i) {
    step();
    scopes_.back() = std::make_shared<Scope>();  // as jinja2: a set in one iteration is gone in the next
    const Value& item = items[static_cast<size_t>(i)];
    bind(item);
    Dict loop;
    loop.set("index", Value(i + 1));
    loop.set("index0", Value(i));
    loop.set("revindex", Value(n - i));
    loop.set("revindex0", Value(n - i - 1));
    loop.set("first", Value(i == 0));
    loop.set("last", Value(i == n - 1));
    loop.set("length", Value(n));
    loop.set("depth", Value(1));
    loop.set("depth0", Value(0));
    if (i > 0) loop.set("previtem", items[static_cast<size_t>(i - 1)]);
    if (i + 1 < n) loop.set("nextitem", items[static_cast<size_t>(i + 1)]);
    loop.set("cycle", Value(Function([i](const Args& a) {
               require(!a.positional.empty(), "loop.cycle() needs at least one value");
               return a.positional[static_cast<size_t>(i) % a.positional.size()];
             })));
    assign("loop", Value(std::move(loop)));
    if (exec_body(node.bodies[0], out) == Flow::Break) break;
  }
  return Flow::Normal;
}

void Evaluator::exec_set(const Node& node) {
  Value value = eval(*node.exprs[0]);
  if (!node.attr.empty()) {
    Value target = lookup(node.names[0]);
    require(target.is_dict() && target.as_dict().is_namespace,
            "cannot assign attribute '{}' on '{}': only a namespace() takes attributes", node.attr, node.names[0]);
    // Values are shared by reference: a namespace inside itself would be a cycle that is never freed.
    require(!holds(value, &target.as_dict(), 0), "cannot assign '{}.{}': a namespace cannot contain itself",
            node.names[0], node.attr);
    target.as_dict().set(node.attr, std::move(value));
    return;
  }
  if (node.names.size() == 1) {
    assign(node.names[0], std::move(value));
    return;
  }
  require(value.is_list() && value.as_list().size() == node.names.size(), "cannot unpack {} into {} names",
          value.repr(), node.names.size());
  for (size_t k = 0; k < node.names.size(); ++k) assign(node.names[k], value.as_list()[k]);
}

Value Evaluator::make_macro(const Node& node) {
  // The macro sees the scopes where it was defined (a loop variable, say), as a jinja2 closure does.
  const WeakScopes defined_in(scopes_.begin(), scopes_.end());
  return Value(Function([this, &node, defined_in](const Args& a) {
    Args args;
    args.positional = a.positional;
    Value caller;
    for (const auto& [k, v] : a.named) {
      if (k == "caller") {
        caller = v;
      } else {
        args.named.emplace_back(k, v);
      }
    }
    return call_macro(node, defined_in, args, caller);
  }));
}

Value Evaluator::call_macro(const Node& node, const WeakScopes& defined_in, const Args& args, const Value& caller) {
  require(call_depth_ < limits_.max_call_depth, "macro '{}' nested more than {} calls deep (endless recursion?)",
          node.text, limits_.max_call_depth);
  require(args.positional.size() <= node.names.size(), "macro '{}' takes {} arguments, {} given", node.text,
          node.names.size(), args.positional.size());
  for (const auto& [k, v] : args.named) {
    bool known = false;
    for (const std::string& p : node.names) known = known || p == k;
    require(known, "macro '{}' has no parameter '{}'", node.text, k);
  }
  ++call_depth_;
  struct Leave {
    int& depth;
    ~Leave() { --depth; }
  } leave{call_depth_};
  return Value(run_in(defined_in, node.bodies[0], [&] {
    if (!caller.is_undefined()) assign("caller", caller);
    for (size_t i = 0; i < node.names.size(); ++i) {
      const Value* v = args.get(i, node.names[i]);
      assign(node.names[i], v != nullptr ? *v : node.exprs[i] ? eval(*node.exprs[i]) : Value());
    }
  }));
}

std::string Evaluator::run_in(const WeakScopes& captured, const Body& body, const std::function<void()>& bind) {
  std::vector<std::shared_ptr<Scope>> saved = std::move(scopes_);
  scopes_ = {root_};
  for (const std::weak_ptr<Scope>& scope : captured) {
    auto alive = scope.lock();  // a finished loop's scope is gone
    if (alive && alive != root_) scopes_.push_back(std::move(alive));
  }
  scopes_.push_back(std::make_shared<Scope>());
  std::string out;
  try {
    bind();
    exec_body(body, out);
  } catch (...) {
    scopes_ = std::move(saved);
    throw;
  }
  scopes_ = std::move(saved);
  return out;
}

}  // namespace flux::engine::jinja
