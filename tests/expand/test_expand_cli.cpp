// test_expand_cli.cpp — `llamapro expand` and `llamapro verify` from the command line: the
// identity proof, the dry run, and one clean error line for each kind of bad request.
#include <gtest/gtest.h>

#include <filesystem>

#include "common/fixtures.h"
#include "common/processes.h"

namespace llamapro {
namespace {

using testing::fixture;
using testing::is_clean_error;
using testing::run_cli;
using testing::spawn_cli;
using testing::TempDir;
using testing::wait_status_and_peak_kb;

TEST(ExpandCli, VerifiedExpansionAndStandaloneVerify) {
  LP_REQUIRE_FIXTURES();
  TempDir tmp;
  const std::string base = fixture("models/tiny-qwen2");
  auto r = run_cli("expand " + base + " -o " + tmp.str("out") + " --add 2 --verify");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("new blocks at 2,5"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("verify: PASSED"), std::string::npos) << r.out;
  r = run_cli("verify " + base + " " + tmp.str("out"));
  EXPECT_EQ(r.status, 0) << r.err;
  r = run_cli("inspect " + tmp.str("out") + " --layers");
  EXPECT_NE(r.out.find("stage-1"), std::string::npos) << r.out;
}

TEST(ExpandCli, VerifyHoldsOneBlockAtATime) {
  // A bf16 model of 16 blocks and its expansion: in float32 each takes ~340 MB, and loading
  // both whole (as verify once did) peaked 1.17 GB above the binary's own footprint (measured
  // by `inspect`, which loads libtorch too). Streamed, verify holds one block in float32
  // (12.6 MB), the two sets of logits (2 x 33 MB) and the BLAS work buffers.
  TempDir tmp;
  ASSERT_EQ(run_cli("init --preset small --layers 16 --dtype bf16 -o " + tmp.str("base") + " --no-progress").status, 0);
  ASSERT_EQ(run_cli("expand " + tmp.str("base") + " -o " + tmp.str("out") + " --add 2").status, 0);
  const auto [inspect_status, baseline_kb] = wait_status_and_peak_kb(spawn_cli("inspect " + tmp.str("out")));
  ASSERT_EQ(inspect_status, 0);
  const auto [status, peak_kb] =
      wait_status_and_peak_kb(spawn_cli("verify " + tmp.str("base") + " " + tmp.str("out"), {}, tmp.str("verify.log")));
  EXPECT_EQ(status, 0) << testing::read_text(tmp.str("verify.log"));
  EXPECT_NE(testing::read_text(tmp.str("verify.log")).find("verify: PASSED"), std::string::npos);
  EXPECT_LT(peak_kb - baseline_kb, 256 * 1024) << "verify peaked at " << peak_kb / 1024 << " MB, inspect at "
                                               << baseline_kb / 1024 << " MB";
}

TEST(ExpandCli, DryRunPrintsThePlanAndWritesNothing) {
  LP_REQUIRE_FIXTURES();
  TempDir tmp;
  auto r = run_cli("expand " + fixture("models/stories260K") + " -o " + tmp.str("out") + " --after 2,4 --dry-run");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("new blocks at 3,6"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("would write"), std::string::npos) << r.out;
  EXPECT_FALSE(std::filesystem::exists(tmp.str("out")));
}

TEST(ExpandCli, AFailedProofLeavesNoOutput) {
  LP_REQUIRE_FIXTURES();
  TempDir tmp;
  auto r = run_cli("expand " + fixture("models/tiny-llama") + " -o " + tmp.str("out") +
                   " --add 1 --zero mlp.down_proj --verify");
  // A warning comes first (the --zero set cannot give identity), then the one error line.
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.err.rfind("warning: ", 0), 0u) << r.err;
  EXPECT_NE(r.err.find("\nerror: verification failed"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(tmp.str("out")));
}

TEST(ExpandCli, BadRequestsGiveOneErrorLine) {
  LP_REQUIRE_FIXTURES();
  TempDir tmp;
  const std::string base = fixture("models/tiny-llama"), out = " -o " + tmp.str("out");
  EXPECT_TRUE(is_clean_error(run_cli("expand " + base + out + " --after 9")));               // out of range
  EXPECT_TRUE(is_clean_error(run_cli("expand " + base + out + " --after 1,x")));             // not a number
  EXPECT_TRUE(is_clean_error(run_cli("expand " + base + out + " --add 1 --zero mlp.nope")));  // unknown module
  EXPECT_TRUE(is_clean_error(run_cli("expand " + base + out + " --add 1 --after 1")));       // both
  EXPECT_TRUE(is_clean_error(run_cli("expand " + base + out)));                              // neither
  EXPECT_TRUE(is_clean_error(run_cli("expand " + base + out + " --add 1 --placement middle")));
  EXPECT_TRUE(is_clean_error(run_cli("expand " + base + out + " --add 1 --dtype f8")));
  // Onto the input itself, even with --force (on a copy, so a failure could not hurt a fixture).
  std::filesystem::copy(base, tmp.str("copy"));
  EXPECT_TRUE(is_clean_error(run_cli("expand " + tmp.str("copy") + " -o " + tmp.str("copy") + " --add 1 --force")));
  EXPECT_TRUE(std::filesystem::exists(tmp.str("copy/model.safetensors.index.json")));
  EXPECT_TRUE(is_clean_error(run_cli("expand " + tmp.str("missing") + out + " --add 1")));
  std::filesystem::create_directory(tmp.str("exists"));
  EXPECT_TRUE(is_clean_error(run_cli("expand " + base + " -o " + tmp.str("exists") + " --add 1")));
  // Models of different vocabularies cannot be compared.
  EXPECT_TRUE(is_clean_error(run_cli("verify " + base + " " + fixture("models/tiny-qwen2"))));
  EXPECT_FALSE(std::filesystem::exists(tmp.str("out")));
}

}  // namespace
}  // namespace llamapro
