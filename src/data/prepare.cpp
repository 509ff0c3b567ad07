// prepare.cpp — the `data prepare` pipeline: a reader thread cuts the inputs into batches of
// documents, worker threads tokenize them, and this thread writes the results in input order
// to the train and validation shards, then data.json; all inside a staging folder.
#include "data/prepare.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <future>
#include <map>
#include <mutex>
#include <thread>
#include <utility>

#include "data/data_json.h"
#include "data/doc_encoder.h"
#include "data/input_files.h"
#include "data/shard.h"
#include "util/check.h"
#include "util/files.h"
#include "util/output.h"
#include "util/progress.h"
#include "util/strings.h"

namespace llamapro {

namespace fs = std::filesystem;

namespace {

constexpr size_t kBatchBytes = 1 << 20;  // text per batch: big enough to amortise, small for balance

// A batch of documents (possibly from several small inputs), and after a worker ran, their tokens.
struct WorkItem {
  uint64_t seq = 0;
  uint64_t consumed = 0;                // input bytes read once this batch was cut (progress)
  std::string text;                     // the records, back to back
  std::vector<size_t> record_ends;      // end offset in text of each record
  std::vector<int64_t> record_lines;    // line number of each record (0: a whole file)
  std::vector<uint32_t> record_sources; // input index of each record
  std::string error;                    // set instead of results when something failed
  // Results
  std::vector<int32_t> ids;
  std::vector<uint8_t> mask;
  std::vector<size_t> doc_ends;         // end offset in ids of each non-empty document
  std::vector<uint32_t> doc_sources;    // its input index
  int64_t skipped = 0;                  // empty documents

  void clear() {
    seq = consumed = 0;
    skipped = 0;
    for (auto* v : {&record_ends, &doc_ends}) v->clear();
    record_lines.clear();
    record_sources.clear();
    doc_sources.clear();
    text.clear();
    error.clear();
    ids.clear();
    mask.clear();
  }
};

// Bounded hand-over between the reader, the workers and the writer. The bound is on bytes of
// text in flight, not on batches: a corpus of many small files then keeps enough work queued
// that the workers never wait for the reader or the writer to be scheduled.
class Pipeline {
 public:
  explicit Pipeline(size_t max_bytes) : max_bytes_(max_bytes) {}

  // Reader: blocks while too much text is in flight; false once aborted.
  bool push(std::unique_ptr<WorkItem> item) {
    std::unique_lock lock(mu_);
    size_t bytes = item->text.size() + 1;
    cv_.wait(lock, [&] { return aborted_ || in_flight_ == 0 || bytes_ + bytes <= max_bytes_; });
    if (aborted_) return false;
    ++in_flight_;
    bytes_ += bytes;
    sizes_[item->seq] = bytes;
    todo_.push_back(std::move(item));
    cv_.notify_all();
    return true;
  }
  void close_input() {
    std::lock_guard lock(mu_);
    input_closed_ = true;
    cv_.notify_all();
  }
  // Worker: the next batch to tokenize, or null when there is none any more.
  std::unique_ptr<WorkItem> take() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return aborted_ || !todo_.empty() || input_closed_; });
    if (aborted_ || todo_.empty()) return nullptr;
    auto item = std::move(todo_.front());
    todo_.pop_front();
    return item;
  }
  void finished(std::unique_ptr<WorkItem> item) {
    std::lock_guard lock(mu_);
    uint64_t seq = item->seq;
    done_.emplace(seq, std::move(item));
    cv_.notify_all();
  }
  // Writer: batch number `seq` once tokenized; null when the input ended before it.
  std::unique_ptr<WorkItem> result(uint64_t seq) {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return done_.count(seq) || (input_closed_ && todo_.empty() && in_flight_ == done_.size() && !done_.count(seq)); });
    auto it = done_.find(seq);
    if (it == done_.end()) return nullptr;
    auto item = std::move(it->second);
    done_.erase(it);
    --in_flight_;
    bytes_ -= sizes_[seq];
    sizes_.erase(seq);
    cv_.notify_all();
    return item;
  }
  // Finished batches come back for reuse: their buffers keep their capacity, which spares the
  // page faults of fresh megabyte-sized allocations for every batch.
  void recycle(std::unique_ptr<WorkItem> item) {
    if (item->text.capacity() > 4 * kBatchBytes || item->ids.capacity() > 4 * kBatchBytes) return;  // a huge document's
    item->clear();
    std::lock_guard lock(mu_);
    if (spare_.size() < 64) spare_.push_back(std::move(item));
  }
  std::unique_ptr<WorkItem> fresh() {
    std::lock_guard lock(mu_);
    if (spare_.empty()) return std::make_unique<WorkItem>();
    auto item = std::move(spare_.back());
    spare_.pop_back();
    return item;
  }
  void abort() {
    std::lock_guard lock(mu_);
    aborted_ = true;
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  size_t max_bytes_, bytes_ = 0, in_flight_ = 0;
  std::map<uint64_t, size_t> sizes_;  // text bytes of each batch in flight
  bool input_closed_ = false, aborted_ = false;
  std::deque<std::unique_ptr<WorkItem>> todo_;
  std::vector<std::unique_ptr<WorkItem>> spare_;
  std::map<uint64_t, std::unique_ptr<WorkItem>> done_;
};

// ---------------------------------------------------------------------------------------------
// Reading: inputs -> batches of records

void read_inputs(const std::vector<InputFile>& inputs, bool split_lines, Pipeline& pipe) {
  uint64_t seq = 0;       // numbered when pushed, so that an error item takes the next number
  uint64_t finished = 0;  // bytes of the inputs read completely
  auto item = pipe.fresh();
  auto push = [&](uint64_t consumed) {
    item->seq = seq++;
    item->consumed = consumed;
    bool ok = pipe.push(std::move(item));
    item = pipe.fresh();
    return ok;
  };
  auto add_record = [&](size_t source, int64_t line) {
    item->record_ends.push_back(item->text.size());
    item->record_lines.push_back(line);
    item->record_sources.push_back(static_cast<uint32_t>(source));
  };
  try {
    for (size_t s = 0; s < inputs.size(); ++s) {
      const InputFile& in = inputs[s];
      InputReader reader(in.path);
      if (!in.json_lines && !split_lines) {
        reader.read_all(item->text);
        add_record(s, 0);
      } else {
        int64_t line_no = 0;
        for (;;) {
          size_t before = item->text.size();
          if (!reader.read_line(item->text)) break;
          ++line_no;
          if (item->text.size() == before || (in.json_lines && item->text.find_first_not_of(" \t\r", before) == std::string::npos)) {
            item->text.resize(before);  // blank lines are no documents
            continue;
          }
          add_record(s, line_no);
          if (item->text.size() >= kBatchBytes && !push(finished + std::min(reader.position(), in.bytes))) return;
        }
      }
      finished += in.bytes;
      // Small files share batches: one hand-over per file would cost more than their tokens.
      if (item->text.size() >= kBatchBytes && !push(finished)) return;
    }
    if (!item->record_ends.empty() && !push(finished)) return;
  } catch (const std::exception& e) {
    item->clear();
    item->error = e.what();
    push(finished);
  }
  pipe.close_input();
}

// ---------------------------------------------------------------------------------------------
// Tokenizing: one batch

void tokenize(WorkItem& item, const DocumentEncoder& enc, const std::vector<InputFile>& inputs) {
  size_t begin = 0;
  std::string where;  // "file:line", reused: only errors read it
  for (size_t r = 0; r < item.record_ends.size(); ++r) {
    std::string_view rec(item.text.data() + begin, item.record_ends[r] - begin);
    begin = item.record_ends[r];
    const InputFile& in = inputs[item.record_sources[r]];
    where.assign(in.path.native());
    if (int64_t line = item.record_lines[r]; line > 0) where.append(":").append(std::to_string(line));
    bool any = in.json_lines ? enc.encode_json_line(rec, where, item.ids, item.mask) : enc.encode_text(rec, where, item.ids);
    if (enc.chat() && !in.json_lines) item.mask.resize(item.ids.size(), 1);
    if (any) {
      item.doc_ends.push_back(item.ids.size());
      item.doc_sources.push_back(item.record_sources[r]);
    } else {
      ++item.skipped;
    }
  }
  item.text.clear();
}

void work(Pipeline& pipe, const DocumentEncoder& enc, const std::vector<InputFile>& inputs) {
  while (auto item = pipe.take()) {
    if (item->error.empty()) {
      try {
        tokenize(*item, enc, inputs);
      } catch (const std::exception& e) {
        item->error = e.what();
      }
    }
    pipe.finished(std::move(item));
  }
}

// The reader and tokenizer threads of one run: leaving their scope, finished or failed, stops
// the pipeline and joins them.
class PipelineThreads {
 public:
  explicit PipelineThreads(Pipeline& pipe) : pipe_(pipe) {}
  ~PipelineThreads() {
    pipe_.abort();
    for (auto& t : threads_) t.join();
  }
  PipelineThreads(const PipelineThreads&) = delete;
  PipelineThreads& operator=(const PipelineThreads&) = delete;
  template <typename Function, typename... Args>
  void start(Function&& f, Args&&... args) {
    threads_.emplace_back(std::forward<Function>(f), std::forward<Args>(args)...);
  }

 private:
  Pipeline& pipe_;
  std::vector<std::thread> threads_;
};

// ---------------------------------------------------------------------------------------------
// Writing: one split's shards

// Shards are written by a background thread while the next one fills, so that the pipeline
// does not stall on the write and fsync of hundreds of megabytes; at most two shard buffers
// per split exist at a time.
class SplitWriter {
 public:
  SplitWriter(fs::path dir, std::string prefix, int64_t vocab, bool mask, int64_t shard_tokens)
      : dir_(std::move(dir)), prefix_(std::move(prefix)), vocab_(vocab), mask_(mask), shard_tokens_(shard_tokens),
        builder_(std::make_unique<ShardBuilder>(vocab, mask)) {}

  void add(const int32_t* ids, size_t n, const uint8_t* mask) {
    if (builder_->documents() > 0 && builder_->tokens() + static_cast<int64_t>(n) > shard_tokens_) flush();
    builder_->add_document(ids, n, mask);
    tokens_ += static_cast<int64_t>(n);
    documents_ += 1;
  }
  // Starts writing the filled shard; wait() finishes it.
  void flush() {
    if (builder_->documents() == 0) return;
    wait();
    char name[64];
    std::snprintf(name, sizeof name, "%s-%05zu.bin", prefix_.c_str(), shards_.size());
    shards_.push_back({{"file", name}, {"tokens", builder_->tokens()}, {"documents", builder_->documents()}});
    pending_ = std::async(std::launch::async, [b = std::move(builder_), path = dir_ / name] { b->write(path); });
    builder_ = std::make_unique<ShardBuilder>(vocab_, mask_);
  }
  void wait() {
    if (pending_.valid()) pending_.get();  // rethrows a failed write
  }
  json summary() const { return {{"tokens", tokens_}, {"documents", documents_}, {"shards", shards_}}; }
  int64_t tokens() const { return tokens_; }

 private:
  fs::path dir_;
  std::string prefix_;
  int64_t vocab_;
  bool mask_;
  int64_t shard_tokens_, tokens_ = 0, documents_ = 0;
  std::unique_ptr<ShardBuilder> builder_;
  std::future<void> pending_;
  json shards_ = json::array();
};

uint64_t mix64(uint64_t z) {
  z += 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

}  // namespace

bool is_validation_document(uint64_t index, double fraction, uint64_t seed) {
  if (fraction <= 0) return false;
  double u = static_cast<double>(mix64(mix64(seed) ^ index) >> 11) * 0x1.0p-53;
  return u < fraction;
}

json prepare_data(const PrepareOptions& o) {
  LP_CHECK(o.val_fraction >= 0 && o.val_fraction < 1, "--val-fraction must be in [0, 1), got ", o.val_fraction);
  LP_CHECK(o.shard_tokens >= 1, "--shard-tokens must be >= 1");
  LP_CHECK(o.threads >= 0, "--threads must be >= 0");
  DocumentEncoder enc(o.tokenizer_dir, o.format, o.field, o.chat_template);
  std::vector<InputFile> inputs = expand_inputs(o.inputs);
  if (enc.chat())
    for (const auto& in : inputs)
      LP_CHECK(in.json_lines, in.path.string(), ": chat data must be JSON Lines (.jsonl, .json, .ndjson, optionally .gz)");
  OutputSpec spec{o.output, OutputKind::Folder, {o.tokenizer_dir}, o.force};
  for (const auto& in : o.inputs) spec.inputs.push_back(in);  // folders given as inputs
  for (const auto& in : inputs) spec.inputs.push_back(in.path);
  Output staging(std::move(spec));

  int threads = o.threads > 0 ? o.threads : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  uint64_t total_bytes = 0;
  for (const auto& in : inputs) total_bytes += in.bytes;
  int64_t vocab = enc.vocab_size();
  SplitWriter train(staging.path(), "train", vocab, enc.chat(), o.shard_tokens);
  SplitWriter val(staging.path(), "validation", vocab, enc.chat(), o.shard_tokens);
  std::vector<int64_t> source_docs(inputs.size()), source_tokens(inputs.size());

  Pipeline pipe(static_cast<size_t>(4 * threads) * kBatchBytes);
  Progress progress("data prepare", total_bytes, "B");
  uint64_t documents = 0, skipped = 0;
  int64_t tokens = 0;
  {
    PipelineThreads running(pipe);
    running.start(read_inputs, std::cref(inputs), o.split_lines, std::ref(pipe));
    for (int t = 0; t < threads; ++t) running.start(work, std::ref(pipe), std::cref(enc), std::cref(inputs));
    for (uint64_t seq = 0;; ++seq) {
      auto item = pipe.result(seq);
      if (!item) break;
      LP_CHECK(item->error.empty(), item->error);
      size_t begin = 0;
      for (size_t d = 0; d < item->doc_ends.size(); ++d) {
        size_t end = item->doc_ends[d], n = end - begin;
        const uint8_t* mask = enc.chat() ? item->mask.data() + begin : nullptr;
        (is_validation_document(documents, o.val_fraction, o.seed) ? val : train).add(item->ids.data() + begin, n, mask);
        ++documents;
        tokens += static_cast<int64_t>(n);
        source_docs[item->doc_sources[d]] += 1;
        source_tokens[item->doc_sources[d]] += static_cast<int64_t>(n);
        begin = end;
      }
      skipped += static_cast<uint64_t>(item->skipped);
      uint64_t consumed = item->consumed;
      pipe.recycle(std::move(item));
      if (o.progress) {
        double secs = std::max(progress.elapsed_seconds(), 1e-9);
        progress.update(consumed, format_count(double(tokens)) + " tokens  " + format_count(tokens / secs) + " tokens/s");
      }
    }
  }  // the threads are joined here, on success and on an error alike
  LP_CHECK(documents > 0, "no documents in the input (", skipped, " empty ones skipped)");
  train.flush();
  val.flush();
  train.wait();
  val.wait();
  if (o.progress) {
    double secs = std::max(progress.elapsed_seconds(), 1e-9);
    progress.finish(format_count(double(tokens)) + " tokens  " + format_count(tokens / secs) + " tokens/s");
  }
  if (o.val_fraction > 0 && val.tokens() == 0)
    std::fprintf(stderr, "warning: the validation split is empty (%llu documents, --val-fraction %g)\n",
                 static_cast<unsigned long long>(documents), o.val_fraction);

  json sources = json::array();
  for (size_t i = 0; i < inputs.size(); ++i)
    sources.push_back({{"path", inputs[i].path.string()}, {"bytes", inputs[i].bytes}, {"documents", source_docs[i]},
                       {"tokens", source_tokens[i]}});
  json data;
  data["llamapro_data"] = kDataJsonVersion;
  data["format"] = enc.chat() ? "chat" : "pretrain";
  data["vocab_size"] = vocab;
  data["dtype"] = token_width_for_vocab(vocab) == 2 ? "uint16" : "uint32";
  data["tokenizer"] = enc.tokenizer_json();
  data["template"] = enc.chat_template() ? json(chat_template_name(*enc.chat_template())) : json(nullptr);
  data["val_fraction"] = o.val_fraction;
  data["seed"] = o.seed;
  data["tokens"] = tokens;
  data["documents"] = documents;
  data["skipped_documents"] = skipped;
  data["sources"] = sources;
  data["train"] = train.summary();
  data["validation"] = val.summary();
  write_json_file(staging.path() / kDataJson, data);
  staging.commit();
  return data;
}

}  // namespace llamapro
