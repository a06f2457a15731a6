#include "engine/format/json_input.h"

#include <fstream>

#include "engine/core/error.h"

namespace flux::engine {

std::optional<nlohmann::json> parse_json_limited(std::string_view text, const std::string& source) {
  using nlohmann::json;
  bool too_deep = false;
  // The callback sees each value's depth while the (iterative) parser runs; once too deep, everything is discarded
  // so nothing deep is ever built.
  const json::parser_callback_t limit = [&too_deep](int depth, json::parse_event_t, json&) {
    too_deep = too_deep || depth > kMaxJsonDepth;
    return !too_deep;
  };
  json j = json::parse(text.begin(), text.end(), limit, /*allow_exceptions=*/false);
  require(!too_deep, "{}: JSON nested deeper than {} levels", source, kMaxJsonDepth);
  if (j.is_discarded()) return std::nullopt;
  return j;
}

std::optional<std::string> read_text_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in.good()) return std::nullopt;
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  if (size < 0) return std::nullopt;
  in.seekg(0, std::ios::beg);
  std::string text(static_cast<std::size_t>(size), '\0');
  if (!in.read(text.data(), size)) return std::nullopt;
  return text;
}

}  // namespace flux::engine
