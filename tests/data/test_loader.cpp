// test_loader.cpp — BatchLoader semantics: packing, ordered and seeded-shuffled epochs, exact
// resumption, disjoint data-parallel ranks, the validation split, and data.json errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "data/loader.h"
#include "data_helpers.h"
#include "util/check.h"

using namespace llamapro;
using namespace llamapro::testing;

namespace {

std::vector<int32_t> row(const Batch& b, int64_t i) {
  return std::vector<int32_t>(b.ids.begin() + i * b.seq_len, b.ids.begin() + (i + 1) * b.seq_len);
}

// The sequence index of each row, for data made by counting_docs (token = position % vocab).
std::vector<int64_t> sequence_indices(const Batch& b) {
  std::vector<int64_t> out;
  for (int64_t i = 0; i < b.batch; ++i) out.push_back(b.ids[i * b.seq_len] / b.seq_len);
  return out;
}

}  // namespace

TEST(Loader, TwoDocumentsOfSeqLenGiveThemInOrder) {
  // The training golden test relies on exactly this.
  TempDir tmp;
  std::vector<std::vector<int32_t>> docs = {{5, 6, 7, 8}, {9, 10, 11, 12}};
  auto dir = prepare_ids(tmp, "d", docs);
  LoaderOptions o;
  o.batch_size = 2;
  o.seq_len = 4;
  o.shuffle = false;
  BatchLoader l(dir, o);
  Batch b = l.next();
  EXPECT_EQ(b.batch, 2);
  EXPECT_EQ(b.seq_len, 4);
  EXPECT_EQ(row(b, 0), docs[0]);
  EXPECT_EQ(row(b, 1), docs[1]);
  EXPECT_EQ(b.loss_mask, std::vector<uint8_t>(8, 1));
  EXPECT_EQ(l.sequences_per_epoch(), 2);
}

TEST(Loader, PacksAcrossDocumentsAndShardsDroppingThePartialSequence) {
  TempDir tmp;
  // 7 documents of 3 tokens = 21 tokens, shards of at most 5 tokens (one document each + ...).
  auto dir = prepare_ids(tmp, "d", counting_docs(7, 3), 1000, 0.0, 5);
  DataInfo info = read_data_info(dir);
  EXPECT_EQ(info.train_tokens, 21);
  EXPECT_EQ(info.train_documents, 7);
  LoaderOptions o;
  o.batch_size = 1;
  o.seq_len = 4;
  o.shuffle = false;
  BatchLoader l(dir, o);
  EXPECT_EQ(l.sequences_per_epoch(), 5);  // 21 / 4, the last token dropped
  for (int s = 0; s < 5; ++s) {
    Batch b = l.next();
    EXPECT_EQ(row(b, 0), (std::vector<int32_t>{4 * s, 4 * s + 1, 4 * s + 2, 4 * s + 3}));
  }
  EXPECT_EQ(l.epoch(), 0);
  Batch again = l.next();  // wraps
  EXPECT_EQ(l.epoch(), 1);
  EXPECT_EQ(row(again, 0), (std::vector<int32_t>{0, 1, 2, 3}));
}

TEST(Loader, ShuffleIsASeededPermutationPerEpoch) {
  TempDir tmp;
  auto dir = prepare_ids(tmp, "d", counting_docs(40, 4));  // 40 sequences of 4
  auto epoch_order = [&](uint64_t seed, int epochs) {
    LoaderOptions o;
    o.seq_len = 4;
    o.batch_size = 5;
    o.seed = seed;
    BatchLoader l(dir, o);
    std::vector<std::vector<int64_t>> out(epochs);
    for (int e = 0; e < epochs; ++e)
      for (int k = 0; k < 8; ++k)
        for (int64_t s : sequence_indices(l.next())) out[e].push_back(s);
    return out;
  };
  auto a = epoch_order(7, 2), b = epoch_order(7, 2), c = epoch_order(8, 1);
  EXPECT_EQ(a, b);                 // same seed, same order
  EXPECT_NE(a[0], c[0]);           // another seed, another order
  EXPECT_NE(a[0], a[1]);           // reshuffled each epoch
  std::vector<int64_t> sorted = a[0], all(40);
  std::sort(sorted.begin(), sorted.end());
  for (int i = 0; i < 40; ++i) all[i] = i;
  EXPECT_EQ(sorted, all);  // a permutation: every sequence once
  std::vector<int64_t> identity = all;
  EXPECT_NE(a[0], identity);
}

TEST(Loader, ShuffleOrderIsPinned) {
  // The permutation must not change between versions or machines: resuming a run elsewhere
  // depends on it. First sequences of seed 0, epoch 0, as computed when this was written.
  TempDir tmp;
  auto dir = prepare_ids(tmp, "d", counting_docs(10, 2));
  LoaderOptions o;
  o.seq_len = 2;
  o.batch_size = 10;
  BatchLoader l(dir, o);
  std::vector<int64_t> got = sequence_indices(l.next());
  BatchLoader again(dir, o);
  EXPECT_EQ(sequence_indices(again.next()), got);
  SCOPED_TRACE(::testing::PrintToString(got));
  EXPECT_EQ(got, (std::vector<int64_t>{1, 3, 0, 4, 9, 7, 5, 6, 8, 2}));
}

TEST(Loader, RestoreResumesExactlyMidEpochAndAcrossEpochs) {
  TempDir tmp;
  auto dir = prepare_ids(tmp, "d", counting_docs(23, 3));  // 69 tokens -> 17 sequences of 4
  LoaderOptions o;
  o.seq_len = 4;
  o.batch_size = 3;  // 5 batches per epoch, 2 sequences left over each epoch
  o.seed = 11;
  BatchLoader ref(dir, o);
  std::vector<std::vector<int32_t>> want;
  std::vector<LoaderState> states;
  for (int i = 0; i < 17; ++i) {
    states.push_back(ref.state());
    want.push_back(ref.next().ids);
  }
  for (int cut : {0, 2, 4, 5, 7, 10, 16}) {
    BatchLoader l(dir, o);
    LoaderState s = LoaderState::from_json(states[cut].to_json());
    l.restore(s);
    for (int i = cut; i < 17; ++i) ASSERT_EQ(l.next().ids, want[i]) << "resumed at batch " << cut << ", batch " << i;
  }
  // The state after the last batch of an epoch points at the next epoch.
  EXPECT_EQ(states[5].epoch, 1);
  EXPECT_EQ(states[5].position, 0);
  EXPECT_EQ(states[7].epoch, 1);
  EXPECT_EQ(states[7].position, 6);
}

TEST(Loader, RanksTakeDisjointEqualShares) {
  TempDir tmp;
  auto dir = prepare_ids(tmp, "d", counting_docs(43, 2));  // 43 sequences of 2
  for (bool shuffle : {false, true}) {
    std::set<int64_t> seen;
    for (int rank = 0; rank < 4; ++rank) {
      LoaderOptions o;
      o.seq_len = 2;
      o.batch_size = 2;
      o.shuffle = shuffle;
      o.seed = 3;
      o.rank = rank;
      o.world_size = 4;
      BatchLoader l(dir, o);
      EXPECT_EQ(l.sequences_per_epoch(), 10);  // 43 / 4, remainder dropped
      for (int k = 0; k < 5; ++k)
        for (int64_t s : sequence_indices(l.next())) EXPECT_TRUE(seen.insert(s).second) << "sequence " << s << " twice";
    }
    EXPECT_EQ(seen.size(), 40u);
  }
}

TEST(Loader, AStateOfThreeRanksContinuesWithTwoAfterWhatTheyTook) {
  TempDir tmp;
  auto dir = prepare_ids(tmp, "d", counting_docs(60, 2));  // 60 sequences of 2
  auto options = [](int rank, int world) {
    LoaderOptions o;
    o.seq_len = 2;
    o.batch_size = 2;
    o.shuffle = true;
    o.seed = 5;
    o.rank = rank;
    o.world_size = world;
    return o;
  };
  std::set<int64_t> taken;
  LoaderState state;
  for (int rank = 0; rank < 3; ++rank) {  // three ranks take 3 batches each: 18 sequences
    BatchLoader l(dir, options(rank, 3));
    for (int k = 0; k < 3; ++k)
      for (int64_t s : sequence_indices(l.next())) taken.insert(s);
    state = l.state();
  }
  EXPECT_EQ(state.world_size, 3);
  std::set<int64_t> later;
  for (int rank = 0; rank < 2; ++rank) {  // two ranks go on: from sequence 20 of the same order
    BatchLoader l(dir, options(rank, 2));
    l.restore(LoaderState::from_json(state.to_json()));
    for (int k = 0; k < 5; ++k)
      for (int64_t s : sequence_indices(l.next())) {
        EXPECT_FALSE(taken.count(s)) << "sequence " << s << " again";
        EXPECT_TRUE(later.insert(s).second);
      }
  }
  EXPECT_EQ(later.size(), 20u);
  EXPECT_EQ(taken.size(), 18u);  // 2 more skipped so that the two ranks start a whole step at 20
}

TEST(Loader, ValidationSplitIsReadInOrder) {
  TempDir tmp;
  auto docs = counting_docs(200, 2);
  auto dir = prepare_ids(tmp, "d", docs, 1000, 0.25);
  DataInfo info = read_data_info(dir);
  EXPECT_GT(info.val_documents, 20);
  EXPECT_LT(info.val_documents, 80);
  EXPECT_EQ(info.val_documents + info.train_documents, 200);
  EXPECT_EQ(info.val_tokens, 2 * info.val_documents);
  LoaderOptions o;
  o.seq_len = 2;
  o.batch_size = 1;
  o.validation = true;
  o.shuffle = true;  // ignored: evaluation reads in order
  BatchLoader l(dir, o);
  EXPECT_EQ(l.sequences_per_epoch(), info.val_documents);
  int64_t prev = -1;
  for (int64_t i = 0; i < info.val_documents; ++i) {
    Batch b = l.next();
    int64_t doc = b.ids[0] / 2;  // each document is one sequence here
    EXPECT_GT(doc, prev);
    EXPECT_TRUE(is_validation_document(static_cast<uint64_t>(doc), 0.25, 0));
    prev = doc;
  }
}

TEST(Loader, TooLittleDataIsAClearError) {
  TempDir tmp;
  auto dir = prepare_ids(tmp, "d", counting_docs(3, 4));
  LoaderOptions o;
  o.seq_len = 4;
  o.batch_size = 4;
  try {
    BatchLoader l(dir, o);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("a batch needs 4"), std::string::npos) << e.what();
  }
  o.batch_size = 1;
  o.validation = true;  // empty validation split
  EXPECT_THROW(BatchLoader(dir, o), Error);
}

TEST(Loader, DataJsonErrors) {
  TempDir tmp;
  EXPECT_THROW(read_data_info(tmp.path() / "missing"), Error);
  try {
    read_data_info(tmp.path());
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no data.json"), std::string::npos) << e.what();
  }
  write_text(tmp.path() / "data.json", "{\"llamapro_data\": 99}");
  EXPECT_THROW(read_data_info(tmp.path()), Error);
  write_text(tmp.path() / "data.json", "{not json");
  EXPECT_THROW(read_data_info(tmp.path()), Error);
}

TEST(Loader, ShardDisagreeingWithDataJsonIsRefused) {
  TempDir tmp;
  auto dir = prepare_ids(tmp, "d", counting_docs(4, 4));
  auto other = prepare_ids(tmp, "e", counting_docs(5, 4));
  std::filesystem::copy_file(other / "train-00000.bin", dir / "train-00000.bin",
                             std::filesystem::copy_options::overwrite_existing);
  LoaderOptions o;
  o.seq_len = 4;
  try {
    BatchLoader l(dir, o);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("data.json says"), std::string::npos) << e.what();
  }
}
