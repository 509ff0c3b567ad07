// bench_tokenizer.cpp — encode throughput of llamapro's tokenizer on a chunk file (the format
// of reference.js), single-threaded and with N threads. Prints one JSON line.
//   bench_tokenizer CHUNKS MODEL_DIR [THREADS]
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include "tokenizer/tokenizer.h"

using Clock = std::chrono::steady_clock;

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: bench_tokenizer CHUNKS MODEL_DIR [THREADS]\n");
    return 2;
  }
  int threads = argc > 3 ? std::atoi(argv[3]) : 2;
  std::ifstream in(argv[1], std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::string_view> chunks;
  size_t total = 0;
  for (size_t off = 0; off + 4 <= bytes.size();) {
    uint32_t n;
    std::memcpy(&n, bytes.data() + off, 4);
    off += 4;
    chunks.emplace_back(bytes.data() + off, n);
    off += n;
    total += n;
  }
  try {
    auto t0 = Clock::now();
    llamapro::Tokenizer tok = llamapro::Tokenizer::from_dir(argv[2]);
    double load = std::chrono::duration<double>(Clock::now() - t0).count();

    // Warm-up on the first chunks, as the reference script does.
    for (size_t i = 0; i < chunks.size() && i < 50; ++i) tok.encode(chunks[i], false);

    std::vector<int32_t> ids;
    size_t tokens = 0;
    t0 = Clock::now();
    for (auto c : chunks) {
      ids.clear();
      tok.encode_into(c, false, ids);
      tokens += ids.size();
    }
    double single = std::chrono::duration<double>(Clock::now() - t0).count();

    // Threads take chunks from a shared counter, like a data pipeline would.
    std::atomic<size_t> next{0};
    t0 = Clock::now();
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t)
      pool.emplace_back([&] {
        std::vector<int32_t> local;
        for (size_t i; (i = next++) < chunks.size();) {
          local.clear();
          tok.encode_into(chunks[i], false, local);
        }
      });
    for (auto& th : pool) th.join();
    double multi = std::chrono::duration<double>(Clock::now() - t0).count();
    std::printf("{\"bytes\": %zu, \"tokens\": %zu, \"load_s\": %.3f, \"single_s\": %.4f, \"multi_s\": %.4f, \"threads\": %d}\n",
                total, tokens, load, single, multi, threads);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
