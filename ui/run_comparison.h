// Pure comparison of two history entries (no widgets): whether they are comparable at all (prompt, generated
// count, model, backend, device, settings other than routing), the speedups of B over A only where they are, the
// per-layer deltas of the medians with a noise verdict from the entries' spreads, and the plan differences.
// Tested on its own; ComparisonView and the comparison export only display it.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "engine/runtime/run_report.h"
#include "ui/run_entry.h"

namespace flux::ui {

// Whether a per-layer delta stands out from the machine's noise.
enum class Noise {
  Unknown,  // at least one side is a single run: its spread is unknown
  Within,   // the two min–max spreads overlap: the delta may be noise
  Outside,  // the spreads do not overlap
};
const char* noiseName(Noise n);  // "single run: noise unknown" / "within noise" / "outside noise"

struct LayerDelta {
  int index = 0;
  std::optional<engine::LayerMode> mode_a, mode_b;  // empty when the layer is missing from that run
  double ms_a = 0.0, ms_b = 0.0;                    // prefill ms (medians over the entry's runs)
  double delta_ms = 0.0;                            // ms_b - ms_a
  double speedup = 0.0;  // ms_a / ms_b (> 1: B faster); 0 when B has no time or the prompts differ
  double attention_a = 0.0, attention_b = 0.0, attention_delta_ms = 0.0;  // the attention op alone (medians)
  Noise noise = Noise::Unknown;
  bool plan_differs = false;
};

struct RunComparison {
  std::vector<LayerDelta> layers;
  // What makes the two entries differ other than routing, in words ("prompt: 46 vs 1832 tokens"); empty: none.
  std::vector<std::string> differences;
  bool same_prompt = true;     // same prompt tokens (and the same text when both are known)
  bool same_generated = true;  // same number of generated tokens
  bool same_setup = true;      // same model, backend, device, sampler, chat template, system prompt, context
  // Speedups are only computed where they mean something: prefill needs the same prompt; decode (per token) the
  // same prompt and setup, and is "normalised per token" when only the generated counts differ; total needs both.
  bool prefill_comparable = false, decode_comparable = false, total_comparable = false;
  bool decode_normalised = false;
  // a / b: > 1 means B is faster. 0 when not comparable or B's time is 0.
  double prefill_speedup = 0.0;
  double decode_speedup = 0.0;  // per token
  double total_speedup = 0.0;
  int runs_a = 1, runs_b = 1;  // runs behind each side (Repeat ×N); the values are medians
  int plan_differences = 0;
  bool same_output = false;
};

RunComparison compare_runs(const RunEntry& a, const RunEntry& b);
// Two single runs whose prompt text is unknown (only their token counts are compared).
RunComparison compare_runs(const engine::RunReport& a, const engine::RunReport& b);

}  // namespace flux::ui
