// expander.h — block expansion of a Hugging Face model folder into a new one, streamed tensor
// by tensor from the memory-mapped input: peak memory is a few buffers whatever the model size.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include "model/manifest.h"
#include "expand/plan.h"
#include "io/dtype.h"

namespace llamapro {

struct ModelFolder;

struct ExpandOptions {
  PlanRequest request;              // made into the plan for the input's layer count
  std::string stage;                // label of this expansion; empty: "stage-K"
  uint64_t max_shard_bytes = 5'000'000'000;  // Hugging Face's default shard size
  std::optional<DType> dtype;       // output dtype of weights; empty: keep each tensor's own
  uint64_t seed = 0;                // for BlockInit::Random
  bool force = false;               // replace an existing output folder (never an input)
  bool progress = true;
  // Runs on the complete output before it is moved into place (e.g. the identity proof); a
  // throw leaves no output at all.
  std::function<void(const std::filesystem::path& staged)> before_commit;
};

struct ExpandResult {
  ExpansionPlan plan;
  Manifest manifest;
  uint64_t bytes_written = 0;  // tensor data
  size_t shards = 0;
  double seconds = 0;
};

// The size of the tensor data an expansion will write (for --dry-run and the disk check).
uint64_t expanded_bytes(const ModelFolder& in, const ExpandOptions& o);

// Expands `in` into `out` (which appears atomically, complete or not at all). `in` is never
// modified. Throws llamapro::Error on bad input or I/O failure.
ExpandResult expand_model(const ModelFolder& in, const std::filesystem::path& out, const ExpandOptions& o);
ExpandResult expand_model(const std::filesystem::path& in, const std::filesystem::path& out, const ExpandOptions& o);

}  // namespace llamapro
