#include "train/export.h"

#include <algorithm>
#include <map>

#include "model/model_folder.h"
#include "model/rewrite.h"
#include "train/trainable.h"
#include "util/check.h"

namespace llamapro {

namespace fs = std::filesystem;

namespace {

Manifest with_run(Manifest m, const TrainableSpec& trainable, const json& record, int64_t tokens) {
  m.training.push_back(record);
  for (auto& stage : m.stages) {  // stages whose blocks trained count the tokens they saw
    bool touched = false;
    for (int64_t b : m.blocks_of(stage.name))
      touched |= std::binary_search(trainable.blocks.begin(), trainable.blocks.end(), b);
    if (touched) stage.trained_tokens += tokens;
  }
  return m;
}

// Moves the finished model's files from `from` into `run_dir`, replacing an earlier export;
// config.json last, since a folder with a config.json is a complete model.
void move_into(const fs::path& from, const fs::path& run_dir) {
  std::error_code ec;
  fs::remove(run_dir / "config.json", ec);
  for (const auto& e : fs::directory_iterator(run_dir))
    if (e.is_regular_file() && is_weight_file(e.path())) fs::remove(e.path());
  for (const auto& e : fs::directory_iterator(from))
    if (e.path().filename() != "config.json") fs::rename(e.path(), run_dir / e.path().filename());
  fs::rename(from / "config.json", run_dir / "config.json");
  fs::remove_all(from);
}

}  // namespace

void export_trained_model(const ModelFolder& base, const std::map<std::string, torch::Tensor>& trained,
                          const TrainableSpec& trainable, const json& record, int64_t tokens, const fs::path& run_dir) {
  const fs::path staged = run_dir / ".model";
  write_model_with(base, {staged, OutputKind::Folder, {}, /*force=*/true}, [&](const std::string& name) {
    auto it = trained.find(name);
    return it == trained.end() ? torch::Tensor() : it->second;
  }, with_run(base.manifest, trainable, record, tokens));
  move_into(staged, run_dir);
}

}  // namespace llamapro
