// bench_matmul.cpp — the machine's float32 matmul rate through libtorch, at the shapes a
// training step uses: (tokens, C) x (C, C) and (tokens, C) x (C, I). Prints GFLOP/s.
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>

int main(int argc, char** argv) {
  const int64_t tokens = argc > 1 ? std::atoll(argv[1]) : 1024;
  const int64_t C = argc > 2 ? std::atoll(argv[2]) : 512;
  const int64_t I = argc > 3 ? std::atoll(argv[3]) : 1376;
  torch::NoGradGuard no_grad;
  auto x = torch::randn({tokens, C}), w1 = torch::randn({C, C}), w2 = torch::randn({C, I});
  double flops = 0, seconds = 0;
  for (int rep = 0; rep < 12; rep++) {
    auto t0 = std::chrono::steady_clock::now();
    auto a = torch::mm(x, w1), b = torch::mm(x, w2);
    (void)a.sum().item<float>();
    (void)b.sum().item<float>();
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (rep >= 2) {  // warm-up excluded
      flops += 2.0 * tokens * C * (C + I);
      seconds += s;
    }
  }
  std::printf("%.2f\n", flops / seconds / 1e9);
  return 0;
}
