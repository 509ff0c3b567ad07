#include "train/optimizer_state.h"

#include <cstdio>
#include <cstring>

#include "io/safetensors.h"
#include "util/check.h"
#include "util/strings.h"

namespace llamapro {

namespace fs = std::filesystem;

std::string optimizer_file_name(int rank, int world) {
  if (world == 1) return "optimizer.safetensors";
  char buf[64];
  std::snprintf(buf, sizeof buf, "optimizer-rank-%05d-of-%05d.safetensors", rank, world);
  return buf;
}

json optimizer_layout_json(const std::vector<FlatLayout>& layouts) {
  json groups = json::array();
  for (const FlatLayout& l : layouts) groups.push_back(l.to_json());
  return {{"world", layouts.empty() ? 1 : layouts[0].world}, {"groups", groups}};
}

SavedOptimizerState::SavedOptimizerState(const fs::path& dir, const json& state) : dir_(dir) {
  const std::string where = (dir / "state.json").string();
  if (state.contains("optimizer_layout")) {
    const json& l = state["optimizer_layout"];
    world_ = json_get<int>(l, "world", where);
    LP_CHECK(world_ >= 1 && world_ <= 1 << 20, where, ": optimizer_layout has world ", world_);
    for (const json& g : json_get<json>(l, "groups", where)) layouts_.push_back(FlatLayout::from_json(g, where));
  }
  for (int r = 0; r < world_; r++) {
    const fs::path file = dir / optimizer_file_name(r, world_);
    LP_CHECK(fs::exists(file), dir.string(), ": the checkpoint lacks ", file.filename().string(), " (saved by ",
             world_, " ranks)");
    files_.push_back(std::make_unique<SafetensorsFile>(file));
  }
  if (!state.contains("optimizer_layout")) {  // whole tensors, one file: a group per tensor
    for (const TensorInfo& t : files_[0]->tensors()) {
      if (!starts_with(t.name, "master.")) continue;
      FlatLayout g;
      g.name = g.tensors.emplace_back(t.name.substr(7));
      g.shapes.push_back({t.numel()});
      g.offsets.push_back(0);
      g.numel = g.slice = t.numel();
      layouts_.push_back(g);
    }
  }
  for (size_t i = 0; i < layouts_.size(); i++) {
    LP_CHECK(layouts_[i].world == world_, where, ": layout \"", layouts_[i].name, "\" is for ", layouts_[i].world,
             " ranks, the checkpoint for ", world_);
    for (size_t t = 0; t < layouts_[i].tensors.size(); t++)
      places_[layouts_[i].tensors[t]] = {i, layouts_[i].offsets[t], layouts_[i].numel_of(t)};
  }
}

SavedOptimizerState::~SavedOptimizerState() = default;

void SavedOptimizerState::read(const std::string& kind, const std::string& tensor, int64_t offset, int64_t n,
                               float* dst) const {
  auto it = places_.find(tensor);
  LP_CHECK(it != places_.end(), dir_.string(), ": the checkpoint has no optimizer state for \"", tensor, "\"");
  const Place& p = it->second;
  LP_CHECK(offset >= 0 && offset + n <= p.numel, dir_.string(), ": optimizer state of \"", tensor, "\" has ", p.numel,
           " elements, not the ", offset + n, " this model needs");
  const FlatLayout& l = layouts_[p.layout];
  const std::string key = kind + "." + l.name;
  for (int64_t at = p.offset + offset, end = at + n; at < end;) {  // across the ranks' slices
    const int rank = int(at / l.slice);
    const int64_t local = at % l.slice, take = std::min(end - at, l.slice - local);
    const SafetensorsFile& f = *files_[size_t(rank)];
    const TensorInfo* t = f.find(key);
    LP_CHECK(t && t->dtype == DType::F32 && t->numel() == l.slice, f.path().string(), ": no float32 tensor \"", key,
             "\" of ", l.slice, " elements");
    std::memcpy(dst, f.data(*t) + size_t(local) * 4, size_t(take) * 4);
    dst += take;
    at += take;
  }
}

}  // namespace llamapro
