// manifest.h — llamapro.json, the provenance manifest of an expanded model: where every block
// came from and what each expansion stage did (docs/manifest.md).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "util/json.h"

namespace llamapro {

inline constexpr const char* kManifestFile = "llamapro.json";
inline constexpr int kManifestVersion = 1;

struct BlockRecord {
  std::string origin = "base";  // "base" or the name of the stage that added it
  int64_t source = 0;           // base: index in the base model; added: index (now) of the block it copies
  std::string init = "pretrained";  // "pretrained", "copy" or "random"
};

struct StageRecord {
  std::string name;
  std::string created;             // UTC, ISO 8601
  std::vector<int64_t> positions;  // indices (now) of the blocks this stage added
  std::string init;                // "copy" or "random"
  std::vector<std::string> zeroed; // sub-modules zeroed in the new blocks
  int64_t layers_before = 0, layers_after = 0;
  int64_t trained_tokens = 0;      // tokens its blocks were trained on (all runs)
};

struct Manifest {
  int64_t base_layers = 0;
  std::vector<BlockRecord> blocks;  // one per block of the model, in order
  std::vector<StageRecord> stages;
  json training = json::array();  // every training run: data identity, tokens, losses, hyperparameters

  // A model nobody expanded yet: every block is its own base block.
  static Manifest for_base(int64_t layers);
  // Reads DIR/llamapro.json when present and checks it against the config's layer count.
  static std::optional<Manifest> load_if_present(const std::filesystem::path& dir, int64_t layers);
  static Manifest from_json(const json& j, const std::string& where);
  json to_json() const;
  void save(const std::filesystem::path& dir) const;

  const StageRecord* find_stage(const std::string& name) const;
  std::vector<int64_t> blocks_of(const std::string& origin) const;  // indices added by a stage
};

// Current UTC time as "2026-11-27T08:30:00Z".
std::string utc_now();

}  // namespace llamapro
