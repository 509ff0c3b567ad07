#include "model/manifest.h"

#include <ctime>

#include "util/check.h"

namespace llamapro {

Manifest Manifest::for_base(int64_t layers) {
  Manifest m;
  m.base_layers = layers;
  for (int64_t i = 0; i < layers; i++) m.blocks.push_back({"base", i, "pretrained"});
  return m;
}

std::optional<Manifest> Manifest::load_if_present(const std::filesystem::path& dir, int64_t layers) {
  auto path = dir / kManifestFile;
  if (!std::filesystem::exists(path)) return std::nullopt;
  Manifest m = from_json(read_json_file(path), path.string());
  LP_CHECK(static_cast<int64_t>(m.blocks.size()) == layers, path.string(), " describes ", m.blocks.size(),
           " blocks but config.json has ", layers, " layers");
  return m;
}

Manifest Manifest::from_json(const json& j, const std::string& where) {
  LP_CHECK(j.is_object(), where, ": expected a JSON object");
  LP_CHECK(json_get_or<std::string>(j, "format", "", where) == "llamapro.manifest", where,
           ": not a llamapro manifest (\"format\" must be \"llamapro.manifest\")");
  int version = json_get<int>(j, "version", where);
  LP_CHECK(version == kManifestVersion, where, ": manifest version ", version, " is not supported (expected ",
           kManifestVersion, ")");
  Manifest m;
  m.base_layers = json_get<int64_t>(j, "base_layers", where);
  const json blocks = json_get<json>(j, "blocks", where);
  LP_CHECK(blocks.is_array(), where, ": \"blocks\" must be an array");
  for (const auto& b : blocks) {
    const std::string at = where + " block " + std::to_string(m.blocks.size());
    m.blocks.push_back({json_get<std::string>(b, "origin", at), json_get<int64_t>(b, "source", at),
                        json_get<std::string>(b, "init", at)});
  }
  const json stages = json_get_or<json>(j, "stages", json::array(), where);
  LP_CHECK(stages.is_array(), where, ": \"stages\" must be an array");
  for (const auto& s : stages) {
    const std::string at = where + " stage";
    StageRecord r;
    r.name = json_get<std::string>(s, "name", at);
    r.created = json_get_or<std::string>(s, "created", "", at);
    r.positions = json_get<std::vector<int64_t>>(s, "positions", at);
    r.init = json_get_or<std::string>(s, "init", "copy", at);
    r.zeroed = json_get_or<std::vector<std::string>>(s, "zeroed", {}, at);
    r.layers_before = json_get_or<int64_t>(s, "layers_before", 0, at);
    r.layers_after = json_get_or<int64_t>(s, "layers_after", 0, at);
    r.trained_tokens = json_get_or<int64_t>(s, "trained_tokens", 0, at);
    m.stages.push_back(std::move(r));
  }
  m.training = json_get_or<json>(j, "training", json::array(), where);
  LP_CHECK(m.training.is_array(), where, ": \"training\" must be an array");
  for (size_t i = 0; i < m.blocks.size(); i++) {
    const auto& b = m.blocks[i];
    LP_CHECK(b.origin == "base" || m.find_stage(b.origin), where, ": block ", i, " comes from unknown stage \"",
             b.origin, "\"");
  }
  return m;
}

json Manifest::to_json() const {
  json blocks = json::array();
  for (size_t i = 0; i < this->blocks.size(); i++) {
    const auto& b = this->blocks[i];
    blocks.push_back({{"index", i}, {"origin", b.origin}, {"source", b.source}, {"init", b.init}});
  }
  json stages = json::array();
  for (const auto& s : this->stages)
    stages.push_back({{"name", s.name}, {"created", s.created}, {"positions", s.positions}, {"init", s.init},
                      {"zeroed", s.zeroed}, {"layers_before", s.layers_before}, {"layers_after", s.layers_after},
                      {"trained_tokens", s.trained_tokens}});
  return {{"format", "llamapro.manifest"}, {"version", kManifestVersion}, {"base_layers", base_layers},
          {"stages", stages}, {"training", training}, {"blocks", blocks}};
}

void Manifest::save(const std::filesystem::path& dir) const { write_json_file(dir / kManifestFile, to_json()); }

const StageRecord* Manifest::find_stage(const std::string& name) const {
  for (const auto& s : stages)
    if (s.name == name) return &s;
  return nullptr;
}

std::vector<int64_t> Manifest::blocks_of(const std::string& origin) const {
  std::vector<int64_t> out;
  for (size_t i = 0; i < blocks.size(); i++)
    if (blocks[i].origin == origin) out.push_back(static_cast<int64_t>(i));
  return out;
}

std::string utc_now() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace llamapro
