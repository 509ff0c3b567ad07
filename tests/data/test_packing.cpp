// test_packing.cpp — doc and none packing: whole documents per row, positions restarting at
// every document, no document a target of another's last token, padding never a target, every
// document exactly once per epoch, and long documents split (text) or truncated (chat).
#include <gtest/gtest.h>

#include <map>

#include "data/loader.h"
#include "data_helpers.h"

using namespace llamapro;
using namespace llamapro::testing;

namespace {

// Documents of the given lengths; token j of document d is 1000 * (d + 1) + j, so every token
// says which document it came from and where.
std::vector<std::vector<int32_t>> numbered_docs(const std::vector<int>& lengths) {
  std::vector<std::vector<int32_t>> docs;
  for (size_t d = 0; d < lengths.size(); ++d) {
    docs.emplace_back();
    for (int j = 0; j < lengths[d]; ++j) docs.back().push_back(int32_t(1000 * (d + 1) + j));
  }
  return docs;
}

struct Piece {
  int32_t doc, first, length;
};

// Reads every row of one epoch and checks the layout invariants; returns the pieces seen.
std::vector<Piece> read_epoch(BatchLoader& l, int64_t T) {
  std::vector<Piece> pieces;
  const int64_t rows = l.sequences_per_epoch();
  for (int64_t r = 0; r < rows; ++r) {
    Batch b = l.next();
    EXPECT_EQ(b.positions.size(), size_t(T));
    EXPECT_EQ(b.segments.size(), size_t(T));
    int32_t segment = -2;
    for (int64_t t = 0; t < T; ++t) {
      const int32_t seg = b.segments[t], pos = b.positions[t], id = b.ids[t];
      if (seg == -1) {  // padding runs to the end and is never a target
        EXPECT_EQ(b.loss_mask[t], 0);
        for (int64_t u = t; u < T; ++u) EXPECT_EQ(b.segments[u], -1);
        break;
      }
      if (seg != segment) {  // a new document: position 0, not a target of the previous one
        EXPECT_EQ(seg, segment + 1 == -1 ? 0 : segment + 1) << "segments count up from 0";
        EXPECT_EQ(pos, 0);
        EXPECT_EQ(b.loss_mask[t], 0);
        pieces.push_back({id / 1000 - 1, id % 1000, 0});
        segment = seg;
      } else {
        EXPECT_EQ(pos, b.positions[t - 1] + 1);
        EXPECT_EQ(id, b.ids[t - 1] + 1) << "a document's tokens stay together and in order";
        EXPECT_EQ(b.loss_mask[t], 1);
      }
      pieces.back().length++;
    }
  }
  return pieces;
}

}  // namespace

TEST(Packing, DocPackingPlacesWholeDocumentsApartAndEachOnce) {
  TempDir tmp;
  const std::vector<int> lengths = {7, 3, 12, 5, 9, 2, 16, 4, 8, 1, 6};
  auto dir = prepare_ids(tmp, "d", numbered_docs(lengths), 20000);
  LoaderOptions o;
  o.batch_size = 1;
  o.seq_len = 16;
  o.packing = Packing::Doc;
  BatchLoader l(dir, o);
  EXPECT_EQ(l.packing(), Packing::Doc);
  // 73 tokens need at least 5 rows of 16; best fit, longest first, manages exactly 5.
  EXPECT_EQ(l.sequences_per_epoch(), 5);
  EXPECT_NEAR(l.fill(), 73.0 / 80.0, 1e-12);
  std::map<int32_t, int> seen;
  for (const Piece& p : read_epoch(l, 16)) {
    EXPECT_EQ(p.first, 0);
    EXPECT_EQ(p.length, lengths[size_t(p.doc)]) << "document " << p.doc << " is whole";
    seen[p.doc]++;
  }
  EXPECT_EQ(seen.size(), lengths.size());
  for (auto [doc, n] : seen) EXPECT_EQ(n, 1) << "document " << doc;
}

TEST(Packing, NonePackingGivesOneDocumentPerRow) {
  TempDir tmp;
  const std::vector<int> lengths = {7, 3, 12, 5};
  auto dir = prepare_ids(tmp, "d", numbered_docs(lengths), 20000);
  LoaderOptions o;
  o.seq_len = 16;
  o.packing = Packing::None;
  o.shuffle = false;
  BatchLoader l(dir, o);
  ASSERT_EQ(l.sequences_per_epoch(), 4);
  std::vector<Piece> pieces = read_epoch(l, 16);
  ASSERT_EQ(pieces.size(), 4u);
  for (size_t d = 0; d < 4; ++d) EXPECT_EQ(pieces[d].length, lengths[d]);
}

TEST(Packing, LongTextIsSplitIntoRowsAndNothingIsLost) {
  TempDir tmp;
  auto dir = prepare_ids(tmp, "d", numbered_docs({40, 3}), 20000);
  LoaderOptions o;
  o.seq_len = 16;
  o.packing = Packing::Doc;
  BatchLoader l(dir, o);
  EXPECT_EQ(l.cut_documents(), 1);
  int total = 0;
  for (const Piece& p : read_epoch(l, 16)) total += p.length;
  EXPECT_EQ(total, 43);
}

TEST(Packing, ConcatIsTheDefaultForTextAndCarriesNoLayout) {
  TempDir tmp;
  auto dir = prepare_ids(tmp, "d", counting_docs(4, 8));
  LoaderOptions o;
  o.seq_len = 8;
  BatchLoader l(dir, o);
  EXPECT_EQ(l.packing(), Packing::Concat);
  Batch b = l.next();
  EXPECT_TRUE(b.positions.empty());
  EXPECT_TRUE(b.segments.empty());
}

TEST(Packing, NamesParseAndUnknownOnesAreRefused) {
  EXPECT_EQ(parse_packing("doc"), Packing::Doc);
  EXPECT_EQ(parse_packing("none"), Packing::None);
  EXPECT_EQ(parse_packing("concat"), Packing::Concat);
  EXPECT_THROW(parse_packing("greedy"), Error);
}
