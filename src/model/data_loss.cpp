#include "eval/perplexity.h"

#include <algorithm>
#include <cmath>

#include "model/loss.h"
#include "util/check.h"

namespace llamapro {

BatchTensors batch_tensors(const Batch& b, const torch::Device& device) {
  BatchTensors t;
  t.ids = torch::from_blob(const_cast<int32_t*>(b.ids.data()), {b.batch, b.seq_len}, torch::kInt)
              .to(torch::kLong)
              .to(device);  // (B, T)
  bool all_targets = std::all_of(b.loss_mask.begin(), b.loss_mask.end(), [](uint8_t m) { return m == 1; });
  if (!all_targets)
    t.mask = torch::from_blob(const_cast<uint8_t*>(b.loss_mask.data()), {b.batch, b.seq_len}, torch::kUInt8)
                 .to(device);  // (B, T)
  if (!b.positions.empty()) {
    auto table = [&](const std::vector<int32_t>& v) {
      return torch::from_blob(const_cast<int32_t*>(v.data()), {b.batch, b.seq_len}, torch::kInt).to(device, torch::kLong);
    };
    t.rows = {table(b.positions), table(b.segments)};  // (B, T) each
  }
  return t;
}

torch::Tensor batch_loss(const Model& model, const BatchTensors& t) {
  auto hidden = t.rows.positions.defined() ? model.final_hidden(t.ids, t.rows) : model.final_hidden(t.ids);
  return fused_next_token_loss(hidden, model.weights().lm_head, t.ids, t.mask);
}

int64_t target_count(const Batch& b) {
  int64_t n = 0;
  for (int64_t row = 0; row < b.batch; row++)
    for (int64_t t = 1; t < b.seq_len; t++) n += b.loss_mask[size_t(row * b.seq_len + t)] != 0;
  return n;
}

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
