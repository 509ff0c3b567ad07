// test_tokenizer_reference.cpp — ids identical to the running reference (npm "tokenizers",
// HF's Rust library) on several megabytes of this machine's text, every Unicode code point,
// and ill-formed UTF-8; skipped with a message when node or the package is missing.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "common/fixtures.h"
#include "common/node.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/utf8.h"
#include "tokenizer/json_fields.h"
#include "util/json.h"

using namespace llamapro;
using namespace llamapro::testing;
namespace fs = std::filesystem;

namespace {

constexpr size_t kCorpusBytes = 3000000;  // the machine's files; golden strings and code points come on top

void add_file(std::string& out, const fs::path& p, size_t limit) {
  std::ifstream in(p, std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (text.find('\0') != std::string::npos) return;  // binary
  out.append(text.substr(0, limit));
}

// Sorted regular files under dir whose names end with one of exts (non-recursive unless deep).
std::vector<fs::path> files_in(const fs::path& dir, std::initializer_list<const char*> exts, bool deep) {
  std::vector<fs::path> out;
  std::error_code ec;
  auto take = [&](const fs::directory_entry& e) {
    if (!e.is_regular_file(ec)) return;
    std::string name = e.path().filename().string();
    for (const char* ext : exts)
      if (name.size() >= strlen(ext) && name.compare(name.size() - strlen(ext), strlen(ext), ext) == 0)
        out.push_back(e.path());
  };
  if (!fs::is_directory(dir, ec)) return out;
  if (deep) {
    for (const auto& e : fs::recursive_directory_iterator(dir, fs::directory_options::skip_permission_denied, ec))
      take(e);
  } else {
    for (const auto& e : fs::directory_iterator(dir, ec)) take(e);
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Texts to compare: golden strings, a sweep over code points in contexts that exercise the
// regex classes (letters, numbers, spaces, contractions), ill-formed UTF-8, then this
// machine's text (multilingual vim help, C headers, Python sources), cut into chunks of
// varying length at arbitrary bytes (so chunk edges also split characters).
struct Corpus {
  std::vector<std::string> chunks;
  size_t sweep_begin = 0, sweep_end = 0;  // the code point sweep and ill-formed UTF-8
};

Corpus corpus() {
  Corpus corpus;
  std::vector<std::string>& chunks = corpus.chunks;
  if (!fixtures_dir().empty()) {
    for (const char* name : {"llama3", "qwen3", "mistral", "stories260K"}) {
      std::string golden = fixture(std::string("tokenizers/") + name + "/golden.json");
      if (!fs::exists(golden)) continue;
      for (const auto& c : read_json_file(golden).at("cases")) chunks.push_back(c.at("text").get<std::string>());
    }
  }
  corpus.sweep_begin = chunks.size();
  std::string sweep;
  for (uint32_t cp = 0; cp <= 0x10FFFF; ++cp) {
    if (cp >= 0xD800 && cp <= 0xDFFF) continue;
    if (cp >= 0x10000 && cp % (cp >= 0x20000 ? 37 : 3) != 0) continue;  // the higher planes sampled
    std::string c;
    utf8::append(c, cp);
    sweep += c + "a" + c + c + " '" + c + "1" + c + " " + c + "\n";
    if (sweep.size() > 3000) chunks.push_back(std::move(sweep)), sweep.clear();
  }
  chunks.push_back(sweep);
  for (const char* bad : {"\x80", "a\xC3", "\xC3(x", "\xE2\x82", "\xE2\x82x\xE2", "\xED\xA0\x80", "\xF0\x9F\x98",
                          "\xF4\x90\x80\x80", "\xF5\xC0\xC1\xFF", "ok\xE0\x80\xAF ok", "<s>\xFF</s>", "\xF0\x90\x80 a"})
    chunks.push_back(bad);
  corpus.sweep_end = chunks.size();

  std::string files;
  auto fill = [&](const std::vector<fs::path>& list, size_t share) {
    size_t goal = files.size() + share;
    for (const auto& p : list) {
      if (files.size() >= goal) break;
      add_file(files, p, 200000);
    }
  };
  fill(files_in("/usr/share/vim/vim90/doc", {".txt"}, false), kCorpusBytes / 4);
  fill(files_in("/usr/share/doc/nodejs/api", {".md"}, false), kCorpusBytes / 8);
  fill(files_in("/usr/include", {".h"}, false), kCorpusBytes / 4);
  fill(files_in("/usr/lib/python3.11", {".py"}, false), kCorpusBytes / 4);
  fill(files_in("/usr/share/doc", {".md", ".txt", "README"}, true), kCorpusBytes - files.size());
  uint64_t state = 0x9E3779B97F4A7C15ULL;
  for (size_t pos = 0; pos < files.size();) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    size_t len = 1 + (state >> 33) % 12000;
    chunks.push_back(files.substr(pos, len));
    pos += len;
  }
  return corpus;
}

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// "" when the reference can run, else why not.
std::string reference_missing() { return npm_packages_missing(LP_TOKENIZER_NODE_DIR, "node_modules/tokenizers/package.json"); }

std::vector<std::vector<int32_t>> read_ids(const std::string& path, size_t count) {
  std::string bytes = read_text(path);
  std::vector<std::vector<int32_t>> out;
  size_t off = 0;
  while (out.size() < count && off + 4 <= bytes.size()) {
    uint32_t n;
    memcpy(&n, bytes.data() + off, 4);
    off += 4;
    std::vector<int32_t> ids(n);
    if (off + 4ull * n > bytes.size()) break;
    memcpy(ids.data(), bytes.data() + off, 4ull * n);
    off += 4ull * n;
    out.push_back(std::move(ids));
  }
  return out;
}

// Fixture tokenizers with other components swapped in, so that every supported component type
// and added-token flag meets the reference too (the fixtures alone use only some of them).
std::vector<std::pair<std::string, tjson>> variants() {
  auto base = [](const std::string& name) {
    return parse_tokenizer_json(read_text(fixture("tokenizers/" + name + "/tokenizer.json")), name);
  };
  auto added = [](int id, const char* content, bool lstrip, bool rstrip, bool single_word, bool normalized) {
    return tjson{{"id", id}, {"content", content}, {"lstrip", lstrip}, {"rstrip", rstrip}, {"single_word", single_word},
                 {"normalized", normalized}, {"special", false}};
  };
  std::vector<std::pair<std::string, tjson>> out;

  tjson a = base("mistral");
  a["normalizer"] = nullptr;
  a["pre_tokenizer"] = {{"type", "Metaspace"}, {"replacement", "\u2581"}, {"prepend_scheme", "first"}, {"split", true}};
  a["decoder"] = {{"type", "Metaspace"}, {"replacement", "\u2581"}, {"prepend_scheme", "first"}, {"split", true}};
  a["added_tokens"].push_back(added(32000, "<tag>", true, true, false, false));
  a["added_tokens"].push_back(added(32001, "the", false, false, true, false));
  out.push_back({"mistral-metaspace-first", a});

  tjson b = base("mistral");
  b["normalizer"] = {{"type", "Sequence"},
                     {"normalizers", {{{"type", "NFKD"}}, {{"type", "StripAccents"}}, {{"type", "Lowercase"}}}}};
  b["pre_tokenizer"] = {{"type", "Metaspace"}, {"replacement", "\u2581"}, {"prepend_scheme", "always"}, {"split", false}};
  b["added_tokens"].push_back(added(32000, "Hello", false, false, false, true));
  out.push_back({"mistral-metaspace-always", b});

  tjson c = base("llama3");
  c["normalizer"] = {{"type", "Sequence"},
                     {"normalizers", {{{"type", "NFKC"}}, {{"type", "Strip"}, {"strip_left", true}, {"strip_right", false}}}}};
  c["pre_tokenizer"] = {{"type", "Sequence"},
                        {"pretokenizers",
                         {{{"type", "Digits"}, {"individual_digits", true}},
                          {{"type", "Split"}, {"pattern", {{"String", " "}}}, {"behavior", "MergedWithNext"}, {"invert", false}},
                          {{"type", "Split"}, {"pattern", {{"Regex", "\\p{P}+"}}}, {"behavior", "Contiguous"}, {"invert", false}},
                          {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", false}, {"use_regex", true}}}}};
  c["added_tokens"].push_back(added(128256, "include", false, false, true, true));
  c["added_tokens"].push_back(added(128257, "return", true, false, false, false));
  out.push_back({"llama3-digits-split", c});

  tjson d = base("qwen3");
  d["normalizer"] = {{"type", "Sequence"},
                     {"normalizers", {{{"type", "Replace"}, {"pattern", {{"Regex", "\\d+"}}}, {"content", "#"}},
                                      {{"type", "Prepend"}, {"prepend", "_"}}, {{"type", "NFD"}}}}};
  d["pre_tokenizer"] = {{"type", "Sequence"},
                        {"pretokenizers",
                         {{{"type", "WhitespaceSplit"}},
                          {{"type", "Split"}, {"pattern", {{"Regex", "[aeiou]"}}}, {"behavior", "MergedWithPrevious"}, {"invert", false}},
                          {{"type", "Split"}, {"pattern", {{"String", "t"}}}, {"behavior", "Removed"}, {"invert", true}},
                          {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", false}, {"use_regex", false}}}}};
  out.push_back({"qwen3-whitespace-split", d});
  return out;
}

TEST(TokenizerReference, SameIdsAsHuggingFaceOnMegabytesOfText) {
  LP_REQUIRE_FIXTURES();
  std::string why = reference_missing();
  if (!why.empty()) GTEST_SKIP() << "reference unavailable: " << why;

  auto start = std::chrono::steady_clock::now();
  auto seconds = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(); };
  Corpus all_chunks = corpus();
  const std::vector<std::string>& chunks = all_chunks.chunks;
  size_t total = 0;
  for (const auto& c : chunks) total += c.size();
  ASSERT_GE(total, 5u << 20) << "this machine has too little text for the corpus";

  TempDir tmp;
  {
    std::ofstream out(tmp.str("chunks"), std::ios::binary);
    for (const auto& c : chunks) {
      uint32_t n = static_cast<uint32_t>(c.size());
      out.write(reinterpret_cast<const char*>(&n), 4).write(c.data(), n);
    }
  }
  // The variants run on the golden strings and 400 chunks of files, not on the code point
  // sweep: the reference normalizes (NFKC, StripAccents, ...) with tables of an older Unicode
  // than utf8proc's, so recently assigned characters may differ there (see docs/tokenizer.md).
  std::vector<std::string> small;
  for (size_t i = 0; i < chunks.size() && small.size() < all_chunks.sweep_begin + 400; ++i)
    if (i < all_chunks.sweep_begin || i >= all_chunks.sweep_end) small.push_back(chunks[i]);
  const size_t variant_chunks = small.size();
  {
    std::ofstream out(tmp.str("chunks-small"), std::ios::binary);
    for (const auto& c : small) {
      uint32_t n = static_cast<uint32_t>(c.size());
      out.write(reinterpret_cast<const char*>(&n), 4).write(c.data(), n);
    }
  }
  std::vector<std::string> names = {"llama3", "qwen3", "mistral", "stories260K"};
  std::string node = "RAYON_NUM_THREADS=2 node " + shell_quote(std::string(LP_TOKENIZER_NODE_DIR) + "/reference.js");
  std::string cmd = node + " ids " + shell_quote(tmp.str("chunks"));
  for (const auto& name : names)
    cmd += " " + shell_quote(fixture("tokenizers/" + name + "/tokenizer.json")) + " " + shell_quote(tmp.str(name));
  std::string cmd_small = node + " ids " + shell_quote(tmp.str("chunks-small"));
  for (const auto& [name, j] : variants()) {
    names.push_back(name);
    std::ofstream(tmp.str(name + ".json")) << j.dump();
    cmd_small += " " + shell_quote(tmp.str(name + ".json")) + " " + shell_quote(tmp.str(name));
  }
  double built = seconds();
  ASSERT_EQ(std::system(cmd.c_str()), 0) << "the reference failed: " << cmd;
  ASSERT_EQ(std::system(cmd_small.c_str()), 0) << "the reference failed: " << cmd_small;
  double referenced = seconds();

  for (const auto& name : names) {
    bool variant = fs::exists(tmp.str(name + ".json"));
    Tokenizer tok = variant ? Tokenizer::from_file(tmp.str(name + ".json")) : Tokenizer::from_dir(fixture("tokenizers/" + name));
    size_t count = variant ? variant_chunks : chunks.size();
    const std::vector<std::string>& texts = variant ? small : chunks;
    auto want = read_ids(tmp.str(name), count);
    ASSERT_EQ(want.size(), count) << name << ": short reference output";
    // Two threads, as callers encode in parallel; each checks every other chunk.
    std::vector<size_t> bad[2];
    auto work = [&](int t) {
      for (size_t i = t; i < count; i += 2)
        if (tok.encode(texts[i], false) != want[i]) bad[t].push_back(i);
    };
    std::thread other(work, 1);
    work(0);
    other.join();
    std::vector<size_t> all = bad[0];
    all.insert(all.end(), bad[1].begin(), bad[1].end());
    std::sort(all.begin(), all.end());
    EXPECT_TRUE(all.empty()) << name << ": " << all.size() << " of " << count << " chunks differ";
    for (size_t k = 0; k < std::min<size_t>(all.size(), 3); ++k) {
      size_t i = all[k];
      auto got = tok.encode(texts[i], false);
      size_t d = 0;
      while (d < got.size() && d < want[i].size() && got[d] == want[i][d]) ++d;
      std::string ctx;
      for (size_t j = d >= 3 ? d - 3 : 0; j < std::min(want[i].size(), d + 4); ++j) ctx += tok.id_to_token(want[i][j]) + "|";
      std::string mine;
      for (size_t j = d >= 3 ? d - 3 : 0; j < std::min(got.size(), d + 4); ++j) mine += tok.id_to_token(got[j]) + "|";
      ADD_FAILURE() << name << " chunk " << i << " first differs at id " << d << ": reference " << json(ctx).dump()
                    << " ours " << json(mine).dump();
    }
  }
  std::printf("[ reference ] %.1f MB + %zu variant chunks: corpus %.1fs, reference %.1fs, llamapro %.1fs\n", total / 1e6,
              variant_chunks, built, referenced - built, seconds() - referenced);
}

}  // namespace
