#include "io/safetensors.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include "util/check.h"
#include "util/json.h"

namespace llamapro {

namespace {
constexpr uint64_t kMaxHeaderBytes = 100'000'000;  // the reference implementation's limit
constexpr size_t kWriteBuffer = 8 << 20;
}  // namespace

int64_t TensorInfo::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::string TensorInfo::shape_str() const {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); i++) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

uint64_t TensorSpec::nbytes() const {
  uint64_t n = dtype_size(dtype);
  for (int64_t d : shape) n *= static_cast<uint64_t>(d);
  return n;
}

SafetensorsHeader parse_safetensors_header(const uint8_t* bytes, uint64_t file_size,
                                           const std::string& where) {
  LP_CHECK(file_size >= 8, where, ": not a safetensors file (", file_size, " bytes, need at least 8)");
  uint64_t n = 0;
  for (int i = 7; i >= 0; i--) n = (n << 8) | bytes[i];
  LP_CHECK(n <= kMaxHeaderBytes, where, ": header length ", n, " exceeds the ", kMaxHeaderBytes,
           "-byte limit (not a safetensors file?)");
  LP_CHECK(n <= file_size - 8, where, ": header length ", n, " runs past the end of the ",
           file_size, "-byte file (truncated?)");

  std::string_view text(reinterpret_cast<const char*>(bytes + 8), n);
  json header = parse_json(text, where + " header");
  LP_CHECK(header.is_object(), where, ": header is not a JSON object");

  SafetensorsHeader out;
  out.data_offset = 8 + n;
  const uint64_t data_size = file_size - out.data_offset;
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") {
      LP_CHECK(entry.is_object(), where, ": __metadata__ is not an object");
      for (const auto& [k, v] : entry.items()) {
        LP_CHECK(v.is_string(), where, ": __metadata__ value of \"", k, "\" is not a string");
        out.metadata[k] = v.get<std::string>();
      }
      continue;
    }
    const std::string at = where + ": tensor \"" + name + "\"";
    LP_CHECK(entry.is_object(), at, " is not an object");
    TensorInfo t;
    t.name = name;
    const auto& dt = entry.contains("dtype") ? entry["dtype"] : json();
    LP_CHECK(dt.is_string(), at, ": missing or non-string dtype");
    try {
      t.dtype = parse_dtype(dt.get<std::string>());
    } catch (const Error& e) {
      LP_FAIL(at, ": ", e.what());
    }
    const auto& shape = entry.contains("shape") ? entry["shape"] : json();
    LP_CHECK(shape.is_array(), at, ": missing shape");
    // Element count in bytes, with overflow checks: a hostile shape must not wrap around.
    // The running element count must fit int64 too: numel() multiplies in this order, and a
    // zero dimension late in the shape (U8 [2^63 - 1, 2, 0]) would otherwise pass the byte check.
    uint64_t nbytes = dtype_size(t.dtype), count = 1;
    for (const auto& d : shape) {
      LP_CHECK(d.is_number_unsigned() || (d.is_number_integer() && d.get<int64_t>() >= 0), at,
               ": shape entries must be non-negative integers");
      uint64_t dim = d.get<uint64_t>();
      LP_CHECK(dim == 0 || nbytes <= std::numeric_limits<uint64_t>::max() / dim, at, ": shape overflows");
      LP_CHECK(dim <= uint64_t(std::numeric_limits<int64_t>::max()), at, ": shape overflows");
      LP_CHECK(dim == 0 || count <= uint64_t(std::numeric_limits<int64_t>::max()) / dim, at, ": shape overflows");
      t.shape.push_back(static_cast<int64_t>(dim));
      nbytes *= dim;
      count *= dim;
    }
    const auto& offs = entry.contains("data_offsets") ? entry["data_offsets"] : json();
    LP_CHECK(offs.is_array() && offs.size() == 2 && offs[0].is_number_unsigned() && offs[1].is_number_unsigned(),
             at, ": data_offsets must be two non-negative integers");
    t.begin = offs[0].get<uint64_t>();
    t.end = offs[1].get<uint64_t>();
    LP_CHECK(t.begin <= t.end, at, ": data_offsets [", t.begin, ", ", t.end, "] are reversed");
    LP_CHECK(t.end <= data_size, at, ": data_offsets end ", t.end, " is past the data area (",
             data_size, " bytes; file truncated?)");
    LP_CHECK(t.end - t.begin == nbytes, at, ": ", t.end - t.begin, " bytes of data but dtype ",
             dtype_name(t.dtype), " and shape ", t.shape_str(), " need ", nbytes);
    out.tensors.push_back(std::move(t));
  }
  std::sort(out.tensors.begin(), out.tensors.end(),
            [](const TensorInfo& a, const TensorInfo& b) { return a.begin != b.begin ? a.begin < b.begin : a.end < b.end; });
  // Each non-empty tensor must start at or after the end of the previous non-empty one (empty
  // tensors in between own no bytes and must not hide an overlap).
  const TensorInfo* prev = nullptr;
  for (const auto& cur : out.tensors) {
    if (cur.nbytes() == 0) continue;
    LP_CHECK(!prev || cur.begin >= prev->end, where, ": tensors \"", prev->name, "\" and \"", cur.name, "\" overlap");
    prev = &cur;
  }
  return out;
}

SafetensorsFile::SafetensorsFile(const std::filesystem::path& path) : map_(path) {
  header_ = parse_safetensors_header(map_.data(), map_.size(), path.string());
  for (size_t i = 0; i < header_.tensors.size(); i++) index_[header_.tensors[i].name] = i;
}

const TensorInfo* SafetensorsFile::find(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &header_.tensors[it->second];
}

std::string make_safetensors_header(const std::vector<TensorSpec>& specs,
                                    const std::map<std::string, std::string>& metadata) {
  // Built by hand so that tensors keep the declared order (nlohmann sorts object keys).
  std::string text = "{";
  if (!metadata.empty()) text += "\"__metadata__\":" + json(metadata).dump();
  uint64_t offset = 0;
  for (const auto& s : specs) {
    LP_CHECK(s.name != "__metadata__", "a tensor cannot be called __metadata__");
    if (text.size() > 1) text += ",";
    json entry = {{"dtype", dtype_name(s.dtype)}, {"shape", s.shape}, {"data_offsets", {offset, offset + s.nbytes()}}};
    text += json(s.name).dump() + ":" + entry.dump();
    offset += s.nbytes();
  }
  text += "}";
  while ((8 + text.size()) % 8 != 0) text += ' ';
  std::string out(8, '\0');
  uint64_t n = text.size();
  for (int i = 0; i < 8; i++) out[i] = static_cast<char>((n >> (8 * i)) & 0xFF);
  return out + text;
}

SafetensorsWriter::SafetensorsWriter(const std::filesystem::path& path, std::vector<TensorSpec> specs,
                                     const std::map<std::string, std::string>& metadata)
    : file_(path) {
  for (const auto& s : specs) expected_ += s.nbytes();
  std::string header = make_safetensors_header(specs, metadata);
  file_.write(header.data(), header.size());
  buffer_.reserve(kWriteBuffer);
}

void SafetensorsWriter::append(const void* data, size_t n) {
  LP_CHECK(written_ + n <= expected_, "internal: more tensor bytes than declared for ",
           file_.temp_path().string());
  written_ += n;
  const auto* p = static_cast<const uint8_t*>(data);
  if (n >= kWriteBuffer) {  // large pieces go straight through
    flush();
    file_.write(p, n);
    return;
  }
  if (buffer_.size() + n > kWriteBuffer) flush();
  buffer_.insert(buffer_.end(), p, p + n);
}

void SafetensorsWriter::append_from_file(int fd, uint64_t offset, uint64_t n) {
  LP_CHECK(written_ + n <= expected_, "internal: more tensor bytes than declared for ",
           file_.temp_path().string());
  flush();
  file_.copy_from(fd, offset, n);
  written_ += n;
}

void SafetensorsWriter::flush() {
  if (buffer_.empty()) return;
  file_.write(buffer_.data(), buffer_.size());
  buffer_.clear();
}

void SafetensorsWriter::finish() {
  LP_CHECK(written_ == expected_, "internal: ", expected_ - written_, " tensor bytes missing in ",
           file_.temp_path().string());
  flush();
  file_.commit();
}

void write_safetensors(const std::filesystem::path& path, const std::vector<TensorSpec>& specs,
                       const std::vector<const void*>& data) {
  LP_CHECK(specs.size() == data.size(), "internal: tensor and data counts differ");
  SafetensorsWriter w(path, specs);
  for (size_t i = 0; i < specs.size(); i++) w.append(data[i], specs[i].nbytes());
  w.finish();
}

}  // namespace llamapro
