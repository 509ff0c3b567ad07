// files.h — whole-file reads and atomic single-file writes (a temporary sibling renamed into
// place, so an interrupted write leaves the old file or the new, never half). Outputs a user
// names go through util/output.h, which adds the rules about inputs, --force and locks.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

namespace llamapro {

namespace fs = std::filesystem;

class RemoveOnInterrupt;

// The last name of a path, a trailing separator ignored: "runs/model/" -> "model".
std::string folder_name(const fs::path& path);

// ".KIND-<pid>": the name suffix of this process's siblings of a target, its stages
// ("partial") and set-aside copies ("old"); recovery of stale stages reads the pid back.
std::string stage_suffix(const char* kind);

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
  std::unique_ptr<RemoveOnInterrupt> cleanup_;  // the temporary goes on SIGINT/SIGTERM too
};

}  // namespace llamapro
