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

// Parses and validates a record; `where` ("file:line") names it in errors. Alpaca records
// also get messages: user = instruction (+ "\n\n" + input when non-empty), assistant = output.
Conversation parse_conversation(const json& record, const std::string& where);

}  // namespace llamapro
