// test_tokenizer.cpp — tokenizer.json conformance against the golden ids of HF tokenizers
// 0.23, malformed files, the API around encode/decode, and the tokenize command.
#include <gtest/gtest.h>

#include <fstream>
#include <thread>

#include "common/fixtures.h"
#include "tokenizer/tokenizer.h"
#include "util/check.h"
#include "util/json.h"

using namespace llamapro;
using namespace llamapro::testing;

namespace {

void write(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

// ---------------------------------------------------------------------------------------------
// Conformance: the 300 golden strings of each fixture tokenizer.

class Golden : public ::testing::TestWithParam<std::string> {};

TEST_P(Golden, MatchesReferenceIdsAndDecoding) {
  LP_REQUIRE_FIXTURES();
  std::string dir = fixture("tokenizers/" + GetParam());
  Tokenizer tok = Tokenizer::from_dir(dir);
  json golden = read_json_file(dir + "/golden.json");
  const json& cases = golden.at("cases");
  ASSERT_EQ(cases.size(), 300u);
  int wrong_ids = 0, wrong_special = 0, wrong_decoded = 0;
  for (size_t i = 0; i < cases.size(); ++i) {
    const json& c = cases[i];
    std::string text = c.at("text").get<std::string>();
    auto want = c.at("ids").get<std::vector<int32_t>>();
    auto want_special = c.at("ids_with_special").get<std::vector<int32_t>>();
    std::string want_decoded = c.at("decoded").get<std::string>();
    auto ids = tok.encode(text, false);
    if (ids != want && ++wrong_ids <= 5) ADD_FAILURE() << GetParam() << " case " << i << " ids differ: " << json(text).dump();
    if (tok.encode(text, true) != want_special && ++wrong_special <= 5)
      ADD_FAILURE() << GetParam() << " case " << i << " ids_with_special differ: " << json(text).dump();
    std::string decoded = tok.decode(want, false);
    if (decoded != want_decoded && ++wrong_decoded <= 5)
      ADD_FAILURE() << GetParam() << " case " << i << " decoded " << json(decoded).dump() << ", want "
                    << json(want_decoded).dump();
  }
  EXPECT_EQ(wrong_ids, 0);
  EXPECT_EQ(wrong_special, 0);
  EXPECT_EQ(wrong_decoded, 0);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, Golden, ::testing::Values("llama3", "qwen3", "mistral", "stories260K"));

}  // namespace
