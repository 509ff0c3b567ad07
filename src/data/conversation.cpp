// conversation.cpp — chat records in their common JSON shapes, checked for a usable turn order.
#include "data/conversation.h"

#include "util/check.h"

namespace llamapro {

namespace {

std::string text_field(const json& j, const char* key, const std::string& where, bool required) {
  if (!j.contains(key) || j[key].is_null()) {
    LP_CHECK(!required, where, ": missing \"", key, "\"");
    return "";
  }
  LP_CHECK(j[key].is_string(), where, ": \"", key, "\" must be a string, got ", j[key].type_name());
  return j[key].get<std::string>();
}

std::string normalize_role(const std::string& role, const std::string& where) {
  // ShareGPT speaks of "human" and "gpt".
  if (role == "user" || role == "human") return "user";
  if (role == "assistant" || role == "gpt") return "assistant";
  if (role == "system") return "system";
  LP_FAIL(where, ": unknown role \"", role, "\" (expected system, user or assistant)");
}

}  // namespace

std::vector<ChatMessage> parse_messages(const json& list, bool sharegpt, const std::string& where) {
  LP_CHECK(list.is_array(), where, ": \"", sharegpt ? "conversations" : "messages", "\" must be an array");
  std::vector<ChatMessage> out;
  for (const json& m : list) {
    LP_CHECK(m.is_object(), where, ": every message must be an object");
    std::string role = text_field(m, sharegpt ? "from" : "role", where, true);
    out.push_back({normalize_role(role, where), text_field(m, sharegpt ? "value" : "content", where, true)});
  }
  return out;
}

void check_turn_order(const std::vector<ChatMessage>& m, const std::string& last_role, const std::string& where) {
  size_t i = 0;
  if (i < m.size() && m[i].role == "system") ++i;
  LP_CHECK(i < m.size(), where, ": a conversation needs at least one user and one assistant message");
  for (size_t k = 0; i < m.size(); ++i, ++k) {
    const char* expected = k % 2 == 0 ? "user" : "assistant";
    LP_CHECK(m[i].role == expected, where, ": message ", i, " has role \"", m[i].role, "\" where \"", expected,
             "\" was expected (optional system first, then user and assistant alternating)");
  }
  LP_CHECK(m.back().role == last_role, where, ": the conversation must end with ", last_role == "user" ? "a " : "an ",
           last_role, " message");
}

Conversation parse_conversation(const json& record, const std::string& where) {
  LP_CHECK(record.is_object(), where, ": expected a JSON object, got ", record.type_name());
  Conversation c;
  const char* list_key = record.contains("messages") ? "messages" : record.contains("conversations") ? "conversations" : nullptr;
  if (list_key) {
    c.messages = parse_messages(record[list_key], std::string(list_key) == "conversations", where);
  } else if (record.contains("instruction") && record.contains("output")) {
    AlpacaRecord a{text_field(record, "instruction", where, true), text_field(record, "input", where, false),
                   text_field(record, "output", where, true)};
    std::string system = text_field(record, "system", where, false);
    if (!system.empty()) c.messages.push_back({"system", system});
    c.messages.push_back({"user", a.input.empty() ? a.instruction : a.instruction + "\n\n" + a.input});
    c.messages.push_back({"assistant", a.output});
    c.alpaca = std::move(a);
  } else {
    LP_FAIL(where, ": not a chat record: expected \"messages\", \"conversations\", or \"instruction\" + \"output\"");
  }
  check_turn_order(c.messages, "assistant", where);
  return c;
}

}  // namespace llamapro
