#include "train/run_folder.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "util/check.h"
#include "util/files.h"
#include "util/strings.h"

namespace llamapro {

namespace fs = std::filesystem;

namespace {

std::string step_name(int64_t step) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "step-%08lld", (long long)step);
  return buf;
}

bool is_checkpoint_name(const std::string& name) {
  return starts_with(name, "step-") && name.find('.') == std::string::npos;
}

// What differs between two run.json objects, for the refusal message.
std::string differences(const json& previous, const json& identity) {
  std::string what;
  for (const auto& [k, v] : identity.items())
    if (!previous.contains(k) || previous[k] != v) what += (what.empty() ? "" : ", ") + k;
  return what.empty() ? "settings" : what;
}

// What killed runs leave inside the run folder: stages (x.partial-PID) and the lock files of
// its inner outputs. The folder's own lock is held, so none of them belongs to a live run.
void remove_stale_partials(const fs::path& dir) {
  std::error_code ec;
  for (const fs::path& d : {dir, dir / kCheckpointsFolder}) {
    std::vector<fs::path> stages, locks;
    for (const auto& e : fs::directory_iterator(d, ec)) {
      const std::string name = e.path().filename().string();
      if (name.find(".partial-") != std::string::npos) stages.push_back(e.path());
      else if (ends_with(name, ".lock")) locks.push_back(e.path());
    }
    for (const auto& p : stages) {
      std::fprintf(stderr, "note: removing %s, left unfinished by a run that was stopped\n", p.string().c_str());
      fs::remove_all(p, ec);
    }
    for (const auto& p : locks) fs::remove(p, ec);
  }
}

// The data folders whose contents changed when that is all that differs between two run
// identities (same paths and weights, other fingerprints); "" otherwise.
std::string changed_data(const json& previous, const json& identity) {
  if (!previous.is_object() || differences(previous, identity) != "data") return "";
  const json &a = previous["data"], &b = identity["data"];
  if (!a.is_array() || !b.is_array() || a.size() != b.size()) return "";
  std::string changed;
  for (size_t i = 0; i < a.size(); i++) {
    if (!a[i].is_object() || !b[i].is_object()) return "";
    json x = a[i], y = b[i];
    x.erase("fingerprint");
    y.erase("fingerprint");
    if (x != y) return "";
    if (a[i] != b[i]) changed += (changed.empty() ? "" : ", ") + b[i].value("path", std::string());
  }
  return changed;
}

}  // namespace

RunFolder::RunFolder(fs::path dir, const json& identity, const std::vector<fs::path>& inputs, bool force, bool owner)
    : dir_(std::move(dir)), identity_(identity), owner_(owner) {
  LP_CHECK(!dir_.empty(), "-o: the output path is empty");
  check_not_an_input(dir_, inputs, "-o");
  if (owner_) lock_ = std::make_unique<OutputLock>(dir_);
  std::error_code ec;
  if (fs::exists(dir_ / kRunFile)) {
    json previous = read_json_file(dir_ / kRunFile);
    if (previous == identity) return;  // the same run: continue it
    const std::string changed = changed_data(previous, identity);
    LP_CHECK(force || changed.empty(), dir_.string(), " holds a run on data ", changed,
             " whose contents changed since (data.json or shard sizes differ); resuming would not be exact: use "
             "another -o or --force to start over");
    LP_CHECK(force, dir_.string(), " holds a different training run (", differences(previous, identity),
             " differ); use another -o or --force to start over");
  } else if (fs::exists(dir_)) {
    LP_CHECK(fs::is_directory(dir_), "-o ", dir_.string(), " is not a folder");
    if (!fs::is_empty(dir_, ec)) {
      LP_CHECK(force, "-o ", dir_.string(), " exists and is not a llamapro training run; use another -o or --force");
      LP_CHECK(is_replaceable_folder(dir_), "-o ", dir_.string(),
               " is a folder llamapro did not write (none of config.json, data.json or run.json in it); not replacing "
               "it, even with --force");
    }
  }
  fresh_ = true;
}

RunFolder::~RunFolder() {
  // A new folder that never recorded a step (the run failed before its first one) held nothing:
  // it goes, as an unfinished output does.
  if (!owner_ || !created_ || recorded_) return;
  metrics_.close();
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

void RunFolder::create() {
  if (!owner_) return;
  std::error_code ec;
  created_ = fresh_ && !fs::exists(dir_);
  if (fresh_ && fs::exists(dir_)) {
    fs::remove_all(dir_, ec);
    LP_CHECK(!ec, "cannot clear ", dir_.string(), ": ", ec.message());
  }
  fs::create_directories(dir_ / kCheckpointsFolder, ec);
  LP_CHECK(!ec, "cannot create ", (dir_ / kCheckpointsFolder).string(), ": ", ec.message());
  remove_stale_partials(dir_);
  if (fresh_) write_json_file(dir_ / kRunFile, identity_);
}

std::optional<SavedCheckpoint> RunFolder::newest_checkpoint() const {
  std::string newest;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir_ / kCheckpointsFolder, ec)) {
    const std::string name = e.path().filename().string();
    if (e.is_directory() && is_checkpoint_name(name) && fs::exists(e.path() / "state.json") && name > newest)
      newest = name;
  }
  if (newest.empty()) return std::nullopt;
  const fs::path d = dir_ / kCheckpointsFolder / newest;
  return SavedCheckpoint{d, read_json_file(d / "state.json")};
}

fs::path RunFolder::rank_files(int64_t step) const {
  return dir_ / kCheckpointsFolder / (step_name(step) + ".partial-ranks");
}

void RunFolder::clear_rank_files(int64_t step) const {
  if (!owner_) return;
  std::error_code ec;
  fs::remove_all(rank_files(step), ec);
  fs::create_directories(rank_files(step), ec);
  LP_CHECK(!ec, "cannot create ", rank_files(step).string(), ": ", ec.message());
}

fs::path RunFolder::save_checkpoint(int64_t step, json state, int64_t keep,
                                    const std::function<void(const fs::path&)>& write_tensors) {
  const fs::path target = dir_ / kCheckpointsFolder / step_name(step);
  if (!owner_) return target;
  std::error_code ec;
  if (metrics_.is_open()) state["metrics_bytes"] = static_cast<int64_t>(fs::file_size(dir_ / kMetricsFile, ec));
  {
    OutputSpec spec{target, OutputKind::Folder, {}, /*force=*/true, "checkpoint", {"state.json"}};
    spec.check_inputs_read = false;  // may replace the checkpoint a resume read
    Output out(spec);
    write_tensors(out.path());
    write_json_file(out.path() / "state.json", state);
    out.commit();
  }
  fs::remove_all(rank_files(step), ec);
  std::vector<fs::path> all;
  for (const auto& e : fs::directory_iterator(dir_ / kCheckpointsFolder))
    if (e.is_directory() && is_checkpoint_name(e.path().filename().string())) all.push_back(e.path());
  std::sort(all.begin(), all.end());
  for (size_t i = 0; i + size_t(keep) < all.size(); i++) fs::remove_all(all[i]);
  return target;
}

void RunFolder::open_metrics(const std::optional<SavedCheckpoint>& resumed) {
  if (!owner_) return;
  const fs::path file = dir_ / kMetricsFile;
  // Records after the checkpoint belong to steps that will run again.
  int64_t keep = 0;
  if (resumed) keep = json_get_or<int64_t>(resumed->state, "metrics_bytes", 0, (resumed->dir / "state.json").string());
  std::error_code ec;
  if (fs::exists(file) && int64_t(fs::file_size(file, ec)) > keep) {
    fs::resize_file(file, uintmax_t(keep), ec);
    LP_CHECK(!ec, "cannot cut ", file.string(), " back to the checkpoint: ", ec.message());
  }
  metrics_.open(file, std::ios::app);
  LP_CHECK(metrics_.good(), "cannot open ", file.string(), " for appending");
}

void RunFolder::log(const json& record) {
  if (!metrics_.is_open()) return;
  metrics_ << record.dump() << "\n";
  metrics_.flush();
  recorded_ = true;
}

}  // namespace llamapro
