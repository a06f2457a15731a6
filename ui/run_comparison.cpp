#include "ui/run_comparison.h"

#include <algorithm>

namespace flux::ui {
namespace {

double ratio(double a, double b) {
  return b > 0.0 ? a / b : 0.0;
}

const engine::LayerReport* find_layer(const engine::RunReport& r, int index) {
  for (const auto& l : r.layers)
    if (l.index == index) return &l;
  return nullptr;
}

}  // namespace

RunComparison compare_runs(const engine::RunReport& a, const engine::RunReport& b) {
  RunComparison c;
  int n = 0;
  for (const auto& l : a.layers) n = std::max(n, l.index + 1);
  for (const auto& l : b.layers) n = std::max(n, l.index + 1);
  for (int i = 0; i < n; ++i) {
    LayerDelta d;
    d.index = i;
    if (const auto* la = find_layer(a, i)) {
      d.mode_a = la->mode;
      d.ms_a = la->prefill_ms;
    }
    if (const auto* lb = find_layer(b, i)) {
      d.mode_b = lb->mode;
      d.ms_b = lb->prefill_ms;
    }
    d.delta_ms = d.ms_b - d.ms_a;
    d.speedup = ratio(d.ms_a, d.ms_b);
    d.plan_differs = d.mode_a != d.mode_b;
    c.plan_differences += d.plan_differs;
    c.layers.push_back(d);
  }
  c.prefill_speedup = ratio(a.summary.prefill_ms, b.summary.prefill_ms);
  c.decode_speedup = ratio(a.summary.decode_ms_per_token, b.summary.decode_ms_per_token);
  c.total_speedup = ratio(a.summary.total_ms, b.summary.total_ms);
  c.same_output = a.output_text == b.output_text;
  return c;
}

}  // namespace flux::ui
