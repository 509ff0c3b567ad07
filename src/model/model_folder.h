// model_folder.h — the one reader and the one writer of Hugging Face model folders.
//
// Reading opens config.json, the tensors (checked against the config) and llamapro.json once,
// so every command sees the same validated folder. Writing always takes the same road: a stage
// owned by util/output (inputs protected, lock, cleanup on signals) → tensors streamed into
// shards → side files of the source folder (tokenizer, generation config) → llamapro.json →
// config.json last → one rename.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <vector>

#include "io/checkpoint.h"
#include "model/config.h"
#include "model/manifest.h"
#include "util/output.h"

namespace llamapro {

struct ModelFolder {
  std::shared_ptr<const Checkpoint> checkpoint;
  ModelConfig config;
  Manifest manifest;          // llamapro.json, or every block its own base block
  bool has_manifest = false;  // llamapro.json was present

  static ModelFolder open(const std::filesystem::path& dir);
  const std::filesystem::path& dir() const { return checkpoint->dir(); }
};

class ModelFolderWriter {
 public:
  ModelFolderWriter(OutputSpec out, std::vector<TensorSpec> tensors, uint64_t max_shard_bytes);

  CheckpointWriter& tensors() { return *tensors_; }
  const std::filesystem::path& stage() const { return out_.path(); }  // for extra side files

  struct Finish {
    const ModelConfig* config = nullptr;                // written last
    const Manifest* manifest = nullptr;                 // llamapro.json, when given
    std::filesystem::path side_files_from;              // copy tokenizer etc. from here, when given
    std::function<void(const std::filesystem::path&)> before_commit;  // e.g. a proof on the stage
  };
  // Every tensor must have been written. Then side files, manifest, config, commit.
  void finish(const Finish& f);

 private:
  Output out_;
  std::unique_ptr<CheckpointWriter> tensors_;
};

}  // namespace llamapro
