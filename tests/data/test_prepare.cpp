// test_prepare.cpp — `data prepare` end to end: text, lines, JSON Lines, .gz and directories
// to batches checked against the tokenizer directly; identical bytes whatever the thread
// count; shard size limits; chat data with its mask through the loader.
#include <gtest/gtest.h>
#include <zlib.h>

#include "data/data_json.h"
#include "data/loader.h"
#include "data_helpers.h"
#include "tokenizer/tokenizer.h"
#include "util/check.h"
#include "util/files.h"

using namespace llamapro;
using namespace llamapro::testing;

namespace fs = std::filesystem;

namespace {

void write_gz(const fs::path& path, const std::string& text) {
  gzFile f = gzopen(path.c_str(), "wb");
  ASSERT_TRUE(f);
  ASSERT_EQ(gzwrite(f, text.data(), static_cast<unsigned>(text.size())), static_cast<int>(text.size()));
  gzclose(f);
}

// The whole train split in order, as one batch of one sequence.
std::vector<int32_t> all_train_tokens(const fs::path& dir) {
  DataInfo info = read_data_info(dir);
  LoaderOptions o;
  o.seq_len = info.train_tokens;
  o.shuffle = false;
  return BatchLoader(dir, o).next().ids;
}

PrepareOptions options(const std::string& model, std::vector<std::string> inputs, const fs::path& out) {
  PrepareOptions o;
  o.tokenizer_dir = model;
  o.inputs = std::move(inputs);
  o.output = out;
  o.progress = false;
  return o;
}

std::string corpus_line(int i) {
  static const char* words[] = {"Once", "upon", "a", "time", "there", "was", "a", "little", "girl", "named",
                                "Lily.", "She", "liked", "to", "play", "outside", "with", "her", "dog", "Max!"};
  std::string s;
  for (int k = 0; k < 8 + i % 13; ++k) s += std::string(k ? " " : "") + words[(i * 7 + k * 3) % 20];
  return s;
}

}  // namespace

TEST(Prepare, TextJsonlGzAndDirectoriesInOrderWithBosAndEos) {
  LP_REQUIRE_FIXTURES();
  TempDir tmp;
  std::string model = fixture("models/stories260K");
  Tokenizer tok = Tokenizer::from_dir(model);
  fs::create_directories(tmp.path() / "dir/sub");
  write_text(tmp.path() / "a.txt", "Once upon a time.\nThe end.\n");
  write_text(tmp.path() / "b.jsonl", "{\"text\": \"Lily had a ball.\", \"id\": 1}\n\n{\"text\": \"\"}\n{\"text\": \"Max ran.\"}\n");
  write_gz(tmp.path() / "c.jsonl.gz", "{\"text\": \"The sun was hot.\"}\n");
  write_gz(tmp.path() / "dir/sub/z.txt.gz", "Zed.");
  write_text(tmp.path() / "dir/m.txt", "Mid.");
  write_text(tmp.path() / "dir/.hidden", "never");
  auto o = options(model, {tmp.str("a.txt"), tmp.str("b.jsonl"), tmp.str("c.jsonl.gz"), tmp.str("dir")}, tmp.path() / "out");
  json data = prepare_data(o);

  std::vector<int32_t> want;
  for (const char* doc : {"Once upon a time.\nThe end.\n", "Lily had a ball.", "Max ran.", "The sun was hot.", "Mid.", "Zed."}) {
    want.push_back(tok.bos_id());  // stories260K: add_bos_token
    for (int32_t id : tok.encode(doc, false)) want.push_back(id);
    want.push_back(tok.eos_id());
  }
  EXPECT_EQ(all_train_tokens(o.output), want);
  EXPECT_EQ(data["documents"], 6);
  EXPECT_EQ(data["skipped_documents"], 1);  // the empty text; blank lines are no documents
  EXPECT_EQ(data["dtype"], "uint16");
  EXPECT_EQ(data["vocab_size"], 512);
  EXPECT_EQ(data["sources"].size(), 5u);  // the directory gives two files, .hidden skipped
  EXPECT_EQ(data["sources"][1]["documents"], 2);
  DataInfo info = read_data_info(o.output);
  EXPECT_EQ(info.format, "pretrain");
  EXPECT_EQ(info.tokenizer_fingerprint, tok.fingerprint());
  EXPECT_EQ(info.train_tokens, static_cast<int64_t>(want.size()));
  EXPECT_NO_THROW(check_data_matches(info, model));
}

TEST(Prepare, SplitLinesAndLlama3TokenizerWithoutConfig) {
  LP_REQUIRE_FIXTURES();
  TempDir tmp;
  std::string model = fixture("tokenizers/llama3");  // tokenizer.json, no config.json
  Tokenizer tok = Tokenizer::from_dir(model);
  write_text(tmp.path() / "l.txt", "first line\r\n\nsecond line\nthird");
  auto o = options(model, {tmp.str("l.txt")}, tmp.path() / "out");
  o.split_lines = true;
  json data = prepare_data(o);
  std::vector<int32_t> want;
  for (const char* doc : {"first line", "second line", "third"}) {
    for (int32_t id : tok.encode(doc, false)) want.push_back(id);  // no BOS: neither post-processor nor config adds one
    want.push_back(tok.eos_id());
  }
  EXPECT_EQ(all_train_tokens(o.output), want);
  EXPECT_EQ(data["dtype"], "uint32");
  EXPECT_EQ(data["vocab_size"], 128256);
  EXPECT_EQ(data["tokenizer"]["add_bos"], false);
}

TEST(Prepare, PreTokenizedIdsAreVerbatim) {
  TempDir tmp;
  auto dir = prepare_ids(tmp, "d", {{3, 1, 4}, {1, 5}}, 70000);
  EXPECT_EQ(all_train_tokens(dir), (std::vector<int32_t>{3, 1, 4, 1, 5}));
  DataInfo info = read_data_info(dir);
  EXPECT_EQ(info.vocab_size, 70000);
  EXPECT_EQ(info.tokenizer_fingerprint, "");
  EXPECT_EQ(read_data_json(dir)["dtype"], "uint32");
}

TEST(Prepare, ShardsAreBoundedAndDocumentsWhole) {
  TempDir tmp;
  auto dir = prepare_ids(tmp, "d", counting_docs(10, 3), 1000, 0.0, 7);
  json data = read_data_json(dir);
  auto shards = split_shards(data, dir, "train");
  EXPECT_EQ(shards.size(), 5u);  // two documents (6 tokens) per shard of at most 7
  for (const auto& s : shards) EXPECT_EQ(s.tokens, 6);
  EXPECT_EQ(all_train_tokens(dir).size(), 30u);
}

TEST(Prepare, ValidationSplitIsSeededAndByDocument) {
  TempDir tmp;
  auto docs = counting_docs(300, 2);
  auto a = prepare_ids(tmp, "a", docs, 1000, 0.1);
  auto b = prepare_ids(tmp, "b", docs, 1000, 0.1);
  DataInfo ia = read_data_info(a);
  EXPECT_GT(ia.val_documents, 10);
  EXPECT_LT(ia.val_documents, 60);
  EXPECT_EQ(ia.train_documents + ia.val_documents, 300);
  EXPECT_EQ(read_file(a / "validation-00000.bin"), read_file(b / "validation-00000.bin"));
  PrepareOptions o;
  o.tokenizer_dir = tmp.path() / "model-1000";
  o.inputs = {tmp.str("a.jsonl")};
  o.output = tmp.path() / "c";
  o.val_fraction = 0.1;
  o.seed = 5;
  o.progress = false;
  prepare_data(o);
  EXPECT_NE(read_file(a / "validation-00000.bin"), read_file(o.output / "validation-00000.bin"));
  // Every document lands in exactly one split.
  std::vector<int32_t> train = all_train_tokens(a);
  EXPECT_EQ(static_cast<int64_t>(train.size()), 2 * ia.train_documents);
}

TEST(Prepare, IdenticalBytesForOneAndTwoThreadsAndReruns) {
  LP_REQUIRE_FIXTURES();
  TempDir tmp;
  std::string text;
  for (int i = 0; text.size() < (3u << 20) / 2; ++i) text += corpus_line(i) + "\n";  // 1.5 MB: several batches
  write_text(tmp.path() / "big.txt", text);
  write_text(tmp.path() / "docs.jsonl", "{\"text\": \"" + corpus_line(1) + "\"}\n{\"text\": \"" + corpus_line(2) + "\"}\n");
  auto run = [&](const std::string& name, int threads) {
    auto o = options(fixture("models/stories260K"), {tmp.str("big.txt"), tmp.str("docs.jsonl")}, tmp.path() / name);
    o.split_lines = true;
    o.threads = threads;
    o.shard_tokens = 100000;
    o.val_fraction = 0.05;
    prepare_data(o);
    return o.output;
  };
  fs::path one = run("t1", 1), two = run("t2", 2), again = run("t2b", 2);
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(one)) names.push_back(e.path().filename().string());
  EXPECT_GT(names.size(), 4u);  // several train shards, validation, data.json
  for (const auto& n : names) {
    EXPECT_EQ(read_file(one / n), read_file(two / n)) << n;
    EXPECT_EQ(read_file(two / n), read_file(again / n)) << n;
  }
  size_t count = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(two)) ++count;
  EXPECT_EQ(count, names.size());
}

TEST(Prepare, ChatDataCarriesItsMaskToTheLoader) {
  LP_REQUIRE_FIXTURES();
  TempDir tmp;
  std::string model = fixture("tokenizers/llama3");
  Tokenizer tok = Tokenizer::from_dir(model);
  write_text(tmp.path() / "c.jsonl",
             "{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}, {\"role\": \"assistant\", \"content\": \"Yo\"}]}\n"
             "{\"ids\": [1, 2, 3], \"loss_mask\": [0, 1, 1]}\n");
  auto o = options(model, {tmp.str("c.jsonl")}, tmp.path() / "out");
  o.format = "chat";  // template auto: the tokenizer's own is Llama 3
  json data = prepare_data(o);
  EXPECT_EQ(data["template"], "llama3");
  EXPECT_EQ(data["format"], "chat");
  std::vector<int32_t> prompt = tok.encode("<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
                                           "<|start_header_id|>assistant<|end_header_id|>\n\n", false);
  std::vector<int32_t> reply = tok.encode("Yo<|eot_id|>", false);
  std::vector<int32_t> want = prompt;
  want.insert(want.end(), reply.begin(), reply.end());
  want.insert(want.end(), {1, 2, 3});
  std::vector<uint8_t> want_mask(prompt.size(), 0);
  want_mask.insert(want_mask.end(), reply.size(), 1);
  want_mask.insert(want_mask.end(), {0, 1, 1});
  LoaderOptions lo;
  lo.seq_len = static_cast<int64_t>(want.size());
  lo.shuffle = false;
  Batch b = BatchLoader(o.output, lo).next();
  EXPECT_EQ(b.ids, want);
  EXPECT_EQ(b.loss_mask, want_mask);
  EXPECT_EQ(read_data_info(o.output).format, "chat");
}

TEST(Prepare, DataFromAnotherTokenizerIsRefused) {
  LP_REQUIRE_FIXTURES();
  TempDir tmp;
  write_text(tmp.path() / "a.txt", "Hello.");
  auto o = options(fixture("tokenizers/llama3"), {tmp.str("a.txt")}, tmp.path() / "out");
  prepare_data(o);
  DataInfo info = read_data_info(o.output);
  try {
    check_data_matches(info, fixture("models/stories260K"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("another tokenizer"), std::string::npos) << e.what();
  }
  // Pre-tokenized data has no fingerprint, but its vocab must still fit the model.
  auto ids = prepare_ids(tmp, "ids", {{1, 2}}, 1000);
  try {
    check_data_matches(read_data_info(ids), fixture("models/stories260K"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("vocab_size 512"), std::string::npos) << e.what();
  }
  EXPECT_NO_THROW(check_data_matches(read_data_info(prepare_ids(tmp, "small", {{1, 2}}, 512)), fixture("models/stories260K")));
  EXPECT_EQ(file_fingerprint(fixture("models/stories260K/tokenizer.json")),
            Tokenizer::from_dir(fixture("models/stories260K")).fingerprint());
}
