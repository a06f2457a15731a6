// Base64 (RFC 4648, standard alphabet, padded): how reports carry binary arrays (block masks) inside JSON.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace flux::engine {

std::string base64_encode(std::span<const uint8_t> bytes);
// Throws Error for a length that is not a multiple of 4 or a character outside the alphabet (padding only at the end).
std::vector<uint8_t> base64_decode(std::string_view text);
// Characters base64_encode writes for n bytes.
constexpr std::size_t base64_length(std::size_t n) { return (n + 2) / 3 * 4; }

}  // namespace flux::engine
