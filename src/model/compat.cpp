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

torch::Device parse_device(const std::string& name) {
  LP_CHECK(name == "cpu" || name == "cuda" || name.rfind("cuda:", 0) == 0,
           "unknown device \"", name, "\" (expected cpu, cuda or cuda:N)");
  if (name == "cpu") return torch::Device(torch::kCPU);
  LP_CHECK(torch::cuda::is_available(), "device \"", name, "\" requested but this build of libtorch ",
           torch_version(), " sees no CUDA device");
  int64_t index = 0;
  if (name.size() > 5) {
    const std::string digits = name.substr(5);
    LP_CHECK(!digits.empty() && digits.find_first_not_of("0123456789") == std::string::npos && digits.size() < 4,
             "bad device \"", name, "\" (expected cuda:N)");
    index = std::stoll(digits);
  }
  const int64_t count = int64_t(torch::cuda::device_count());
  LP_CHECK(index < count, "device \"", name, "\" does not exist (", count, " CUDA devices)");
  return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(index));
}

torch::ScalarType parse_dtype(const std::string& name, const torch::Device& device) {
  if (name == "f32" || name == "float32" || name == "fp32") return torch::kFloat;
  if (name == "bf16" || name == "bfloat16") return torch::kBFloat16;
  if (name == "f16" || name == "float16" || name == "fp16") {
    // CPU kernels of libtorch lack f16 matrix products: refuse before loading anything.
    LP_CHECK(device.is_cuda(), "--dtype f16 needs a CUDA device; on the CPU use f32 or bf16");
    return torch::kHalf;
  }
  LP_FAIL("--dtype: unknown dtype \"", name, "\" (expected f32, bf16 or f16)");
}

std::string dtype_label(torch::ScalarType t) {
  switch (t) {
    case torch::kFloat: return "f32";
    case torch::kBFloat16: return "bf16";
    case torch::kHalf: return "f16";
    default: return std::string(c10::toString(t));
  }
}

std::string torch_version() {
  return std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR) + "." +
         std::to_string(TORCH_VERSION_PATCH);
}

}  // namespace llamapro::compat
