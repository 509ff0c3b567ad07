// mapped_file.h — a read-only memory map of a whole file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>

namespace llamapro {

class MappedFile {
 public:
  explicit MappedFile(const std::filesystem::path& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  const std::filesystem::path& path() const { return path_; }
  int fd() const { return fd_; }  // open for reading while the mapping lives (kernel-side copies)
  // Tells the kernel a range is no longer needed, so streaming does not fill the page cache.
  void advise_done(size_t offset, size_t length) const;

 private:
  std::filesystem::path path_;
  int fd_ = -1;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace llamapro
