// json_fields.cpp — JSON access for tokenizer.json.
#include "tokenizer/json_fields.h"

namespace llamapro {

tjson parse_tokenizer_json(std::string_view text, const std::string& where) {
  try {
    return tjson::parse(text.begin(), text.end());
  } catch (const tjson::exception& e) {  // parse_error, or out_of_range for a number like 1e999
    LP_FAIL(where, ": invalid JSON: ", json_error_text(e.what()));
  }
}

}  // namespace llamapro
