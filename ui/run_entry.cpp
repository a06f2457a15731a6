#include "ui/run_entry.h"

#include <algorithm>
#include <functional>

namespace flux::ui {
namespace {

using LayerValue = std::function<double(const engine::LayerReport&)>;

std::vector<Spread> perLayer(const std::vector<engine::RunReport>& runs, const LayerValue& value) {
  int n = 0;
  for (const auto& r : runs)
    for (const auto& l : r.layers) n = std::max(n, l.index + 1);
  std::vector<std::vector<double>> values(static_cast<std::size_t>(n));
  for (const auto& r : runs)
    for (const auto& l : r.layers)
      if (l.index >= 0) values[static_cast<std::size_t>(l.index)].push_back(value(l));
  std::vector<Spread> out;
  out.reserve(values.size());
  for (auto& v : values) out.push_back(spreadOf(std::move(v)));
  return out;
}

Spread summary(const std::vector<engine::RunReport>& runs, double engine::RunSummary::*field) {
  std::vector<double> v;
  v.reserve(runs.size());
  for (const auto& r : runs) v.push_back(r.summary.*field);
  return spreadOf(std::move(v));
}

}  // namespace

Spread spreadOf(std::vector<double> values) {
  Spread s;
  s.n = static_cast<int>(values.size());
  if (values.empty()) return s;
  std::sort(values.begin(), values.end());
  const std::size_t mid = values.size() / 2;
  s.median = values.size() % 2 == 1 ? values[mid] : 0.5 * (values[mid - 1] + values[mid]);
  s.min = values.front();
  s.max = values.back();
  return s;
}

bool withinNoise(const Spread& a, const Spread& b) {
  return a.noiseKnown() && b.noiseKnown() && a.min <= b.max && b.min <= a.max;
}

Spread RunEntry::prefillMs() const {
  return summary(runs, &engine::RunSummary::prefill_ms);
}
Spread RunEntry::decodeMsPerToken() const {
  return summary(runs, &engine::RunSummary::decode_ms_per_token);
}
Spread RunEntry::totalMs() const {
  return summary(runs, &engine::RunSummary::total_ms);
}
std::vector<Spread> RunEntry::layerPrefillMs() const {
  return perLayer(runs, [](const engine::LayerReport& l) { return l.prefill_ms; });
}
std::vector<Spread> RunEntry::layerAttentionMs() const {
  return perLayer(runs, [](const engine::LayerReport& l) { return l.attention_ms; });
}

}  // namespace flux::ui
