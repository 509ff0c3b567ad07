// plan.h — where new blocks go and how they start: the expansion plan, computed before any
// byte is written so that it can be printed (--dry-run), checked and recorded.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace llamapro {

enum class Placement { Interleave, Top, Bottom };
enum class BlockInit { Copy, Random };

struct PlannedBlock {
  int64_t source = 0;  // index in the input model of the block this one is (a copy of)
  bool added = false;  // a new block of this expansion
};

struct ExpansionPlan {
  int64_t layers_before = 0;
  std::vector<PlannedBlock> blocks;  // the expanded model's blocks, in order
  BlockInit init = BlockInit::Copy;
  std::vector<std::string> zeroed;  // sub-modules set to zero in new blocks

  int64_t layers_after() const { return static_cast<int64_t>(blocks.size()); }
  std::vector<int64_t> added_positions() const;  // indices of new blocks in the expanded model
  // Whether the zeroed sub-modules make every new block compute the identity.
  bool preserves_output() const;
};

// The paper's interleaved rule: L blocks in N groups (sizes differing by at most one, larger
// groups first), a copy after the last block of each group. 32 layers, N=8: new at 4, 9, ..., 39.
std::vector<int64_t> interleaved_sources(int64_t layers, int64_t add);

// A copy of block i right after block i for each i in `after` (repeats allowed: several copies).
ExpansionPlan plan_after(int64_t layers, std::vector<int64_t> after);
// N new blocks placed by the ablation rules: interleaved, stacked on top (copies of the last
// block), or stacked at the bottom (copies of the first block, before it).
ExpansionPlan plan_add(int64_t layers, int64_t add, Placement placement);

// What the user asked for, before the model's layer count is known: --add N with a placement,
// or explicit --after positions. make_plan turns it into the plan for one model, so a plan
// always fits the model it is applied to.
struct PlanRequest {
  int64_t add = 0;                   // new blocks placed by `placement`, or
  std::vector<int64_t> after;        // explicit positions (exactly one of the two is given)
  Placement placement = Placement::Interleave;
  BlockInit init = BlockInit::Copy;
  // Sub-modules of each copy set to zero: by default its two output projections, which makes it
  // the identity and leaves its norms (and so its gradients) alive.
  std::vector<std::string> zeroed = {"self_attn.o_proj", "mlp.down_proj"};
};
ExpansionPlan make_plan(const PlanRequest& request, int64_t layers);

Placement parse_placement(const std::string& text);
BlockInit parse_init(const std::string& text);
std::string init_name(BlockInit init);

// Checks --zero names against the block's sub-modules (model/tensor_names); the error lists
// the valid ones.
void check_zeroed(const std::vector<std::string>& names);

}  // namespace llamapro
