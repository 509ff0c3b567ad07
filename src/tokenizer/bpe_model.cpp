// bpe_model.cpp — the BPE "model" of tokenizer.json: vocabulary, ranked merges, and the
// encoding of one pre-tokenized word into ids (with byte fallback, unk fusing, and a cache).
//
// Merging follows the reference exactly: repeatedly apply the lowest-ranked merge among
// adjacent symbols, leftmost first (a binary heap with lazy invalidation).
#include "tokenizer/bpe_model.h"

#include <algorithm>
#include <array>
#include <atomic>

#include "tokenizer/utf8.h"

namespace llamapro {

namespace {

constexpr size_t kMaxCachedBytes = 256;  // longer words are rare; caching them buys nothing
constexpr size_t kCutMinBytes = 64;      // words shorter than this are merged whole
constexpr size_t kCacheCapacity = 1 << 16;

std::atomic<uint64_t> next_uid{1};

// Per-thread word caches, one slot per recently used model: const encoding needs no lock.
struct WordCache {
  uint64_t owner = 0;
  std::unordered_map<std::string, std::pair<uint32_t, uint32_t>, StringHash, std::equal_to<>> map;
  std::vector<int32_t> pool;

  bool get(std::string_view word, std::vector<int32_t>& out) const {
    auto it = map.find(word);
    if (it == map.end()) return false;
    out.insert(out.end(), pool.begin() + it->second.first, pool.begin() + it->second.first + it->second.second);
    return true;
  }
  void put(std::string_view word, const int32_t* ids, size_t n) {
    if (map.size() >= kCacheCapacity) {  // bounded: start afresh rather than grow
      map.clear();
      pool.clear();
    }
    map.emplace(std::string(word), std::make_pair(static_cast<uint32_t>(pool.size()), static_cast<uint32_t>(n)));
    pool.insert(pool.end(), ids, ids + n);
  }
};

WordCache& cache_for(uint64_t uid) {
  thread_local std::array<WordCache, 4> slots;
  thread_local unsigned victim = 0;
  for (auto& s : slots)
    if (s.owner == uid) return s;
  WordCache& s = slots[victim++ % slots.size()];
  s.owner = uid;
  s.map.clear();
  s.pool.clear();
  return s;
}

struct Candidate {
  uint32_t rank;
  uint32_t pos;
  int32_t new_id;
};
// Heap order: lowest rank on top, then leftmost.
inline bool later(const Candidate& a, const Candidate& b) {
  return a.rank != b.rank ? a.rank > b.rank : a.pos > b.pos;
}

}  // namespace

BpeModel::BpeModel(const tjson& model, const std::string& where) : uid_(next_uid++) {
  LP_CHECK(model.is_object(), where, ": \"model\" must be an object");
  std::string type = json_get_or<std::string>(model, "type", "BPE", where);
  LP_CHECK(type == "BPE", where, ": unsupported model type \"", type, "\" (only BPE is supported)");
  if (model.contains("dropout") && !model["dropout"].is_null()) {
    double dropout = json_get<double>(model, "dropout", where);
    LP_CHECK(dropout == 0.0, where, ": BPE dropout ", dropout, " is not supported (it makes encoding random)");
  }

  // Vocabulary.
  LP_CHECK(model.contains("vocab"), where, ": missing key \"vocab\"");
  const tjson& vocab = model["vocab"];
  LP_CHECK(vocab.is_object(), where, ".vocab: expected an object of token -> id, got ", vocab.type_name());
  LP_CHECK(!vocab.empty(), where, ".vocab: empty vocabulary");
  vocab_.reserve(vocab.size() * 2);
  int64_t max_id = -1;
  for (auto it = vocab.begin(); it != vocab.end(); ++it) {
    LP_CHECK(it.value().is_number_integer(), where, ".vocab: id of \"", it.key(), "\" is not an integer");
    int64_t id = it.value().get<int64_t>();
    LP_CHECK(id >= 0 && id < (1 << 26), where, ".vocab: id ", id, " of \"", it.key(), "\" is out of range");
    vocab_[it.key()] = static_cast<int32_t>(id);
    max_id = std::max(max_id, id);
  }
  id_to_token_.resize(static_cast<size_t>(max_id + 1));
  has_token_.assign(static_cast<size_t>(max_id + 1), 0);
  for (const auto& [token, id] : vocab_) {
    id_to_token_[id] = token;
    has_token_[id] = 1;
  }

  // Settings.
  unk_token_ = json_get_or<std::string>(model, "unk_token", "", where);
  if (!unk_token_.empty()) unk_id_ = token_to_id(unk_token_);
  prefix_ = json_get_or<std::string>(model, "continuing_subword_prefix", "", where);
  suffix_ = json_get_or<std::string>(model, "end_of_word_suffix", "", where);
  fuse_unk_ = json_get_or<bool>(model, "fuse_unk", false, where);
  byte_fallback_ = json_get_or<bool>(model, "byte_fallback", false, where);
  ignore_merges_ = json_get_or<bool>(model, "ignore_merges", false, where);

  bmp_ids_.assign(0x10000, -1);
  for (const auto& [token, id] : vocab_) {
    size_t i = 0;
    if (token.empty() || !utf8::valid(token)) continue;
    uint32_t cp = utf8::next(token, i);
    if (i != token.size()) continue;
    if (cp < 0x10000) bmp_ids_[cp] = id;
    else astral_ids_[cp] = id;
  }
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof name, "<0x%02X>", b);
    byte_ids_[b] = token_to_id(name);
  }

  // Merges: "a b" strings (older files) or ["a", "b"] pairs.
  LP_CHECK(model.contains("merges"), where, ": missing key \"merges\"");
  const tjson& merges = model["merges"];
  LP_CHECK(merges.is_array(), where, ".merges: expected a list, got ", merges.type_name());
  merges_.reserve(merges.size());
  std::vector<uint64_t> joins;
  joins.reserve(merges.size());
  for (size_t rank = 0; rank < merges.size(); ++rank) {
    const tjson& m = merges[rank];
    std::string a, b;
    if (m.is_string()) {
      const std::string& s = m.get_ref<const std::string&>();
      size_t space = s.find(' ');
      LP_CHECK(space != std::string::npos && s.find(' ', space + 1) == std::string::npos, where, ".merges[", rank,
               "]: \"", s, "\" is not two tokens separated by one space");
      a = s.substr(0, space);
      b = s.substr(space + 1);
    } else {
      LP_CHECK(m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string(), where, ".merges[", rank,
               "]: expected \"a b\" or [\"a\", \"b\"]");
      a = m[0].get<std::string>();
      b = m[1].get<std::string>();
    }
    int32_t ia = token_to_id(a), ib = token_to_id(b);
    LP_CHECK(ia >= 0, where, ".merges[", rank, "]: token \"", a, "\" is not in the vocabulary");
    LP_CHECK(ib >= 0, where, ".merges[", rank, "]: token \"", b, "\" is not in the vocabulary");
    LP_CHECK(b.size() >= prefix_.size(), where, ".merges[", rank, "]: token \"", b, "\" is shorter than the prefix");
    std::string joined = a + b.substr(prefix_.size());
    int32_t inew = token_to_id(joined);
    LP_CHECK(inew >= 0, where, ".merges[", rank, "]: merged token \"", joined, "\" is not in the vocabulary");
    uint64_t key = (static_cast<uint64_t>(ia) << 32) | static_cast<uint32_t>(ib);
    // A pair listed twice keeps its last rank, as the reference's map does.
    merges_.insert_or_assign(key, {static_cast<uint32_t>(rank), inew});
    if (utf8::valid(a) && utf8::valid(b) && !a.empty() && !b.empty()) {
      size_t i = 0;
      joins.push_back((static_cast<uint64_t>(utf8::last(a)) << 32) | utf8::next(b, i));
    }
  }

  // Cutting long words is exact only when symbols are plain characters (no prefix/suffix).
  can_cut_ = prefix_.empty() && suffix_.empty();
  if (can_cut_) {
    joins_.reserve(joins.size());
    for (uint64_t key : joins) joins_.insert_or_assign(key);
  }
}

int32_t BpeModel::token_to_id(std::string_view token) const {
  auto it = vocab_.find(token);
  return it == vocab_.end() ? -1 : it->second;
}

const std::string* BpeModel::id_to_token(int32_t id) const {
  if (id < 0 || static_cast<size_t>(id) >= id_to_token_.size() || !has_token_[id]) return nullptr;
  return &id_to_token_[id];
}

inline const BpeModel::MergeEntry* BpeModel::find_merge(int32_t a, int32_t b) const {
  return merges_.find((static_cast<uint64_t>(a) << 32) | static_cast<uint32_t>(b));
}

inline bool BpeModel::may_join(uint32_t left_cp, uint32_t right_cp) const {
  return joins_.contains((static_cast<uint64_t>(left_cp) << 32) | right_cp);
}

inline int32_t BpeModel::char_id(uint32_t cp) const {
  if (cp < 0x10000) return bmp_ids_[cp];
  auto it = astral_ids_.find(cp);
  return it == astral_ids_.end() ? -1 : it->second;
}

// The reference's merge_word before merging: one symbol per character, or its bytes as
// <0xXX> tokens (byte_fallback), or the unk token (consecutive ones fused with fuse_unk).
void BpeModel::build_symbols(std::string_view word, std::vector<Symbol>& syms) const {
  syms.clear();
  bool plain_chars = prefix_.empty() && suffix_.empty();
  bool pending = false;
  Symbol unk{};
  std::string s;
  auto flush_unk = [&] {
    if (pending) syms.push_back(unk);
    pending = false;
  };
  for (size_t i = 0; i < word.size();) {
    size_t start = i;
    uint32_t cp = utf8::next(word, i);
    uint32_t len = static_cast<uint32_t>(i - start);
    int32_t id;
    if (plain_chars) {
      id = char_id(cp);
    } else {
      s.clear();
      if (start != 0) s.append(prefix_);
      s.append(word.substr(start, len));
      if (i == word.size()) s.append(suffix_);
      id = token_to_id(s);
    }
    if (id >= 0) {
      flush_unk();
      syms.push_back({id, -1, -1, len, cp, cp, plain_chars});
      continue;
    }
    if (byte_fallback_) {
      std::string_view bytes = plain_chars ? word.substr(start, len) : std::string_view(s);
      bool all = true;
      for (unsigned char b : bytes) all = all && byte_ids_[b] >= 0;
      if (all) {
        // As in the reference, a pending unk is not flushed here.
        for (unsigned char b : bytes) syms.push_back({byte_ids_[b], -1, -1, 1, cp, cp, false});
        continue;
      }
    }
    if (!unk_token_.empty()) {
      LP_CHECK(unk_id_ >= 0, "tokenizer: unk token \"", unk_token_, "\" is not in the vocabulary");
      if (pending && fuse_unk_) {
        unk.bytes += len;
        unk.last_cp = cp;
      } else {
        flush_unk();
        unk = {unk_id_, -1, -1, len, cp, cp, false};
        pending = true;
      }
    }
    // Without an unk token, the reference drops the character.
  }
  flush_unk();
}

void BpeModel::merge(Symbol* syms, size_t n, std::vector<int32_t>& out) const {
  thread_local std::vector<Candidate> heap;
  heap.clear();
  for (size_t k = 0; k < n; ++k) {
    syms[k].prev = static_cast<int32_t>(k) - 1;
    syms[k].next = k + 1 < n ? static_cast<int32_t>(k + 1) : -1;
  }
  for (size_t k = 0; k + 1 < n; ++k)
    if (const MergeEntry* m = find_merge(syms[k].id, syms[k + 1].id))
      heap.push_back({m->rank, static_cast<uint32_t>(k), m->new_id});
  std::make_heap(heap.begin(), heap.end(), later);
  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), later);
    Candidate top = heap.back();
    heap.pop_back();
    Symbol& left = syms[top.pos];
    if (left.bytes == 0 || left.next < 0) continue;
    Symbol& right = syms[left.next];
    // Skip entries made stale by earlier merges.
    const MergeEntry* m = find_merge(left.id, right.id);
    if (!m || m->new_id != top.new_id) continue;
    left.id = top.new_id;
    left.bytes += right.bytes;
    left.last_cp = right.last_cp;
    left.next = right.next;
    right.bytes = 0;
    if (left.next >= 0) syms[left.next].prev = static_cast<int32_t>(top.pos);
    if (left.prev >= 0) {
      if (const MergeEntry* p = find_merge(syms[left.prev].id, left.id)) {
        heap.push_back({p->rank, static_cast<uint32_t>(left.prev), p->new_id});
        std::push_heap(heap.begin(), heap.end(), later);
      }
    }
    if (left.next >= 0) {
      if (const MergeEntry* q = find_merge(left.id, syms[left.next].id)) {
        heap.push_back({q->rank, top.pos, q->new_id});
        std::push_heap(heap.begin(), heap.end(), later);
      }
    }
  }
  for (int32_t k = n ? 0 : -1; k >= 0; k = syms[k].next) out.push_back(syms[k].id);
}

void BpeModel::encode_word(std::string_view word, std::vector<int32_t>& out) const {
  if (word.empty()) return;
  if (ignore_merges_) {
    int32_t id = token_to_id(word);
    if (id >= 0) {
      out.push_back(id);
      return;
    }
  }
  WordCache& cache = cache_for(uid_);
  if (word.size() <= kMaxCachedBytes && cache.get(word, out)) return;

  thread_local std::vector<Symbol> syms;
  build_symbols(word, syms);
  size_t n = syms.size();
  auto encode_range = [&](size_t s, size_t e, size_t byte_begin, size_t byte_end, bool lookup) {
    std::string_view text = word.substr(byte_begin, byte_end - byte_begin);
    bool cacheable = text.size() <= kMaxCachedBytes;
    if (lookup && cacheable && cache.get(text, out)) return;
    size_t before = out.size();
    merge(syms.data() + s, e - s, out);
    if (cacheable) cache.put(text, out.data() + before, out.size() - before);
  };
  if (!can_cut_ || word.size() < kCutMinBytes) {
    encode_range(0, n, 0, word.size(), false);
    return;
  }
  // Cut between plain characters that no merge joins; the pieces merge independently.
  size_t seg = 0, seg_byte = 0, byte = 0;
  for (size_t k = 0; k < n; ++k) {
    if (k > 0 && syms[k - 1].plain && syms[k].plain && !may_join(syms[k - 1].last_cp, syms[k].first_cp)) {
      encode_range(seg, k, seg_byte, byte, true);
      seg = k;
      seg_byte = byte;
    }
    byte += syms[k].bytes;
  }
  encode_range(seg, n, seg_byte, byte, true);
}

}  // namespace llamapro
