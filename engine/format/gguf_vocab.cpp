#include "engine/format/gguf_vocab.h"

#include "engine/core/error.h"

namespace flux::engine {

VocabData vocab_from_gguf(const GgufFile& f) {
  const std::string source = f.path().string();
  VocabData v;
  require(f.has("tokenizer.ggml.tokens"), "{}: missing metadata key 'tokenizer.ggml.tokens' (no vocabulary)", source);
  v.model = f.find_string("tokenizer.ggml.model").value_or("");
  v.pre = f.find_string("tokenizer.ggml.pre").value_or("default");
  v.tokens = f.get_string_array("tokenizer.ggml.tokens");
  require(!v.tokens.empty(), "{}: metadata key 'tokenizer.ggml.tokens' is empty", source);
  const std::size_t n = v.tokens.size();

  if (auto scores = f.find_float_array("tokenizer.ggml.scores")) {
    require(scores->size() == n, "{}: tokenizer.ggml.scores has {} entries, tokenizer.ggml.tokens has {}", source,
            scores->size(), n);
    v.scores = std::move(*scores);
  }
  if (auto types = f.find_int_array("tokenizer.ggml.token_type")) {
    require(types->size() == n, "{}: tokenizer.ggml.token_type has {} entries, tokenizer.ggml.tokens has {}", source,
            types->size(), n);
    v.token_types.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
      const int64_t t = (*types)[i];
      // 0 is llama.cpp's LLAMA_TOKEN_TYPE_UNDEFINED, written by some converters for plain tokens.
      require(t >= 0 && t <= 6, "{}: tokenizer.ggml.token_type[{}] = {} is not a known token type", source, i, t);
      v.token_types.push_back(t == 0 ? TokenType::Normal : static_cast<TokenType>(t));
    }
  }
  if (auto merges = f.find_string_array("tokenizer.ggml.merges")) v.merges = std::move(*merges);

  auto special = [&](const char* key, std::optional<int32_t>& out) {
    const auto id = f.find_int(key);
    if (!id) return;
    require(*id >= 0 && static_cast<uint64_t>(*id) < n, "{}: {} = {} is out of range (vocabulary has {} tokens)",
            source, key, *id, n);
    out = static_cast<int32_t>(*id);
  };
  special("tokenizer.ggml.bos_token_id", v.bos_id);
  special("tokenizer.ggml.eos_token_id", v.eos_id);
  special("tokenizer.ggml.unknown_token_id", v.unk_id);
  special("tokenizer.ggml.padding_token_id", v.pad_id);
  special("tokenizer.ggml.eot_token_id", v.eot_id);
  v.add_bos = f.find_bool("tokenizer.ggml.add_bos_token");
  v.add_eos = f.find_bool("tokenizer.ggml.add_eos_token");
  v.add_space_prefix = f.find_bool("tokenizer.ggml.add_space_prefix");
  v.chat_template = f.find_string("tokenizer.chat_template").value_or("");
  return v;
}

}  // namespace flux::engine
