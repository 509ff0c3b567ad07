// summary.h — what a model folder holds, as `inspect` shows it: architecture and dimensions,
// the parameter count as transformers counts it, dtypes, RoPE, shards, and per block its size
// and (with a manifest) its origin.
#pragma once

#include <cstdint>
#include <string>

#include "io/checkpoint.h"
#include "model/config.h"
#include "model/manifest.h"
#include "util/json.h"

namespace llamapro {

// Parameters of the model as transformers counts them: tied weights once, buffers not at all.
int64_t parameter_count(const ModelConfig& c, const Checkpoint& ck);

// The folder as JSON (the keys `inspect --json` prints); stages and training from the manifest.
json model_summary(const ModelConfig& c, const Checkpoint& ck, const Manifest* manifest);

// One row per block: index, parameters, dtype(s), and origin/source/init with a manifest.
json layer_table(const ModelConfig& c, const Checkpoint& ck, const Manifest* manifest);

// The summary as `inspect` prints it, with the layer table when given and the stages and
// training records of the manifest.
std::string summary_text(const json& summary, const json* layers, const Manifest* manifest);

}  // namespace llamapro
