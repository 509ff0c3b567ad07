// test_chat.cpp — `llamapro chat` driven through a pseudo-terminal as a person would use it:
// streamed replies, /reset, /exit, the oldest turns dropped when the window fills; and every
// prompt it built equal, id for id, to the model's own chat template rendered by Hugging Face's
// jinja and encoded by Hugging Face tokenizers (the npm packages, run here as the reference).
// Also the one-shot mode (--messages) and its errors.
#include <gtest/gtest.h>

#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include "common/fixtures.h"
#include "common/node.h"
#include "util/json.h"

namespace llamapro {
namespace {

using namespace testing;
namespace fs = std::filesystem;

// A process on the slave side of a pseudo-terminal, so that it sees a real terminal.
class Terminal {
 public:
  explicit Terminal(const std::vector<std::string>& args) {
    pid_ = forkpty(&fd_, nullptr, nullptr, nullptr);
    if (pid_ == 0) {
      std::vector<char*> argv;
      argv.push_back(const_cast<char*>(LLAMAPRO_BIN));
      for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      execv(LLAMAPRO_BIN, argv.data());
      _exit(127);
    }
  }
  ~Terminal() {
    if (pid_ > 0 && !reaped_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (fd_ >= 0) close(fd_);
  }
  void type(const std::string& line) {
    const std::string text = line + "\n";
    ASSERT_EQ(write(fd_, text.data(), text.size()), ssize_t(text.size()));
  }
  // Reads until the screen shows `count` prompts ("> ") in all, or the timeout.
  bool wait_for_prompts(size_t count, double seconds = 60) {
    const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    while (prompts() < count) {
      if (std::chrono::steady_clock::now() > end) return false;
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 200) <= 0) continue;
      char buf[4096];
      const ssize_t n = read(fd_, buf, sizeof buf);
      if (n <= 0) return false;
      screen_.append(buf, size_t(n));
    }
    return true;
  }
  int wait_exit(double seconds = 60) {
    // Drain the terminal so the program never blocks on a full buffer, then reap it.
    const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    while (std::chrono::steady_clock::now() < end) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        reaped_ = true;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      char buf[4096];
      pollfd p{fd_, POLLIN, 0};
      ssize_t n = poll(&p, 1, 100) > 0 ? read(fd_, buf, sizeof buf) : 0;
      if (n > 0) screen_.append(buf, size_t(n));
      else usleep(20000);  // the terminal is closed or quiet: the program is finishing
    }
    return -1;
  }
  const std::string& screen() const { return screen_; }

 private:
  size_t prompts() const {
    size_t n = 0;
    for (size_t at = screen_.find("> "); at != std::string::npos; at = screen_.find("> ", at + 2)) n++;
    return n;
  }
  int fd_ = -1;
  pid_t pid_ = -1;
  bool reaped_ = false;
  std::string screen_;
};

// A random model with the Llama 3 tokenizer and chat template, and a window of 64 positions.
std::string llama3_chat_model(const TempDir& tmp) {
  std::ofstream(tmp.str("config.json")) << R"({"architectures": ["LlamaForCausalLM"], "model_type": "llama",
    "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4,
    "num_key_value_heads": 2, "vocab_size": 128256, "max_position_embeddings": 64, "rms_norm_eps": 1e-5,
    "rope_theta": 500000.0, "tie_word_embeddings": true, "bos_token_id": 128000, "eos_token_id": [128001, 128009]})";
  CliResult r = run_cli("init --config " + tmp.str("config.json") + " -o " + tmp.str("model") + " --no-progress");
  EXPECT_EQ(r.status, 0) << r.err;
  for (const char* f : {"tokenizer.json", "tokenizer_config.json"})
    fs::copy_file(fixture("tokenizers/llama3/") + f, tmp.str("model/") + f, fs::copy_options::overwrite_existing);
  return tmp.str("model");
}

std::vector<json> read_lines(const std::string& path) {
  std::vector<json> out;
  std::ifstream f(path);
  for (std::string line; std::getline(f, line);) out.push_back(json::parse(line));
  return out;
}

TEST(Chat, InteractiveTurnsEqualTheTemplatesReferenceRendering) {
  LP_REQUIRE_FIXTURES();
  if (std::string why = npm_packages_missing(LP_CHAT_NODE_DIR, "node_modules/@huggingface/jinja/package.json");
      !why.empty()) {
    if (std::getenv("LLAMAPRO_REQUIRE_FIXTURES")) FAIL() << why;
    GTEST_SKIP() << why;
  }
  TempDir tmp;
  const std::string model = llama3_chat_model(tmp);
  const std::string system = "Be brief.";
  const std::vector<std::string> said = {"Hello there", "What is a cat?", "Tell me more about cats please",
                                         "And dogs?", "Bye now"};
  {
    Terminal term({"chat", model, "--system", system, "--max-new-tokens", "8", "--temperature", "1", "--seed", "5", "--transcript", tmp.str("t.jsonl")});
    ASSERT_TRUE(term.wait_for_prompts(1)) << term.screen();
    EXPECT_NE(term.screen().find("llama3 template, 64-token window"), std::string::npos) << term.screen();
    for (size_t i = 0; i < 4; i++) {
      term.type(said[i]);
      ASSERT_TRUE(term.wait_for_prompts(i + 2)) << term.screen();
    }
    term.type("/reset");
    ASSERT_TRUE(term.wait_for_prompts(6)) << term.screen();
    EXPECT_NE(term.screen().find("history cleared"), std::string::npos);
    term.type(said[4]);
    ASSERT_TRUE(term.wait_for_prompts(7)) << term.screen();
    term.type("/exit");
    EXPECT_EQ(term.wait_exit(), 0) << term.screen();
    EXPECT_NE(term.screen().find("dropped to fit the 64-token window"), std::string::npos) << term.screen();
  }

  // The conversation each prompt should hold: the system prompt, the exchanges not yet dropped
  // (none after /reset), and the new message.
  const std::vector<json> turns = read_lines(tmp.str("t.jsonl"));
  ASSERT_EQ(turns.size(), said.size());
  json conversations = json::array();
  std::vector<std::pair<std::string, std::string>> kept;
  int64_t dropped = 0;
  for (size_t i = 0; i < turns.size(); i++) {
    EXPECT_EQ(turns[i]["user"], said[i]);
    if (i == 4) kept.clear();  // /reset came before the fifth message
    for (int64_t k = 0; k < turns[i]["dropped_turns"].get<int64_t>(); k++) kept.erase(kept.begin());
    dropped += turns[i]["dropped_turns"].get<int64_t>();
    json messages = json::array({{{"role", "system"}, {"content", system}}});
    for (const auto& [user, reply] : kept) {
      messages.push_back({{"role", "user"}, {"content", user}});
      messages.push_back({{"role", "assistant"}, {"content", reply}});
    }
    messages.push_back({{"role", "user"}, {"content", said[i]}});
    conversations.push_back(messages);
    kept.push_back({said[i], turns[i]["reply"].get<std::string>()});
  }
  EXPECT_GT(dropped, 0) << "the window should have filled";
  std::ofstream(tmp.str("conversations.json")) << conversations.dump();
  CliResult ref = run_shell("node " + std::string(LP_CHAT_NODE_DIR) + "/render.mjs " + fixture("tokenizers/llama3") +
                            " " + tmp.str("conversations.json"));
  ASSERT_EQ(ref.status, 0) << ref.err;
  const json expected = json::parse(ref.out);
  ASSERT_EQ(expected.size(), turns.size());
  for (size_t i = 0; i < turns.size(); i++) EXPECT_EQ(turns[i]["prompt_ids"], expected[i]) << "turn " << i;
}

TEST(Chat, OneShotPrintsOneReplyAndRefusesBadConversations) {
  LP_REQUIRE_FIXTURES();
  TempDir tmp;
  const std::string model = fixture("models/stories260K");
  std::ofstream(tmp.str("m.json")) << R"({"messages": [{"role": "user", "content": "Tell me a story."}]})";
  CliResult r = run_cli("chat " + model + " --template llama2 --messages " + tmp.str("m.json") + " --max-new-tokens 12");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_FALSE(r.out.empty());
  EXPECT_EQ(r.out.back(), '\n');
  EXPECT_EQ(r.out.find('\n'), r.out.size() - 1) << "one line: " << r.out;

  std::ofstream(tmp.str("bad.json")) << R"([{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}])";
  CliResult bad = run_cli("chat " + model + " --template llama2 --messages " + tmp.str("bad.json"));
  EXPECT_TRUE(is_clean_error(bad));
  EXPECT_NE(bad.err.find("must end with a user message"), std::string::npos) << bad.err;
  // The Llama 3 template needs special tokens this tokenizer does not have.
  CliResult wrong = run_cli("chat " + model + " --template llama3 --messages " + tmp.str("m.json"));
  EXPECT_TRUE(is_clean_error(wrong));
  EXPECT_NE(wrong.err.find("<|begin_of_text|>"), std::string::npos) << wrong.err;
}

}  // namespace
}  // namespace llamapro
