// test_plan.cpp — the expansion planner: the paper's positions and the ablation placements.
#include <gtest/gtest.h>

#include "expand/plan.h"
#include "util/check.h"

namespace llamapro {
namespace {

TEST(Plan, InterleavedReproducesThePapersPositionsFor32Layers) {
  ExpansionPlan plan = plan_add(32, 8, Placement::Interleave);
  EXPECT_EQ(plan.layers_after(), 40);
  EXPECT_EQ(plan.added_positions(), (std::vector<int64_t>{4, 9, 14, 19, 24, 29, 34, 39}));
  // Each new block copies the block right before it.
  for (int64_t p : plan.added_positions()) EXPECT_EQ(plan.blocks[p].source, plan.blocks[p - 1].source);
}

TEST(Plan, UnevenGroupsPutLargerGroupsFirst) {
  EXPECT_EQ(interleaved_sources(5, 2), (std::vector<int64_t>{2, 4}));  // stories260K fixture
  EXPECT_EQ(interleaved_sources(10, 3), (std::vector<int64_t>{3, 6, 9}));
  EXPECT_EQ(interleaved_sources(4, 4), (std::vector<int64_t>{0, 1, 2, 3}));
  EXPECT_EQ(interleaved_sources(7, 1), (std::vector<int64_t>{6}));
}

TEST(Plan, AfterAllowsRepeatsAndSortsPositions) {
  ExpansionPlan plan = plan_after(4, {3, 1, 1});
  EXPECT_EQ(plan.layers_after(), 7);
  EXPECT_EQ(plan.added_positions(), (std::vector<int64_t>{2, 3, 6}));
  EXPECT_EQ(plan.blocks[2].source, 1);
  EXPECT_EQ(plan.blocks[3].source, 1);
  EXPECT_EQ(plan.blocks[6].source, 3);
}

TEST(Plan, TopAndBottomStacking) {
  ExpansionPlan top = plan_add(4, 2, Placement::Top);
  EXPECT_EQ(top.added_positions(), (std::vector<int64_t>{4, 5}));
  EXPECT_EQ(top.blocks[5].source, 3);
  ExpansionPlan bottom = plan_add(4, 2, Placement::Bottom);
  EXPECT_EQ(bottom.added_positions(), (std::vector<int64_t>{0, 1}));
  EXPECT_EQ(bottom.blocks[0].source, 0);
  EXPECT_FALSE(bottom.blocks[2].added);
  EXPECT_EQ(bottom.blocks[2].source, 0);
}

TEST(Plan, RejectsOutOfRangeAndUnknownNames) {
  EXPECT_THROW(plan_after(4, {4}), Error);
  EXPECT_THROW(plan_after(4, {-1}), Error);
  EXPECT_THROW(plan_after(4, {}), Error);
  EXPECT_THROW(plan_add(4, 5, Placement::Interleave), Error);
  EXPECT_THROW(plan_add(4, 0, Placement::Top), Error);
  EXPECT_THROW(check_zeroed({"mlp.down_projj"}), Error);
  EXPECT_NO_THROW(check_zeroed({"mlp.down_proj", "self_attn.o_proj"}));
  EXPECT_THROW(parse_placement("middle"), Error);
  EXPECT_THROW(parse_init("zeros"), Error);
}

TEST(Plan, IdentityNeedsBothResidualBranchesSilenced) {
  ExpansionPlan plan = plan_add(4, 1, Placement::Interleave);
  plan.zeroed = {"self_attn.o_proj", "mlp.down_proj"};
  EXPECT_TRUE(plan.preserves_output());
  plan.zeroed = {"self_attn.o_proj"};
  EXPECT_FALSE(plan.preserves_output());
  plan.zeroed = {"input_layernorm", "post_attention_layernorm"};
  EXPECT_TRUE(plan.preserves_output());
}

}  // namespace
}  // namespace llamapro
