// load.h — building a Model from a Hugging Face folder (memory-mapped, zero-copy where the
// stored dtype and device already match) or from random weights (benchmarks, tests).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>

#include "io/dtype.h"
#include "model/transformer.h"

namespace llamapro {

struct ModelFolder;

// F32, F16, BF16 -> the torch type; error for other element types.
torch::ScalarType torch_type(DType t);

// Builds the model of an opened (validated) folder. Float32 weights on CPU in float32 are used
// in place from the mapping; anything else is converted.
Model load_model(const ModelFolder& folder, const ModelOptions& options);
Model load_model(const std::filesystem::path& dir, const ModelOptions& options);  // opens it first

// Weights drawn as transformers initialises them: normal(0, initializer_range) for linear and
// embedding matrices, ones for norms, zeros for biases; created directly on the device.
Model random_model(const ModelConfig& config, const ModelOptions& options, uint64_t seed);

}  // namespace llamapro
