#include "engine/tokenizer/sentencepiece_tokenizer.h"

#include <sentencepiece_processor.h>

#include <cctype>
#include <cmath>
#include <cstring>
#include <algorithm>

#include "engine/core/error.h"
#include "engine/core/input_file.h"

namespace flux::engine {
namespace {

// libsentencepiece-dev ships no generated protobuf headers, so the few ModelProto fields we need are written and read
// in protobuf wire format directly (field numbers from sentencepiece_model.proto).
namespace wire {

void varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}
void tag(std::string& out, uint32_t field, uint32_t type) { varint(out, (field << 3) | type); }
void int_field(std::string& out, uint32_t field, int64_t v) {
  tag(out, field, 0);
  varint(out, static_cast<uint64_t>(v));  // negative int32 values take ten bytes, as protobuf sign-extends them
}
void bytes_field(std::string& out, uint32_t field, std::string_view v) {
  tag(out, field, 2);
  varint(out, v.size());
  out.append(v);
}
void float_field(std::string& out, uint32_t field, float v) {
  tag(out, field, 5);
  uint32_t bits = 0;
  std::memcpy(&bits, &v, sizeof bits);
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((bits >> (8 * i)) & 0xFF));
}

// One field of a message: its number, wire type, and the varint / fixed32 value or the length-delimited payload.
struct Field {
  uint32_t number = 0;
  uint32_t type = 0;
  uint64_t value = 0;
  std::string_view payload;
};

class Reader {
 public:
  explicit Reader(std::string_view data) : data_(data) {}
  bool next(Field& f) {
    if (pos_ >= data_.size()) return false;
    const uint64_t key = read_varint();
    f.number = static_cast<uint32_t>(key >> 3);
    f.type = static_cast<uint32_t>(key & 7);
    switch (f.type) {
      case 0: f.value = read_varint(); break;
      case 1: f.value = read_fixed(8); break;
      case 5: f.value = read_fixed(4); break;
      case 2: {
        const uint64_t len = read_varint();
        require(len <= data_.size() - pos_, "sentencepiece: truncated model proto");
        f.payload = data_.substr(pos_, len);
        pos_ += len;
        break;
      }
      default: fail("sentencepiece: unsupported protobuf wire type {} in model proto", f.type);
    }
    return true;
  }

 private:
  uint64_t read_varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      require(pos_ < data_.size(), "sentencepiece: truncated model proto");
      const auto b = static_cast<uint8_t>(data_[pos_++]);
      v |= static_cast<uint64_t>(b & 0x7F) << shift;
      if ((b & 0x80) == 0) return v;
    }
    fail("sentencepiece: malformed varint in model proto");
  }
  uint64_t read_fixed(size_t n) {
    require(data_.size() - pos_ >= n, "sentencepiece: truncated model proto");
    uint64_t v = 0;
    for (size_t i = 0; i < n; ++i) v |= static_cast<uint64_t>(static_cast<uint8_t>(data_[pos_ + i])) << (8 * i);
    pos_ += n;
    return v;
  }
  std::string_view data_;
  size_t pos_ = 0;
};

}  // namespace wire

// ModelProto / SentencePiece / TrainerSpec / NormalizerSpec field numbers.
constexpr uint32_t kPieces = 1, kTrainerSpec = 2, kNormalizerSpec = 3;
constexpr uint32_t kPiece = 1, kScore = 2, kType = 3;
constexpr uint32_t kModelType = 3, kVocabSize = 4, kByteFallback = 35;
constexpr uint32_t kNormName = 1, kAddDummyPrefix = 3, kRemoveExtraWhitespaces = 4, kEscapeWhitespaces = 5;
constexpr int kModelUnigram = 1, kModelBpe = 2;

}  // namespace

bool sentencepiece_vocab_is_bpe(const VocabData& vocab) {
  if (vocab.scores.size() != vocab.tokens.size()) return false;
  float last = INFINITY;
  bool any = false;
  for (size_t i = 0; i < vocab.tokens.size(); ++i) {
    const bool normal = vocab.token_types.empty() || vocab.token_types[i] == TokenType::Normal;
    if (!normal) continue;
    const float s = vocab.scores[i];
    if (s != std::floor(s) || s > last) return false;
    last = s;
    any = true;
  }
  return any;
}

namespace {

std::string read_file(const std::filesystem::path& path) {
  return read_input_file(path, "sentencepiece model", std::size_t{256} << 20);
}

std::unique_ptr<sentencepiece::SentencePieceProcessor> load_processor(const std::string& proto, const char* what) {
  auto p = std::make_unique<sentencepiece::SentencePieceProcessor>();
  const auto status = p->LoadFromSerializedProto(proto);
  require(status.ok(), "sentencepiece: cannot load {}: {}", what, status.ToString());
  return p;
}

VocabData vocab_from_proto(const std::string& proto, const std::string& origin) {
  VocabData v;
  v.model = "llama";
  v.add_space_prefix = true;  // the proto2 default of add_dummy_prefix
  wire::Reader r(proto);
  wire::Field f;
  while (r.next(f)) {
    if (f.number == kPieces && f.type == 2) {
      std::string piece;
      float score = 0.0f;
      int32_t type = 1;
      wire::Reader pr(f.payload);
      wire::Field pf;
      while (pr.next(pf)) {
        if (pf.number == kPiece && pf.type == 2) piece = std::string(pf.payload);
        if (pf.number == kScore && pf.type == 5) {
          const auto bits = static_cast<uint32_t>(pf.value);
          std::memcpy(&score, &bits, sizeof score);
        }
        if (pf.number == kType && pf.type == 0) type = static_cast<int32_t>(pf.value);
      }
      require(type >= 1 && type <= 6, "sentencepiece: piece '{}' in '{}' has invalid type {}", piece, origin, type);
      v.tokens.push_back(std::move(piece));
      v.scores.push_back(score);
      v.token_types.push_back(static_cast<TokenType>(type));
    } else if (f.number == kNormalizerSpec && f.type == 2) {
      wire::Reader nr(f.payload);
      wire::Field nf;
      while (nr.next(nf)) {
        if (nf.number == kAddDummyPrefix && nf.type == 0) v.add_space_prefix = nf.value != 0;
      }
    }
  }
  require(!v.tokens.empty(), "sentencepiece: '{}' holds no pieces", origin);
  return v;
}

}  // namespace

std::string sentencepiece_model_proto(const VocabData& vocab) {
  require(vocab.model == "llama", "sentencepiece: vocabulary model is '{}', expected 'llama'", vocab.model);
  const size_t n = vocab.tokens.size();
  require(n > 0, "sentencepiece: vocabulary is empty");
  require(vocab.scores.empty() || vocab.scores.size() == n, "sentencepiece: {} scores for {} tokens",
          vocab.scores.size(), n);
  require(vocab.token_types.empty() || vocab.token_types.size() == n, "sentencepiece: {} token types for {} tokens",
          vocab.token_types.size(), n);
  VocabData scored = vocab;
  if (scored.scores.empty()) scored.scores.assign(n, 0.0f);

  std::string proto;
  bool has_bytes = false;
  for (size_t i = 0; i < n; ++i) {
    require(!vocab.tokens[i].empty(), "sentencepiece: token {} is empty", i);
    const TokenType t = vocab.token_types.empty() ? TokenType::Normal : vocab.token_types[i];
    has_bytes = has_bytes || t == TokenType::Byte;
    std::string piece;
    wire::bytes_field(piece, kPiece, vocab.tokens[i]);
    wire::float_field(piece, kScore, scored.scores[i]);
    wire::int_field(piece, kType, static_cast<int32_t>(t));
    wire::bytes_field(proto, kPieces, piece);
  }
  std::string trainer;
  wire::int_field(trainer, kModelType, sentencepiece_vocab_is_bpe(scored) ? kModelBpe : kModelUnigram);
  wire::int_field(trainer, kVocabSize, static_cast<int64_t>(n));
  wire::int_field(trainer, kByteFallback, has_bytes ? 1 : 0);
  wire::bytes_field(proto, kTrainerSpec, trainer);

  std::string normalizer;
  wire::bytes_field(normalizer, kNormName, "identity");
  wire::int_field(normalizer, kAddDummyPrefix, vocab.add_space_prefix.value_or(true) ? 1 : 0);
  wire::int_field(normalizer, kRemoveExtraWhitespaces, 0);
  wire::int_field(normalizer, kEscapeWhitespaces, 1);
  wire::bytes_field(proto, kNormalizerSpec, normalizer);
  return proto;
}

VocabData vocab_from_sentencepiece_model(const std::filesystem::path& model_file) {
  const std::string proto = read_file(model_file);
  const auto processor = load_processor(proto, model_file.string().c_str());
  VocabData v = vocab_from_proto(proto, model_file.string());
  require(static_cast<size_t>(processor->GetPieceSize()) == v.tokens.size(),
          "sentencepiece: '{}' holds {} pieces but the library reads {}", model_file.string(), v.tokens.size(),
          processor->GetPieceSize());
  const auto id_or_none = [](int id) { return id >= 0 ? std::optional<int32_t>(id) : std::nullopt; };
  v.bos_id = id_or_none(processor->bos_id());
  v.eos_id = id_or_none(processor->eos_id());
  v.unk_id = id_or_none(processor->unk_id());
  v.pad_id = id_or_none(processor->pad_id());
  v.add_bos = v.bos_id.has_value();  // Llama-style models start every prompt with <s>
  v.add_eos = false;
  return v;
}

SentencePieceTokenizer::SentencePieceTokenizer(const std::filesystem::path& model_file)
    : SentencePieceTokenizer(vocab_from_sentencepiece_model(model_file), read_file(model_file)) {}

SentencePieceTokenizer::SentencePieceTokenizer(const VocabData& vocab)
    : SentencePieceTokenizer(vocab, sentencepiece_model_proto(vocab)) {}

SentencePieceTokenizer::SentencePieceTokenizer(const VocabData& vocab, const std::string& serialized_proto)
    : Tokenizer(vocab),
      processor_(load_processor(serialized_proto, "model proto")),
      add_dummy_prefix_(vocab.add_space_prefix.value_or(true)) {
  require(processor_->GetPieceSize() == vocab_size(), "sentencepiece: library reads {} pieces, vocabulary has {}",
          processor_->GetPieceSize(), vocab_size());
}

SentencePieceTokenizer::~SentencePieceTokenizer() = default;

std::vector<int32_t> SentencePieceTokenizer::encode(std::string_view text, bool parse_special,
                                            std::span<const size_t> literal_at) const {
  std::vector<int32_t> out;
  // User-defined pieces are left to the library, which matches them itself; control pieces it never matches.
  for (const Segment& seg : split_special(text, parse_special, /*user_defined=*/false, literal_at)) {
    if (seg.token >= 0) {
      out.push_back(seg.token);
      continue;
    }
    std::vector<int> ids;
    const auto status = processor_->Encode(seg.text, &ids);
    require(status.ok(), "sentencepiece: encode failed: {}", status.ToString());
    out.insert(out.end(), ids.begin(), ids.end());
  }
  return out;
}

std::string SentencePieceTokenizer::token_text(int32_t id) const {
  const std::string& p = piece(id);
  const TokenType t = token_type(id);
  if (t == TokenType::Byte && p.size() == 6 && p.starts_with("<0x") && p.back() == '>' &&
      std::isxdigit(static_cast<unsigned char>(p[3])) && std::isxdigit(static_cast<unsigned char>(p[4]))) {
    return std::string(1, static_cast<char>(std::stoi(p.substr(3, 2), nullptr, 16)));
  }
  if (t == TokenType::Control || t == TokenType::Unknown) return p;
  std::string out;
  out.reserve(p.size());
  for (size_t i = 0; i < p.size(); ++i) {
    if (p.compare(i, 3, "\xE2\x96\x81") == 0) {  // U+2581, SentencePiece's visible space
      out.push_back(' ');
      i += 2;
    } else {
      out.push_back(p[i]);
    }
  }
  return out;
}

std::string SentencePieceTokenizer::decode(std::span<const int32_t> ids, bool skip_control) const {
  std::string out;
  bool at_start = true;
  for (const int32_t id : ids) {
    const bool control = is_control(id);
    if (skip_control && control) continue;
    std::string text = token_text(id);
    if (at_start && !control) {
      if (add_dummy_prefix_ && !text.empty() && text[0] == ' ') text.erase(0, 1);
      at_start = false;
    }
    out += text;
  }
  return out;
}

}  // namespace flux::engine
