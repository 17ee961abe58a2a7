#pragma once
// Small string helpers for messages.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace wisesr {

/// "a, b, c" (for error messages that list the valid choices).
inline std::string join(const std::vector<std::string>& items, const std::string& sep = ", ") {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += sep;
    out += item;
  }
  return out;
}

/// Length of the well-formed UTF-8 sequence at s[i] (1 to 4), or 0 if the byte there does not start one.
inline size_t utf8_sequence_length(std::string_view s, size_t i) {
  const auto b = static_cast<uint8_t>(s[i]);
  if (b < 0x80) return 1;
  size_t n = 0;
  uint32_t code = 0;
  if ((b & 0xE0) == 0xC0)
    n = 2, code = b & 0x1Fu;
  else if ((b & 0xF0) == 0xE0)
    n = 3, code = b & 0x0Fu;
  else if ((b & 0xF8) == 0xF0)
    n = 4, code = b & 0x07u;
  else
    return 0;
  if (i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    const auto c = static_cast<uint8_t>(s[i + k]);
    if ((c & 0xC0) != 0x80) return 0;
    code = (code << 6) | (c & 0x3Fu);
  }
  const uint32_t smallest[] = {0, 0, 0x80, 0x800, 0x10000};  // overlong forms are not UTF-8
  if (code < smallest[n] || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return 0;
  return n;
}

/// A byte that no text file holds: an ASCII control character other than tab, newline and carriage
/// return, DEL, or a byte outside a well-formed UTF-8 sequence. Returns the position of the first such
/// byte of `s`, or npos.
inline size_t find_non_text_byte(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const auto b = static_cast<uint8_t>(s[i]);
    const bool control = (b < 0x20 && b != '\t' && b != '\n' && b != '\r') || b == 0x7F;
    const size_t n = control ? 0 : utf8_sequence_length(s, i);
    if (n == 0) return i;
    i += n;
  }
  return std::string_view::npos;
}

/// `s` safe to print on a terminal: every control byte (newlines and tabs included), DEL and every
/// byte outside well-formed UTF-8 written as \xNN; printable ASCII and UTF-8 text unchanged. For
/// messages that quote user input (file contents, names), so that they never echo raw bytes.
inline std::string printable(std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    const auto b = static_cast<uint8_t>(s[i]);
    const size_t n = b < 0x20 || b == 0x7F ? 0 : utf8_sequence_length(s, i);
    if (n == 0) {
      out += "\\x";
      out += kHex[b >> 4];
      out += kHex[b & 0xF];
      ++i;
    } else {
      out.append(s.substr(i, n));
      i += n;
    }
  }
  return out;
}

/// The text up to the first newline (one-line error messages from multi-line exception texts).
inline std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

/// 1234567 -> "1,234,567" (and -1234 -> "-1,234").
inline std::string group_thousands(int64_t v) {
  const std::string d = std::to_string(v < 0 ? -static_cast<uint64_t>(v) : static_cast<uint64_t>(v));
  std::string out = v < 0 ? "-" : "";
  for (size_t i = 0; i < d.size(); ++i) {
    if (i > 0 && (d.size() - i) % 3 == 0) out += ',';
    out += d[i];
  }
  return out;
}

/// s without leading and trailing spaces, tabs and CR/LF.
inline std::string trim(std::string_view s) {
  const size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return {};
  return std::string(s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1));
}

}  // namespace wisesr
