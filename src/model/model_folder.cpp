#include "model/model_folder.h"

#include "model/tensor_names.h"
#include "util/check.h"

namespace llamapro {

ModelFolder ModelFolder::open(const std::filesystem::path& dir) {
  ModelFolder f;
  f.checkpoint = std::make_shared<const Checkpoint>(Checkpoint::open(dir));
  f.config = ModelConfig::from_json(f.checkpoint->config(), (dir / "config.json").string());
  validate_checkpoint(f.config, *f.checkpoint);
  auto manifest = Manifest::load_if_present(dir, f.config.num_hidden_layers);
  f.has_manifest = manifest.has_value();
  f.manifest = manifest ? *manifest : Manifest::for_base(f.config.num_hidden_layers);
  return f;
}

ModelFolderWriter::ModelFolderWriter(OutputSpec out, std::vector<TensorSpec> tensors, uint64_t max_shard_bytes)
    : out_(std::move(out)) {
  tensors_ = std::make_unique<CheckpointWriter>(out_.path(), std::move(tensors), max_shard_bytes);
}

void ModelFolderWriter::finish(const Finish& f) {
  LP_CHECK(f.config, "internal: a model folder needs a config");
  tensors_->finish();
  if (!f.side_files_from.empty()) copy_side_files(f.side_files_from, out_.path());
  if (f.manifest) f.manifest->save(out_.path());
  // config.json last: a folder holding one is a complete model.
  write_json_file(out_.path() / "config.json", f.config->to_json());
  if (f.before_commit) f.before_commit(out_.path());
  out_.commit();
}

}  // namespace llamapro
