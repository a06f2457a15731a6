#include "ui/run_comparison.h"

#include <fmt/format.h>

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

// Adds "what: a vs b" when the values differ; true when they do.
template <typename T>
bool differs(std::vector<std::string>& out, const char* what, const T& a, const T& b) {
  if (a == b) return false;
  out.push_back(fmt::format("{}: {} vs {}", what, a, b));
  return true;
}

Spread at(const std::vector<Spread>& v, int i) {
  return i < static_cast<int>(v.size()) ? v[static_cast<std::size_t>(i)] : Spread{};
}

}  // namespace

const char* noiseName(Noise n) {
  switch (n) {
    case Noise::Within:
      return "within noise";
    case Noise::Outside:
      return "outside noise";
    case Noise::Unknown:
      break;
  }
  return "single run: noise unknown";
}

RunComparison compare_runs(const RunEntry& ea, const RunEntry& eb) {
  RunComparison c;
  const engine::RunReport& a = ea.shown();
  const engine::RunReport& b = eb.shown();
  c.runs_a = ea.size();
  c.runs_b = eb.size();

  // Prompt and generated count.
  auto& diff = c.differences;
  c.same_prompt = !differs(diff, "prompt tokens", a.prompt_tokens, b.prompt_tokens);
  if (c.same_prompt && !ea.prompt.empty() && !eb.prompt.empty() && ea.prompt != eb.prompt) {
    diff.push_back("prompt text differs (same token count)");
    c.same_prompt = false;
  }
  c.same_generated = !differs(diff, "generated tokens", a.tokens.size(), b.tokens.size());
  // Everything else that is not routing.
  bool setup = true;
  setup &= !differs(diff, "model", a.model_path, b.model_path);
  setup &= !differs(diff, "backend", a.backend, b.backend);
  setup &= !differs(diff, "device", a.device, b.device);
  const auto& sa = a.settings;
  const auto& sb = b.settings;
  setup &= !differs(diff, "chat template", sa.chat ? "on" : "off", sb.chat ? "on" : "off");
  setup &=
      !differs(diff, "system prompt", fmt::format("'{}'", sa.system_prompt), fmt::format("'{}'", sb.system_prompt));
  setup &= !differs(diff, "context", sa.context_length, sb.context_length);
  setup &= !differs(diff, "temperature", sa.sampler.temperature, sb.sampler.temperature);
  setup &= !differs(diff, "top-k", sa.sampler.top_k, sb.sampler.top_k);
  setup &= !differs(diff, "top-p", sa.sampler.top_p, sb.sampler.top_p);
  setup &= !differs(diff, "seed", sa.sampler.seed, sb.sampler.seed);
  setup &= !differs(diff, "repetition penalty", sa.sampler.repetition_penalty, sb.sampler.repetition_penalty);
  setup &= !differs(diff, "repeat last n", sa.sampler.repeat_last_n, sb.sampler.repeat_last_n);
  differs(diff, "max new tokens", sa.max_new_tokens, sb.max_new_tokens);  // the generated count says what matters
  c.same_setup = setup;

  c.prefill_comparable = c.same_setup && c.same_prompt;
  c.decode_comparable = c.prefill_comparable;
  c.decode_normalised = c.decode_comparable && !c.same_generated;
  c.total_comparable = c.prefill_comparable && c.same_generated;

  const Spread pa = ea.prefillMs(), pb = eb.prefillMs();
  const Spread da = ea.decodeMsPerToken(), db = eb.decodeMsPerToken();
  const Spread ta = ea.totalMs(), tb = eb.totalMs();
  if (c.prefill_comparable) c.prefill_speedup = ratio(pa.median, pb.median);
  if (c.decode_comparable) c.decode_speedup = ratio(da.median, db.median);
  if (c.total_comparable) c.total_speedup = ratio(ta.median, tb.median);

  // Per layer: medians, modes of the shown runs, the noise verdict from the spreads.
  const std::vector<Spread> la = ea.layerPrefillMs(), lb = eb.layerPrefillMs();
  const std::vector<Spread> aa = ea.layerAttentionMs(), ab = eb.layerAttentionMs();
  const int n = static_cast<int>(std::max(la.size(), lb.size()));
  for (int i = 0; i < n; ++i) {
    LayerDelta d;
    d.index = i;
    if (const auto* l = find_layer(a, i)) d.mode_a = l->mode;
    if (const auto* l = find_layer(b, i)) d.mode_b = l->mode;
    const Spread sa_ms = at(la, i), sb_ms = at(lb, i);
    d.ms_a = sa_ms.median;
    d.ms_b = sb_ms.median;
    d.delta_ms = d.ms_b - d.ms_a;
    d.attention_a = at(aa, i).median;
    d.attention_b = at(ab, i).median;
    d.attention_delta_ms = d.attention_b - d.attention_a;
    if (c.prefill_comparable) d.speedup = ratio(d.ms_a, d.ms_b);
    d.noise = !sa_ms.noiseKnown() || !sb_ms.noiseKnown() ? Noise::Unknown
              : withinNoise(sa_ms, sb_ms)                ? Noise::Within
                                                         : Noise::Outside;
    d.plan_differs = d.mode_a != d.mode_b;
    c.plan_differences += d.plan_differs;
    c.layers.push_back(d);
  }
  c.same_output = a.output_text == b.output_text;
  return c;
}

RunComparison compare_runs(const engine::RunReport& a, const engine::RunReport& b) {
  return compare_runs(RunEntry{{}, {a}, {}}, RunEntry{{}, {b}, {}});
}

}  // namespace flux::ui
