// loader.cpp — BatchLoader: packed fixed-length sequences from the shards of one split, in a
// seeded per-epoch permutation, split between data-parallel ranks, resumable exactly.
#include "data/loader.h"

#include <algorithm>
#include <map>

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
      check_shard_header(s, r->header(), vocab_size);
      starts_.push_back(starts_.back() + r->header().tokens);
      readers_.push_back(std::move(r));
    }
  }
  int64_t tokens() const { return starts_.back(); }

  // Every document of the split as (first token, length), in order.
  std::vector<DocumentSpan> documents() const {
    std::vector<DocumentSpan> out;
    for (size_t k = 0; k < readers_.size(); ++k) {
      const ShardReader& r = *readers_[k];
      for (int64_t d = 0; d < r.header().documents; ++d) {
        const int64_t begin = r.document_offset(d), end = r.document_offset(d + 1);
        if (end > begin) out.push_back({starts_[k] + begin, end - begin});
      }
    }
    return out;
  }

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
// Packing names

Packing parse_packing(const std::string& name) {
  if (name == "concat") return Packing::Concat;
  if (name == "doc") return Packing::Doc;
  if (name == "none") return Packing::None;
  LP_FAIL("unknown packing \"", name, "\" (expected concat, doc or none)");
}

const char* packing_name(Packing p) {
  switch (p) {
    case Packing::Concat: return "concat";
    case Packing::Doc: return "doc";
    case Packing::None: return "none";
  }
  return "?";
}

Packing default_packing(const DataInfo& info) { return info.format == "chat" ? Packing::Doc : Packing::Concat; }

// ---------------------------------------------------------------------------------------------
// State

json LoaderState::to_json() const { return json{{"epoch", epoch}, {"position", position}, {"world_size", world_size}}; }

LoaderState LoaderState::from_json(const json& j) {
  LoaderState s;
  s.epoch = json_get<int64_t>(j, "epoch", "loader state");
  s.position = json_get<int64_t>(j, "position", "loader state");
  s.world_size = json_get_or<int>(j, "world_size", 0, "loader state");
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
  DataInfo info = read_data_info(data_dir);
  const char* split = o.validation ? "validation" : "train";
  stream_ = std::make_unique<TokenStream>(o.validation ? info.val_shards : info.train_shards, info.vocab_size);
  packing_ = o.packing ? *o.packing : default_packing(info);
  if (packing_ == Packing::Concat) sequences_ = stream_->tokens() / o.seq_len;
  else plan_rows(/*truncate_long=*/info.format == "chat");
  per_rank_ = sequences_ / o.world_size;
  LP_CHECK(per_rank_ >= o.batch_size || !o.require_batch, data_dir.string(), ": the ", split, " split has ", stream_->tokens(),
           " tokens = ", sequences_, " rows of ", o.seq_len, " tokens (", packing_name(packing_),
           " packing), which gives ", per_rank_, " per rank for ", o.world_size, " rank(s); a batch needs ",
           o.batch_size, " (use more data, a shorter sequence or a smaller batch)");
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

void BatchLoader::plan_rows(bool truncate_long) {
  const int64_t T = o_.seq_len;
  std::vector<DocumentSpan> docs;
  for (DocumentSpan d : stream_->documents()) {
    if (d.length > T) ++cut_documents_;
    if (truncate_long) d.length = std::min(d.length, T);
    for (int64_t at = 0; at < d.length; at += T) docs.push_back({d.begin + at, std::min(T, d.length - at)});
  }
  std::vector<std::vector<DocumentSpan>> rows;
  if (packing_ == Packing::None) {
    for (const DocumentSpan& d : docs) rows.push_back({d});
  } else {
    // Best fit, longest first: each document goes into the fullest row that still has room,
    // which leaves little padding. Ties keep input order, so the plan is deterministic.
    std::vector<size_t> order(docs.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return docs[a].length > docs[b].length; });
    std::multimap<int64_t, size_t> room;  // free tokens -> row
    std::vector<int64_t> used;            // tokens per row
    for (size_t i : order) {
      auto it = room.lower_bound(docs[i].length);
      size_t row;
      if (it == room.end()) {
        row = rows.size();
        rows.emplace_back();
        used.push_back(0);
      } else {
        row = it->second;
        room.erase(it);
      }
      rows[row].push_back(docs[i]);
      used[row] += docs[i].length;
      if (used[row] < T) room.emplace(T - used[row], row);
    }
  }
  row_starts_.assign(1, 0);
  for (const auto& r : rows) {
    spans_.insert(spans_.end(), r.begin(), r.end());
    row_starts_.push_back(int64_t(spans_.size()));
  }
  sequences_ = int64_t(rows.size());
}

double BatchLoader::fill() const {
  if (packing_ == Packing::Concat || sequences_ == 0) return 1.0;
  int64_t used = 0;
  for (const DocumentSpan& d : spans_) used += d.length;
  return double(used) / double(sequences_ * o_.seq_len);
}

void BatchLoader::read_row(int64_t row, int64_t slot, Batch& b) const {
  const int64_t T = o_.seq_len;
  int32_t* ids = b.ids.data() + slot * T;
  uint8_t* mask = b.loss_mask.data() + slot * T;
  if (packing_ == Packing::Concat) {
    stream_->read(row * T, T, ids, mask);
    return;
  }
  int32_t* pos = b.positions.data() + slot * T;
  int32_t* seg = b.segments.data() + slot * T;
  int64_t at = 0;
  for (int64_t k = row_starts_[size_t(row)]; k < row_starts_[size_t(row) + 1]; ++k) {
    const DocumentSpan& d = spans_[size_t(k)];
    stream_->read(d.begin, d.length, ids + at, mask + at);
    mask[at] = 0;  // a document's first token is nobody's target: the token before it is another document's
    for (int64_t i = 0; i < d.length; ++i) {
      pos[at + i] = int32_t(i);
      seg[at + i] = int32_t(k - row_starts_[size_t(row)]);
    }
    at += d.length;
  }
  for (; at < T; ++at) {  // padding: never a target, a segment of its own
    ids[at] = 0;
    mask[at] = 0;
    pos[at] = 0;
    seg[at] = -1;
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
  if (packing_ != Packing::Concat) {
    b.positions.resize(b.ids.size());
    b.segments.resize(b.ids.size());
  }
  for (int64_t i = 0; i < b.batch; ++i) read_row(global_sequence(position_ + i), i, b);
  position_ += o_.batch_size;
  return b;
}

LoaderState BatchLoader::state() const {
  // At the end of an epoch, the next batch comes from the next one: say so, so that a
  // restored loader and this one agree on epoch() too.
  if (position_ + o_.batch_size > per_rank_) return LoaderState{epoch_ + 1, 0, o_.world_size};
  return LoaderState{epoch_, position_, o_.world_size};
}

void BatchLoader::restore(const LoaderState& saved) {
  LoaderState s = saved;
  if (s.world_size > 0 && s.world_size != o_.world_size) {  // ranks take turns through one order
    const int64_t taken = s.position * s.world_size, per_step = o_.batch_size * o_.world_size;
    s.position = (taken + per_step - 1) / per_step * o_.batch_size;
    if (s.position + o_.batch_size > per_rank_) s = {s.epoch + 1, 0, o_.world_size};
  }
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
