// JSON from files users hand us (config.json, tokenizer.json, safetensors headers, index and route files), parsed
// with a nesting limit: nlohmann parses iteratively, but dumping or copying a value recurses, so a small file of
// 100k '[' would overflow the stack the moment an error message quoted it.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace flux::engine {

inline constexpr int kMaxJsonDepth = 64;  // real model files nest about 6 deep

// The parsed document, or std::nullopt when `text` is not valid JSON. Throws Error "<source>: JSON nested deeper than
// 64 levels" for a deeper document.
std::optional<nlohmann::json> parse_json_limited(std::string_view text, const std::string& source);

}  // namespace flux::engine
