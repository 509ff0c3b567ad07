// mixture.h — training batches drawn from several prepared data folders in proportion to their
// weights (replay of general data against forgetting, or any blend), deterministic and exactly
// resumable. Each micro-batch comes whole from one source: the one owed the most batches so
// far (weight share × batches drawn − batches it gave), ties to the earlier source, so the
// proportions hold from the first batches on with no random draws. One source of any weight is
// exactly that source's BatchLoader.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "data/loader.h"
#include "util/json.h"

namespace llamapro {

struct DataSource {
  std::string dir;
  double weight = 1.0;
  std::string name;  // for metrics and messages: the folder's name, made unique
};

// "DIR" or "DIR:WEIGHT" (weight > 0); a path that itself holds ':' is taken whole unless the part
// after the last ':' is a number.
DataSource parse_data_source(const std::string& spec);
// Gives each source a distinct name (folder names, "-2", "-3" appended to repeats).
void name_sources(std::vector<DataSource>& sources);

class DataMixture {
 public:
  // One loader per source with the same options (batch, sequence, rank, packing unless unset).
  DataMixture(std::vector<DataSource> sources, const LoaderOptions& o);

  Batch next();  // from the source owed the most
  size_t last_source() const { return last_; }
  const std::vector<DataSource>& sources() const { return sources_; }
  const BatchLoader& loader(size_t i) const { return loaders_[i]; }
  double share(size_t i) const { return sources_[i].weight / total_weight_; }  // of all batches
  // Batches each source has given.
  const std::vector<int64_t>& taken() const { return taken_; }
  // Rows per epoch summed over the sources, for this rank.
  int64_t sequences_per_epoch() const;

  json state() const;              // every source's position and how many batches each gave
  void restore(const json& state);

 private:
  std::vector<DataSource> sources_;
  std::vector<BatchLoader> loaders_;
  std::vector<int64_t> taken_;
  double total_weight_ = 0;
  size_t last_ = 0;
};

}  // namespace llamapro
