// run_folder.h — the output folder of a training run and everything that keeps it honest:
// run.json (the settings and the data's fingerprint: a rerun continues only the same run on
// the same data), the lock (one run at a time), checkpoints/step-NNNNNNNN (written through
// util/output, pruned to the newest few, the newest found for resuming) and metrics.jsonl
// (cut back to what the resumed checkpoint had seen, so every record appears once).
//
// In a data-parallel run only rank 0 owns the folder (locks, writes); the others read.
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "util/json.h"
#include "util/output.h"

namespace llamapro {

// The entries of a run folder.
inline constexpr const char* kRunFile = "run.json";            // the settings and the data's fingerprint
inline constexpr const char* kMetricsFile = "metrics.jsonl";   // train/metrics_log.h
inline constexpr const char* kCheckpointsFolder = "checkpoints";

struct SavedCheckpoint {
  std::filesystem::path dir;  // holds optimizer.safetensors and state.json
  json state;                 // state.json
};

class RunFolder {
 public:
  // Claims `dir`: refuses an input, locks, removes stages of killed runs, and continues the
  // run found there when its run.json equals `identity`. Otherwise starts afresh: in a new or
  // empty folder, or with `force` over another llamapro run (never over a foreign folder).
  RunFolder(std::filesystem::path dir, const json& identity, const std::vector<std::filesystem::path>& inputs,
            bool force, bool owner);
  ~RunFolder();  // removes a folder this run created when no step was recorded in it
  // Phase two for the owner, after every rank has seen the old state: create the folder.
  void create();

  const std::filesystem::path& dir() const { return dir_; }
  std::optional<SavedCheckpoint> newest_checkpoint() const;

  // Where each rank of a sharded run writes its part of checkpoint `step` before the owner
  // gathers the parts into it (the owner empties it; stopped runs' ones are removed on start).
  std::filesystem::path rank_files(int64_t step) const;
  void clear_rank_files(int64_t step) const;
  // Atomically writes checkpoints/step-N: `write_tensors` fills the staged folder, then
  // state.json; then removes all but the newest `keep`. state gets "metrics_bytes" so a resume
  // can cut the log. Returns the checkpoint's folder.
  std::filesystem::path save_checkpoint(int64_t step, json state, int64_t keep,
                       const std::function<void(const std::filesystem::path& stage)>& write_tensors);
  // Opens metrics.jsonl for appending, first cutting it back to what `resumed` had recorded.
  void open_metrics(const std::optional<SavedCheckpoint>& resumed);
  void log(const json& record);

 private:
  std::filesystem::path dir_;
  json identity_;
  bool owner_ = false, fresh_ = false;
  bool created_ = false;   // the folder did not exist before this run
  bool recorded_ = false;  // a step was logged
  std::unique_ptr<OutputLock> lock_;
  std::ofstream metrics_;
};

}  // namespace llamapro
