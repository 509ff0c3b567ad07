// json_fields.h — JSON access for tokenizer.json. It uses nlohmann::json (sorted map) rather
// than the project's order-keeping json: a 128k-entry vocabulary needs logarithmic lookups
// while parsing, and the tokenizer never writes JSON back.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

#include "util/check.h"

namespace llamapro {

using tjson = nlohmann::json;

// Parses JSON text; `where` names its origin in errors.
tjson parse_tokenizer_json(std::string_view text, const std::string& where);

// j[key] as T; clear error when missing or of another type.
template <typename T>
T jget(const tjson& j, const std::string& key, const std::string& where) {
  LP_CHECK(j.is_object() && j.contains(key), where, ": missing key \"", key, "\"");
  try {
    return j.at(key).get<T>();
  } catch (const tjson::exception&) {
    LP_FAIL(where, ": key \"", key, "\" has the wrong type (", j.at(key).type_name(), ")");
  }
}

// j[key] as T, or fallback when absent or null.
template <typename T>
T jget_or(const tjson& j, const std::string& key, T fallback, const std::string& where) {
  if (!j.is_object() || !j.contains(key) || j.at(key).is_null()) return fallback;
  return jget<T>(j, key, where);
}

// j[key], or null when absent.
inline const tjson& jfield(const tjson& j, const char* key) {
  static const tjson null_value;
  if (!j.is_object()) return null_value;
  auto it = j.find(key);
  return it == j.end() ? null_value : *it;
}

}  // namespace llamapro
