#include "util/json.h"

#include "util/files.h"

namespace llamapro {

json parse_json(std::string_view text, const std::string& where) {
  try {
    return json::parse(text.begin(), text.end());
  } catch (const json::exception& e) {  // parse_error, or out_of_range for a number like 1e999
    std::string what = e.what();
    // nlohmann prefixes "[json.exception.parse_error.101] "; keep the useful part.
    if (auto pos = what.find("] "); pos != std::string::npos) what = what.substr(pos + 2);
    LP_FAIL(where, ": invalid JSON: ", what);
  }
}

json read_json_file(const std::filesystem::path& path) {
  return parse_json(read_file(path), path.string());
}

void write_json_file(const std::filesystem::path& path, const json& value) {
  write_file_atomic(path, value.dump(2) + "\n");
}

}  // namespace llamapro
