#include "engine/routing/router_file.h"

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

// Reads one layer's five Linear layers under the given sub-module names; the family's shapes are checked by the
// LayerRouter constructor (make_router names the file).
RouterLayerWeights read_layer(const FindFn& find, const std::string& feat, const std::string& head,
                              const std::string& source) {
  RouterLayerWeights w;
  w.feat0 = read_linear(find, feat + ".0", source);
  w.feat2 = read_linear(find, feat + ".2", source);
  w.head0 = read_linear(find, head + ".0", source);
  w.head2 = read_linear(find, head + ".2", source);
  w.head4 = read_linear(find, head + ".4", source);
  return w;
}

LayerRouter make_router(RouterConfig config, std::vector<RouterLayerWeights> layers, const std::string& source) {
  try {
    return LayerRouter(std::move(config), std::move(layers));
  } catch (const Error& e) {
    fail("{}: {}", source, e.what());
  }
}

// The family a checkpoint's tensors spell: Flux's feature MLP ends in 2d features, Elastic's in d.
RouterFamily family_of(const RouterLayerWeights& w, int head_dim, const std::string& source) {
  if (w.feat2.out == 2 * head_dim) return RouterFamily::Flux;
  if (w.feat2.out == head_dim) return RouterFamily::Elastic;
  fail("{}: router tensor 'cls_feat_extractor.2.weight' has {} outputs: neither Flux (2 x head_dim = {}) nor Elastic "
       "(head_dim = {})",
       source, w.feat2.out, 2 * head_dim, head_dim);
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

// The attention kinds and decode mode of a router config are names the engine knows.
void check_attention_keys(const RouterConfig& c, const std::string& source) {
  try {
    const AttentionMode fa = parse_attention_mode(c.fa_kind), sa = parse_attention_mode(c.sa_kind);
    require(fa == AttentionMode::Full || fa == AttentionMode::XAttention, "fa_kind '{}' must be full or xattn",
            c.fa_kind);
    require(sa != AttentionMode::Full, "sa_kind 'full' is not sparse (streaming, triangle or xattn)");
    parse_decode_mode(c.decode);
    AttentionPlan p = router_sparse_plan(c);
    validate(p);
  } catch (const Error& e) {
    fail("{}: router config: {}", source, e.what());
  }
}

}  // namespace

nlohmann::json router_config_json(const RouterConfig& c) {
  return {{"family", router_family_name(c.family)},
          {"pooling", c.pooling},       {"pool_first", c.pool_first}, {"pool_last", c.pool_last},
          {"temperature", c.temperature}, {"threshold", c.threshold}, {"fa_kind", c.fa_kind},
          {"sa_kind", c.sa_kind},       {"sink", c.sink},             {"window", c.window},
          {"n_last", c.n_last},         {"block", c.block},           {"decode", c.decode},
          {"n_layers", c.n_layers},     {"n_kv_heads", c.n_kv_heads}, {"head_dim", c.head_dim},
          {"model", c.model}};
}

RouterConfig router_config_from_json(const nlohmann::json& j, const std::string& source) {
  require(j.is_object(), "{}: router config is not a JSON object", source);
  for (const char* key : {"n_layers", "head_dim"})
    require(j.contains(key), "{}: router config lacks '{}'", source, key);
  RouterConfig c;
  std::string family = "elastic";  // files written before the Flux family have no "family" key
  read_key(j, "family", family, source);
  try {
    c.family = parse_router_family(family);
  } catch (const Error& e) {
    fail("{}: router config key 'family': {}", source, e.what());
  }
  if (c.family == RouterFamily::Flux) c.pooling = "ctx_q";
  read_key(j, "pooling", c.pooling, source);
  read_key(j, "pool_first", c.pool_first, source);
  read_key(j, "pool_last", c.pool_last, source);
  read_key(j, "temperature", c.temperature, source);
  read_key(j, "threshold", c.threshold, source);
  read_key(j, "fa_kind", c.fa_kind, source);
  read_key(j, "sa_kind", c.sa_kind, source);
  read_key(j, "sink", c.sink, source);
  read_key(j, "window", c.window, source);
  read_key(j, "n_last", c.n_last, source);
  read_key(j, "block", c.block, source);
  read_key(j, "decode", c.decode, source);
  read_key(j, "n_layers", c.n_layers, source);
  read_key(j, "n_kv_heads", c.n_kv_heads, source);
  read_key(j, "head_dim", c.head_dim, source);
  read_key(j, "model", c.model, source);
  require(c.n_layers > 0, "{}: router config n_layers must be positive", source);
  check_attention_keys(c, source);
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
    layers.push_back(read_layer(find, p + "feat", p + "head", source));
  }
  require(file.find_tensor(fmt::format("layers.{}.feat.0.weight", config.n_layers)) == nullptr,
          "{}: holds tensors for more than n_layers = {} layers", source, config.n_layers);
  return make_router(std::move(config), std::move(layers), source);
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
  const FindFn find = [&](const std::string& name) { return files.find(name); };
  std::vector<RouterLayerWeights> layers;
  for (int l = 0; l < model.n_layers; ++l)
    layers.push_back(read_layer(find, prefix(l) + "cls_feat_extractor", prefix(l) + "cls_router_head_agnostic", source));
  RouterConfig c = checkpoint_router_config(hf_config, family_of(layers.front(), model.head_dim, source),
                                            layers.front().head4.out == 2, source);
  c.n_layers = model.n_layers;
  c.n_kv_heads = model.n_kv_heads;
  c.head_dim = model.head_dim;
  c.model = files.name();
  return make_router(std::move(c), std::move(layers), source);
}

RouterConfig checkpoint_router_config(const nlohmann::json* hf_config, RouterFamily family, bool softmax_head,
                                      const std::string& source) {
  RouterConfig c;
  c.family = family;
  const nlohmann::json empty = nlohmann::json::object();
  const nlohmann::json& j = hf_config != nullptr && hf_config->is_object() ? *hf_config : empty;
  // PawQwen3Config / PawLlamaConfig defaults (ALGORITHMS.md §7) where a key is absent.
  std::string toggle = "streaming", retrieval = "full", pooling = "first_token";
  read_key(j, "toggle_type", toggle, source);
  read_key(j, "retrieval_mode", retrieval, source);
  read_key(j, "sink_size", c.sink, source);
  read_key(j, "local_window_size", c.window, source);
  read_key(j, "triangle_n_last", c.n_last, source);
  read_key(j, "pooling_mode", pooling, source);
  int block_size = 128;
  read_key(j, "block_size", block_size, source);
  read_key(j, "mask_temp", c.temperature, source);
  require(toggle == "streaming" || toggle == "triangle" || toggle == "xattn",
          "{}: config key toggle_type = '{}' is not supported (streaming, triangle or xattn; topk and none are not "
          "implemented)",
          source, toggle);
  require(retrieval == "full" || retrieval == "xattn",
          "{}: config key retrieval_mode = '{}' is not supported (full or xattn)", source, retrieval);
  c.sa_kind = toggle;
  c.fa_kind = retrieval;
  // The authors use block_size only as XAttention's granularity; sinks, windows and the block-streaming decode are
  // 128-token blocks whatever it says. The engine runs one block size per layer plan, so only 128 can match them
  // where XAttention runs; elsewhere the key has no effect in their code and none here.
  const bool xattn_used = toggle == "xattn" || retrieval == "xattn";
  require(!xattn_used || block_size == 128,
          "{}: config key block_size = {} is not supported with XAttention (toggle_type / retrieval_mode xattn): "
          "the authors' sinks, windows and decode stay 128-token blocks while XAttention would use {}, and the "
          "engine runs one block size per layer; only 128 reproduces their routing",
          source, block_size, block_size);
  c.block = 128;
  if (family == RouterFamily::Flux) {
    bool use_softmax = false;  // PawQwen3Config's default (the released training script sets true)
    read_key(j, "use_softmax", use_softmax, source);
    require(use_softmax == softmax_head,
            "{}: config key use_softmax = {} but the router head has {} output(s) (softmax: 2, sigmoid: 1)", source,
            use_softmax, softmax_head ? 2 : 1);
    require(pooling == "ctx_q",
            "{}: config key pooling_mode = '{}'{} is not supported: the Flux router (AttentionRouter.forward) pools "
            "only ctx_q",
            source, pooling, j.contains("pooling_mode") ? "" : " (the config class default when the key is absent)");
    int pool_size = 100;
    read_key(j, "pool_size", pool_size, source);
    require(pool_size > 0, "{}: config key pool_size = {} must be positive", source, pool_size);
    c.pooling = "ctx_q";
    c.pool_first = c.pool_last = pool_size;
    c.decode = "reference";  // the authors' decode, so their numbers and outputs reproduce; --decode-mode overrides
  } else {
    require(!softmax_head, "{}: an Elastic-shaped router with a 2-output head is not a known architecture", source);
    c.pooling = pooling == "first_token" ? "first_token" : pooling == "q" ? "last" : pooling == "ctx_q" ? "boundary" : "";
    require(!c.pooling.empty(), "{}: config key pooling_mode = '{}' is not supported (first_token, q or ctx_q)", source,
            pooling);
    if (!j.contains("pooling_mode")) c.pooling = "boundary";  // our earlier reading of Elastic checkpoints
  }
  check_attention_keys(c, source);
  return c;
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
