// device.h — where a model computes and in which float type, as the command line names them.
#pragma once

#include <torch/torch.h>

#include <string>

namespace llamapro {

// "cpu", "cuda", "cuda:1" -> a device; clear error for other names or when CUDA is absent.
torch::Device parse_device(const std::string& name);
// "f32"/"float32"/"fp32", "bf16"/"bfloat16", "f16"/"float16"/"fp16" -> a scalar type; f16 only
// on CUDA; errors name `flag`, the option that said it.
torch::ScalarType parse_compute_dtype(const std::string& name, const torch::Device& device,
                                      const std::string& flag = "--dtype");
std::string dtype_label(torch::ScalarType t);  // "f32", "bf16", "f16"

}  // namespace llamapro
