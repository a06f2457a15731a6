#include "engine/router/router_file.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <functional>
#include <limits>
#include <type_traits>

#include "engine/core/error.h"
#include "engine/format/json_input.h"
#include "engine/format/safetensors_file.h"
#include "engine/format/safetensors_writer.h"
#include "engine/format/tensor_convert.h"

namespace flux::engine {

namespace {

constexpr const char* kMetadataKey = "flux_router";

using FindFn = std::function<const TensorView*(const std::string&)>;

RouterLinear read_linear(const FindFn& find, const std::string& prefix, const std::string& source) {
  const TensorView* w = find(prefix + ".weight");
  const TensorView* b = find(prefix + ".bias");
  require(w != nullptr, "{}: router tensor '{}.weight' is missing", source, prefix);
  require(b != nullptr, "{}: router tensor '{}.bias' is missing", source, prefix);
  require(w->shape.size() == 2, "{}: router tensor '{}.weight' must be 2-D, has {} dims", source, prefix,
          w->shape.size());
  require(b->shape.size() == 1 && b->shape[0] == w->shape[0],
          "{}: router tensor '{}.bias' has shape [{}], expected [{}]", source, prefix, fmt::join(b->shape, ", "),
          w->shape[0]);
  require(is_float_storage(w->type) && is_float_storage(b->type), "{}: router tensor '{}' is not a float tensor",
          source, prefix);
  RouterLinear l;
  l.out = static_cast<int>(w->shape[0]);
  l.in = static_cast<int>(w->shape[1]);
  l.weight = to_f32(*w);
  l.bias = to_f32(*b);
  return l;
}

void expect_shape(const RouterLinear& l, int in, int out, const std::string& name, const std::string& source) {
  require(l.in == in && l.out == out, "{}: router tensor '{}.weight' has shape [{}, {}], expected [{}, {}]", source,
          name, l.out, l.in, out, in);
}

// Reads one layer under `prefix` with the given sub-module names, checking shapes against head_dim.
RouterLayerWeights read_layer(const FindFn& find, const std::string& feat, const std::string& head, int head_dim,
                              const std::string& source) {
  RouterLayerWeights w;
  w.feat0 = read_linear(find, feat + ".0", source);
  w.feat2 = read_linear(find, feat + ".2", source);
  w.head0 = read_linear(find, head + ".0", source);
  w.head2 = read_linear(find, head + ".2", source);
  w.head4 = read_linear(find, head + ".4", source);
  expect_shape(w.feat0, head_dim, w.feat0.out, feat + ".0", source);
  expect_shape(w.feat2, w.feat0.out, head_dim, feat + ".2", source);
  expect_shape(w.head0, head_dim, w.head0.out, head + ".0", source);
  expect_shape(w.head2, w.head0.out, head_dim, head + ".2", source);
  require(w.head4.out != 2, "{}: router tensor '{}.4.weight' is a softmax head (2 outputs); only sigmoid routers "
          "are supported", source, head);
  expect_shape(w.head4, head_dim, 1, head + ".4", source);
  return w;
}

template <typename T>
void read_key(const nlohmann::json& j, const char* key, T& out, const std::string& source) {
  if (!j.contains(key) || j[key].is_null()) return;
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
    // get<int>() of 1e300 is a float-to-int conversion out of range (undefined behaviour): integers only, in range.
    const nlohmann::json& v = j[key];
    const bool fits = v.is_number_unsigned() ? v.get<uint64_t>() <= static_cast<uint64_t>(std::numeric_limits<T>::max())
                      : v.is_number_integer() ? v.get<int64_t>() >= std::numeric_limits<T>::min() &&
                                                    v.get<int64_t>() <= std::numeric_limits<T>::max()
                                              : false;
    require(fits, "{}: router config key '{}' must be an integer in range (got a {})", source, key, v.type_name());
  }
  try {
    out = j[key].get<T>();
  } catch (const nlohmann::json::exception&) {
    fail("{}: router config key '{}' has the wrong type", source, key);
  }
}

}  // namespace

nlohmann::json router_config_json(const RouterConfig& c) {
  return {{"pooling", c.pooling},       {"pool_first", c.pool_first}, {"pool_last", c.pool_last},
          {"temperature", c.temperature}, {"threshold", c.threshold}, {"sa_kind", c.sa_kind},
          {"sink", c.sink},             {"window", c.window},         {"n_last", c.n_last},
          {"n_layers", c.n_layers},     {"n_kv_heads", c.n_kv_heads}, {"head_dim", c.head_dim},
          {"model", c.model}};
}

RouterConfig router_config_from_json(const nlohmann::json& j, const std::string& source) {
  require(j.is_object(), "{}: router config is not a JSON object", source);
  for (const char* key : {"n_layers", "head_dim"})
    require(j.contains(key), "{}: router config lacks '{}'", source, key);
  RouterConfig c;
  read_key(j, "pooling", c.pooling, source);
  read_key(j, "pool_first", c.pool_first, source);
  read_key(j, "pool_last", c.pool_last, source);
  read_key(j, "temperature", c.temperature, source);
  read_key(j, "threshold", c.threshold, source);
  read_key(j, "sa_kind", c.sa_kind, source);
  read_key(j, "sink", c.sink, source);
  read_key(j, "window", c.window, source);
  read_key(j, "n_last", c.n_last, source);
  read_key(j, "n_layers", c.n_layers, source);
  read_key(j, "n_kv_heads", c.n_kv_heads, source);
  read_key(j, "head_dim", c.head_dim, source);
  read_key(j, "model", c.model, source);
  require(c.n_layers > 0, "{}: router config n_layers must be positive", source);
  return c;
}

LayerRouter load_router(const std::filesystem::path& path) {
  const std::string source = path.string();
  const SafetensorsFile file(path);
  const auto meta = file.metadata().find(kMetadataKey);
  require(meta != file.metadata().end(), "{}: not a FluxScope router (no '{}' metadata)", source, kMetadataKey);
  const std::optional<nlohmann::json> j = parse_json_limited(meta->second, source);
  require(j.has_value(), "{}: the '{}' metadata is not valid JSON", source, kMetadataKey);
  RouterConfig config = router_config_from_json(*j, source);
  const FindFn find = [&](const std::string& name) { return file.find_tensor(name); };
  std::vector<RouterLayerWeights> layers;
  for (int l = 0; l < config.n_layers; ++l) {
    const std::string p = fmt::format("layers.{}.", l);
    layers.push_back(read_layer(find, p + "feat", p + "head", config.head_dim, source));
  }
  require(file.find_tensor(fmt::format("layers.{}.feat.0.weight", config.n_layers)) == nullptr,
          "{}: holds tensors for more than n_layers = {} layers", source, config.n_layers);
  return LayerRouter(std::move(config), std::move(layers));
}

void save_router(const LayerRouter& router, const std::filesystem::path& path) {
  std::vector<SafetensorsEntry> entries;
  auto add = [&](const std::string& name, const RouterLinear& l) {
    entries.push_back({name + ".weight", StorageType::F32, {l.out, l.in}, std::as_bytes(std::span(l.weight))});
    entries.push_back({name + ".bias", StorageType::F32, {l.out}, std::as_bytes(std::span(l.bias))});
  };
  for (int l = 0; l < router.n_layers(); ++l) {
    const RouterLayerWeights& w = router.layers()[static_cast<std::size_t>(l)];
    const std::string p = fmt::format("layers.{}.", l);
    add(p + "feat.0", w.feat0);
    add(p + "feat.2", w.feat2);
    add(p + "head.0", w.head0);
    add(p + "head.2", w.head2);
    add(p + "head.4", w.head4);
  }
  write_safetensors(path, entries, {{kMetadataKey, router_config_json(router.config()).dump()}});
}

void check_router_matches(const LayerRouter& router, const ModelConfig& model) {
  const RouterConfig& c = router.config();
  require(router.n_layers() == model.n_layers, "router has {} layers, the model has {}", router.n_layers(),
          model.n_layers);
  require(c.head_dim == model.head_dim, "router expects head_dim {}, the model has {}", c.head_dim, model.head_dim);
  require(c.n_kv_heads == 0 || c.n_kv_heads == model.n_kv_heads, "router expects {} KV heads, the model has {}",
          c.n_kv_heads, model.n_kv_heads);
}

std::optional<LayerRouter> router_from_checkpoint(const ModelFiles& files, const nlohmann::json* hf_config) {
  const ModelConfig& model = files.config();
  auto prefix = [](int l) { return fmt::format("model.layers.{}.self_attn.mask_allocator.", l); };
  bool any = false;
  for (int l = 0; l < model.n_layers && !any; ++l)
    any = files.find(prefix(l) + "cls_feat_extractor.0.weight") != nullptr;
  if (!any) return std::nullopt;
  const std::string source = files.path().string();
  RouterConfig c;
  c.n_layers = model.n_layers;
  c.n_kv_heads = model.n_kv_heads;
  c.head_dim = model.head_dim;
  c.model = files.name();
  c.pooling = "boundary";
  if (hf_config != nullptr && hf_config->is_object()) {
    const nlohmann::json& j = *hf_config;
    std::string toggle = "streaming", pooling = "ctx_q";
    read_key(j, "toggle_type", toggle, source);
    read_key(j, "sink_size", c.sink, source);
    read_key(j, "local_window_size", c.window, source);
    read_key(j, "triangle_n_last", c.n_last, source);
    read_key(j, "pooling_mode", pooling, source);
    bool softmax = false;
    read_key(j, "use_softmax", softmax, source);
    require(!softmax, "{}: use_softmax routers are not supported", source);
    require(toggle == "streaming" || toggle == "triangle" || toggle == "xattn",
            "{}: toggle_type '{}' is not supported (use streaming, triangle or xattn)", source, toggle);
    c.sa_kind = toggle;
    if (pooling == "first_token") c.pooling = "first_token";
    else if (pooling == "q") c.pooling = "last";
    else if (pooling == "ctx_q") c.pooling = "boundary";
    else fail("{}: pooling_mode '{}' is not supported (first_token, q or ctx_q)", source, pooling);
  }
  const FindFn find = [&](const std::string& name) { return files.find(name); };
  std::vector<RouterLayerWeights> layers;
  for (int l = 0; l < model.n_layers; ++l)
    layers.push_back(read_layer(find, prefix(l) + "cls_feat_extractor", prefix(l) + "cls_router_head_agnostic",
                                model.head_dim, source));
  return LayerRouter(std::move(c), std::move(layers));
}

std::optional<std::filesystem::path> find_default_router(const std::filesystem::path& model_path,
                                                         const std::vector<std::filesystem::path>& search_dirs) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path beside = fs::path(model_path.string() + ".router.safetensors");
  if (fs::is_regular_file(beside, ec)) return beside;
  std::string stem = model_path.filename().string();
  if (fs::is_directory(model_path, ec)) {
    stem = model_path.filename().empty() ? model_path.parent_path().filename().string() : stem;
  } else {
    stem = model_path.stem().string();  // drops .gguf / .safetensors
    // A quantization tag like ".Q4_1", ".Q4_K_M", ".F16", ".BF16" after the last dot.
    const auto dot = stem.rfind('.');
    if (dot != std::string::npos) {
      const std::string tag = stem.substr(dot + 1);
      const bool quant = !tag.empty() && (tag[0] == 'Q' || tag[0] == 'F' || tag[0] == 'B' || tag[0] == 'I') &&
                         tag.size() <= 8 && std::any_of(tag.begin(), tag.end(), ::isdigit);
      if (quant) stem.resize(dot);
    }
  }
  for (const fs::path& dir : search_dirs) {
    const fs::path candidate = dir / (stem + ".router.safetensors");
    if (fs::is_regular_file(candidate, ec)) return candidate;
  }
  return std::nullopt;
}

std::vector<std::filesystem::path> default_router_dirs() {
  namespace fs = std::filesystem;
  std::vector<fs::path> dirs;
  if (const char* env = std::getenv("FLUXSCOPE_ROUTERS"); env != nullptr && *env != '\0') dirs.emplace_back(env);
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) dirs.push_back(exe.parent_path().parent_path() / "share" / "fluxscope" / "resources" / "routers");
#ifdef FLUX_RESOURCES_DIR
  dirs.emplace_back(fs::path(FLUX_RESOURCES_DIR) / "routers");
#endif
  return dirs;
}

}  // namespace flux::engine
