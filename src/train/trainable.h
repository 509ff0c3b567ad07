// trainable.h — which tensors a run trains: "--trainable newest|stage:NAME|blocks:4,9|all"
// plus "--also embed,head", resolved against the model's provenance manifest. The output head
// (final norm + lm_head; "norm" and "lm_head" are accepted for it) trains as one unit.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "model/manifest.h"

namespace llamapro {

class Model;
struct ModelFolder;

struct TrainableSpec {
  std::vector<int64_t> blocks;  // sorted block indices
  bool embed = false, head = false;
  std::string description;      // e.g. "stage-1 (blocks 2,5)"
};

// Resolves the spec; an empty `spec` means "newest" when the manifest has stages. A spec that
// names no block (and no extra) is an error.
TrainableSpec resolve_trainable(const std::string& spec, const std::string& also,
                                const std::optional<Manifest>& manifest, int64_t layers);
// The same against a model folder: its manifest when it has one, its number of blocks.
TrainableSpec resolve_trainable(const std::string& spec, const std::string& also, const ModelFolder& folder);

// Marks the model: the spec's blocks and extras trainable, everything else frozen.
void apply_trainable(Model& model, const TrainableSpec& spec);

}  // namespace llamapro
