// json.h — reading JSON files and typed fields with errors that name the file and the key.
#pragma once

#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>

#include "util/check.h"

namespace llamapro {

// Ordered: files we rewrite (config.json, manifests) keep their key order. Lookups are
// linear, so large maps (a vocabulary) should be copied into a hash map before use.
using json = nlohmann::ordered_json;

// Parses a JSON file; clear error naming the file and the parse position on failure.
json read_json_file(const std::filesystem::path& path);

// Parses JSON text; `where` names its origin in errors.
json parse_json(std::string_view text, const std::string& where);

// Writes JSON (2-space indent, trailing newline) atomically.
void write_json_file(const std::filesystem::path& path, const json& value);

// j[key] as T; clear error when missing or of another type.
template <typename T>
T json_get(const json& j, const std::string& key, const std::string& where) {
  LP_CHECK(j.is_object() && j.contains(key), where, ": missing key \"", key, "\"");
  try {
    return j.at(key).get<T>();
  } catch (const json::exception&) {
    LP_FAIL(where, ": key \"", key, "\" has the wrong type (", j.at(key).type_name(), ")");
  }
}

// j[key] as T, or fallback when absent or null.
template <typename T>
T json_get_or(const json& j, const std::string& key, T fallback, const std::string& where) {
  if (!j.is_object() || !j.contains(key) || j.at(key).is_null()) return fallback;
  return json_get<T>(j, key, where);
}

}  // namespace llamapro
