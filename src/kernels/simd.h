// simd.h — 8-float vectors (GCC vector extensions) for the hand-written float32 loops
// (kernels/vector_math, kernels/attention_loops). The compiler maps them to the instructions the
// file is built for (AVX2 + FMA with LLAMAPRO_NATIVE); unaligned loads and stores go through
// memcpy.
#pragma once

#include <cstdint>
#include <cstring>

namespace llamapro::simd {

typedef float v8 __attribute__((vector_size(32)));
typedef int32_t v8i __attribute__((vector_size(32)));

inline v8 load8(const float* p) {
  v8 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

inline void store8(float* p, v8 v) { std::memcpy(p, &v, sizeof v); }

inline float sum8(v8 v) { return ((v[0] + v[4]) + (v[1] + v[5])) + ((v[2] + v[6]) + (v[3] + v[7])); }

inline v8 splat(float f) { return v8{} + f; }

// exp of 8 floats (relative error ~2e-7 over the float range; below -87.3 it returns ~1e-38,
// above 88.3 ~3e38): x = n ln2 + r with |r| <= ln2/2, exp(r) by Cephes' degree-6 polynomial,
// 2^n built in the exponent bits. n is rounded by adding and subtracting 1.5 * 2^23, which also
// leaves n in the low bits of the sum.
__attribute__((always_inline)) inline v8 exp8(v8 x) {
  const v8 magic = splat(12582912.0f);
  x = x < splat(-87.3f) ? splat(-87.3f) : x;
  x = x > splat(88.3f) ? splat(88.3f) : x;
  const v8 t = x * splat(1.44269504088896341f) + magic;
  const v8 n = t - magic;
  v8 r = x - n * splat(0.693359375f);
  r = r - n * splat(-2.12194440e-4f);
  v8 p = splat(1.9875691500e-4f);
  p = p * r + splat(1.3981999507e-3f);
  p = p * r + splat(8.3334519073e-3f);
  p = p * r + splat(4.1665795894e-2f);
  p = p * r + splat(1.6666665459e-1f);
  p = p * r + splat(5.0000001201e-1f);
  p = p * (r * r) + r + splat(1.0f);
  const v8i exponent = ((v8i)t - (v8i)magic + 127) << 23;
  return p * (v8)exponent;
}

}  // namespace llamapro::simd
