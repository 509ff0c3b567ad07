// json_fields.h — JSON access for tokenizer.json. It uses nlohmann::json (sorted map) rather
// than the project's order-keeping json: a 128k-entry vocabulary needs logarithmic lookups
// while parsing, and the tokenizer never writes JSON back.
#pragma once

#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "util/check.h"
#include "util/json.h"  // json_get, json_get_or work on tjson too

namespace llamapro {

using tjson = nlohmann::json;

// Parses JSON text; `where` names its origin in errors.
tjson parse_tokenizer_json(std::string_view text, const std::string& where);

// j[key], or null when absent.
inline const tjson& jfield(const tjson& j, const char* key) {
  static const tjson null_value;
  if (!j.is_object()) return null_value;
  auto it = j.find(key);
  return it == j.end() ? null_value : *it;
}

// The parts of a "Sequence" component: j[key] must be a list; each entry is built by
// make(entry, where.key[i]); entries that build nothing (no-op components) are dropped.
template <typename Part, typename Make>
std::vector<std::unique_ptr<Part>> make_parts(const tjson& j, const char* key, const std::string& where,
                                              const std::string& at, Make make) {
  const tjson& list = jfield(j, key);
  LP_CHECK(list.is_array(), at, ": \"", key, "\" must be a list");
  std::vector<std::unique_ptr<Part>> parts;
  for (size_t i = 0; i < list.size(); ++i) {
    auto p = make(list[i], where + "." + key + "[" + std::to_string(i) + "]");
    if (p) parts.push_back(std::move(p));
  }
  return parts;
}

}  // namespace llamapro
