// cpu_gemm.cpp — see cpu_gemm.h. The BLAS is found at run time (the one libtorch loaded): its
// Fortran sgemm_, and OpenBLAS's thread count switch when it has one.
#include "kernels/cpu_gemm.h"

#include <ATen/Parallel.h>
#include <dlfcn.h>
#include <sched.h>

#include <algorithm>
#include <cstdlib>
#include <mutex>

#include "util/check.h"

namespace llamapro {

namespace {

using Sgemm = void (*)(const char*, const char*, const int*, const int*, const int*, const float*, const float*,
                       const int*, const float*, const int*, const float*, float*, const int*);
using SetThreads = void (*)(int);
using GetThreads = int (*)();

struct Blas {
  Sgemm sgemm = nullptr;
  SetThreads set_threads = nullptr;
  GetThreads get_threads = nullptr;
};

const Blas& blas() {
  static Blas b;
  static std::once_flag once;
  std::call_once(once, [] {
    b.sgemm = reinterpret_cast<Sgemm>(dlsym(RTLD_DEFAULT, "sgemm_"));
    b.set_threads = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
    b.get_threads = reinterpret_cast<GetThreads>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
  });
  LP_CHECK(b.sgemm, "internal: no BLAS sgemm_ in this process (libtorch was expected to load one)");
  return b;
}

// OpenBLAS on one thread for the lifetime of this object (each of our threads calls it).
class OneBlasThread {
 public:
  explicit OneBlasThread(const Blas& b) : b_(b) {
    if (b_.set_threads && b_.get_threads && (saved_ = b_.get_threads()) != 1) b_.set_threads(1);
  }
  ~OneBlasThread() {
    if (saved_ > 1) b_.set_threads(saved_);
  }

 private:
  const Blas& b_;
  int saved_ = 0;
};

// One BLAS call on the whole (row-major) problem: C^T = B^T A^T in BLAS's column-major terms.
void sgemm_rows(const Blas& blas, int64_t M, int64_t N, int64_t K, MatrixRef a, MatrixRef b, float beta, float* c,
                int64_t ldc) {
  if (M == 0 || N == 0) return;
  const int m = int(M), n = int(N), k = int(K), lda = int(a.ld), ldb = int(b.ld), ldc32 = int(ldc);
  const float one = 1.0f;
  blas.sgemm(b.transposed ? "T" : "N", a.transposed ? "T" : "N", &n, &m, &k, &one, b.data, &ldb, a.data, &lda, &beta,
             c, &ldc32);
}

}  // namespace

void use_available_cpus() {
  const char* set = std::getenv("OMP_NUM_THREADS");
  if (set && *set) return;
  cpu_set_t cpus;
  CPU_ZERO(&cpus);
  if (sched_getaffinity(0, sizeof cpus, &cpus) != 0) return;
  if (const int n = CPU_COUNT(&cpus); n > at::get_num_threads()) at::set_num_threads(n);
}

void cpu_gemm(int64_t M, int64_t N, int64_t K, MatrixRef a, MatrixRef b, float beta, float* c, int64_t ldc) {
  LP_CHECK(M < (int64_t(1) << 31) && N < (int64_t(1) << 31) && K < (int64_t(1) << 31) && a.ld < (int64_t(1) << 31) &&
               b.ld < (int64_t(1) << 31) && ldc < (int64_t(1) << 31),
           "internal: matrix product of ", M, " x ", K, " x ", N, " exceeds the BLAS's int range");
  const Blas& lib = blas();
  const int threads = at::get_num_threads();
  const bool small = double(M) * double(N) * double(K) < 65536.0;  // less work than splitting it costs
  if (threads == 1 || small || at::in_parallel_region()) return sgemm_rows(lib, M, N, K, a, b, beta, c, ldc);
  OneBlasThread one(lib);
  // Split the longer side of C into one share per thread, in multiples of 16.
  const bool by_rows = M >= N;
  const int64_t side = by_rows ? M : N;
  const int64_t share = std::max<int64_t>(16, (side / threads + 15) / 16 * 16);
  at::parallel_for(0, (side + share - 1) / share, 1, [&](int64_t begin, int64_t end) {
    for (int64_t part = begin; part < end; part++) {
      const int64_t s0 = part * share, s = std::min(share, side - s0);
      if (by_rows) {
        MatrixRef a_part{a.transposed ? a.data + s0 : a.data + s0 * a.ld, a.ld, a.transposed};
        sgemm_rows(lib, s, N, K, a_part, b, beta, c + s0 * ldc, ldc);
      } else {
        MatrixRef b_part{b.transposed ? b.data + s0 * b.ld : b.data + s0, b.ld, b.transposed};
        sgemm_rows(lib, M, s, K, a, b_part, beta, c + s0, ldc);
      }
    }
  });
}

}  // namespace llamapro
