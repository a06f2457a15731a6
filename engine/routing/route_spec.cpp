#include "engine/routing/route_spec.h"

#include <charconv>
#include <cmath>
#include <nlohmann/json.hpp>

#include <fmt/format.h>

#include "engine/core/error.h"
#include "engine/core/input_file.h"
#include "engine/format/json_input.h"
#include "engine/routing/layer_router.h"

namespace flux::engine {

namespace {

int parse_int(std::string_view s, std::string_view context, int min_value) {
  int v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  require(ec == std::errc() && end == s.data() + s.size() && v >= min_value, "{}: '{}' is not an integer >= {}",
          context, s, min_value);
  return v;
}

float parse_float(std::string_view s, std::string_view context) {
  float v = 0.0f;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  require(ec == std::errc() && end == s.data() + s.size() && std::isfinite(v), "{}: '{}' is not a number", context, s);
  return v;
}

LayerMode parse_mode(std::string_view s, std::string_view context) {
  if (s == "FA" || s == "fa") return LayerMode::FA;
  if (s == "SA" || s == "sa") return LayerMode::SA;
  fail("{}: mode '{}' must be FA or SA", context, s);
}

// The preset's mode of layer l; throws for an unknown preset.
struct Preset {
  enum Kind { Router, AllFA, AllSA, FirstK, EveryOther } kind = Router;
  int k = 0;
  LayerMode mode(int l) const {
    switch (kind) {
      case AllSA: return LayerMode::SA;
      case FirstK: return l < k ? LayerMode::FA : LayerMode::SA;
      case EveryOther: return l % 2 == 1 ? LayerMode::SA : LayerMode::FA;
      default: return LayerMode::FA;
    }
  }
};

Preset parse_preset(std::string_view p) {
  if (p == "router") return {Preset::Router};
  if (p == "fa" || p == "full") return {Preset::AllFA};
  if (p == "sa" || p == "sparse") return {Preset::AllSA};
  if (p == "every-other") return {Preset::EveryOther};
  if (p.starts_with("first-k:")) return {Preset::FirstK, parse_int(p.substr(8), "routing preset first-k", 0)};
  fail("unknown routing preset '{}' (use router, fa, sa, first-k:N or every-other)", p);
}

// Canonical preset spelling (fa/full → fa, sa/sparse → sa).
std::string canonical_preset(std::string_view p) {
  const Preset preset = parse_preset(p);
  switch (preset.kind) {
    case Preset::AllFA: return "fa";
    case Preset::AllSA: return "sa";
    case Preset::FirstK: return fmt::format("first-k:{}", preset.k);
    case Preset::EveryOther: return "every-other";
    default: return "router";
  }
}

template <typename T>
void set_once(std::optional<T>& field, T value, std::string_view key) {
  require(!field.has_value(), "route spec: '{}' is given twice", key);
  field = value;
}

}  // namespace

std::vector<LayerOverride> parse_overrides(std::string_view text) {
  std::vector<LayerOverride> out;
  std::string_view rest = text;
  while (!rest.empty()) {
    const auto comma = rest.find(',');
    const std::string_view item = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    if (item.empty()) continue;
    const auto eq = item.find('=');
    require(eq != std::string_view::npos, "override '{}': expected LAYER=MODE or FIRST-LAST=MODE", item);
    const std::string_view range = item.substr(0, eq);
    LayerOverride o;
    o.mode = parse_mode(item.substr(eq + 1), "override");
    const auto dash = range.find('-');
    o.first = parse_int(range.substr(0, dash), "override layer", 0);
    o.last = dash == std::string_view::npos ? o.first : parse_int(range.substr(dash + 1), "override layer", 0);
    require(o.first <= o.last, "override '{}': the range must ascend", item);
    out.push_back(o);
  }
  return out;
}

std::string describe_overrides(const std::vector<LayerOverride>& overrides) {
  std::string s;
  for (const LayerOverride& o : overrides) {
    if (!s.empty()) s += ',';
    s += o.first == o.last ? fmt::format("{}={}", o.first, layer_mode_name(o.mode))
                           : fmt::format("{}-{}={}", o.first, o.last, layer_mode_name(o.mode));
  }
  return s;
}

RouteSpec parse_route_spec(std::string_view text) {
  RouteSpec spec;
  bool preset_seen = false;
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    std::size_t j = i;
    while (j < text.size() && !std::isspace(static_cast<unsigned char>(text[j]))) ++j;
    const std::string_view item = text.substr(i, j - i);
    i = j;
    if (item.empty()) continue;
    const auto eq = item.find('=');
    const std::string_view key = eq == std::string_view::npos ? std::string_view("preset") : item.substr(0, eq);
    const std::string_view value = eq == std::string_view::npos ? item : item.substr(eq + 1);
    if (key == "preset") {
      require(!preset_seen, "route spec: two presets ('{}' and '{}')", spec.preset, value);
      spec.preset = canonical_preset(value);
      preset_seen = true;
    } else if (key == "override") {
      require(spec.overrides.empty(), "route spec: 'override' is given twice (list every layer in one item)");
      spec.overrides = parse_overrides(value);
      require(!spec.overrides.empty(), "route spec: 'override=' lists no layers");
    } else if (key == "fa") {
      const AttentionMode m = parse_attention_mode(value);
      require(m == AttentionMode::Full || m == AttentionMode::XAttention,
              "route spec: fa={} — the FA side runs full or xattn", value);
      set_once(spec.fa_kind, m, key);
    } else if (key == "sa") {
      const AttentionMode m = parse_attention_mode(value);
      require(m != AttentionMode::Full, "route spec: sa=full is not sparse (use the fa preset for all-dense runs)");
      set_once(spec.sa_kind, m, key);
    } else if (key == "sink") {
      set_once(spec.sink, parse_int(value, "sink", 0), key);
    } else if (key == "window") {
      set_once(spec.window, parse_int(value, "window", 1), key);
    } else if (key == "n_last") {
      set_once(spec.n_last, parse_int(value, "n_last", 0), key);
    } else if (key == "block") {
      set_once(spec.block, parse_int(value, "block", 1), key);
    } else if (key == "stride") {
      set_once(spec.stride, parse_int(value, "stride", 1), key);
    } else if (key == "tau") {
      set_once(spec.tau, parse_float(value, "tau"), key);
    } else if (key == "threshold") {
      const float t = parse_float(value, "threshold");
      check_router_threshold(t);
      set_once(spec.threshold, t, key);
    } else if (key == "decode") {
      set_once(spec.decode, parse_decode_mode(value), key);
    } else {
      fail("route spec: unknown item '{}' (keys: preset, override, fa, sa, sink, window, n_last, block, stride, tau, "
           "threshold, decode)",
           item);
    }
  }
  return spec;
}

std::string describe(const RouteSpec& s) {
  std::string out = s.preset;
  auto add = [&](std::string_view key, const std::string& value) { out += fmt::format(" {}={}", key, value); };
  if (s.fa_kind) add("fa", attention_mode_name(*s.fa_kind));
  if (s.sa_kind) add("sa", attention_mode_name(*s.sa_kind));
  if (s.sink) add("sink", std::to_string(*s.sink));
  if (s.window) add("window", std::to_string(*s.window));
  if (s.n_last) add("n_last", std::to_string(*s.n_last));
  if (s.block) add("block", std::to_string(*s.block));
  if (s.stride) add("stride", std::to_string(*s.stride));
  if (s.tau) add("tau", fmt::format("{}", *s.tau));  // shortest text that reads back as the same float
  if (s.threshold) add("threshold", fmt::format("{}", *s.threshold));
  if (s.decode) add("decode", decode_mode_name(*s.decode));
  if (!s.overrides.empty()) add("override", describe_overrides(s.overrides));
  return out;
}

RouteDefaults route_defaults(const LayerRouter* router) {
  RouteDefaults d;
  if (router == nullptr) return d;
  const RouterConfig& c = router->config();
  d.has_router = true;
  d.sparse = router_sparse_plan(c);
  d.dense = router_dense_plan(c);
  d.threshold = c.threshold;
  d.decode = parse_decode_mode(c.decode);
  return d;
}

RoutingPlan resolve(const RouteSpec& spec, int n_layers, const RouteDefaults& defaults) {
  require(n_layers > 0, "routing: the model has no layers");
  const Preset preset = parse_preset(spec.preset);
  RoutingPlan plan;
  plan.spec = describe(spec);
  // One AttentionPlan of parameters for both sides: XAttention on the FA side uses the same stride and tau.
  AttentionPlan params = defaults.sparse;
  if (spec.sink) params.sink = *spec.sink;
  if (spec.window) params.window = *spec.window;
  if (spec.n_last) params.n_last = *spec.n_last;
  if (spec.block) params.block = *spec.block;
  if (spec.stride) params.stride = *spec.stride;
  if (spec.tau) params.threshold = *spec.tau;
  params.decode = spec.decode.value_or(defaults.decode);
  plan.sparse = params;
  plan.sparse.mode = spec.sa_kind.value_or(defaults.sparse.mode);
  plan.dense = params;
  plan.dense.mode = spec.fa_kind.value_or(defaults.dense.mode);
  validate(plan.sparse);
  validate(plan.dense);
  const float threshold = spec.threshold.value_or(defaults.threshold);
  check_router_threshold(threshold);
  const bool use_router = preset.kind == Preset::Router && defaults.has_router;
  plan.layers.resize(static_cast<std::size_t>(n_layers));
  for (int l = 0; l < n_layers; ++l) {
    LayerRoute& r = plan.layers[static_cast<std::size_t>(l)];
    r.mode = preset.mode(l);
    r.router_threshold = threshold;
    if (use_router) {
      r.from_router = true;
      r.source = DecisionSource::Router;
    }
  }
  apply_overrides(plan, spec.overrides);
  return plan;
}

void apply_overrides(RoutingPlan& plan, const std::vector<LayerOverride>& overrides) {
  const int n_layers = static_cast<int>(plan.layers.size());
  for (const LayerOverride& o : overrides) {
    require(o.first >= 0 && o.first <= o.last && o.last < n_layers, "override {}: layers must lie in 0..{}",
            describe_overrides({o}), n_layers - 1);
    for (int l = o.first; l <= o.last; ++l) {
      LayerRoute& r = plan.layers[static_cast<std::size_t>(l)];
      r.mode = o.mode;
      r.source = DecisionSource::Override;
      r.router_opinion = r.router_opinion || r.from_router;
      r.from_router = false;
    }
  }
}

void apply_overrides(RoutingPlan& plan, std::string_view overrides_text) {
  apply_overrides(plan, parse_overrides(overrides_text));
}

RoutingPlan make_preset_plan(const std::string& preset, int n_layers, const AttentionPlan& sparse) {
  RouteDefaults defaults;
  defaults.sparse = sparse;
  defaults.dense = sparse;
  defaults.dense.mode = AttentionMode::Full;
  defaults.decode = sparse.decode;
  RouteSpec spec;
  spec.preset = preset;
  return resolve(spec, n_layers, defaults);
}

RouteSpec load_route_file(const std::string& path) {
  const std::string text = read_input_file(path, "route file", std::size_t{16} << 20);
  const std::optional<nlohmann::json> parsed = parse_json_limited(text, path);
  require(parsed.has_value(), "{}: not valid JSON", path);
  const nlohmann::json& j = *parsed;
  require(j.is_object(), "{}: the routing file must hold a JSON object", path);
  if (j.contains("spec")) {
    require(j.size() == 1 && j["spec"].is_string(), "{}: 'spec' must be the only key, a string", path);
    return parse_route_spec(j["spec"].get<std::string>());
  }
  // Each key becomes one spec item, so the file and the text grammar cannot drift apart.
  static const std::pair<const char*, const char*> keys[] = {
      {"preset", "preset"}, {"overrides", "override"}, {"fa_kind", "fa"},     {"sa_kind", "sa"},
      {"sink", "sink"},     {"window", "window"},      {"n_last", "n_last"}, {"block", "block"},
      {"stride", "stride"}, {"tau", "tau"},            {"threshold", "threshold"}, {"decode", "decode"}};
  std::string spec;
  std::size_t known = 0;
  for (const auto& [file_key, spec_key] : keys) {
    if (!j.contains(file_key)) continue;
    ++known;
    const nlohmann::json& v = j[file_key];
    require(v.is_string() || v.is_number(), "{}: '{}' must be a string or a number", path, file_key);
    const bool text_key = std::string_view(spec_key) == "preset" || std::string_view(spec_key) == "override" ||
                          std::string_view(spec_key) == "fa" || std::string_view(spec_key) == "sa" ||
                          std::string_view(spec_key) == "decode";
    require(!text_key || v.is_string(), "{}: '{}' has the wrong type (a string is expected)", path, file_key);
    std::string value = v.is_string() ? v.get<std::string>() : v.dump();
    require(value.find_first_of(" \t\n") == std::string::npos, "{}: '{}' holds whitespace", path, file_key);
    if (std::string_view(file_key) == "overrides" && value.empty()) continue;
    spec += fmt::format("{}={} ", spec_key, value);
  }
  require(known == j.size(), "{}: unknown keys (use preset, overrides, fa_kind, sa_kind, sink, window, n_last, block, "
          "stride, tau, threshold, decode, or spec)", path);
  try {
    return parse_route_spec(spec);
  } catch (const Error& e) {
    fail("{}: {}", path, e.what());
  }
}

}  // namespace flux::engine
