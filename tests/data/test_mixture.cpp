// test_mixture.cpp — several data folders drawn in proportion to their weights: exact shares,
// the same batches after a restore, one source equal to its plain loader, and --data parsing.
#include <gtest/gtest.h>

#include "data/mixture.h"
#include "data_helpers.h"
#include "util/check.h"

using namespace llamapro;
using namespace llamapro::testing;

namespace {

// Source k's documents hold tokens 100 * k + j, so a batch says where it came from.
std::filesystem::path source(const TempDir& tmp, int k) {
  std::vector<std::vector<int32_t>> docs(20);
  for (auto& d : docs)
    for (int j = 0; j < 8; j++) d.push_back(100 * k + j);
  return prepare_ids(tmp, "s" + std::to_string(k), docs);
}

LoaderOptions options() {
  LoaderOptions o;
  o.batch_size = 2;
  o.seq_len = 8;
  o.seed = 3;
  return o;
}

}  // namespace

TEST(Mixture, SharesFollowTheWeightsFromTheFirstBatches) {
  TempDir tmp;
  DataMixture m({{source(tmp, 1).string(), 0.9}, {source(tmp, 2).string(), 0.1}}, options());
  int from_second = 0;
  for (int i = 1; i <= 100; i++) {
    Batch b = m.next();
    EXPECT_EQ(b.ids[0] / 100, int(m.last_source()) + 1) << "the batch comes from the source named";
    from_second += m.last_source() == 1;
    EXPECT_LE(std::abs(from_second - 0.1 * i), 1.0) << "after " << i << " batches";
  }
  EXPECT_EQ(m.taken(), (std::vector<int64_t>{90, 10}));
}

TEST(Mixture, ARestoredMixtureGivesTheSameBatches) {
  TempDir tmp;
  const std::vector<DataSource> sources = {{source(tmp, 1).string(), 2}, {source(tmp, 2).string(), 1},
                                           {source(tmp, 3).string(), 1}};
  DataMixture a(sources, options());
  for (int i = 0; i < 37; i++) a.next();  // past an epoch of some sources
  DataMixture b(sources, options());
  b.restore(a.state());
  for (int i = 0; i < 50; i++) {
    Batch x = a.next(), y = b.next();
    ASSERT_EQ(x.ids, y.ids) << "batch " << i;
  }
  DataMixture fewer({sources[0], sources[1]}, options());
  EXPECT_THROW(fewer.restore(a.state()), Error);
}

TEST(Mixture, OneSourceIsItsLoader) {
  TempDir tmp;
  const auto dir = source(tmp, 1);
  DataMixture m({{dir.string(), 5}}, options());
  BatchLoader l(dir, options());
  for (int i = 0; i < 25; i++) ASSERT_EQ(m.next().ids, l.next().ids) << i;
}

TEST(Mixture, DataSpecsParse) {
  EXPECT_EQ(parse_data_source("a/b").dir, "a/b");
  EXPECT_EQ(parse_data_source("a/b").weight, 1.0);
  EXPECT_EQ(parse_data_source("a/b:0.25").weight, 0.25);
  EXPECT_EQ(parse_data_source("a/b:0.25").dir, "a/b");
  EXPECT_EQ(parse_data_source("c:/x").dir, "c:/x");  // not a number after the colon: part of the path
  EXPECT_THROW(parse_data_source("a:0"), Error);
  EXPECT_THROW(parse_data_source("a:-1"), Error);
  EXPECT_THROW(parse_data_source("a:inf"), Error);
  EXPECT_THROW(parse_data_source(":2"), Error);
  std::vector<DataSource> s = {{"x/data"}, {"y/data"}, {"z/other"}};
  name_sources(s);
  EXPECT_EQ(s[0].name, "data");
  EXPECT_EQ(s[1].name, "data-2");
  EXPECT_EQ(s[2].name, "other");
}
