// post_processor.cpp — the "post_processor" of tokenizer.json: the special tokens (BOS, EOS, …)
// that encode() adds around a sequence when asked to.
#include "tokenizer/post_processor.h"

namespace llamapro {

PostProcessor::PostProcessor(const tjson& j, const std::string& where) { add(j, where); }

void PostProcessor::add(const tjson& j, const std::string& where) {
  if (j.is_null()) return;
  std::string type = json_get<std::string>(j, "type", where);
  std::string at = where + " (" + type + ")";
  if (type == "Sequence") {
    const tjson& list = j.contains("processors") ? j["processors"] : tjson();
    LP_CHECK(list.is_array(), at, ": \"processors\" must be a list");
    for (size_t i = 0; i < list.size(); ++i) add(list[i], where + ".processors[" + std::to_string(i) + "]");
    return;
  }
  if (type == "ByteLevel") return;  // it only adjusts offsets
  if (type == "BertProcessing" || type == "RobertaProcessing") {
    // "cls": [token, id], "sep": [token, id]; a single sequence becomes cls A sep.
    auto id_of = [&](const char* key) {
      LP_CHECK(j.contains(key) && j[key].is_array() && j[key].size() == 2 && j[key][1].is_number_integer(), at,
               ": \"", key, "\" must be [token, id]");
      return j[key][1].get<int32_t>();
    };
    std::vector<int32_t> before{id_of("cls")}, after{id_of("sep")};
    before_.insert(before_.begin(), before.begin(), before.end());
    after_.insert(after_.end(), after.begin(), after.end());
    return;
  }
  if (type == "TemplateProcessing") {
    LP_CHECK(j.contains("single") && j["single"].is_array(), at, ": missing \"single\" template");
    const tjson& specials = j.contains("special_tokens") ? j["special_tokens"] : tjson::object();
    std::vector<int32_t> before, after;
    bool seen_sequence = false;
    for (const tjson& item : j["single"]) {
      if (item.contains("Sequence")) {
        LP_CHECK(!seen_sequence, at, ": the single template names the sequence twice");
        seen_sequence = true;
        continue;
      }
      LP_CHECK(item.contains("SpecialToken"), at, ": template items must be SpecialToken or Sequence");
      std::string name = json_get<std::string>(item["SpecialToken"], "id", at + ".single");
      LP_CHECK(specials.contains(name), at, ": special token \"", name, "\" is not in \"special_tokens\"");
      const tjson& ids = specials[name].contains("ids") ? specials[name]["ids"] : tjson();
      LP_CHECK(ids.is_array(), at, ": special token \"", name, "\" has no \"ids\" list");
      for (const tjson& id : ids) {
        LP_CHECK(id.is_number_integer(), at, ": special token \"", name, "\" has a non-integer id");
        (seen_sequence ? after : before).push_back(id.get<int32_t>());
      }
    }
    LP_CHECK(seen_sequence, at, ": the single template lacks the sequence ($A)");
    // A later processor of a Sequence wraps what the earlier ones produced.
    before_.insert(before_.begin(), before.begin(), before.end());
    after_.insert(after_.end(), after.begin(), after.end());
    return;
  }
  LP_FAIL(where, ": unsupported post_processor type \"", type,
          "\" (supported: TemplateProcessing, ByteLevel, BertProcessing, RobertaProcessing, Sequence)");
}

void PostProcessor::apply(std::vector<int32_t>& ids) const {
  if (!before_.empty()) ids.insert(ids.begin(), before_.begin(), before_.end());
  ids.insert(ids.end(), after_.begin(), after_.end());
}

}  // namespace llamapro
