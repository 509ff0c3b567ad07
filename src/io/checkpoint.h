// checkpoint.h — a Hugging Face model folder: config.json plus one model.safetensors or
// shards listed in model.safetensors.index.json. Tensors are memory-mapped and looked up by
// their Hugging Face names; the writer streams tensors into shards of a bounded size.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "io/safetensors.h"
#include "util/json.h"

namespace llamapro {

// A read-only view of one tensor inside a mapped file.
struct TensorRef {
  const TensorInfo* info = nullptr;
  const uint8_t* data = nullptr;
  const SafetensorsFile* file = nullptr;
};

class Checkpoint {
 public:
  // Opens a folder; checks that the index and the shards agree (no missing, duplicate or
  // unlisted tensors). Does not read tensor data.
  static Checkpoint open(const std::filesystem::path& dir);

  const std::filesystem::path& dir() const { return dir_; }
  const json& config() const { return config_; }  // config.json as written
  const std::vector<std::string>& names() const { return names_; }  // shard order, then data order
  bool contains(const std::string& name) const { return where_.count(name) != 0; }
  TensorRef tensor(const std::string& name) const;  // throws when absent
  const std::vector<std::unique_ptr<SafetensorsFile>>& shards() const { return shards_; }
  bool is_sharded() const { return sharded_; }
  uint64_t tensor_bytes() const;  // sum of all tensor data
  int64_t stored_elements() const;  // sum of all tensor elements (model/summary counts parameters)

 private:
  std::filesystem::path dir_;
  json config_;
  bool sharded_ = false;
  std::vector<std::unique_ptr<SafetensorsFile>> shards_;
  std::vector<std::string> names_;
  std::map<std::string, TensorRef> where_;
};

// Writes model weights as Hugging Face does: "model.safetensors" when everything fits in one
// shard, else "model-0000K-of-0000N.safetensors" plus model.safetensors.index.json. Shards
// are filled greedily in declaration order, a new one starting when the next tensor would
// exceed max_shard_bytes. Tensors are then written in that same order, streaming.
class CheckpointWriter {
 public:
  CheckpointWriter(const std::filesystem::path& dir, std::vector<TensorSpec> specs, uint64_t max_shard_bytes);

  size_t shard_count() const { return shard_specs_.size(); }
  const TensorSpec& next() const;  // the tensor whose bytes are expected next
  void append(const void* data, size_t n);  // bytes of the current tensor, any piece size
  // Bytes of the current tensor taken from a file (no copy through user space); n must not
  // run past the end of the current tensor.
  void append_from_file(int fd, uint64_t offset, uint64_t n);
  void write(const std::string& name, const void* data, size_t n);  // one whole tensor
  void finish();  // writes the index (when sharded); every tensor must have been written

 private:
  void advance();
  std::filesystem::path dir_;
  std::vector<std::vector<TensorSpec>> shard_specs_;
  std::vector<std::string> shard_names_;
  size_t shard_ = 0, tensor_ = 0;
  uint64_t tensor_written_ = 0;
  std::unique_ptr<SafetensorsWriter> writer_;
};

// The files of a model folder that hold its weights: safetensors shards and their index, and the
// PyTorch .bin files and index (which are refused for reading).
bool is_weight_file(const std::filesystem::path& path);

// Copies the files of a model folder that are neither weights nor config.json (tokenizer,
// generation config, chat template, ...) to another folder, unchanged; a training run's own
// files (run.json, metrics.jsonl) stay behind.
void copy_side_files(const std::filesystem::path& from, const std::filesystem::path& to);

}  // namespace llamapro
