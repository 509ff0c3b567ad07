// test_shard.cpp — the token shard format: round trips in both widths, with and without a loss
// mask, and clear errors for foreign, newer, truncated or inconsistent files.
#include <gtest/gtest.h>

#include <fstream>

#include "common/fixtures.h"
#include "data/shard.h"
#include "util/check.h"
#include "util/files.h"

using namespace llamapro;
using namespace llamapro::testing;

namespace {

std::string bytes_of(const std::filesystem::path& p) { return read_file(p); }

std::filesystem::path write_sample(const TempDir& tmp, int64_t vocab, bool mask) {
  ShardBuilder b(vocab, mask);
  std::vector<int32_t> d1 = {0, 1, static_cast<int32_t>(vocab - 1)}, d2 = {7, 8};
  std::vector<uint8_t> m1 = {0, 1, 1};
  b.add_document(d1.data(), d1.size(), mask ? m1.data() : nullptr);
  b.add_document(d2.data(), d2.size(), nullptr);  // no mask given: all targets
  EXPECT_EQ(b.tokens(), 5);
  EXPECT_EQ(b.documents(), 2);
  auto path = tmp.path() / "s.bin";
  b.write(path);
  EXPECT_EQ(b.tokens(), 0);  // emptied for the next shard
  return path;
}

void expect_error(const std::filesystem::path& p, const std::string& part) {
  try {
    ShardReader r(p);
    FAIL() << "no error for " << part;
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(p.string()), std::string::npos) << e.what();
  }
}

}  // namespace

TEST(Shard, RoundTripUint16WithMask) {
  TempDir tmp;
  auto p = write_sample(tmp, 512, true);
  ShardReader r(p);
  EXPECT_EQ(r.header().token_bytes, 2u);
  EXPECT_TRUE(r.header().has_mask);
  EXPECT_EQ(r.header().vocab_size, 512);
  EXPECT_EQ(r.header().tokens, 5);
  EXPECT_EQ(r.header().documents, 2);
  std::vector<int32_t> ids(5);
  std::vector<uint8_t> mask(5);
  r.copy_tokens(0, 5, ids.data());
  r.copy_mask(0, 5, mask.data());
  EXPECT_EQ(ids, (std::vector<int32_t>{0, 1, 511, 7, 8}));
  EXPECT_EQ(mask, (std::vector<uint8_t>{0, 1, 1, 1, 1}));
  EXPECT_EQ(r.document_offset(0), 0);
  EXPECT_EQ(r.document_offset(1), 3);
  EXPECT_EQ(r.document_offset(2), 5);
  // 64 header + 3 offsets * 8 + 5 tokens * 2 + 5 mask bytes
  EXPECT_EQ(std::filesystem::file_size(p), 64u + 24 + 10 + 5);
}

TEST(Shard, RoundTripUint32WithoutMask) {
  TempDir tmp;
  auto p = write_sample(tmp, 128256, false);
  ShardReader r(p);
  EXPECT_EQ(r.header().token_bytes, 4u);
  EXPECT_FALSE(r.header().has_mask);
  std::vector<int32_t> ids(5);
  std::vector<uint8_t> mask(5, 9);
  r.copy_tokens(0, 5, ids.data());
  r.copy_mask(0, 5, mask.data());
  EXPECT_EQ(ids, (std::vector<int32_t>{0, 1, 128255, 7, 8}));
  EXPECT_EQ(mask, (std::vector<uint8_t>(5, 1)));  // pretrain data: every token is a target
  EXPECT_EQ(r.token(2), 128255);
  EXPECT_EQ(std::filesystem::file_size(p), 64u + 24 + 20);
}

TEST(Shard, WidthFollowsVocab) {
  EXPECT_EQ(token_width_for_vocab(65536), 2u);
  EXPECT_EQ(token_width_for_vocab(65537), 4u);
}

TEST(Shard, HeaderBytesAreLittleEndianAndDocumented) {
  TempDir tmp;
  std::string b = bytes_of(write_sample(tmp, 512, true));
  EXPECT_EQ(b.substr(0, 8), "LPTOKENS");
  EXPECT_EQ(static_cast<uint8_t>(b[8]), 1);    // version
  EXPECT_EQ(static_cast<uint8_t>(b[12]), 2);   // bytes per token
  EXPECT_EQ(static_cast<uint8_t>(b[16]), 1);   // flags: mask
  EXPECT_EQ(static_cast<uint8_t>(b[24]), 0);   // vocab 512 = 0x200
  EXPECT_EQ(static_cast<uint8_t>(b[25]), 2);
  EXPECT_EQ(static_cast<uint8_t>(b[32]), 5);   // tokens
  EXPECT_EQ(static_cast<uint8_t>(b[40]), 2);   // documents
  EXPECT_EQ(static_cast<uint8_t>(b[64 + 8]), 3);  // offset of document 1
}

TEST(Shard, RejectsBadMagic) {
  TempDir tmp;
  auto p = write_sample(tmp, 512, false);
  std::string b = bytes_of(p);
  b[0] = 'X';
  write_file_atomic(p, b);
  expect_error(p, "bad magic");
}

TEST(Shard, RejectsOtherVersion) {
  TempDir tmp;
  auto p = write_sample(tmp, 512, false);
  std::string b = bytes_of(p);
  b[8] = 2;
  write_file_atomic(p, b);
  expect_error(p, "version 2 is not supported");
}

TEST(Shard, RejectsTruncatedFile) {
  TempDir tmp;
  auto p = write_sample(tmp, 512, true);
  std::string b = bytes_of(p);
  write_file_atomic(p, b.substr(0, b.size() - 1));
  expect_error(p, "truncated token shard");
  write_file_atomic(p, b.substr(0, 20));
  expect_error(p, "truncated token shard");
  write_file_atomic(p, b + "x");
  expect_error(p, "oversized");
}

TEST(Shard, RejectsInconsistentOffsetsAndWidth) {
  TempDir tmp;
  auto p = write_sample(tmp, 512, false);
  std::string b = bytes_of(p);
  std::string bad = b;
  bad[64 + 8] = 9;  // document 1 ends after the last token
  write_file_atomic(p, bad);
  expect_error(p, "out of order or range");
  bad = b;
  bad[12] = 4;  // uint32 for a 512 vocab
  write_file_atomic(p, bad);
  expect_error(p, "does not match vocab size");
}
