// The two decode modes end to end on the CPU backend (ALGORITHMS.md §7b): Reference decode steps of every SA kind
// read exactly the block-streaming key set of the full cache (each step's attention against a float64 softmax over
// that set; a random-weight model's logits against a prefill whose mask is that set), nothing is evicted, and the
// report's KV fields say so; FluxScope keeps its documented behaviour (streaming evicts to sink + ring, triangle and
// XAttention decode densely) and keeps less KV for streaming layers.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "engine/model/decoder.h"
#include "engine/model/random_weights.h"
#include "engine/runtime/kv_cache.h"
#include "engine/runtime/session.h"

namespace flux::engine {
namespace {

constexpr int kBlock = 128, kSink = 128, kWindow = 256;

// The reference key set, written from the rule (decode_mode_test checks the rule against Block-Sparse-Attention):
// the sink block, and the 2 local blocks ending at the query block ceil(p / 128).
bool reference_reads(int64_t p, int64_t j) {
  const int64_t qb = (p + kBlock - 1) / kBlock;
  return j <= p && (j < kSink || j >= (qb + 1 - kWindow / kBlock) * kBlock);
}

AttentionPlan sa_plan(AttentionMode mode, DecodeMode decode) {
  AttentionPlan p;
  p.mode = mode;
  p.block = kBlock;
  p.sink = kSink;
  p.window = kWindow;
  p.n_last = 64;
  p.stride = 16;
  p.threshold = 0.9f;
  p.decode = decode;
  return p;
}

std::vector<float> random_values(std::size_t n, uint32_t seed, float scale) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<float> out(n);
  for (float& x : out) x = dist(rng);
  return out;
}

double max_rel(const std::vector<float>& got, const std::vector<double>& want) {
  double diff = 0.0, scale = 0.0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    diff = std::max(diff, std::abs(got[i] - want[i]));
    scale = std::max(scale, std::abs(want[i]));
  }
  return diff / scale;
}

TEST(ReferenceDecode, EveryStepEqualsDenseSoftmaxOverTheBlockStreamingKeys) {
  auto backend = make_cpu_backend(2);
  const int hq = 4, hkv = 2, d = 16, kv_dim = hkv * d;
  const int64_t prompt = 700, capacity = 900;
  const auto keys = random_values(static_cast<std::size_t>(capacity * kv_dim), 1, 1.0f);
  const auto values = random_values(static_cast<std::size_t>(capacity * kv_dim), 2, 1.0f);
  for (AttentionMode mode : {AttentionMode::Streaming, AttentionMode::Triangle, AttentionMode::XAttention}) {
    SCOPED_TRACE(attention_mode_name(mode));
    KvCache kv(*backend, 1, kv_dim, capacity);
    kv.store(0, 0, backend->upload(std::span(keys).first(static_cast<std::size_t>(prompt * kv_dim)), prompt, kv_dim),
             backend->upload(std::span(values).first(static_cast<std::size_t>(prompt * kv_dim)), prompt, kv_dim));
    kv.prepare_decode(0, LayerMode::SA, sa_plan(mode, DecodeMode::Reference));
    EXPECT_EQ(kv.layout(0).block, kBlock);
    DecodeStep step = backend->make_decode_step();
    for (int64_t p = prompt; p < capacity; ++p) {
      backend->set_decode_step(step, 0, p);
      const auto row = [&](const std::vector<float>& all) {
        return backend->upload(
            std::span(all).subspan(static_cast<std::size_t>(p * kv_dim), static_cast<std::size_t>(kv_dim)), 1, kv_dim);
      };
      kv.store_step(0, row(keys), row(values), step);
      const auto q = random_values(static_cast<std::size_t>(hq * d), static_cast<uint32_t>(p + 3), 1.0f);
      Tensor out = backend->empty(1, hq * d);
      backend->attention_decode_step(backend->upload(q, 1, hq * d), kv.keys(0), kv.values(0), step, kv.layout(0), hq,
                                     hkv, d, out);
      std::vector<float> got(static_cast<std::size_t>(hq * d));
      backend->download(out, got);
      std::vector<double> want(got.size(), 0.0);
      for (int h = 0; h < hq; ++h) {
        const int g = h / (hq / hkv);
        std::vector<double> s;
        std::vector<int64_t> js;
        double mx = -INFINITY;
        for (int64_t j = 0; j <= p; ++j) {
          if (!reference_reads(p, j)) continue;
          double dot = 0.0;
          for (int e = 0; e < d; ++e) dot += double{q[h * d + e]} * keys[j * kv_dim + g * d + e];
          s.push_back(dot / std::sqrt(double{d}));
          js.push_back(j);
          mx = std::max(mx, s.back());
        }
        double total = 0.0;
        for (double& x : s) total += (x = std::exp(x - mx));
        for (std::size_t i = 0; i < s.size(); ++i)
          for (int e = 0; e < d; ++e) want[h * d + e] += s[i] / total * values[js[i] * kv_dim + g * d + e];
      }
      ASSERT_LE(max_rel(got, want), 1e-4) << "position " << p;
      kv.advance(p);
    }
    // Nothing evicted; the last step (899, query block 8) read the sink block and positions [(8 + 1 - 2)·128, 899].
    EXPECT_EQ(kv.slots_in_use(0), capacity);
    EXPECT_EQ(kv.rows_read(0), 128 + (899 - 896 + 1));
    EXPECT_EQ(kv.bytes_kept(0), kv.bytes(0));
    EXPECT_EQ(kv.bytes_read(0), static_cast<std::size_t>(kv.rows_read(0)) * 2 * kv_dim * sizeof(float));
  }
}

// A random-weight Qwen3-shaped model, small enough to prefill hundreds of times.
struct TinyModel {
  std::unique_ptr<Backend> backend = make_cpu_backend(2);
  ModelConfig config = [] {
    ModelConfig c = random_preset_config("qwen3-8b");
    c.n_layers = 3, c.hidden = 64, c.n_heads = 4, c.n_kv_heads = 2, c.head_dim = 16, c.ffn_hidden = 96;
    c.vocab_size = 97, c.context_length = 4096;
    return c;
  }();
  Decoder decoder{config, make_random_weights(config, *backend, 11), *backend};
};

// FA layers then one SA layer last: every layer's keys and values depend only on FA attention, so a decode step's
// logits equal the last row of a prefill whose SA mask at that row is the step's key set.
RoutingPlan last_layer_sa(const AttentionPlan& sparse, int n_layers) {
  RoutingPlan plan;
  plan.sparse = sparse;
  plan.layers.resize(static_cast<std::size_t>(n_layers));
  plan.layers.back().mode = LayerMode::SA;
  return plan;
}

std::vector<int32_t> random_tokens(std::size_t n, int vocab) {
  std::mt19937 rng(5);
  std::uniform_int_distribution<int32_t> token(0, vocab - 1);
  std::vector<int32_t> out(n);
  for (auto& t : out) t = token(rng);
  return out;
}

double max_rel(const std::vector<float>& a, const std::vector<float>& b) {
  double diff = 0.0, scale = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    diff = std::max(diff, std::abs(static_cast<double>(a[i]) - b[i]));
    scale = std::max(scale, std::abs(static_cast<double>(b[i])));
  }
  return diff / scale;
}

TEST(ReferenceDecode, ModelLogitsEqualAPrefillMaskedToTheReferenceKeys) {
  static TinyModel m;
  const int64_t prompt = 300, steps = 90;  // positions 300..389 cross the block edge at 384
  const auto tokens = random_tokens(static_cast<std::size_t>(prompt + steps), m.config.vocab_size);
  for (AttentionMode mode : {AttentionMode::Streaming, AttentionMode::Triangle, AttentionMode::XAttention}) {
    SCOPED_TRACE(attention_mode_name(mode));
    const RoutingPlan plan = last_layer_sa(sa_plan(mode, DecodeMode::Reference), m.config.n_layers);
    Session session(m.decoder, prompt + steps);
    std::vector<LayerReport> layers;
    session.prefill(std::span(tokens).first(static_cast<std::size_t>(prompt)), plan,
                    [&](const LayerReport& r) { layers.push_back(r); });
    // Reference evicts nothing: the SA layer keeps and allocates what an FA layer does.
    ASSERT_EQ(layers.size(), 3u);
    EXPECT_EQ(layers[2].kv_bytes, layers[0].kv_bytes);
    EXPECT_EQ(layers[2].kv_bytes_kept, layers[0].kv_bytes_kept);
    EXPECT_LT(layers[2].kv_bytes_read, layers[0].kv_bytes_read);
    for (int64_t p = prompt; p < prompt + steps; ++p) {
      const std::vector<float> got = session.decode(tokens[static_cast<std::size_t>(p)]);
      if (p != prompt && (p < 382 || p > 386) && p != prompt + steps - 1) continue;  // around the block edge 384
      // At row p the block-form streaming prefill reads the sink block and the blocks (p/128 - W, p/128]; the
      // reference's query block is ceil(p/128), so off a block edge its local window is one block shorter.
      AttentionPlan mask = sa_plan(AttentionMode::Streaming, DecodeMode::FluxScope);
      mask.window = p % kBlock == 0 ? kWindow : kWindow - kBlock;
      Session fresh(m.decoder, p + 1);
      const std::vector<float> want =
          fresh.prefill(std::span(tokens).first(static_cast<std::size_t>(p + 1)), last_layer_sa(mask, 3));
      ASSERT_LE(max_rel(got, want), 1e-4) << "position " << p;
      if (p % kBlock != 0) {
        // The plain prefill rule (one block more) is a different answer: the comparison can tell them apart.
        mask.window = kWindow;
        Session other(m.decoder, p + 1);
        const std::vector<float> wrong =
            other.prefill(std::span(tokens).first(static_cast<std::size_t>(p + 1)), last_layer_sa(mask, 3));
        EXPECT_GT(max_rel(got, wrong), 1e-3) << "position " << p;
      }
    }
  }
}

TEST(FluxScopeDecode, StreamingEvictsToARingAndTheOtherKindsDecodeDensely) {
  static TinyModel m;
  const int64_t prompt = 500, steps = 40;  // more than sink + window: the ring evicts
  const auto tokens = random_tokens(static_cast<std::size_t>(prompt + steps), m.config.vocab_size);
  std::size_t reference_streaming_kv = 0, fluxscope_streaming_kv = 0;
  for (DecodeMode decode : {DecodeMode::Reference, DecodeMode::FluxScope}) {
    for (AttentionMode mode : {AttentionMode::Streaming, AttentionMode::Triangle, AttentionMode::XAttention}) {
      SCOPED_TRACE(std::string(decode_mode_name(decode)) + " " + attention_mode_name(mode));
      const RoutingPlan plan = last_layer_sa(sa_plan(mode, decode), m.config.n_layers);
      Session session(m.decoder, prompt + steps);
      std::vector<LayerReport> layers;
      session.prefill(std::span(tokens).first(static_cast<std::size_t>(prompt)), plan,
                      [&](const LayerReport& r) { layers.push_back(r); });
      const KvCache& kv = session.kv_cache();
      const bool ring = decode == DecodeMode::FluxScope && mode == AttentionMode::Streaming;
      EXPECT_EQ(kv.layout(2).ring(), ring);
      EXPECT_EQ(kv.layout(2).block, decode == DecodeMode::Reference ? kBlock : 0);
      if (mode == AttentionMode::Streaming) {
        (decode == DecodeMode::Reference ? reference_streaming_kv : fluxscope_streaming_kv) = layers[2].kv_bytes;
      }
      for (int64_t p = prompt; p < prompt + steps; ++p) {
        const std::vector<float> got = session.decode(tokens[static_cast<std::size_t>(p)]);
        if (decode == DecodeMode::Reference || p % 20 != 0) continue;
        // FluxScope: streaming reads the token-level sink + window, triangle and XAttention everything.
        AttentionPlan mask = sa_plan(mode == AttentionMode::Streaming ? AttentionMode::Streaming : AttentionMode::Full,
                                     DecodeMode::FluxScope);
        mask.token_exact = true;
        Session fresh(m.decoder, p + 1);
        const std::vector<float> want =
            fresh.prefill(std::span(tokens).first(static_cast<std::size_t>(p + 1)), last_layer_sa(mask, 3));
        ASSERT_LE(max_rel(got, want), 1e-4) << "position " << p;
      }
      if (ring) {
        EXPECT_EQ(kv.slots_in_use(2), kSink + kWindow);
        EXPECT_EQ(kv.rows_read(2), kSink + kWindow);
        EXPECT_LT(layers[2].kv_bytes, layers[0].kv_bytes);
        EXPECT_EQ(layers[2].kv_bytes_kept, layers[2].kv_bytes);
      } else if (decode == DecodeMode::FluxScope) {
        EXPECT_EQ(kv.rows_read(2), prompt + steps);
        EXPECT_EQ(layers[2].kv_bytes_read, layers[0].kv_bytes_read);
      }
    }
  }
  EXPECT_LT(fluxscope_streaming_kv, reference_streaming_kv);
}

}  // namespace
}  // namespace flux::engine
