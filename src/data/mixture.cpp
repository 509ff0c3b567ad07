// mixture.cpp — weighted, deterministic interleaving of several data folders (see mixture.h).
#include "data/mixture.h"

#include <cmath>
#include <map>

#include "util/check.h"
#include "util/files.h"

namespace llamapro {

DataSource parse_data_source(const std::string& spec) {
  DataSource s;
  s.dir = spec;
  const size_t colon = spec.rfind(':');
  if (colon != std::string::npos) {
    const std::string tail = spec.substr(colon + 1);
    size_t used = 0;
    double w = 0;
    try {
      w = std::stod(tail, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == tail.size() && !tail.empty()) {
      LP_CHECK(std::isfinite(w) && w > 0 && w <= 1e6, "--data ", spec, ": the weight ", tail, " is not in (0, 1e+06]");
      s.dir = spec.substr(0, colon);
      s.weight = w;
    }
  }
  LP_CHECK(!s.dir.empty(), "--data ", spec, ": no folder named");
  return s;
}

void name_sources(std::vector<DataSource>& sources) {
  std::map<std::string, int> seen;
  for (DataSource& s : sources) {
    const std::string base = folder_name(s.dir);
    const int n = ++seen[base];
    s.name = n == 1 ? base : base + "-" + std::to_string(n);
  }
}

DataMixture::DataMixture(std::vector<DataSource> sources, const LoaderOptions& o) : sources_(std::move(sources)) {
  LP_CHECK(!sources_.empty(), "internal: a data mixture needs a source");
  name_sources(sources_);
  for (const DataSource& s : sources_) {
    loaders_.emplace_back(s.dir, o);
    total_weight_ += s.weight;
  }
  taken_.assign(sources_.size(), 0);
}

Batch DataMixture::next() {
  int64_t drawn = 0;
  for (int64_t t : taken_) drawn += t;
  size_t best = 0;
  double best_owed = -INFINITY;
  for (size_t i = 0; i < sources_.size(); i++) {
    const double owed = share(i) * double(drawn + 1) - double(taken_[i]);
    if (owed > best_owed + 1e-12) best = i, best_owed = owed;
  }
  last_ = best;
  taken_[best]++;
  return loaders_[best].next();
}

int64_t DataMixture::sequences_per_epoch() const {
  int64_t n = 0;
  for (const auto& l : loaders_) n += l.sequences_per_epoch();
  return n;
}

json DataMixture::state() const {
  json sources = json::array();
  for (size_t i = 0; i < loaders_.size(); i++) {
    json s = loaders_[i].state().to_json();
    s["taken"] = taken_[i];
    sources.push_back(s);
  }
  return {{"sources", sources}};
}

void DataMixture::restore(const json& state) {
  const json sources = json_get<json>(state, "sources", "loader state");
  LP_CHECK(sources.is_array() && sources.size() == loaders_.size(), "loader state: it holds ", sources.size(),
           " data sources, this run has ", loaders_.size());
  for (size_t i = 0; i < loaders_.size(); i++) {
    loaders_[i].restore(LoaderState::from_json(sources[i]));
    taken_[i] = json_get<int64_t>(sources[i], "taken", "loader state");
    LP_CHECK(taken_[i] >= 0, "loader state: a negative batch count");
  }
}

}  // namespace llamapro
