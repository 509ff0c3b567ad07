// optimizer_state.h — the optimizer state in a checkpoint: one safetensors file per rank that
// held a slice ("optimizer.safetensors" when one held it all), each with "master.<group>",
// "exp_avg.<group>" and "exp_avg_sq.<group>" (float32), and the groups' flat layouts in
// state.json. Read back by tensor and element range, so a run resumes under any --shard mode
// and any world size: each rank copies just its own slice out of the mapped files.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "train/flat_layout.h"
#include "util/json.h"

namespace llamapro {

class SafetensorsFile;

// "optimizer.safetensors" for a single file, "optimizer-rank-00001-of-00003.safetensors" otherwise.
std::string optimizer_file_name(int rank, int world);

// The state.json entry that says how the files are laid out.
json optimizer_layout_json(const std::vector<FlatLayout>& layouts);

class SavedOptimizerState {
 public:
  // Opens the files of the checkpoint in `dir` whose state.json is `state`.
  SavedOptimizerState(const std::filesystem::path& dir, const json& state);
  ~SavedOptimizerState();

  bool has(const std::string& tensor) const { return places_.count(tensor) > 0; }
  // Elements [offset, offset + n) of the flattened `kind` ("master", "exp_avg", "exp_avg_sq")
  // of `tensor` into dst.
  void read(const std::string& kind, const std::string& tensor, int64_t offset, int64_t n, float* dst) const;
  int world() const { return world_; }

 private:
  struct Place {
    size_t layout;
    int64_t offset, numel;
  };
  std::filesystem::path dir_;
  int world_ = 1;
  std::vector<FlatLayout> layouts_;
  std::map<std::string, Place> places_;
  std::vector<std::unique_ptr<SafetensorsFile>> files_;  // by rank
};

}  // namespace llamapro
