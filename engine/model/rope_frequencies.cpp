#include "engine/model/rope_frequencies.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "engine/core/error.h"

namespace flux::engine {
namespace {

// HF's _compute_llama3_parameters: wavelengths shorter than original / high_freq_factor are kept, longer than
// original / low_freq_factor divided by factor, and those between interpolated by a smooth factor.
void llama3(std::vector<double>& inv, const RopeScaling& s) {
  const double old_len = s.original_max_position_embeddings;
  const double low_wavelen = old_len / s.low_freq_factor, high_wavelen = old_len / s.high_freq_factor;
  for (double& f : inv) {
    const double wavelen = 2.0 * std::numbers::pi / f;
    if (wavelen > low_wavelen) {
      f /= s.factor;
    } else if (!(wavelen < high_wavelen)) {
      const double smooth = (old_len / wavelen - s.low_freq_factor) / (s.high_freq_factor - s.low_freq_factor);
      f = (1.0 - smooth) * f / s.factor + smooth * f;
    }
  }
}

double yarn_mscale(double scale, double mscale) {
  return scale <= 1.0 ? 1.0 : 0.1 * mscale * std::log(scale) + 1.0;
}

// HF's _compute_yarn_parameters: a linear ramp over the pairs between the dimensions that rotate beta_fast and
// beta_slow times in the original context blends interpolated (/ factor) and extrapolated (plain) frequencies.
float yarn(std::vector<double>& inv, int dim, double base, const RopeScaling& s) {
  const double orig = s.original_max_position_embeddings;
  auto correction_dim = [&](double rotations) {
    return dim * std::log(orig / (rotations * 2.0 * std::numbers::pi)) / (2.0 * std::log(base));
  };
  double low = correction_dim(s.beta_fast), high = correction_dim(s.beta_slow);
  if (s.truncate) {
    low = std::floor(low);
    high = std::ceil(high);
  }
  low = std::max(low, 0.0);
  high = std::min(high, static_cast<double>(dim - 1));
  if (low == high) high += 0.001;  // HF: prevent a division by zero
  for (std::size_t i = 0; i < inv.size(); ++i) {
    const double ramp = std::clamp((static_cast<double>(i) - low) / (high - low), 0.0, 1.0);
    const double extrapolation = 1.0 - ramp;
    inv[i] = inv[i] / s.factor * (1.0 - extrapolation) + inv[i] * extrapolation;
  }
  if (s.attention_factor) return static_cast<float>(*s.attention_factor);
  if (s.mscale != 0.0 && s.mscale_all_dim != 0.0)
    return static_cast<float>(yarn_mscale(s.factor, s.mscale) / yarn_mscale(s.factor, s.mscale_all_dim));
  return static_cast<float>(yarn_mscale(s.factor, 1.0));
}

}  // namespace

RopeTable rope_frequencies(int head_dim, double theta, const RopeScaling& s, int64_t seq_len) {
  require(head_dim > 0 && head_dim % 2 == 0, "rope: head_dim {} must be positive and even", head_dim);
  require(std::isfinite(theta) && theta > 0.0, "rope: rope_theta {} must be a positive finite number", theta);
  RopeTable t;
  double base = theta;
  if (s.type == RopeScalingType::Dynamic) {
    t.dynamic = RopeDynamicNtk{theta, s.factor, s.original_max_position_embeddings, head_dim};
    base = t.dynamic.base(seq_len);
  }
  const int half = head_dim / 2;
  t.inv_freq.resize(static_cast<std::size_t>(half));
  for (int i = 0; i < half; ++i) t.inv_freq[static_cast<std::size_t>(i)] = rope_inv_freq(base, i, head_dim);
  switch (s.type) {
    case RopeScalingType::None:
    case RopeScalingType::Dynamic: break;
    case RopeScalingType::Linear:
      for (double& f : t.inv_freq) f /= s.factor;
      break;
    case RopeScalingType::Llama3: llama3(t.inv_freq, s); break;
    case RopeScalingType::Yarn: t.attention_scale = yarn(t.inv_freq, head_dim, base, s); break;
    case RopeScalingType::FreqFactors:
      require(static_cast<int>(s.freq_factors.size()) == half, "rope: {} frequency factors for head_dim {}",
              s.freq_factors.size(), head_dim);
      for (int i = 0; i < half; ++i) t.inv_freq[static_cast<std::size_t>(i)] /= s.freq_factors[static_cast<std::size_t>(i)];
      break;
  }
  return t;
}

RopeTable rope_frequencies(const ModelConfig& c, int64_t seq_len) {
  return rope_frequencies(c.head_dim, static_cast<double>(c.rope_theta), c.rope_scaling, seq_len);
}

}  // namespace flux::engine
