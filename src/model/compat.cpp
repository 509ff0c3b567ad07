// compat.cpp — version-dependent libtorch calls (see compat.h).
#include "model/compat.h"

#include <torch/version.h>

#include <cmath>
#include <limits>

#include "util/check.h"

namespace llamapro::compat {

torch::Tensor attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                        const torch::Tensor& mask, bool causal) {
#if TORCH_VERSION_MAJOR >= 2
  // `{}` is an empty optional whether the signature spells it c10::optional or std::optional.
  if (mask.defined()) return at::scaled_dot_product_attention(q, k, v, mask, 0.0, false);
  return at::scaled_dot_product_attention(q, k, v, {}, 0.0, causal);
#else
  const int64_t T = q.size(-2), S = k.size(-2);
  auto att = torch::matmul(q, k.transpose(-2, -1)) * (1.0 / std::sqrt(double(q.size(-1))));  // (B, NH, T, S)
  if (mask.defined()) {
    att = att.masked_fill(mask.logical_not(), -std::numeric_limits<float>::infinity());
  } else if (causal) {
    auto keep = torch::ones({T, S}, torch::TensorOptions().dtype(torch::kBool).device(q.device())).tril();
    att = att.masked_fill(keep.logical_not(), -std::numeric_limits<float>::infinity());
  }
  // Softmax in float32 like transformers' eager attention, then back to the compute dtype.
  att = torch::softmax(att, -1, torch::kFloat).to(q.scalar_type());
  return torch::matmul(att, v);  // (B, NH, T, HD)
#endif
}

std::string torch_version() {
  return std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR) + "." +
         std::to_string(TORCH_VERSION_PATCH);
}

}  // namespace llamapro::compat
