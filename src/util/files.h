// files.h — whole-file reads and atomic single-file writes (a temporary sibling renamed into
// place, so an interrupted write leaves the old file or the new, never half). Outputs a user
// names go through util/output.h, which adds the rules about inputs, --force and locks.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace llamapro {

namespace fs = std::filesystem;

class RemoveOnInterrupt;

// The last name of a path, a trailing separator ignored: "runs/model/" -> "model".
std::string folder_name(const fs::path& path);

// ".KIND-<pid>": the name suffix of this process's siblings of a target, its stages
// ("partial") and set-aside copies ("old"); recovery of stale stages reads the pid back.
std::string stage_suffix(const char* kind);

// The one way a file is opened for reading. Only a regular file opens: a folder, FIFO,
// device or socket is refused at once (opened without blocking, so a FIFO with no writer
// cannot hang the command and /dev/zero is never read forever). Every path opened here joins
// inputs_read(). Returns the descriptor (O_CLOEXEC), which the caller closes.
int open_input(const fs::path& path);

// Records a file or folder the command reads by other means (a model's folder, an adapter's
// base) as an input.
void note_input(const fs::path& path);

// Every input this process has opened or noted, resolved (absolute, symlinks followed). Each
// output is checked against them besides the inputs its command names (util/output.h), so a
// file read anywhere, a config or an adapter's base, is never overwritten.
std::vector<fs::path> inputs_read();

// Whole file as bytes (through open_input); clear error when it cannot be read.
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
