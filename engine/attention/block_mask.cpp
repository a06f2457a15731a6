#include "engine/attention/block_mask.h"

#include <algorithm>
#include <limits>
#include <string>

#include "engine/core/base64.h"
#include "engine/core/error.h"

namespace flux::engine {
namespace {

constexpr int kMaxHeads = std::numeric_limits<uint16_t>::max();

// Causal cells of all rows, as BlockLists::density counts them (closed form for n_kv >= n_q: row qb has
// qb + shift + 1).
int64_t causal_cells(int n_q_blocks, int n_kv_blocks) {
  const int64_t shift = int64_t{n_kv_blocks} - n_q_blocks;
  if (n_q_blocks <= 0) return 0;
  if (shift >= 0) return int64_t{n_q_blocks} * (shift + 1) + int64_t{n_q_blocks} * (n_q_blocks - 1) / 2;
  int64_t cells = 0;
  for (int64_t qb = 0; qb < n_q_blocks; ++qb) cells += std::clamp<int64_t>(qb + shift + 1, 0, n_kv_blocks);
  return cells;
}

// nlohmann's get<int>() of a float or an out-of-range value is not an error: read integers checked.
int json_int(const nlohmann::json& j, const char* key, int min, int max) {
  require(j.contains(key), "block mask: '{}' is missing", key);
  const nlohmann::json& v = j.at(key);
  require(v.is_number_integer(), "block mask: '{}' must be an integer, got {}", key, v.type_name());
  const int64_t x = v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)
                        ? INT64_MAX
                        : v.get<int64_t>();
  require(x >= min && x <= max, "block mask: '{}' = {} is outside [{}, {}]", key, v.dump(), min, max);
  return static_cast<int>(x);
}

}  // namespace

std::span<const int32_t> BlockMask::row(int q_block) const {
  const auto r = static_cast<std::size_t>(q_block);
  return {kv_blocks.data() + offsets[r], static_cast<std::size_t>(offsets[r + 1] - offsets[r])};
}

std::span<const uint16_t> BlockMask::row_heads(int q_block) const {
  const auto r = static_cast<std::size_t>(q_block);
  return {heads.data() + offsets[r], static_cast<std::size_t>(offsets[r + 1] - offsets[r])};
}

int BlockMask::causal_end(int q_block) const {
  return static_cast<int>(std::clamp<int64_t>(int64_t{q_block} + n_kv_blocks - n_q_blocks + 1, 0, n_kv_blocks));
}

double BlockMask::density() const {
  const int64_t causal = causal_cells(n_q_blocks, n_kv_blocks) * n_heads;
  if (causal == 0) return 1.0;
  double computed = 0.0;
  for (const uint16_t h : heads) computed += h;
  return computed / static_cast<double>(causal);
}

BlockMask aggregate_heads(const BlockLists& lists, int n_heads) {
  require(n_heads >= 1 && n_heads <= kMaxHeads, "block mask: {} heads (1..{})", n_heads, kMaxHeads);
  require(lists.n_heads == 1 || lists.n_heads == n_heads, "block mask: lists of {} heads aggregated as {}",
          lists.n_heads, n_heads);
  require(lists.block >= 1 && lists.n_q_blocks >= 0 && lists.n_kv_blocks >= lists.n_q_blocks,
          "block mask: lists of block {} with {} query and {} key blocks", lists.block, lists.n_q_blocks,
          lists.n_kv_blocks);
  const std::size_t rows = static_cast<std::size_t>(lists.n_heads) * static_cast<std::size_t>(lists.n_q_blocks);
  require(lists.offsets.size() == rows + 1 && lists.offsets.front() == 0 &&
              lists.offsets.back() == static_cast<int64_t>(lists.kv_blocks.size()) &&
              std::is_sorted(lists.offsets.begin(), lists.offsets.end()),
          "block mask: lists have {} offsets for {} rows", lists.offsets.size(), rows);
  BlockMask m;
  m.block = lists.block;
  m.n_q_blocks = lists.n_q_blocks;
  m.n_kv_blocks = lists.n_kv_blocks;
  m.n_heads = n_heads;
  m.offsets.reserve(static_cast<std::size_t>(m.n_q_blocks) + 1);
  m.offsets.push_back(0);
  const uint16_t per_list = static_cast<uint16_t>(lists.n_heads == 1 ? n_heads : 1);
  std::vector<uint16_t> count(static_cast<std::size_t>(m.n_kv_blocks), 0);
  for (int qb = 0; qb < m.n_q_blocks; ++qb) {
    const int end = m.causal_end(qb);
    for (int h = 0; h < lists.n_heads; ++h) {
      int32_t previous = -1;
      for (const int32_t kb : lists.row(h, qb)) {
        require(kb > previous && kb < end, "block mask: head {} query block {} lists key block {} (causal: 0..{}, "
                "ascending)", h, qb, kb, end - 1);
        previous = kb;
        count[static_cast<std::size_t>(kb)] = static_cast<uint16_t>(count[static_cast<std::size_t>(kb)] + per_list);
      }
    }
    for (int kb = 0; kb < end; ++kb) {
      uint16_t& c = count[static_cast<std::size_t>(kb)];
      if (c == 0) continue;
      m.kv_blocks.push_back(kb);
      m.heads.push_back(c);
      c = 0;
    }
    m.offsets.push_back(static_cast<int32_t>(m.kv_blocks.size()));
  }
  return m;
}

BlockMask static_block_mask(const AttentionPlan& plan, int64_t n_tokens, int n_heads) {
  require(plan.mode != AttentionMode::XAttention,
          "block mask: XAttention's selection depends on the data; only a recorded mask describes it");
  return aggregate_heads(build_block_lists(plan, n_tokens), n_heads);
}

nlohmann::json block_mask_to_json(const BlockMask& mask) {
  const bool wide = mask.n_heads > 255;
  const int64_t cells = causal_cells(mask.n_q_blocks, mask.n_kv_blocks);
  std::vector<uint8_t> bytes(static_cast<std::size_t>(cells) * (wide ? 2 : 1), 0);
  std::size_t cell = 0;
  for (int qb = 0; qb < mask.n_q_blocks; ++qb) {
    const auto blocks = mask.row(qb);
    const auto heads = mask.row_heads(qb);
    for (std::size_t i = 0; i < blocks.size(); ++i) {
      const std::size_t at = cell + static_cast<std::size_t>(blocks[i]);
      if (wide) {
        bytes[2 * at] = static_cast<uint8_t>(heads[i] & 0xff);
        bytes[2 * at + 1] = static_cast<uint8_t>(heads[i] >> 8);
      } else {
        bytes[at] = static_cast<uint8_t>(heads[i]);
      }
    }
    cell += static_cast<std::size_t>(mask.causal_end(qb));
  }
  return {{"block", mask.block},
          {"n_q_blocks", mask.n_q_blocks},
          {"n_kv_blocks", mask.n_kv_blocks},
          {"n_heads", mask.n_heads},
          {"encoding", wide ? "causal-counts-u16le" : "causal-counts-u8"},
          {"counts", base64_encode(bytes)}};
}

BlockMask block_mask_from_json(const nlohmann::json& j) {
  require(j.is_object(), "block mask: expected an object, got {}", j.type_name());
  BlockMask m;
  m.block = json_int(j, "block", 1, std::numeric_limits<int>::max());
  m.n_q_blocks = json_int(j, "n_q_blocks", 0, std::numeric_limits<int>::max() / 2);
  m.n_kv_blocks = json_int(j, "n_kv_blocks", m.n_q_blocks, std::numeric_limits<int>::max() / 2);
  m.n_heads = json_int(j, "n_heads", 1, kMaxHeads);
  require(j.contains("encoding") && j.at("encoding").is_string(), "block mask: 'encoding' must be a string");
  const std::string encoding = j.at("encoding").get<std::string>();
  require(encoding == "causal-counts-u8" || encoding == "causal-counts-u16le",
          "block mask: unknown encoding '{}' (causal-counts-u8 or causal-counts-u16le)", encoding);
  const bool wide = encoding == "causal-counts-u16le";
  require(wide || m.n_heads <= 255, "block mask: {} heads do not fit causal-counts-u8", m.n_heads);
  require(j.contains("counts") && j.at("counts").is_string(), "block mask: 'counts' must be a base64 string");
  const std::string& text = j.at("counts").get_ref<const std::string&>();
  // Sizes first, so a forged header cannot make us allocate more than the text holds.
  const int64_t cells = causal_cells(m.n_q_blocks, m.n_kv_blocks);
  const auto want = static_cast<uint64_t>(cells) * (wide ? 2u : 1u);
  require(text.size() == base64_length(static_cast<std::size_t>(want)),
          "block mask: 'counts' has {} characters, {} x {} blocks need {}", text.size(), m.n_q_blocks,
          m.n_kv_blocks, base64_length(static_cast<std::size_t>(want)));
  const std::vector<uint8_t> bytes = base64_decode(text);
  require(bytes.size() == want, "block mask: 'counts' decodes to {} bytes, expected {}", bytes.size(), want);
  m.offsets.reserve(static_cast<std::size_t>(m.n_q_blocks) + 1);
  m.offsets.push_back(0);
  std::size_t cell = 0;
  for (int qb = 0; qb < m.n_q_blocks; ++qb) {
    for (int kb = 0; kb < m.causal_end(qb); ++kb, ++cell) {
      const unsigned c = wide ? bytes[2 * cell] | unsigned{bytes[2 * cell + 1]} << 8 : bytes[cell];
      if (c == 0) continue;
      require(c <= static_cast<unsigned>(m.n_heads), "block mask: query block {} key block {} counts {} of {} heads",
              qb, kb, c, m.n_heads);
      m.kv_blocks.push_back(kb);
      m.heads.push_back(static_cast<uint16_t>(c));
    }
    require(m.kv_blocks.size() <= static_cast<std::size_t>(std::numeric_limits<int32_t>::max()),
            "block mask: too many blocks");
    m.offsets.push_back(static_cast<int32_t>(m.kv_blocks.size()));
  }
  return m;
}

}  // namespace flux::engine
