#include "export/gguf.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <limits>
#include <set>

#include "io/mapped_file.h"
#include "util/check.h"
#include "util/files.h"

namespace llamapro {

namespace {

using Scalar = std::variant<uint64_t, int64_t, double, bool, std::string>;

size_t scalar_size(GgufType t) {
  switch (t) {
    case GgufType::U8: case GgufType::I8: case GgufType::BOOL: return 1;
    case GgufType::U16: case GgufType::I16: return 2;
    case GgufType::U32: case GgufType::I32: case GgufType::F32: return 4;
    case GgufType::U64: case GgufType::I64: case GgufType::F64: return 8;
    default: return 0;  // STRING, ARRAY: variable
  }
}

bool is_signed(GgufType t) {
  return t == GgufType::I8 || t == GgufType::I16 || t == GgufType::I32 || t == GgufType::I64;
}

// Little-endian encoding of one scalar of type t (llamapro runs on little-endian machines).
void encode_scalar(std::string& out, GgufType t, const Scalar& v) {
  auto raw = [&](const void* p, size_t n) { out.append(static_cast<const char*>(p), n); };
  switch (t) {
    case GgufType::STRING: {
      const std::string& s = std::get<std::string>(v);
      uint64_t n = s.size();
      raw(&n, 8);
      raw(s.data(), s.size());
      return;
    }
    case GgufType::BOOL: {
      uint8_t b = std::get<bool>(v) ? 1 : 0;
      raw(&b, 1);
      return;
    }
    case GgufType::F32: {
      float f = static_cast<float>(std::get<double>(v));
      raw(&f, 4);
      return;
    }
    case GgufType::F64: {
      double d = std::get<double>(v);
      raw(&d, 8);
      return;
    }
    default: {
      uint64_t bits = is_signed(t) ? static_cast<uint64_t>(std::get<int64_t>(v)) : std::get<uint64_t>(v);
      raw(&bits, scalar_size(t));
    }
  }
}

std::string scalar_text(GgufType t, const Scalar& v) {
  switch (t) {
    case GgufType::STRING: {
      std::string s = std::get<std::string>(v);
      if (s.size() > 60) s = s.substr(0, 57) + "...";
      std::string q = "\"";
      for (char c : s) q += c == '\n' ? std::string("\\n") : std::string(1, c);
      return q + "\"";
    }
    case GgufType::BOOL: return std::get<bool>(v) ? "true" : "false";
    case GgufType::F32: case GgufType::F64: {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%g", std::get<double>(v));
      return buf;
    }
    default: return is_signed(t) ? std::to_string(std::get<int64_t>(v)) : std::to_string(std::get<uint64_t>(v));
  }
}

}  // namespace

const char* ggml_type_name(GgmlType t) {
  switch (t) {
    case GgmlType::F32: return "F32";
    case GgmlType::F16: return "F16";
    case GgmlType::Q8_0: return "Q8_0";
    case GgmlType::BF16: return "BF16";
  }
  return "?";
}

bool is_known_ggml_type(uint32_t t) { return t == 0 || t == 1 || t == 8 || t == 30; }

uint64_t ggml_row_bytes(GgmlType t, uint64_t n) {
  switch (t) {
    case GgmlType::F32: return 4 * n;
    case GgmlType::F16: case GgmlType::BF16: return 2 * n;
    case GgmlType::Q8_0: return n / kQ8BlockSize * (2 + kQ8BlockSize);
  }
  return 0;
}

uint64_t GgufTensorInfo::nbytes() const {
  uint64_t rows = 1;
  for (size_t i = 1; i < dims.size(); i++) rows *= dims[i];
  return rows * ggml_row_bytes(type, dims.empty() ? 1 : dims[0]);
}

// ---------------------------------------------------------------------------------------------
// values

GgufValue GgufValue::u32(uint32_t v) { GgufValue x; x.type = GgufType::U32; x.scalar = uint64_t(v); return x; }
GgufValue GgufValue::i32(int32_t v) { GgufValue x; x.type = GgufType::I32; x.scalar = int64_t(v); return x; }
GgufValue GgufValue::f32(float v) { GgufValue x; x.type = GgufType::F32; x.scalar = double(v); return x; }
GgufValue GgufValue::boolean(bool v) { GgufValue x; x.type = GgufType::BOOL; x.scalar = v; return x; }
GgufValue GgufValue::string(std::string v) { GgufValue x; x.type = GgufType::STRING; x.scalar = std::move(v); return x; }

namespace {
// An array value whose elements convert to the variant's alternative `As`.
template <typename As, typename T>
GgufValue array_of(GgufType element, const std::vector<T>& v) {
  GgufValue x;
  x.type = GgufType::ARRAY;
  x.element = element;
  for (const T& e : v) x.array.emplace_back(As(e));
  return x;
}
}  // namespace

GgufValue GgufValue::strings(std::vector<std::string> v) { return array_of<std::string>(GgufType::STRING, v); }
GgufValue GgufValue::i32s(const std::vector<int32_t>& v) { return array_of<int64_t>(GgufType::I32, v); }
GgufValue GgufValue::f32s(const std::vector<float>& v) { return array_of<double>(GgufType::F32, v); }

std::string GgufValue::to_string(size_t max_elements) const {
  if (type != GgufType::ARRAY) return scalar_text(type, scalar);
  std::string s = "[";
  for (size_t i = 0; i < array.size() && i < max_elements; i++) s += (i ? ", " : "") + scalar_text(element, array[i]);
  if (array.size() > max_elements) s += ", ... (" + std::to_string(array.size()) + " in all)";
  return s + "]";
}

// ---------------------------------------------------------------------------------------------
// writer

GgufWriter::GgufWriter(std::vector<GgufKeyValue> metadata, std::vector<GgufTensorInfo> tensors, uint64_t alignment)
    : metadata_(std::move(metadata)), tensors_(std::move(tensors)), alignment_(alignment) {
  LP_CHECK(alignment_ > 0 && alignment_ % 8 == 0, "internal: GGUF alignment must be a positive multiple of 8");
}

GgufWriter::~GgufWriter() = default;

void GgufWriter::write(const void* data, size_t n) {
  file_->write(data, n);
  written_ += n;
}

void GgufWriter::pad() {
  static const char zeros[64] = {};
  while (written_ % alignment_ != 0) write(zeros, std::min<uint64_t>(sizeof zeros, alignment_ - written_ % alignment_));
}

void GgufWriter::begin(AtomicFile& file) {
  file_ = &file;
  std::string head;
  auto raw = [&](const void* p, size_t n) { head.append(static_cast<const char*>(p), n); };
  uint32_t magic = kGgufMagic, version = kGgufVersion;
  uint64_t n_tensors = tensors_.size(), n_kv = metadata_.size();
  raw(&magic, 4);
  raw(&version, 4);
  raw(&n_tensors, 8);
  raw(&n_kv, 8);
  for (const auto& kv : metadata_) {
    encode_scalar(head, GgufType::STRING, kv.key);
    uint32_t t = uint32_t(kv.value.type);
    raw(&t, 4);
    if (kv.value.type != GgufType::ARRAY) {
      encode_scalar(head, kv.value.type, kv.value.scalar);
      continue;
    }
    uint32_t e = uint32_t(kv.value.element);
    uint64_t n = kv.value.array.size();
    raw(&e, 4);
    raw(&n, 8);
    for (const auto& v : kv.value.array) encode_scalar(head, kv.value.element, v);
  }
  uint64_t offset = 0;
  for (auto& t : tensors_) {
    t.offset = offset;
    offset += (t.nbytes() + alignment_ - 1) / alignment_ * alignment_;
    encode_scalar(head, GgufType::STRING, t.name);
    uint32_t n_dims = uint32_t(t.dims.size()), type = uint32_t(t.type);
    raw(&n_dims, 4);
    for (uint64_t d : t.dims) raw(&d, 8);
    raw(&type, 4);
    raw(&t.offset, 8);
  }
  write(head.data(), head.size());
  pad();
}

void GgufWriter::append(const void* data, size_t n) {
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    LP_CHECK(tensor_ < tensors_.size(), "internal: GGUF data past the last tensor");
    const uint64_t left = tensors_[tensor_].nbytes() - tensor_written_;
    const size_t k = size_t(std::min<uint64_t>(left, n));
    write(p, k);
    p += k;
    n -= k;
    tensor_written_ += k;
    if (tensor_written_ == tensors_[tensor_].nbytes()) {
      pad();
      tensor_++;
      tensor_written_ = 0;
    }
  }
}

void GgufWriter::append_from_file(int fd, uint64_t offset, uint64_t n) {
  LP_CHECK(tensor_ < tensors_.size() && tensor_written_ == 0 && n == tensors_[tensor_].nbytes(),
           "internal: GGUF file copy must be one whole tensor");
  file_->copy_from(fd, offset, n);
  written_ += n;
  pad();
  tensor_++;
}

void GgufWriter::finish() {
  LP_CHECK(tensor_ == tensors_.size(), "internal: GGUF incomplete, next tensor \"",
           tensor_ < tensors_.size() ? tensors_[tensor_].name : "", "\"");
}

// ---------------------------------------------------------------------------------------------
// reader

GgufFile::GgufFile(const std::filesystem::path& path) {
  mapping_ = std::make_unique<MappedFile>(path);
  data_ = mapping_->data();
  size_ = mapping_->size();
  parse(path.string());
}

GgufFile::GgufFile(const uint8_t* data, size_t size, std::string name) : data_(data), size_(size) { parse(name); }

GgufFile::~GgufFile() = default;

const GgufValue* GgufFile::find(const std::string& key) const {
  for (const auto& kv : metadata_)
    if (kv.key == key) return &kv.value;
  return nullptr;
}

// The bytes of a GGUF file read in order, every read checked against the end.
class GgufByteReader {
 public:
  GgufByteReader(const uint8_t* data, size_t size, const std::string& name) : data_(data), size_(size), name_(name) {}
  size_t position() const { return pos_; }
  size_t left() const { return size_ - pos_; }

  void need(uint64_t n, const char* what) const {
    LP_CHECK(n <= size_ - pos_, name_, ": truncated GGUF file (", what, " at byte ", pos_, " runs past the end, ",
             size_, " bytes)");
  }
  void read(void* out, size_t n, const char* what) {
    need(n, what);
    std::memcpy(out, data_ + pos_, n);
    pos_ += n;
  }
  uint32_t u32(const char* what) { uint32_t v; read(&v, 4, what); return v; }
  uint64_t u64(const char* what) { uint64_t v; read(&v, 8, what); return v; }
  std::string str(const char* what) {
    const uint64_t n = u64(what);
    need(n, what);
    std::string s(reinterpret_cast<const char*>(data_ + pos_), size_t(n));
    pos_ += size_t(n);
    return s;
  }
  Scalar scalar(GgufType t, const char* what) {
    switch (t) {
      case GgufType::STRING: return str(what);
      case GgufType::BOOL: {
        uint8_t b;
        read(&b, 1, what);
        LP_CHECK(b <= 1, name_, ": boolean value ", int(b), " in ", what);
        return b == 1;
      }
      case GgufType::F32: { float f; read(&f, 4, what); return double(f); }
      case GgufType::F64: { double d; read(&d, 8, what); return d; }
      default: {
        const size_t n = scalar_size(t);
        LP_CHECK(n > 0, name_, ": bad value type ", uint32_t(t), " in ", what);
        uint64_t bits = 0;
        read(&bits, n, what);
        if (!is_signed(t)) return bits;
        const int shift = int(64 - 8 * n);  // sign-extend
        return int64_t(bits << shift) >> shift;
      }
    }
  }

 private:
  const uint8_t* data_;
  size_t size_, pos_ = 0;
  const std::string& name_;
};

void GgufFile::parse(const std::string& name) {
  GgufByteReader in(data_, size_, name);
  LP_CHECK(size_ >= 24, name, ": not a GGUF file (", size_, " bytes, shorter than a header)");
  LP_CHECK(in.u32("magic") == kGgufMagic, name, ": not a GGUF file (bad magic)");
  version_ = in.u32("version");
  LP_CHECK(version_ == 2 || version_ == 3, name, ": GGUF version ", version_, " is not supported (expected 2 or 3)");
  const uint64_t n_tensors = in.u64("tensor count"), n_kv = in.u64("key/value count");
  // Each entry takes at least 12 bytes, so counts beyond the file size are lies.
  LP_CHECK(n_tensors <= size_ / 12 && n_kv <= size_ / 12, name, ": tensor or key/value count larger than the file allows");
  read_metadata(in, n_kv, name);
  read_tensor_infos(in, n_tensors, name);
  data_offset_ = (in.position() + alignment_ - 1) / alignment_ * alignment_;
  check_layout(name);
}

void GgufFile::read_metadata(GgufByteReader& in, uint64_t n_kv, const std::string& name) {
  std::set<std::string> keys;
  for (uint64_t i = 0; i < n_kv; i++) {
    GgufKeyValue kv;
    kv.key = in.str("key");
    LP_CHECK(keys.insert(kv.key).second, name, ": duplicate key \"", kv.key, "\"");
    const uint32_t type = in.u32("value type");
    LP_CHECK(type <= uint32_t(GgufType::F64), name, ": key \"", kv.key, "\" has unknown value type ", type);
    kv.value.type = GgufType(type);
    if (kv.value.type == GgufType::ARRAY) {
      const uint32_t element = in.u32("array type");
      LP_CHECK(element <= uint32_t(GgufType::F64) && element != uint32_t(GgufType::ARRAY), name, ": key \"", kv.key,
               "\" has an array of unsupported type ", element);
      kv.value.element = GgufType(element);
      const uint64_t n = in.u64("array length");
      const size_t min_size = kv.value.element == GgufType::STRING ? 8 : scalar_size(kv.value.element);
      LP_CHECK(n <= in.left() / min_size, name, ": key \"", kv.key, "\": array of ", n, " elements runs past the end");
      kv.value.array.reserve(size_t(n));
      for (uint64_t k = 0; k < n; k++) kv.value.array.push_back(in.scalar(kv.value.element, "array element"));
    } else {
      kv.value.scalar = in.scalar(kv.value.type, "value");
    }
    if (kv.key == "general.alignment") {
      LP_CHECK(kv.value.type == GgufType::U32, name, ": general.alignment must be a uint32");
      alignment_ = std::get<uint64_t>(kv.value.scalar);
      LP_CHECK(alignment_ > 0 && alignment_ % 8 == 0 && alignment_ <= (1u << 20), name, ": general.alignment ", alignment_,
               " is not a positive multiple of 8");
    }
    metadata_.push_back(std::move(kv));
  }
}

void GgufFile::read_tensor_infos(GgufByteReader& in, uint64_t n_tensors, const std::string& name) {
  std::set<std::string> names;
  for (uint64_t i = 0; i < n_tensors; i++) {
    GgufTensorInfo t;
    t.name = in.str("tensor name");
    LP_CHECK(names.insert(t.name).second, name, ": duplicate tensor \"", t.name, "\"");
    const uint32_t n_dims = in.u32("dimension count");
    LP_CHECK(n_dims >= 1 && n_dims <= 4, name, ": tensor \"", t.name, "\" has ", n_dims, " dimensions (expected 1 to 4)");
    uint64_t elements = 1;
    for (uint32_t d = 0; d < n_dims; d++) {
      const uint64_t dim = in.u64("dimension");
      LP_CHECK(dim >= 1 && dim <= (uint64_t(1) << 40) && elements <= std::numeric_limits<uint64_t>::max() / 64 / dim,
               name, ": tensor \"", t.name, "\" has a bad dimension ", dim);
      elements *= dim;
      t.dims.push_back(dim);
    }
    const uint32_t type = in.u32("tensor type");
    LP_CHECK(is_known_ggml_type(type), name, ": tensor \"", t.name, "\" has ggml type ", type,
             ", which llamapro does not read (F32, F16, BF16, Q8_0)");
    t.type = GgmlType(type);
    LP_CHECK(t.type != GgmlType::Q8_0 || t.dims[0] % kQ8BlockSize == 0, name, ": Q8_0 tensor \"", t.name,
             "\" has rows of ", t.dims[0], " values, not a multiple of 32");
    t.offset = in.u64("tensor offset");
    tensors_.push_back(std::move(t));
  }
}

// Every tensor aligned, inside the data section, and no two sharing bytes.
void GgufFile::check_layout(const std::string& name) const {
  LP_CHECK(data_offset_ <= size_, name, ": truncated GGUF file (no data section)");
  const uint64_t data_size = size_ - data_offset_;
  for (const auto& t : tensors_) {
    LP_CHECK(t.offset % alignment_ == 0, name, ": tensor \"", t.name, "\" at offset ", t.offset, " is not aligned to ",
             alignment_);
    LP_CHECK(t.offset <= data_size && t.nbytes() <= data_size - t.offset, name, ": tensor \"", t.name,
             "\" runs past the end of the file");
  }
  std::vector<const GgufTensorInfo*> by_offset;
  for (const auto& t : tensors_) by_offset.push_back(&t);
  std::sort(by_offset.begin(), by_offset.end(), [](auto* a, auto* b) { return a->offset < b->offset; });
  for (size_t i = 1; i < by_offset.size(); i++)
    LP_CHECK(by_offset[i - 1]->offset + by_offset[i - 1]->nbytes() <= by_offset[i]->offset, name, ": tensors \"",
             by_offset[i - 1]->name, "\" and \"", by_offset[i]->name, "\" overlap");
}

}  // namespace llamapro
