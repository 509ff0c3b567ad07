// device.cpp — see device.h.
#include "model/device.h"

#include "model/compat.h"
#include "util/check.h"

namespace llamapro {

torch::Device parse_device(const std::string& name) {
  LP_CHECK(name == "cpu" || name == "cuda" || name.rfind("cuda:", 0) == 0,
           "unknown device \"", name, "\" (expected cpu, cuda or cuda:N)");
  if (name == "cpu") return torch::Device(torch::kCPU);
  LP_CHECK(torch::cuda::is_available(), "device \"", name, "\" requested but this build of libtorch ",
           compat::torch_version(), " sees no CUDA device");
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

torch::ScalarType parse_compute_dtype(const std::string& name, const torch::Device& device, const std::string& flag) {
  if (name == "f32" || name == "float32" || name == "fp32") return torch::kFloat;
  if (name == "bf16" || name == "bfloat16") return torch::kBFloat16;
  if (name == "f16" || name == "float16" || name == "fp16") {
    // CPU kernels of libtorch lack f16 matrix products: refuse before loading anything.
    LP_CHECK(device.is_cuda(), flag, " ", name, " needs a CUDA device; on the CPU use f32 or bf16");
    return torch::kHalf;
  }
  LP_FAIL(flag, ": unknown dtype \"", name, "\" (expected f32, bf16 or f16)");
}

std::string dtype_label(torch::ScalarType t) {
  switch (t) {
    case torch::kFloat: return "f32";
    case torch::kBFloat16: return "bf16";
    case torch::kHalf: return "f16";
    default: return std::string(c10::toString(t));
  }
}

}  // namespace llamapro
