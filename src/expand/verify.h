// verify.h — the identity proof of an expansion: the base and the expanded model run on the
// same token sequences and their logits are compared; every block the newest stage added must
// pass its input through unchanged, bit for bit.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace llamapro {

struct VerifyOptions {
  std::string device = "cpu";  // where both models run
  int64_t samples = 4;         // random token sequences
  int64_t seq_len = 0;         // tokens each; 0: 64, or the models' positions when fewer
  uint64_t seed = 0;
};

struct VerifyResult {
  int64_t samples = 0, seq_len = 0;
  double max_abs_diff = 0;   // largest |expanded - base| over all logits
  double max_abs_logit = 0;  // scale of the logits, for context
  double tolerance = 0;      // allowed difference (rounding of the compute dtype)
  bool same_argmax = true;   // identical greedy choice at every position
  bool passed = false;
  std::string compute_dtype;
  struct NewBlock {
    int64_t index;
    double max_abs_change;  // |output - input| of the block: exactly 0 for an identity block
  };
  std::vector<NewBlock> new_blocks;  // the newest stage's blocks, when a manifest says which
};

VerifyResult verify_expansion(const std::filesystem::path& base, const std::filesystem::path& expanded,
                              const VerifyOptions& o);
void print_verify(const VerifyResult& r);

}  // namespace llamapro
