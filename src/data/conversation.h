// conversation.h — one chat/SFT record of a JSON Lines file, in any of the common shapes:
// {"messages": [{"role", "content"}...]}, ShareGPT {"conversations": [{"from", "value"}...]},
// and Alpaca {"instruction", "input", "output"} (with an optional "system").
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "util/json.h"

namespace llamapro {

struct ChatMessage {
  std::string role;  // "system" | "user" | "assistant"
  std::string content;
};

struct AlpacaRecord {
  std::string instruction, input, output;
};

struct Conversation {
  std::vector<ChatMessage> messages;  // optional system first, then user/assistant alternating
  std::optional<AlpacaRecord> alpaca;  // set when the record had the Alpaca shape
};

// The messages of a {"messages": [...]} or ShareGPT {"conversations": [...]} record, roles
// normalised (human -> user, gpt -> assistant); unchecked order.
std::vector<ChatMessage> parse_messages(const json& list, bool sharegpt, const std::string& where);

// Optional system first, then user and assistant alternating, ending with `last_role`.
void check_turn_order(const std::vector<ChatMessage>& m, const std::string& last_role, const std::string& where);

// Parses and validates a record; `where` ("file:line") names it in errors. Alpaca records
// also get messages: user = instruction (+ "\n\n" + input when non-empty), assistant = output.
Conversation parse_conversation(const json& record, const std::string& where);

}  // namespace llamapro
