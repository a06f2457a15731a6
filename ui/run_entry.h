// One entry of the run history: the prompt and the runs of one configuration — a single run, or the N runs of a
// Repeat ×N — with the median and spread (min–max) of what a comparison needs. Pure values, no widgets.
#pragma once

#include <string>
#include <vector>

#include "engine/runtime/run_report.h"

namespace flux::ui {

// The median and min–max of one measurement over an entry's runs (n = how many runs had it).
struct Spread {
  double median = 0.0;
  double min = 0.0;
  double max = 0.0;
  int n = 0;
  // One run says nothing about the noise; two or more do.
  bool noiseKnown() const { return n > 1; }
  bool operator==(const Spread&) const = default;
};
Spread spreadOf(std::vector<double> values);

// Whether two spreads overlap: a difference of medians inside the combined spread is within the noise.
bool withinNoise(const Spread& a, const Spread& b);

struct RunEntry {
  std::string prompt;                   // the prompt text (empty when unknown, e.g. a report opened from a file)
  std::vector<engine::RunReport> runs;  // at least one; all with the same configuration
  std::string group;                    // the id shared by the files of one Repeat ×N (empty: a single run)

  // The run shown when the entry is selected: the last one.
  const engine::RunReport& shown() const { return runs.back(); }
  int size() const { return static_cast<int>(runs.size()); }

  Spread prefillMs() const;
  Spread decodeMsPerToken() const;
  Spread totalMs() const;
  // Per layer index (0..max index): the layer's prefill ms, and the attention op's alone (attention_ms).
  std::vector<Spread> layerPrefillMs() const;
  std::vector<Spread> layerAttentionMs() const;
};

}  // namespace flux::ui
