// cpu_gemm.h — float32 matrix products on the CPU, split across libtorch's OpenMP threads,
// each thread running the BLAS single-threaded on its share of the rows (or columns).
//
// libtorch hands a product to a multi-threaded OpenBLAS whose worker threads, once done, spin
// on the cores that libtorch's own OpenMP threads need for the element-wise work that follows
// (and the other way round): on a 2-core machine a product between element-wise operations ran
// at about half the rate it reaches alone. With one team of threads for both, nothing spins
// against it.
#pragma once

#include <cstdint>

namespace llamapro {

// A row-major matrix of `rows` x `cols` logical elements at `data`, rows `ld` floats apart;
// `transposed` means the stored array is the (cols x rows) transpose.
struct MatrixRef {
  const float* data;
  int64_t ld;
  bool transposed = false;
};

// Sizes libtorch's thread team to the CPUs this process may run on, unless OMP_NUM_THREADS
// says otherwise (libtorch's own default counts physical cores as its CPU probe reports them,
// one on some virtual machines). Called once, first thing, by the command line.
void use_available_cpus();

// C (M, N) = A (M, K) B (K, N) + beta C, C row-major with rows ldc floats apart; beta 0 or 1.
void cpu_gemm(int64_t M, int64_t N, int64_t K, MatrixRef a, MatrixRef b, float beta, float* c, int64_t ldc);

}  // namespace llamapro
