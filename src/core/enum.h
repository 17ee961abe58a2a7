#pragma once
// Modes as enums with names: parsed once at the edge (the command line, an INI file), compared as enums
// everywhere else, printed with to_string() in logs, INI files and JSON.
//
// Usage:
//   1. Declare the enum and, in the same namespace, its names (found by argument-dependent lookup):
//        enum class Precision { kAuto, kFp32, kBf16, kFp16 };
//        constexpr auto enum_names(Precision) {
//          return std::array{EnumName{Precision::kAuto, "auto"}, EnumName{Precision::kFp32, "fp32"}, ...};
//        }
//   2. wisesr::to_string(Precision::kBf16) == "bf16";
//      wisesr::parse_enum<Precision>("--train.precision", "fp8") throws
//        "--train.precision must be auto, fp32, bf16 or fp16, got 'fp8'";
//      wisesr::enum_choices<Precision>() == "auto|fp32|bf16|fp16" (what --help shows as the value).
// A string option with a fixed set of values that must stay a string (a manifest field) uses
// check_choice() instead.

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "core/error.h"

namespace wisesr {

template <typename E>
struct EnumName {
  E value;
  const char* name;
};
template <typename E>
EnumName(E, const char*) -> EnumName<E>;

/// An enum whose names are declared with enum_names() (see the header comment).
template <typename E>
concept NamedEnum = std::is_enum_v<E> && requires(E e) {
  enum_names(e);
};

/// The name of a value ("?" for a value without one, which a well-formed program never has).
template <NamedEnum E>
std::string to_string(E value) {
  for (const auto& n : enum_names(E{}))
    if (n.value == value) return n.name;
  return "?";
}

/// The value named `text`, if any.
template <NamedEnum E>
std::optional<E> from_string(std::string_view text) {
  for (const auto& n : enum_names(E{}))
    if (text == n.name) return n.value;
  return std::nullopt;
}

/// The names joined by `sep`.
template <NamedEnum E>
std::string enum_choices(std::string_view sep = "|") {
  std::string out;
  for (const auto& n : enum_names(E{})) {
    if (!out.empty()) out += sep;
    out += n.name;
  }
  return out;
}

/// Throws "<option> must be a, b or c, got '<value>'" unless value is one of choices.
inline void check_choice(const std::string& option, const std::string& value,
                         const std::vector<std::string>& choices) {
  std::string list;
  for (size_t i = 0; i < choices.size(); ++i) {
    if (choices[i] == value) return;
    list += (i == 0 ? "" : i + 1 == choices.size() ? " or " : ", ") + choices[i];
  }
  WISESR_THROW(option, " must be ", list, ", got '", value, "'");
}

/// The value named `text`; otherwise throws as check_choice() does, naming `option`.
template <NamedEnum E>
E parse_enum(const std::string& option, const std::string& text) {
  if (auto v = from_string<E>(text)) return *v;
  std::vector<std::string> names;
  for (const auto& n : enum_names(E{})) names.emplace_back(n.name);
  check_choice(option, text, names);
  return E{};  // not reached: check_choice threw
}

}  // namespace wisesr
