// data_loss.h — the language-modelling loss of a model on a prepared data folder, the measure of
// domain gain and of forgetting, shared by training (validation) and `llamapro eval`.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <optional>
#include <string>

#include "data/loader.h"
#include "model/transformer.h"

namespace llamapro {

struct EvalOptions {
  int64_t seq_len = 512, batch_size = 4;
  int64_t max_batches = 50;  // 0 = the whole split
  bool validation = true;    // the held-out split (false: the training split)
  std::optional<Packing> packing;  // unset: the data's default
  bool allow_too_small = false;    // a split without one whole batch gives NaN instead of an error
  int rank = 0, world_size = 1;
};

struct EvalResult {
  double loss = NAN;  // mean over the batches that have targets
  int64_t tokens = 0;
};

EvalResult evaluate_loss(const Model& model, const std::string& data_dir, const EvalOptions& o);

}  // namespace llamapro
