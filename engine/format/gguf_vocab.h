// VocabData from a GGUF file's tokenizer.ggml.* metadata: the hand-off from the GGUF loader to the tokenizers.
#pragma once

#include "engine/format/gguf_file.h"
#include "engine/tokenizer/vocab_data.h"

namespace flux::engine {

// Throws Error naming the file and key when tokens are missing or empty, scores/token_type sizes differ from the
// token count, a token type is unknown, or a special token id is out of range.
VocabData vocab_from_gguf(const GgufFile& file);

}  // namespace flux::engine
