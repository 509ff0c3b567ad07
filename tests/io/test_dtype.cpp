// test_dtype.cpp — dtype table and the F32/F16/BF16 conversions, checked against independent math.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "io/dtype.h"
#include "util/check.h"

namespace llamapro {
namespace {

uint32_t bits_of(float f) {
  uint32_t b;
  std::memcpy(&b, &f, 4);
  return b;
}
float float_of(uint32_t b) {
  float f;
  std::memcpy(&f, &b, 4);
  return f;
}

// ---------------------------------------------------------------------------------------------
// Independent references: values from the definition of the formats, rounding by comparing
// distances in double precision (exact for these widths) with ties going to the even code.

// IEEE binary16 value of a code, from the definition.
double f16_value(uint16_t h) {
  int sign = h >> 15, exp = (h >> 10) & 0x1F, mant = h & 0x3FF;
  double v;
  if (exp == 0) v = std::ldexp(mant, -24);
  else if (exp == 31) v = mant ? std::numeric_limits<double>::quiet_NaN() : std::numeric_limits<double>::infinity();
  else v = std::ldexp(1024 + mant, exp - 25);
  return sign ? -v : v;
}

// Rounds |x| (finite, non-negative) to one of the codes lo < hi whose magnitudes are vlo < vhi,
// nearest first, then even.
uint32_t nearest_even(double x, uint32_t lo, double vlo, uint32_t hi, double vhi) {
  double dlo = x - vlo, dhi = vhi - x;
  if (dlo < dhi) return lo;
  if (dhi < dlo) return hi;
  return (lo & 1) ? hi : lo;
}

uint16_t ref_f32_to_bf16(float f) {
  uint32_t b = bits_of(f), sign = b & 0x80000000u;
  uint32_t mag = b & 0x7FFFFFFFu;
  if (std::isinf(f)) return static_cast<uint16_t>((sign | 0x7F800000u) >> 16);
  uint32_t lo = mag >> 16, hi = lo + 1;  // bf16 codes around |f|; hi may be the infinity code
  double vlo = std::fabs(static_cast<double>(float_of(lo << 16)));
  double vhi = hi == 0x7F80 ? std::ldexp(1.0, 128) : std::fabs(static_cast<double>(float_of(hi << 16)));
  uint32_t code = (mag & 0xFFFF) == 0 ? lo : nearest_even(std::fabs(static_cast<double>(f)), lo, vlo, hi, vhi);
  return static_cast<uint16_t>((sign >> 16) | code);
}

uint16_t ref_f32_to_f16(float f) {
  double x = std::fabs(static_cast<double>(f));
  uint16_t sign = std::signbit(f) ? 0x8000 : 0;
  if (std::isinf(f)) return sign | 0x7C00;
  // All non-negative finite codes in increasing order are 0x0000..0x7BFF; 0x7C00 (inf) acts as
  // the next code up, 2^16, for rounding, as IEEE specifies.
  auto value = [](uint32_t code) { return code == 0x7C00 ? 65536.0 : f16_value(static_cast<uint16_t>(code)); };
  if (x >= 65536.0) return sign | 0x7C00;
  uint32_t lo = 0, hi = 0x7C00;  // binary search: value(lo) <= x < value(hi)
  while (hi - lo > 1) {
    uint32_t mid = (lo + hi) / 2;
    if (value(mid) <= x) lo = mid;
    else hi = mid;
  }
  uint32_t code = value(lo) == x ? lo : nearest_even(x, lo, value(lo), hi, value(hi));
  return static_cast<uint16_t>(sign | code);
}

// Floats that probe rounding: every bf16 code with interesting low halves, plus random ones.
std::vector<float> probe_floats() {
  std::vector<float> out;
  for (uint32_t hi = 0; hi < 0x10000; hi++)
    for (uint32_t low : {0x0000u, 0x0001u, 0x7FFFu, 0x8000u, 0x8001u, 0xFFFFu})
      out.push_back(float_of((hi << 16) | low));
  std::mt19937 rng(1234);
  for (int i = 0; i < 200000; i++) out.push_back(float_of(rng()));
  return out;
}

// ---------------------------------------------------------------------------------------------

TEST(DType, TableRoundTripsAndSizes) {
  const std::vector<std::pair<DType, size_t>> sizes = {
      {DType::F64, 8}, {DType::F32, 4}, {DType::F16, 2}, {DType::BF16, 2}, {DType::I64, 8},
      {DType::I32, 4}, {DType::I16, 2}, {DType::I8, 1}, {DType::U64, 8}, {DType::U32, 4},
      {DType::U16, 2}, {DType::U8, 1}, {DType::BOOL, 1}, {DType::F8_E4M3, 1}, {DType::F8_E5M2, 1}};
  for (auto [t, size] : sizes) {
    EXPECT_EQ(dtype_size(t), size) << dtype_name(t);
    EXPECT_EQ(parse_dtype(dtype_name(t)), t);
  }
  EXPECT_EQ(dtype_name(DType::BF16), "BF16");
  EXPECT_THROW(parse_dtype("F33"), Error);
  EXPECT_THROW(parse_dtype("bf16"), Error);  // safetensors spelling is upper case
  EXPECT_THROW(parse_dtype(""), Error);
}

TEST(DType, WeightDtypeSpellings) {
  EXPECT_EQ(parse_weight_dtype("bfloat16"), DType::BF16);
  EXPECT_EQ(parse_weight_dtype("BF16"), DType::BF16);
  EXPECT_EQ(parse_weight_dtype("fp16"), DType::F16);
  EXPECT_EQ(parse_weight_dtype("Half"), DType::F16);
  EXPECT_EQ(parse_weight_dtype("float32"), DType::F32);
  EXPECT_EQ(parse_weight_dtype("f32"), DType::F32);
  EXPECT_THROW(parse_weight_dtype("int8"), Error);
  EXPECT_EQ(torch_dtype_name(DType::BF16), "bfloat16");
  EXPECT_EQ(torch_dtype_name(DType::F16), "float16");
  EXPECT_THROW(torch_dtype_name(DType::I64), Error);
  EXPECT_TRUE(is_weight_dtype(DType::F16));
  EXPECT_FALSE(is_weight_dtype(DType::F64));
}

TEST(DType, Bf16ToF32IsExactWidening) {
  for (uint32_t h = 0; h < 0x10000; h++) {
    float f = bf16_to_f32(static_cast<uint16_t>(h));
    if (std::isnan(f)) {
      EXPECT_TRUE((h & 0x7F80) == 0x7F80 && (h & 0x7F)) << h;
      continue;
    }
    EXPECT_EQ(bits_of(f), h << 16) << h;
  }
  EXPECT_EQ(bf16_to_f32(0x3F80), 1.0f);
  EXPECT_EQ(bf16_to_f32(0xC000), -2.0f);
}

TEST(DType, F32ToBf16RoundsToNearestEven) {
  size_t checked = 0;
  for (float f : probe_floats()) {
    uint16_t got = f32_to_bf16(f);
    if (std::isnan(f)) {
      EXPECT_TRUE(std::isnan(bf16_to_f32(got))) << std::hex << bits_of(f);
      EXPECT_EQ(got & 0x8000, (bits_of(f) >> 16) & 0x8000) << "NaN keeps its sign";
      continue;
    }
    ASSERT_EQ(got, ref_f32_to_bf16(f)) << std::hex << "f32 bits 0x" << bits_of(f);
    checked++;
  }
  EXPECT_GT(checked, 300000u);
  // Named cases: ties to even, the largest float overflowing to infinity, subnormals.
  EXPECT_EQ(f32_to_bf16(float_of(0x3F808000)), 0x3F80);  // tie, even stays
  EXPECT_EQ(f32_to_bf16(float_of(0x3F818000)), 0x3F82);  // tie, odd rounds up
  EXPECT_EQ(f32_to_bf16(float_of(0x3F808001)), 0x3F81);  // above the tie
  EXPECT_EQ(f32_to_bf16(std::numeric_limits<float>::max()), 0x7F80);
  EXPECT_EQ(f32_to_bf16(-std::numeric_limits<float>::infinity()), 0xFF80);
  EXPECT_EQ(f32_to_bf16(float_of(0x00018000)), 0x0002);  // subnormal tie, odd -> up
  EXPECT_EQ(f32_to_bf16(-0.0f), 0x8000);
  // A NaN whose payload sits only in the low half must not become infinity.
  EXPECT_TRUE(std::isnan(bf16_to_f32(f32_to_bf16(float_of(0x7F800001)))));
}

TEST(DType, F16ToF32MatchesDefinitionForAllCodes) {
  for (uint32_t h = 0; h < 0x10000; h++) {
    float got = f16_to_f32(static_cast<uint16_t>(h));
    double want = f16_value(static_cast<uint16_t>(h));
    if (std::isnan(want)) {
      EXPECT_TRUE(std::isnan(got)) << h;
      continue;
    }
    ASSERT_EQ(static_cast<double>(got), want) << "f16 code 0x" << std::hex << h;
    ASSERT_EQ(std::signbit(got), (h & 0x8000) != 0) << h;  // -0.0 too
  }
  EXPECT_EQ(f16_to_f32(0x0001), std::ldexp(1.0f, -24));  // smallest subnormal
  EXPECT_EQ(f16_to_f32(0x7BFF), 65504.0f);
}

TEST(DType, F32ToF16RoundsToNearestEven) {
  size_t checked = 0;
  for (float f : probe_floats()) {
    uint16_t got = f32_to_f16(f);
    if (std::isnan(f)) {
      EXPECT_TRUE(std::isnan(f16_to_f32(got)));
      continue;
    }
    ASSERT_EQ(got, ref_f32_to_f16(f)) << std::hex << "f32 bits 0x" << bits_of(f) << " (" << f << ")";
    checked++;
  }
  EXPECT_GT(checked, 300000u);
  // Every f16 value survives f16 -> f32 -> f16.
  for (uint32_t h = 0; h < 0x10000; h++) {
    if (std::isnan(f16_value(static_cast<uint16_t>(h)))) continue;
    ASSERT_EQ(f32_to_f16(f16_to_f32(static_cast<uint16_t>(h))), h);
  }
  EXPECT_EQ(f32_to_f16(65519.0f), 0x7BFF);   // below the midpoint to 2^16: max finite
  EXPECT_EQ(f32_to_f16(65520.0f), 0x7C00);   // the midpoint: ties to even = infinity
  EXPECT_EQ(f32_to_f16(std::ldexp(1.0f, -25)), 0x0000);                // tie to even zero
  EXPECT_EQ(f32_to_f16(std::ldexp(1.0f, -25) * 1.0000001f), 0x0001);  // just above -> smallest
  EXPECT_EQ(f32_to_f16(std::ldexp(3.0f, -25)), 0x0002);               // 1.5 ulp tie -> even 2
  EXPECT_EQ(f32_to_f16(-std::ldexp(1.0f, -30)), 0x8000);              // underflow keeps sign
}

TEST(DType, ConvertElementsAllPairs) {
  std::vector<float> src = {0.0f, -1.5f, 3.140625f, 65504.0f, 1e-7f, -2.5e38f, 1.0f / 3.0f};
  std::vector<uint16_t> bf(src.size()), h(src.size());
  convert_elements(src.data(), DType::F32, bf.data(), DType::BF16, src.size());
  convert_elements(src.data(), DType::F32, h.data(), DType::F16, src.size());
  for (size_t i = 0; i < src.size(); i++) {
    EXPECT_EQ(bf[i], f32_to_bf16(src[i]));
    EXPECT_EQ(h[i], f32_to_f16(src[i]));
  }
  std::vector<float> back(src.size());
  convert_elements(bf.data(), DType::BF16, back.data(), DType::F32, src.size());
  for (size_t i = 0; i < src.size(); i++) EXPECT_EQ(back[i], bf16_to_f32(bf[i]));
  std::vector<uint16_t> h2(src.size());
  convert_elements(bf.data(), DType::BF16, h2.data(), DType::F16, src.size());
  for (size_t i = 0; i < src.size(); i++) EXPECT_EQ(h2[i], f32_to_f16(bf16_to_f32(bf[i])));
  std::vector<uint16_t> same(src.size());
  convert_elements(h.data(), DType::F16, same.data(), DType::F16, src.size());
  EXPECT_EQ(same, h);
  int64_t ints[2] = {1, 2};
  float out[2];
  EXPECT_THROW(convert_elements(ints, DType::I64, out, DType::F32, 2), Error);
}

}  // namespace
}  // namespace llamapro
