#include "expand/plan.h"

#include <algorithm>

#include "model/tensor_names.h"
#include "util/check.h"

namespace llamapro {

std::vector<int64_t> ExpansionPlan::added_positions() const {
  std::vector<int64_t> out;
  for (size_t i = 0; i < blocks.size(); i++)
    if (blocks[i].added) out.push_back(static_cast<int64_t>(i));
  return out;
}

bool ExpansionPlan::preserves_output() const {
  // A pre-norm block adds attn(norm(x)) and mlp(norm(x')) to the residual stream; both terms
  // vanish when their output projection (or their input norm) is zero.
  auto has = [&](const char* m) { return std::find(zeroed.begin(), zeroed.end(), m) != zeroed.end(); };
  bool attn_off = has("self_attn.o_proj") || has("input_layernorm");
  bool mlp_off = has("mlp.down_proj") || has("post_attention_layernorm");
  return attn_off && mlp_off;
}

std::vector<int64_t> interleaved_sources(int64_t layers, int64_t add) {
  LP_CHECK(add >= 1, "--add must be at least 1, got ", add);
  LP_CHECK(add <= layers, "--add ", add, " exceeds the model's ", layers,
           " layers for interleaved placement (one new block per group at most; use --after for more)");
  std::vector<int64_t> sources;
  for (int64_t g = 1; g <= add; g++) sources.push_back((g * layers + add - 1) / add - 1);  // ceil(g*L/N) - 1
  return sources;
}

ExpansionPlan plan_after(int64_t layers, std::vector<int64_t> after) {
  LP_CHECK(!after.empty(), "no positions given to --after");
  for (int64_t i : after)
    LP_CHECK(i >= 0 && i < layers, "--after position ", i, " is out of range: the model has blocks 0..", layers - 1);
  std::sort(after.begin(), after.end());
  ExpansionPlan plan;
  plan.layers_before = layers;
  size_t next = 0;
  for (int64_t i = 0; i < layers; i++) {
    plan.blocks.push_back({i, false});
    for (; next < after.size() && after[next] == i; next++) plan.blocks.push_back({i, true});
  }
  return plan;
}

ExpansionPlan plan_add(int64_t layers, int64_t add, Placement placement) {
  LP_CHECK(add >= 1, "--add must be at least 1, got ", add);
  switch (placement) {
    case Placement::Interleave:
      return plan_after(layers, interleaved_sources(layers, add));
    case Placement::Top:
      return plan_after(layers, std::vector<int64_t>(static_cast<size_t>(add), layers - 1));
    case Placement::Bottom: {
      ExpansionPlan plan;
      plan.layers_before = layers;
      for (int64_t i = 0; i < add; i++) plan.blocks.push_back({0, true});
      for (int64_t i = 0; i < layers; i++) plan.blocks.push_back({i, false});
      return plan;
    }
  }
  LP_FAIL("internal: unknown placement");
}

ExpansionPlan make_plan(const PlanRequest& r, int64_t layers) {
  LP_CHECK((r.add > 0) != !r.after.empty(), "give exactly one of --add N or --after I,J,...");
  check_zeroed(r.zeroed);
  ExpansionPlan plan = r.add > 0 ? plan_add(layers, r.add, r.placement) : plan_after(layers, r.after);
  plan.init = r.init;
  plan.zeroed = r.zeroed;
  return plan;
}

Placement parse_placement(const std::string& text) {
  if (text == "interleave") return Placement::Interleave;
  if (text == "top") return Placement::Top;
  if (text == "bottom") return Placement::Bottom;
  LP_FAIL("unknown placement \"", text, "\" (expected interleave, top or bottom)");
}

BlockInit parse_init(const std::string& text) {
  if (text == "copy") return BlockInit::Copy;
  if (text == "random") return BlockInit::Random;
  LP_FAIL("unknown init \"", text, "\" (expected copy or random)");
}

std::string init_name(BlockInit init) { return init == BlockInit::Copy ? "copy" : "random"; }

void check_zeroed(const std::vector<std::string>& names) {
  const auto& valid = block_modules();
  for (const auto& n : names) {
    if (std::find(valid.begin(), valid.end(), n) != valid.end()) continue;
    std::string list;
    for (const auto& v : valid) list += (list.empty() ? "" : ", ") + v;
    LP_FAIL("unknown sub-module \"", n, "\" in --zero (expected some of: ", list, ")");
  }
}

}  // namespace llamapro
