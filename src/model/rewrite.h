// rewrite.h — a model folder written again with some of its tensors changed: the road both a
// finished training run and `llamapro merge` take.
#pragma once

#include <torch/torch.h>

#include <functional>
#include <string>

#include "model/model_folder.h"

namespace llamapro {

// New values for some tensors: float32, or undefined to keep the stored bytes.
using TensorReplacement = std::function<torch::Tensor(const std::string& name)>;

// Writes `base` to `out` through ModelFolderWriter: replaced tensors converted to their stored
// dtype, every other tensor copied byte for byte, the side files, `manifest`, config.json last.
void write_model_with(const ModelFolder& base, OutputSpec out, const TensorReplacement& replace,
                      const Manifest& manifest);

}  // namespace llamapro
