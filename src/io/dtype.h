// dtype.h — element types of safetensors files, and float conversions between the three that
// model weights use (F32, F16, BF16).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace llamapro {

enum class DType { F64, F32, F16, BF16, I64, I32, I16, I8, U64, U32, U16, U8, BOOL, F8_E4M3, F8_E5M2 };

size_t dtype_size(DType t);
std::string_view dtype_name(DType t);              // safetensors spelling: "BF16"
DType parse_dtype(std::string_view name);          // throws for unknown names
bool is_weight_dtype(DType t);                     // F32, F16 or BF16
DType parse_weight_dtype(std::string_view name);   // "bf16"/"bfloat16"/"BF16"... -> BF16 etc.
std::string_view torch_dtype_name(DType t);        // config.json spelling: "bfloat16"

// Converts n elements between weight dtypes (F32/F16/BF16); BF16 and F16 round to nearest even.
void convert_elements(const void* src, DType from, void* dst, DType to, size_t n);

float bf16_to_f32(uint16_t h);
uint16_t f32_to_bf16(float f);
float f16_to_f32(uint16_t h);
uint16_t f32_to_f16(float f);

}  // namespace llamapro
