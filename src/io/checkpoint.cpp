#include "io/checkpoint.h"

#include <cstdio>
#include <set>

#include "util/check.h"
#include "util/strings.h"

namespace llamapro {

namespace fs = std::filesystem;

namespace {
const char* kIndexName = "model.safetensors.index.json";
const char* kSingleName = "model.safetensors";

// Files that describe a model folder's own history rather than the model: a training run's
// settings and metrics, and leftovers of interrupted writes. They do not travel with copies.
bool is_run_file(const fs::path& p) {
  auto name = p.filename().string();
  return name == "run.json" || name == "metrics.jsonl" || name.find(".partial-") != std::string::npos;
}
}  // namespace

bool is_weight_file(const fs::path& p) {
  auto name = p.filename().string();
  return ends_with(name, ".safetensors") || name == kIndexName || ends_with(name, ".bin") ||
         name == "pytorch_model.bin.index.json";
}

Checkpoint Checkpoint::open(const fs::path& dir) {
  Checkpoint ck;
  ck.dir_ = dir;
  LP_CHECK(fs::is_directory(dir), "model folder ", dir.string(), " does not exist or is not a directory");
  fs::path config_path = dir / "config.json";
  LP_CHECK(fs::exists(config_path), dir.string(), ": no config.json (expected a Hugging Face model folder)");
  ck.config_ = read_json_file(config_path);
  LP_CHECK(ck.config_.is_object(), config_path.string(), ": expected a JSON object");

  auto add_shard = [&](const fs::path& path) -> SafetensorsFile& {
    ck.shards_.push_back(std::make_unique<SafetensorsFile>(path));
    return *ck.shards_.back();
  };

  if (fs::exists(dir / kIndexName)) {
    ck.sharded_ = true;
    const std::string where = (dir / kIndexName).string();
    json index = read_json_file(dir / kIndexName);
    LP_CHECK(index.is_object() && index.contains("weight_map") && index["weight_map"].is_object(), where,
             ": missing \"weight_map\" object");
    std::map<std::string, std::set<std::string>> by_file;  // shard -> tensors the index puts there
    for (const auto& [name, file] : index["weight_map"].items()) {
      LP_CHECK(file.is_string(), where, ": weight_map entry of \"", name, "\" is not a file name");
      std::string f = file.get<std::string>();
      LP_CHECK(f.find('/') == std::string::npos && f != ".." && !f.empty(), where, ": shard name \"", f,
               "\" must be a plain file name");
      by_file[f].insert(name);
    }
    for (const auto& [file, listed] : by_file) {
      LP_CHECK(fs::exists(dir / file), where, " lists shard ", file, " which does not exist");
      SafetensorsFile& shard = add_shard(dir / file);
      for (const auto& name : listed)
        LP_CHECK(shard.find(name), where, " puts tensor \"", name, "\" in ", file, " but that shard lacks it");
      for (const auto& t : shard.tensors())
        LP_CHECK(listed.count(t.name), dir.string(), "/", file, " holds tensor \"", t.name,
                 "\" which the index does not list there");
    }
  } else if (fs::exists(dir / kSingleName)) {
    add_shard(dir / kSingleName);
  } else {
    bool has_bin = fs::exists(dir / "pytorch_model.bin") || fs::exists(dir / "pytorch_model.bin.index.json");
    LP_FAIL(dir.string(), ": no model.safetensors or ", kIndexName,
            has_bin ? " (only PyTorch .bin weights, which are not supported: convert them to safetensors)" : "");
  }

  for (const auto& shard : ck.shards_) {
    for (const auto& t : shard->tensors()) {
      LP_CHECK(!ck.where_.count(t.name), dir.string(), ": tensor \"", t.name, "\" appears in both ",
               ck.where_[t.name].file->path().filename().string(), " and ", shard->path().filename().string());
      ck.where_[t.name] = TensorRef{&t, shard->data(t), shard.get()};
      ck.names_.push_back(t.name);
    }
  }
  return ck;
}

TensorRef Checkpoint::tensor(const std::string& name) const {
  auto it = where_.find(name);
  LP_CHECK(it != where_.end(), dir_.string(), ": tensor \"", name, "\" not found");
  return it->second;
}

uint64_t Checkpoint::tensor_bytes() const {
  uint64_t n = 0;
  for (const auto& [name, ref] : where_) n += ref.info->nbytes();
  return n;
}

int64_t Checkpoint::stored_elements() const {
  int64_t n = 0;
  for (const auto& [name, ref] : where_) n += ref.info->numel();
  return n;
}

CheckpointWriter::CheckpointWriter(const fs::path& dir, std::vector<TensorSpec> specs, uint64_t max_shard_bytes)
    : dir_(dir) {
  LP_CHECK(max_shard_bytes > 0, "shard size must be positive");
  std::set<std::string> seen;
  uint64_t current = 0;
  for (auto& s : specs) {
    LP_CHECK(seen.insert(s.name).second, "internal: tensor \"", s.name, "\" written twice");
    if (shard_specs_.empty() || (current > 0 && current + s.nbytes() > max_shard_bytes)) {
      shard_specs_.emplace_back();
      current = 0;
    }
    current += s.nbytes();
    shard_specs_.back().push_back(std::move(s));
  }
  if (shard_specs_.empty()) shard_specs_.emplace_back();
  size_t n = shard_specs_.size();
  for (size_t i = 0; i < n; i++) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "model-%05zu-of-%05zu.safetensors", i + 1, n);
    shard_names_.push_back(n == 1 ? kSingleName : buf);
  }
  writer_ = std::make_unique<SafetensorsWriter>(dir_ / shard_names_[0], shard_specs_[0]);
  advance();
}

// Moves past finished tensors and shards so that next() names the tensor expected next.
void CheckpointWriter::advance() {
  while (shard_ < shard_specs_.size()) {
    auto& specs = shard_specs_[shard_];
    while (tensor_ < specs.size() && tensor_written_ == specs[tensor_].nbytes()) {
      tensor_++;
      tensor_written_ = 0;
    }
    if (tensor_ < specs.size()) return;
    writer_->finish();
    shard_++;
    tensor_ = 0;
    if (shard_ < shard_specs_.size())
      writer_ = std::make_unique<SafetensorsWriter>(dir_ / shard_names_[shard_], shard_specs_[shard_]);
  }
}

const TensorSpec& CheckpointWriter::next() const {
  LP_CHECK(shard_ < shard_specs_.size(), "internal: all tensors already written");
  return shard_specs_[shard_][tensor_];
}

void CheckpointWriter::append(const void* data, size_t n) {
  const auto* p = static_cast<const uint8_t*>(data);
  while (n > 0) {
    const TensorSpec& spec = next();
    uint64_t take = std::min<uint64_t>(n, spec.nbytes() - tensor_written_);
    writer_->append(p, take);
    tensor_written_ += take;
    p += take;
    n -= take;
    advance();
  }
}

void CheckpointWriter::append_from_file(int fd, uint64_t offset, uint64_t n) {
  const TensorSpec& spec = next();
  LP_CHECK(n <= spec.nbytes() - tensor_written_, "internal: copy runs past the end of tensor \"", spec.name, "\"");
  writer_->append_from_file(fd, offset, n);
  tensor_written_ += n;
  advance();
}

void CheckpointWriter::write(const std::string& name, const void* data, size_t n) {
  if (n == 0) return;  // advance() already stepped over empty tensors
  const TensorSpec& spec = next();
  LP_CHECK(spec.name == name && tensor_written_ == 0 && n == spec.nbytes(), "internal: expected tensor \"",
           spec.name, "\" (", spec.nbytes(), " bytes), got \"", name, "\" (", n, " bytes)");
  append(data, n);
}

void CheckpointWriter::finish() {
  LP_CHECK(shard_ == shard_specs_.size(), "internal: checkpoint incomplete, next tensor \"", next().name, "\"");
  if (shard_specs_.size() == 1) return;
  json index;
  uint64_t total = 0;
  json weight_map = json::object();
  for (size_t i = 0; i < shard_specs_.size(); i++)
    for (const auto& s : shard_specs_[i]) {
      weight_map[s.name] = shard_names_[i];
      total += s.nbytes();
    }
  index["metadata"] = {{"total_size", total}};
  index["weight_map"] = weight_map;
  write_json_file(dir_ / kIndexName, index);
}

void copy_side_files(const fs::path& from, const fs::path& to) {
  for (const auto& e : fs::directory_iterator(from)) {
    if (!e.is_regular_file() || is_weight_file(e.path()) || is_run_file(e.path()) || e.path().filename() == "config.json")
      continue;
    fs::copy_file(e.path(), to / e.path().filename(), fs::copy_options::overwrite_existing);
  }
}

}  // namespace llamapro
