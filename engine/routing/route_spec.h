// RouteSpec: the one routing input of a run, from the CLI, the GUI and scripts alike — the preset, per-layer
// overrides, what FA and SA mean (kinds and parameters), the router threshold and the decode mode. Unset fields take
// the defaults of the loaded router / checkpoint (RouteDefaults); resolve() turns the spec into a RoutingPlan.
//
// Text grammar (parse_route_spec / describe round-trip), whitespace-separated items, each at most once:
//   PRESET                     router | fa | sa | first-k:N | every-other   (also preset=PRESET)
//   override=L=M,A-B=M         per-layer overrides, M = FA or SA, ranges inclusive
//   fa=KIND                    full | xattn
//   sa=KIND                    streaming | triangle | xattn
//   sink=N window=N n_last=N block=N stride=N tau=X     SA/XAttention parameters (tau: XAttention mass threshold)
//   threshold=P                router threshold in [0, 1]
//   decode=MODE                reference | fluxscope
// e.g. "router sa=triangle n_last=64 threshold=0.6 decode=reference override=0-3=FA".
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/routing/routing_plan.h"

namespace flux::engine {

class LayerRouter;

struct LayerOverride {
  int first = 0, last = 0;  // inclusive
  LayerMode mode = LayerMode::FA;
  bool operator==(const LayerOverride&) const = default;
};

struct RouteSpec {
  std::string preset = "router";  // "router" without a router means all FA
  std::vector<LayerOverride> overrides;  // applied in order; later ones win
  std::optional<AttentionMode> fa_kind, sa_kind;
  std::optional<int> sink, window, n_last, block, stride;
  std::optional<float> tau;        // XAttention cumulative mass threshold
  std::optional<float> threshold;  // router threshold
  std::optional<DecodeMode> decode;
  bool operator==(const RouteSpec&) const = default;
};

// Throws Error naming the item that does not parse.
RouteSpec parse_route_spec(std::string_view text);
// The canonical text of a spec: parse_route_spec(describe(s)) == s.
std::string describe(const RouteSpec& spec);
// "0-5=FA,12=SA" → overrides (layer bounds are checked by resolve, which knows the layer count).
std::vector<LayerOverride> parse_overrides(std::string_view text);
std::string describe_overrides(const std::vector<LayerOverride>& overrides);

// What a run gets where the spec is silent: the router's (or the checkpoint's) trained attention and threshold,
// else the ALGORITHMS.md defaults (FA = full, SA = streaming 128 + 1024, n_last 128, block 128, xattn 16 / 0.9).
struct RouteDefaults {
  AttentionPlan dense, sparse;
  float threshold = 0.5f;
  DecodeMode decode = DecodeMode::FluxScope;
  bool has_router = false;
};
RouteDefaults route_defaults(const LayerRouter* router);

// The plan of a spec for n_layers layers. Per layer: an override wins (source Override); else preset "router" with
// a router leaves the layer to it (from_router; the Session decides at prefill with decide_layer); else the preset's
// mode (source Default). Throws Error for an unknown preset, an override past the last layer, bad parameters.
RoutingPlan resolve(const RouteSpec& spec, int n_layers, const RouteDefaults& defaults);

// Applies overrides to a plan (the touched layers get source Override and leave the router); resolve uses it too.
void apply_overrides(RoutingPlan& plan, const std::vector<LayerOverride>& overrides);
void apply_overrides(RoutingPlan& plan, std::string_view overrides_text);

// Shorthand for tests and benchmarks: resolve() of a bare preset with SA = `sparse` and FA = full, no router.
RoutingPlan make_preset_plan(const std::string& preset, int n_layers, const AttentionPlan& sparse);

// A --route JSON file: {"preset", "overrides", "fa_kind", "sa_kind", "sink", "window", "n_last", "block", "stride",
// "tau", "threshold", "decode"} or {"spec": "<text>"}; unknown keys are an error.
RouteSpec load_route_file(const std::string& path);

}  // namespace flux::engine
