// json.h — reading JSON files and typed fields with errors that name the file and the key.
#pragma once

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <utility>
#include <string>

#include "util/check.h"

namespace llamapro {

// Ordered: files we rewrite (config.json, manifests) keep their key order. Lookups are
// linear, so large maps (a vocabulary) should be copied into a hash map before use.
using json = nlohmann::ordered_json;

// Parses a JSON file; clear error naming the file and the parse position on failure.
json read_json_file(const std::filesystem::path& path);

// nlohmann's message without its "[json.exception.parse_error.101] " prefix; other text as it is.
std::string json_error_text(const std::string& what);

// Parses JSON text; `where` names its origin in errors.
json parse_json(std::string_view text, const std::string& where);

// Writes JSON (2-space indent, trailing newline) atomically.
void write_json_file(const std::filesystem::path& path, const json& value);

// j[key] as T; clear error when missing or of another type. J: json or nlohmann::json.
template <typename T, typename J>
T json_get(const J& j, const std::string& key, const std::string& where) {
  LP_CHECK(j.is_object() && j.contains(key), where, ": missing key \"", key, "\"");
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
    // nlohmann would convert 1e300 or 2^64-1 silently (undefined behaviour for floats).
    const auto& v = j.at(key);
    if (v.is_number()) {
      const double d = v.template get<double>();
      bool ok = v.is_number_unsigned()
                    ? v.template get<uint64_t>() <= static_cast<uint64_t>(std::numeric_limits<T>::max())
                : v.is_number_integer() ? std::in_range<T>(v.template get<int64_t>())
                                        : std::abs(d) < 9.0e15 && d == std::trunc(d) &&
                                              std::in_range<T>(static_cast<int64_t>(d));
      LP_CHECK(ok, where, ": key \"", key, "\" must be an integer in range, got ", v.dump());
    }
  }
  try {
    return j.at(key).template get<T>();
  } catch (const nlohmann::detail::exception&) {
    LP_FAIL(where, ": key \"", key, "\" has the wrong type (", j.at(key).type_name(), ")");
  }
}

// j[key] as T, or fallback when absent or null.
template <typename T, typename J>
T json_get_or(const J& j, const std::string& key, T fallback, const std::string& where) {
  if (!j.is_object() || !j.contains(key) || j.at(key).is_null()) return fallback;
  return json_get<T>(j, key, where);
}

}  // namespace llamapro
