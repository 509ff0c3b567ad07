// gguf_export.h — a Hugging Face model folder as one GGUF file that llama.cpp loads: llama
// (also Mistral) and qwen2 architectures, llama.cpp's tensor names and dimension order, the
// q/k row permutation its llama graph expects, llama3 RoPE factors, the tokenizer from
// tokenizer.json, and the provenance manifest. Streams tensor by tensor (peak memory: a few
// rows), written through util/output like every other output.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "export/gguf.h"

namespace llamapro {

struct ModelFolder;

struct GgufExportOptions {
  GgmlType type = GgmlType::F16;  // of the weight matrices; norms, biases and RoPE factors stay F32
  bool force = false;
  bool progress = true;
};

struct GgufExportResult {
  uint64_t bytes = 0;
  size_t tensors = 0;
  double seconds = 0;
  std::vector<std::string> notes;  // e.g. matrices kept in F16 because rows are not whole Q8_0 blocks
};

// Refuses, before writing anything, a model llama.cpp cannot represent.
GgufExportResult export_gguf(const ModelFolder& in, const std::filesystem::path& out, const GgufExportOptions& o);

// "f32", "f16", "bf16", "q8_0" -> type; error naming the choices otherwise.
GgmlType parse_gguf_type(const std::string& name);

// ggml's Q8_0 of one row (n a multiple of 32): per block of 32, scale d = max|x| / 127 as f16,
// then round(x / d) as int8. Writes n / 32 * 34 bytes.
void quantize_row_q8_0(const float* x, size_t n, uint8_t* out);

}  // namespace llamapro
