#include "model/data_loss.h"

#include <algorithm>
#include <cmath>

#include "model/loss.h"
#include "util/check.h"

namespace llamapro {

EvalResult evaluate_loss(const Model& model, const std::string& data_dir, const EvalOptions& o) {
  torch::NoGradGuard no_grad;
  LoaderOptions lo;
  lo.batch_size = o.batch_size;
  lo.seq_len = o.seq_len;
  lo.shuffle = false;
  lo.validation = o.validation;
  lo.rank = o.rank;
  lo.world_size = o.world_size;
  lo.packing = o.packing;
  lo.require_batch = !o.allow_too_small;
  BatchLoader loader(data_dir, lo);
  if (loader.sequences_per_epoch() < o.batch_size) return {};  // too little held-out data: no loss
  int64_t batches = std::max<int64_t>(1, loader.sequences_per_epoch() / o.batch_size);
  if (o.max_batches > 0) batches = std::min(batches, o.max_batches);
  EvalResult r;
  double sum = 0;
  int64_t scored = 0;  // batches with at least one target
  for (int64_t i = 0; i < batches; i++) {
    Batch b = loader.next();
    r.tokens += b.batch * b.seq_len;
    if (target_count(b) == 0) continue;
    BatchTensors t = batch_tensors(b, model.options().device);
    const double loss = batch_loss(model, t).item<double>();
    LP_CHECK(std::isfinite(loss), data_dir, ": the model's loss is ", loss, " on batch ", i + 1,
             " (its weights or logits are not finite numbers)");
    sum += loss;
    scored++;
  }
  LP_CHECK(scored > 0, data_dir, ": no scored tokens in ", batches, " batch(es) of ", o.seq_len,
           " tokens: no position is a prediction target", loader.cut_documents() > 0
               ? " (examples are cut to their first " + std::to_string(o.seq_len) + " tokens, where no answer token lies; use a longer --seq-len)"
               : std::string(" (the data's loss mask is 0 everywhere)"));
  r.loss = sum / double(scored);
  return r;
}

}  // namespace llamapro
