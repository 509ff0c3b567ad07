// files.h — file and directory helpers, all with the "nothing lost" rule: outputs are built in
// a temporary sibling and renamed into place, so an interrupted run leaves the old state or
// the new, never half.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace llamapro {

namespace fs = std::filesystem;

// Whole file as bytes; clear error when it cannot be read.
std::string read_file(const fs::path& path);

// Writes a whole file atomically (temp sibling, fsync, rename).
void write_file_atomic(const fs::path& path, std::string_view bytes);

// A file written through a temporary sibling; commit() renames it into place. Destroyed
// without commit(), the temporary is removed and the target is untouched.
class AtomicFile {
 public:
  explicit AtomicFile(fs::path target);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  int fd() const { return fd_; }
  const fs::path& temp_path() const { return temp_; }
  void write(const void* data, size_t n);  // all of it, or throws (e.g. disk full)
  // Appends n bytes of another file from `offset`, copied inside the kernel where possible.
  void copy_from(int src_fd, uint64_t offset, uint64_t n);
  void commit();

 private:
  fs::path target_, temp_;
  int fd_ = -1;
  bool committed_ = false;
};

// An output directory built in a temporary sibling ("OUT.partial-<pid>") and renamed into
// place by commit(). With overwrite, an existing OUT is replaced only at commit time.
class StagingDir {
 public:
  StagingDir(fs::path target, bool overwrite);
  ~StagingDir();
  StagingDir(const StagingDir&) = delete;
  StagingDir& operator=(const StagingDir&) = delete;

  const fs::path& path() const { return staging_; }  // write here
  const fs::path& target() const { return target_; }
  void commit();

 private:
  fs::path target_, staging_;
  bool committed_ = false;
};

}  // namespace llamapro
