#include "engine/format/json_input.h"

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

}  // namespace flux::engine
