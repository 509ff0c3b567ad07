// chat.cpp — `llamapro chat MODEL`: a conversation in the terminal through the model's chat
// template, or one reply to a JSON conversation (--messages) for scripts.
#include <CLI/CLI.hpp>
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <optional>

#include "cli/commands.h"
#include "cli/model_options.h"
#include "data/conversation.h"
#include "data/doc_encoder.h"
#include "infer/chat.h"
#include "model/adapter.h"
#include "tokenizer/utf8.h"
#include "util/output.h"
#include "util/strings.h"

namespace llamapro::cli {

namespace {

struct ChatCliOptions {
  std::string model_dir, adapter_dir, template_name = "auto", system, messages_file, transcript;
  ComputeOptions compute;
  ChatOptions chat;
  bool force = false;
};

// --messages FILE: {"messages": [...]} or a bare list, ending with the user's message.
std::vector<ChatMessage> read_messages(const std::string& path) {
  const json j = read_json_file(path);
  const json& list = j.is_object() && j.contains("messages") ? j["messages"] : j;
  std::vector<ChatMessage> m = parse_messages(list, /*sharegpt=*/false, path);
  LP_CHECK(!m.empty(), path, ": no messages");
  check_turn_order(m, "user", path);
  return m;
}

json turn_record(const ChatTurn& t, const std::string& user) {
  return {{"user", user}, {"prompt_ids", t.prompt_ids}, {"reply", t.reply}, {"reply_ids", t.reply_ids},
          {"dropped_turns", t.dropped_turns}, {"finished", t.finished}};
}

void run_chat(ChatCliOptions o) {
  const ModelSource source = resolve_model_source(o.model_dir, o.adapter_dir);
  std::vector<std::filesystem::path> inputs = source.inputs();
  inputs.push_back(o.messages_file);
  std::optional<Output> transcript;  // claimed before any work
  if (!o.transcript.empty()) transcript.emplace(OutputSpec{o.transcript, OutputKind::File, inputs, o.force, "--transcript"});
  std::vector<ChatMessage> scripted;
  if (!o.messages_file.empty()) {
    scripted = read_messages(o.messages_file);
    if (scripted.front().role == "system") {
      LP_CHECK(o.system.empty(), "--system and a system message in ", o.messages_file, ": give one of them");
      o.chat.system = scripted.front().content;
      scripted.erase(scripted.begin());
    }
  }

  LP_CHECK(std::filesystem::is_regular_file(source.model_dir / "tokenizer.json"), source.model_dir.string(),
           ": chat needs the model's tokenizer.json");
  DocumentEncoder encoder(source.model_dir, "chat", "", o.template_name);
  const ModelOptions mo = o.compute.resolve();
  Model model = load_model_source(source, mo);
  ChatSession session(model, *encoder.tokenizer(), *encoder.chat_template(), encoder.template_tokens(), o.chat);
  std::string log;  // JSON lines, one per reply
  auto print = [](const std::string& text) {
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fflush(stdout);
  };
  // One reply, streamed; what was left out or cut is said on stderr.
  auto answer = [&](const std::string& user) {
    ChatTurn t = session.say(user, print);
    print("\n");
    if (t.dropped_turns > 0)
      std::fprintf(stderr, "(%lld oldest exchange(s) dropped to fit the %lld-token window)\n",
                   (long long)t.dropped_turns, (long long)session.window());
    if (!t.finished) std::fprintf(stderr, "(reply cut at --max-new-tokens)\n");
    log += turn_record(t, user).dump() + "\n";
  };

  if (!scripted.empty()) {  // one reply, for scripts
    const std::string user = scripted.back().content;
    scripted.pop_back();
    session.set_history(scripted);
    answer(user);
  } else {
    const bool tty = isatty(STDIN_FILENO);
    std::fprintf(stderr, "chat with %s (%s template, %lld-token window%s); /reset forgets, /exit or Ctrl-D ends\n",
                 o.model_dir.c_str(), chat_template_name(*encoder.chat_template()), (long long)session.window(),
                 session.keeps_history() ? "" : ", one turn at a time");
    std::string line;
    while (true) {
      if (tty) print("> ");
      if (!std::getline(std::cin, line)) break;
      LP_CHECK(utf8::valid(line), "standard input: a message is not valid UTF-8 text");
      const std::string user(trim(line));
      if (user.empty()) continue;
      if (user == "/exit" || user == "/quit") break;
      if (user == "/reset") {
        session.reset();
        std::fprintf(stderr, "(history cleared)\n");
        continue;
      }
      if (user[0] == '/' && user.find(' ') == std::string::npos) {
        std::fprintf(stderr, "unknown command %s (/reset, /exit)\n", user.c_str());
        continue;
      }
      answer(user);
    }
  }
  if (transcript) {
    write_file_atomic(transcript->path(), log);
    transcript->commit();
  }
}

}  // namespace

void add_chat(CLI::App& app) {
  auto o = std::make_shared<ChatCliOptions>();
  auto* cmd = app.add_subcommand("chat", "Talk with a model through its chat template (interactive, or one reply to --messages)");
  cmd->add_option("model_dir", o->model_dir, "model folder with tokenizer.json, or a LoRA adapter folder")->required();
  add_adapter_option(*cmd, o->adapter_dir);
  cmd->add_option("--template", o->template_name, "chat template: auto (from tokenizer_config.json), llama3, llama2, "
                  "mistral, chatml or alpaca")->capture_default_str()
      ->check(CLI::IsMember({"auto", "llama3", "llama2", "mistral", "chatml", "alpaca"}));
  cmd->add_option("--system", o->chat.system, "system prompt");
  cmd->add_option("--messages", o->messages_file, "JSON conversation ending with a user message: print one reply and exit")
      ->check(non_empty_path());
  cmd->add_option("--transcript", o->transcript, "write every turn (prompt ids, reply) as JSON lines to this file")
      ->check(non_empty_path());
  cmd->add_flag("--force", o->force, "replace an existing --transcript file");
  cmd->add_option("--max-new-tokens", o->chat.max_new_tokens, "tokens per reply at most")->capture_default_str()
      ->check(count(1, 1 << 24));
  add_sampling_options(*cmd, o->chat.sampler);
  add_compute_options(*cmd, o->compute);
  cmd->callback([o] { run_chat(*o); });
}

}  // namespace llamapro::cli
