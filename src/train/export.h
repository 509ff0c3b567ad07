// export.h — the trained model as a complete Hugging Face folder in the run folder: frozen
// tensors copied byte for byte from the input, trained ones from their float32 masters in
// their stored dtype, the input's side files, config.json, and llamapro.json with this run
// added to its history (and its tokens counted for the stages whose blocks trained).
#pragma once

#include <torch/torch.h>

#include <filesystem>
#include <map>
#include <string>

#include "util/json.h"

namespace llamapro {

struct ModelFolder;
struct TrainableSpec;

// `trained`: the float32 master of every trained tensor, by name. `record` describes the run
// (data, tokens, losses, hyperparameters) for llamapro.json. The model's files appear in
// `run_dir` with config.json last.
void export_trained_model(const ModelFolder& base, const std::map<std::string, torch::Tensor>& trained,
                          const TrainableSpec& trainable,
                          const json& record, int64_t tokens, const std::filesystem::path& run_dir);

}  // namespace llamapro
