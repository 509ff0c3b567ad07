#include "io/dtype.h"

#include <array>
#include <cctype>
#include <cmath>
#include <cstring>
#include <vector>

#include "util/check.h"

namespace llamapro {

namespace {
struct DTypeInfo {
  DType type;
  std::string_view name;
  size_t size;
};
constexpr std::array<DTypeInfo, 15> kTypes = {{
    {DType::F64, "F64", 8},    {DType::F32, "F32", 4},  {DType::F16, "F16", 2},
    {DType::BF16, "BF16", 2},  {DType::I64, "I64", 8},  {DType::I32, "I32", 4},
    {DType::I16, "I16", 2},    {DType::I8, "I8", 1},    {DType::U64, "U64", 8},
    {DType::U32, "U32", 4},    {DType::U16, "U16", 2},  {DType::U8, "U8", 1},
    {DType::BOOL, "BOOL", 1},  {DType::F8_E4M3, "F8_E4M3", 1}, {DType::F8_E5M2, "F8_E5M2", 1},
}};
const DTypeInfo& info(DType t) { return kTypes[static_cast<size_t>(t)]; }
}  // namespace

size_t dtype_size(DType t) { return info(t).size; }
std::string_view dtype_name(DType t) { return info(t).name; }

DType parse_dtype(std::string_view name) {
  for (const auto& t : kTypes)
    if (t.name == name) return t.type;
  LP_FAIL("unknown dtype \"", name, "\"");
}

bool is_weight_dtype(DType t) { return t == DType::F32 || t == DType::F16 || t == DType::BF16; }

DType parse_weight_dtype(std::string_view name) {
  std::string n;
  for (char c : name) n += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (n == "f32" || n == "fp32" || n == "float32" || n == "float") return DType::F32;
  if (n == "f16" || n == "fp16" || n == "float16" || n == "half") return DType::F16;
  if (n == "bf16" || n == "bfloat16") return DType::BF16;
  LP_FAIL("unsupported weight dtype \"", name, "\": expected f32, f16 or bf16");
}

std::string_view torch_dtype_name(DType t) {
  switch (t) {
    case DType::F32: return "float32";
    case DType::F16: return "float16";
    case DType::BF16: return "bfloat16";
    default: LP_FAIL("dtype ", dtype_name(t), " has no model weight spelling");
  }
}

float bf16_to_f32(uint16_t h) {
  uint32_t bits = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

uint16_t f32_to_bf16(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  if (std::isnan(f)) return static_cast<uint16_t>((bits >> 16) | 0x40);  // keep it a NaN
  bits += 0x7FFF + ((bits >> 16) & 1);                                    // round to nearest even
  return static_cast<uint16_t>(bits >> 16);
}

float f16_to_f32(uint16_t h) {
  uint32_t sign = static_cast<uint32_t>(h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1F, mant = h & 0x3FF, bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else {  // subnormal: normalise
      exp = 127 - 15 + 1;
      while (!(mant & 0x400)) {
        mant <<= 1;
        exp--;
      }
      bits = sign | (exp << 23) | ((mant & 0x3FF) << 13);
    }
  } else if (exp == 31) {
    bits = sign | 0x7F800000 | (mant << 13);
  } else {
    bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

uint16_t f32_to_f16(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  uint32_t sign = (bits >> 16) & 0x8000;
  int32_t exp = static_cast<int32_t>((bits >> 23) & 0xFF) - 127 + 15;
  uint32_t mant = bits & 0x7FFFFF;
  if (((bits >> 23) & 0xFF) == 0xFF) return static_cast<uint16_t>(sign | 0x7C00 | (mant ? 0x200 : 0));
  if (exp >= 31) return static_cast<uint16_t>(sign | 0x7C00);  // overflow -> inf
  if (exp <= 0) {                                                 // subnormal or zero
    if (exp < -10) return static_cast<uint16_t>(sign);
    mant |= 0x800000;
    uint32_t shift = static_cast<uint32_t>(14 - exp);
    uint32_t half = mant >> shift, rem = mant & ((1u << shift) - 1), mid = 1u << (shift - 1);
    if (rem > mid || (rem == mid && (half & 1))) half++;
    return static_cast<uint16_t>(sign | half);
  }
  uint32_t half = sign | (static_cast<uint32_t>(exp) << 10) | (mant >> 13);
  uint32_t rem = mant & 0x1FFF;
  if (rem > 0x1000 || (rem == 0x1000 && (half & 1))) half++;  // may carry into the exponent: correct
  return static_cast<uint16_t>(half);
}

void convert_elements(const void* src, DType from, void* dst, DType to, size_t n) {
  LP_CHECK(is_weight_dtype(from) && is_weight_dtype(to), "cannot convert ", dtype_name(from), " to ",
           dtype_name(to));
  if (from == to) {
    std::memcpy(dst, src, n * dtype_size(from));
    return;
  }
  auto load = [&](size_t i) -> float {
    if (from == DType::F32) return static_cast<const float*>(src)[i];
    uint16_t h = static_cast<const uint16_t*>(src)[i];
    return from == DType::BF16 ? bf16_to_f32(h) : f16_to_f32(h);
  };
  for (size_t i = 0; i < n; i++) {
    float v = load(i);
    if (to == DType::F32) static_cast<float*>(dst)[i] = v;
    else static_cast<uint16_t*>(dst)[i] = to == DType::BF16 ? f32_to_bf16(v) : f32_to_f16(v);
  }
}

}  // namespace llamapro
