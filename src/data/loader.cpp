// loader.cpp — BatchLoader: packed fixed-length sequences from the shards of one split, in a
// seeded per-epoch permutation, split between data-parallel ranks, resumable exactly.
#include "data/loader.h"

#include <algorithm>

#include "data/data_json.h"
#include "data/shard.h"
#include "util/check.h"
#include "util/random.h"

namespace llamapro {

// ---------------------------------------------------------------------------------------------
// The split as one token sequence

class TokenStream {
 public:
  TokenStream(const std::vector<SplitShard>& shards, int64_t vocab_size) {
    starts_.push_back(0);
    for (const SplitShard& s : shards) {
      auto r = std::make_unique<ShardReader>(s.path);
      const ShardHeader& h = r->header();
      std::string where = s.path.string();
      LP_CHECK(h.vocab_size == vocab_size, where, ": vocab size ", h.vocab_size, " differs from data.json's ", vocab_size);
      LP_CHECK(h.tokens == s.tokens && h.documents == s.documents, where, ": holds ", h.tokens, " tokens in ",
               h.documents, " documents, data.json says ", s.tokens, " in ", s.documents);
      starts_.push_back(starts_.back() + h.tokens);
      readers_.push_back(std::move(r));
    }
  }
  int64_t tokens() const { return starts_.back(); }

  // Tokens [begin, begin + n) of the concatenated split, crossing shard boundaries.
  void read(int64_t begin, int64_t n, int32_t* ids, uint8_t* mask) const {
    size_t k = std::upper_bound(starts_.begin(), starts_.end(), begin) - starts_.begin() - 1;
    while (n > 0) {
      int64_t local = begin - starts_[k];
      int64_t take = std::min(n, starts_[k + 1] - begin);
      readers_[k]->copy_tokens(local, take, ids);
      readers_[k]->copy_mask(local, take, mask);
      ids += take;
      mask += take;
      begin += take;
      n -= take;
      ++k;
    }
  }

 private:
  std::vector<std::unique_ptr<ShardReader>> readers_;
  std::vector<int64_t> starts_;  // token index of each shard's first token; back() = total
};

// ---------------------------------------------------------------------------------------------
// State

json LoaderState::to_json() const { return json{{"epoch", epoch}, {"position", position}}; }

LoaderState LoaderState::from_json(const json& j) {
  LoaderState s;
  s.epoch = json_get<int64_t>(j, "epoch", "loader state");
  s.position = json_get<int64_t>(j, "position", "loader state");
  LP_CHECK(s.epoch >= 0 && s.position >= 0, "loader state: epoch and position must be >= 0");
  return s;
}

// ---------------------------------------------------------------------------------------------
// Loader

BatchLoader::BatchLoader(const std::filesystem::path& data_dir, const LoaderOptions& o) : o_(o) {
  LP_CHECK(o.batch_size >= 1, "batch size must be >= 1, got ", o.batch_size);
  LP_CHECK(o.seq_len >= 1, "sequence length must be >= 1, got ", o.seq_len);
  LP_CHECK(o.world_size >= 1 && o.rank >= 0 && o.rank < o.world_size, "bad rank ", o.rank, " of world size ",
           o.world_size);
  json data = read_data_json(data_dir);
  DataInfo info = read_data_info(data_dir);
  const char* split = o.validation ? "validation" : "train";
  stream_ = std::make_unique<TokenStream>(split_shards(data, data_dir, split), info.vocab_size);
  sequences_ = stream_->tokens() / o.seq_len;
  per_rank_ = sequences_ / o.world_size;
  LP_CHECK(per_rank_ >= o.batch_size, data_dir.string(), ": the ", split, " split has ", stream_->tokens(),
           " tokens = ", sequences_, " sequences of ", o.seq_len, " tokens, which gives ", per_rank_,
           " per rank for ", o.world_size, " rank(s); a batch needs ", o.batch_size,
           " (use more data, a shorter sequence or a smaller batch)");
  if (o_.validation) o_.shuffle = false;  // evaluation reads in order
  start_epoch(0);
}

BatchLoader::~BatchLoader() = default;
BatchLoader::BatchLoader(BatchLoader&&) noexcept = default;
BatchLoader& BatchLoader::operator=(BatchLoader&&) noexcept = default;

void BatchLoader::start_epoch(int64_t epoch) {
  epoch_ = epoch;
  position_ = 0;
  order_.clear();
  if (!o_.shuffle) return;
  // Fisher-Yates with our own generator: std::shuffle's algorithm differs between standard
  // libraries, and every rank and every machine must see the same order. The seed mixes the
  // epoch in through Rng's splitmix, so (seed, epoch) pairs do not collide.
  Rng rng(o_.seed ^ (0x9E3779B97F4A7C15ull * static_cast<uint64_t>(epoch + 1)));
  order_.resize(static_cast<size_t>(sequences_));
  for (int64_t i = 0; i < sequences_; ++i) order_[i] = i;
  for (int64_t i = sequences_ - 1; i > 0; --i) {
    // Unbiased index in [0, i] by rejection (modulo bias matters for huge i only, but costs nothing).
    uint64_t bound = static_cast<uint64_t>(i) + 1, limit = UINT64_MAX - UINT64_MAX % bound, r;
    do r = rng.next();
    while (r >= limit);
    std::swap(order_[i], order_[static_cast<int64_t>(r % bound)]);
  }
}

int64_t BatchLoader::global_sequence(int64_t position) const {
  int64_t slot = position * o_.world_size + o_.rank;  // rank r takes slots r, r + W, ...
  return order_.empty() ? slot : order_[static_cast<size_t>(slot)];
}

Batch BatchLoader::next() {
  if (position_ + o_.batch_size > per_rank_) start_epoch(epoch_ + 1);  // the partial batch is dropped
  Batch b;
  b.batch = o_.batch_size;
  b.seq_len = o_.seq_len;
  b.ids.resize(static_cast<size_t>(b.batch * b.seq_len));
  b.loss_mask.resize(b.ids.size());
  for (int64_t i = 0; i < b.batch; ++i) {
    int64_t seq = global_sequence(position_ + i);
    stream_->read(seq * o_.seq_len, o_.seq_len, b.ids.data() + i * o_.seq_len, b.loss_mask.data() + i * o_.seq_len);
  }
  position_ += o_.batch_size;
  return b;
}

LoaderState BatchLoader::state() const {
  // At the end of an epoch, the next batch comes from the next one: say so, so that a
  // restored loader and this one agree on epoch() too.
  if (position_ + o_.batch_size > per_rank_) return LoaderState{epoch_ + 1, 0};
  return LoaderState{epoch_, position_};
}

void BatchLoader::restore(const LoaderState& s) {
  LP_CHECK(s.epoch >= 0 && s.position >= 0 && s.position <= per_rank_, "cannot restore loader state (epoch ", s.epoch,
           ", position ", s.position, "): this data has ", per_rank_, " sequences per epoch for this rank");
  LP_CHECK(s.position % o_.batch_size == 0, "cannot restore loader state: position ", s.position,
           " is not a multiple of the batch size ", o_.batch_size, " (was the batch size changed?)");
  start_epoch(s.epoch);
  position_ = s.position;
}

int64_t BatchLoader::sequences_per_epoch() const { return per_rank_; }
int64_t BatchLoader::epoch() const { return epoch_; }

}  // namespace llamapro
