#include "train/trainable.h"

#include <algorithm>

#include "model/model_folder.h"
#include "model/transformer.h"
#include "util/check.h"
#include "util/strings.h"

namespace llamapro {

TrainableSpec resolve_trainable(const std::string& spec_text, const std::string& also,
                                const std::optional<Manifest>& manifest, int64_t layers) {
  TrainableSpec spec;
  std::string spec_name = spec_text;
  if (spec_name.empty()) {
    LP_CHECK(manifest && !manifest->stages.empty(), "the model has no expansion stages (no llamapro.json): choose "
             "what to train with --trainable all or --trainable blocks:I,J");
    spec_name = "newest";
  }
  if (spec_name == "newest" || starts_with(spec_name, "stage:")) {
    LP_CHECK(manifest && !manifest->stages.empty(), "--trainable ", spec_name,
             " needs an expanded model (llamapro.json with stages); this one has none");
    std::string stage = spec_name == "newest" ? manifest->stages.back().name : spec_name.substr(6);
    LP_CHECK(manifest->find_stage(stage), "--trainable: no stage \"", stage, "\" in the manifest");
    spec.blocks = manifest->blocks_of(stage);
    spec.description = stage;
  } else if (spec_name == "all") {
    for (int64_t i = 0; i < layers; i++) spec.blocks.push_back(i);
    spec.description = "all blocks";
  } else if (starts_with(spec_name, "blocks:")) {
    spec.blocks = parse_int_list(spec_name.substr(7), "--trainable block");
    for (int64_t b : spec.blocks)
      LP_CHECK(b >= 0 && b < layers, "--trainable block ", b, " is out of range: the model has blocks 0..", layers - 1);
    spec.description = "blocks";
  } else {
    LP_FAIL("unknown --trainable \"", spec_name, "\" (expected newest, stage:NAME, blocks:I,J,... or all)");
  }
  std::sort(spec.blocks.begin(), spec.blocks.end());
  spec.blocks.erase(std::unique(spec.blocks.begin(), spec.blocks.end()), spec.blocks.end());
  if (!also.empty())
    for (const auto& part : split(also, ',')) {
      if (part == "embed") spec.embed = true;
      else if (part == "head" || part == "lm_head" || part == "norm") spec.head = true;
      else LP_FAIL("unknown --also part \"", part, "\" (expected embed or head)");
    }
  LP_CHECK(!spec.blocks.empty() || spec.embed || spec.head, "--trainable ", spec_name,
           " names no block: nothing would train");
  spec.description += " (blocks " + (spec.blocks.empty() ? std::string("none") : join_numbers(spec.blocks)) + ")";
  if (spec.embed) spec.description += " + embeddings";
  if (spec.head) spec.description += " + head (norm, lm_head)";
  return spec;
}

TrainableSpec resolve_trainable(const std::string& spec, const std::string& also, const ModelFolder& folder) {
  return resolve_trainable(spec, also, folder.has_manifest ? std::optional<Manifest>(folder.manifest) : std::nullopt,
                           folder.config.num_hidden_layers);
}

void apply_trainable(Model& model, const TrainableSpec& spec) {
  for (int64_t l = 0; l < model.n_layers(); l++)
    model.set_trainable(l, std::binary_search(spec.blocks.begin(), spec.blocks.end(), l));
  if (spec.embed) model.set_embeddings_trainable(true);
  if (spec.head) model.set_head_trainable(true);
}

}  // namespace llamapro
