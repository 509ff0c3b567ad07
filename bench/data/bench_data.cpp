// bench_data.cpp — throughput of `data prepare` (the whole pipeline: reading, tokenizing on N
// threads, shard writing) against Tokenizer::encode alone on the very same documents, in one
// process, so the ratio shows what the pipeline costs on top of tokenization.
//   bench_data MODEL_DIR OUT_DIR THREADS... -- INPUT...   (one document per file)
// Prints one JSON object: bytes, tokens, encode wall and CPU seconds (1 thread), and the same
// for prepare per thread count.
#include <time.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "data/input_files.h"
#include "data/prepare.h"
#include "tokenizer/tokenizer.h"
#include "util/check.h"
#include "util/json.h"

using namespace llamapro;

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

double cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
}

}  // namespace

int main(int argc, char** argv) {
  try {
    LP_CHECK(argc >= 5, "usage: bench_data MODEL_DIR OUT_DIR THREADS... -- INPUT...");
    std::string model = argv[1], out = argv[2];
    std::vector<int> threads;
    std::vector<std::string> inputs;
    int i = 3;
    for (; i < argc && std::string(argv[i]) != "--"; ++i) threads.push_back(std::stoi(argv[i]));
    for (++i; i < argc; ++i) inputs.push_back(argv[i]);

    // The baseline: the same documents, read into memory first, encoded one after another.
    // Loading the tokenizer is a fixed cost of every prepare run (0.6 s for Llama 3's 128k
    // vocabulary), reported so that the steady-state rate can be told apart.
    auto l0 = std::chrono::steady_clock::now();
    Tokenizer tok = Tokenizer::from_dir(model);
    double load_s = seconds_since(l0);
    std::vector<std::string> docs;
    uint64_t bytes = 0;
    for (const InputFile& f : expand_inputs(inputs)) {
      InputReader r(f.path);
      docs.emplace_back();
      r.read_all(docs.back());
      bytes += docs.back().size();
    }
    std::vector<int32_t> ids;
    uint64_t tokens = 0;
    auto t0 = std::chrono::steady_clock::now();
    double c0 = cpu_seconds();
    for (const std::string& d : docs) {
      ids.clear();
      tok.encode_into(d, false, ids);
      tokens += ids.size();
    }
    json result = {{"bytes", bytes}, {"load_s", load_s}, {"documents", docs.size()}, {"encode_tokens", tokens}, {"encode_s", seconds_since(t0)},
                   {"encode_cpu_s", cpu_seconds() - c0}};
    docs.clear();
    docs.shrink_to_fit();

    json prepare = json::object();
    for (int t : threads) {
      PrepareOptions o;
      o.tokenizer_dir = model;
      o.inputs = inputs;
      o.output = out;
      o.threads = t;
      o.force = true;
      o.progress = false;
      t0 = std::chrono::steady_clock::now();
      c0 = cpu_seconds();
      json data = prepare_data(o);
      prepare[std::to_string(t)] = {{"seconds", seconds_since(t0)}, {"cpu_s", cpu_seconds() - c0}, {"tokens", data["tokens"]}};
    }
    result["prepare"] = prepare;
    std::printf("%s\n", result.dump().c_str());
    std::filesystem::remove_all(out);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
