// Pure comparison of two runs (no widgets): per-layer prefill deltas and mode differences, and the speedups of
// prefill, decode and total time of run B over run A. Tested on its own; ComparisonView only displays it.
#pragma once

#include <optional>
#include <vector>

#include "engine/runtime/run_report.h"

namespace flux::ui {

struct LayerDelta {
  int index = 0;
  std::optional<engine::LayerMode> mode_a, mode_b;  // empty when the layer is missing from that run
  double ms_a = 0.0, ms_b = 0.0;
  double delta_ms = 0.0;  // ms_b - ms_a
  double speedup = 0.0;   // ms_a / ms_b (> 1: B faster), 0 when B has no time for the layer
  bool plan_differs = false;
};

struct RunComparison {
  std::vector<LayerDelta> layers;
  // a / b: > 1 means B is faster. 0 when B's time is 0 (nothing to compare).
  double prefill_speedup = 0.0;
  double decode_speedup = 0.0;  // per token
  double total_speedup = 0.0;
  int plan_differences = 0;
  bool same_output = false;
};

RunComparison compare_runs(const engine::RunReport& a, const engine::RunReport& b);

}  // namespace flux::ui
