// gguf.h — the GGUF file format (version 3, as ggml's docs/gguf.md specifies), the format
// llama.cpp and the tools built on it load: a header, typed key/values, tensor infos, then the
// tensor data, each tensor aligned to general.alignment (32 unless stated).
//
// GgufWriter streams: key/values and tensor infos are declared first (a tensor's size is known
// from its type and dims), the header is written, then each tensor's bytes in declaration order,
// so peak memory is a few buffers whatever the model size. GgufFile reads and validates a file
// (every length, offset, type and size checked against the file) without reading tensor data.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <variant>
#include <vector>

namespace llamapro {

class AtomicFile;
class MappedFile;

inline constexpr uint32_t kGgufMagic = 0x46554747;  // "GGUF" little-endian
inline constexpr uint32_t kGgufVersion = 3;
inline constexpr uint64_t kGgufDefaultAlignment = 32;

// ggml tensor types llamapro writes or reads (ggml.h numbering).
enum class GgmlType : uint32_t { F32 = 0, F16 = 1, Q8_0 = 8, BF16 = 30 };
const char* ggml_type_name(GgmlType t);
bool is_known_ggml_type(uint32_t t);
// Bytes of `n` elements of a row (n must be a whole number of blocks for Q8_0).
uint64_t ggml_row_bytes(GgmlType t, uint64_t n);
inline constexpr uint64_t kQ8BlockSize = 32;  // Q8_0: one f16 scale + 32 int8 per block

// Value types of metadata (gguf.md numbering).
enum class GgufType : uint32_t {
  U8 = 0, I8 = 1, U16 = 2, I16 = 3, U32 = 4, I32 = 5, F32 = 6, BOOL = 7, STRING = 8, ARRAY = 9, U64 = 10,
  I64 = 11, F64 = 12
};

// One metadata value. Arrays hold elements of one scalar or string type.
struct GgufValue {
  GgufType type = GgufType::U32;
  GgufType element = GgufType::U32;  // arrays only
  std::variant<uint64_t, int64_t, double, bool, std::string> scalar;
  std::vector<std::variant<uint64_t, int64_t, double, bool, std::string>> array;

  static GgufValue u32(uint32_t v);
  static GgufValue i32(int32_t v);
  static GgufValue f32(float v);
  static GgufValue boolean(bool v);
  static GgufValue string(std::string v);
  static GgufValue strings(std::vector<std::string> v);
  static GgufValue i32s(const std::vector<int32_t>& v);
  static GgufValue f32s(const std::vector<float>& v);
  std::string to_string(size_t max_elements = 8) const;  // for inspect
};

struct GgufKeyValue {
  std::string key;
  GgufValue value;
};

struct GgufTensorInfo {
  std::string name;
  std::vector<uint64_t> dims;  // ggml order: dims[0] varies fastest (columns of a matrix)
  GgmlType type = GgmlType::F32;
  uint64_t offset = 0;         // from the start of the data section
  uint64_t nbytes() const;
};

class GgufWriter {
 public:
  GgufWriter(std::vector<GgufKeyValue> metadata, std::vector<GgufTensorInfo> tensors,
             uint64_t alignment = kGgufDefaultAlignment);
  ~GgufWriter();
  // Writes everything before the data into `file` and assigns the tensors' offsets.
  void begin(AtomicFile& file);
  const std::vector<GgufTensorInfo>& tensors() const { return tensors_; }
  // Bytes of the current tensor, any piece size; padding is added between tensors.
  void append(const void* data, size_t n);
  // A whole tensor's bytes taken from a file, copied inside the kernel (as cp does).
  void append_from_file(int fd, uint64_t offset, uint64_t n);
  void finish();  // every tensor must be complete
  uint64_t bytes_written() const { return written_; }

 private:
  void write(const void* data, size_t n);
  void pad();
  std::vector<GgufKeyValue> metadata_;
  std::vector<GgufTensorInfo> tensors_;
  uint64_t alignment_;
  AtomicFile* file_ = nullptr;
  size_t tensor_ = 0;
  uint64_t tensor_written_ = 0, written_ = 0;
};

class GgufByteReader;

class GgufFile {
 public:
  explicit GgufFile(const std::filesystem::path& path);  // throws on any inconsistency
  GgufFile(const uint8_t* data, size_t size, std::string name);  // in memory (fuzzing)
  ~GgufFile();

  uint32_t version() const { return version_; }
  uint64_t alignment() const { return alignment_; }
  uint64_t data_offset() const { return data_offset_; }
  const std::vector<GgufKeyValue>& metadata() const { return metadata_; }
  const std::vector<GgufTensorInfo>& tensors() const { return tensors_; }
  const GgufValue* find(const std::string& key) const;
  const uint8_t* tensor_data(const GgufTensorInfo& t) const { return data_ + data_offset_ + t.offset; }

 private:
  // The header, then the metadata, the tensor infos and the layout of the data, each checked.
  void parse(const std::string& name);
  void read_metadata(GgufByteReader& in, uint64_t n_kv, const std::string& name);
  void read_tensor_infos(GgufByteReader& in, uint64_t n_tensors, const std::string& name);
  void check_layout(const std::string& name) const;
  std::unique_ptr<MappedFile> mapping_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  uint32_t version_ = 0;
  uint64_t alignment_ = kGgufDefaultAlignment, data_offset_ = 0;
  std::vector<GgufKeyValue> metadata_;
  std::vector<GgufTensorInfo> tensors_;
};

}  // namespace llamapro
