#include "util/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <set>
#include <vector>

#include "util/check.h"
#include "util/interrupt.h"

namespace llamapro {

std::string folder_name(const fs::path& path) {
  return (path.filename().empty() ? path.parent_path() : path).filename().string();
}

namespace {

struct InputRegistry {
  std::mutex mutex;
  std::set<fs::path> paths;  // resolved
};

InputRegistry& input_registry() {
  static InputRegistry* registry = new InputRegistry;  // never destroyed: threads may read at exit
  return *registry;
}

const char* file_kind(mode_t mode) {
  if (S_ISDIR(mode)) return "a folder";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode) || S_ISBLK(mode)) return "a device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

}  // namespace

void note_input(const fs::path& path) {
  if (path.empty()) return;
  std::error_code ec;
  fs::path p = fs::weakly_canonical(fs::absolute(path, ec), ec);
  if (ec) p = fs::absolute(path).lexically_normal();
  InputRegistry& r = input_registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  r.paths.insert(std::move(p));
}

std::vector<fs::path> inputs_read() {
  InputRegistry& r = input_registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  return {r.paths.begin(), r.paths.end()};
}

int open_input(const fs::path& path) {
  LP_CHECK(!path.empty(), "an empty path was given as an input file");
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  LP_CHECK(fd >= 0, "cannot open ", path.string(), ": ", std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    const mode_t mode = st.st_mode;
    ::close(fd);
    LP_CHECK(!S_ISDIR(mode), path.string(), " is a folder; expected a file");
    LP_FAIL(path.string(), " is not a regular file (", file_kind(mode), "); expected a file");
  }
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  note_input(path);
  return fd;
}

std::string read_file(const fs::path& path) {
  const int fd = open_input(path);
  struct stat st {};
  ::fstat(fd, &st);
  std::string bytes;
  bytes.reserve(static_cast<size_t>(st.st_size));
  char buf[1 << 16];
  for (;;) {
    ssize_t k = ::read(fd, buf, sizeof buf);
    if (k < 0 && errno == EINTR) continue;
    if (k < 0) {
      const int err = errno;
      ::close(fd);
      LP_FAIL("cannot read ", path.string(), ": ", std::strerror(err));
    }
    if (k == 0) break;
    bytes.append(buf, static_cast<size_t>(k));
  }
  ::close(fd);
  return bytes;
}

std::string stage_suffix(const char* kind) { return std::string(".") + kind + "-" + std::to_string(getpid()); }

namespace {
// The name a user knows: "m.gguf.partial-7212.partial-7212" (a file written atomically into a
// staged output) is reported as "m.gguf".
std::string user_name(const fs::path& p) {
  std::string s = p.string();
  const std::string suffix = stage_suffix("partial");
  while (s.size() > suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0)
    s.resize(s.size() - suffix.size());
  return s;
}
}  // namespace

void write_file_atomic(const fs::path& path, std::string_view bytes) {
  AtomicFile f(path);
  f.write(bytes.data(), bytes.size());
  f.commit();
}

AtomicFile::AtomicFile(fs::path target) : target_(std::move(target)) {
  temp_ = target_;
  temp_ += stage_suffix("partial");
  cleanup_ = std::make_unique<RemoveOnInterrupt>(temp_);
  fd_ = ::open(temp_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  LP_CHECK(fd_ >= 0, "cannot create ", user_name(temp_), ": ", std::strerror(errno));
}

AtomicFile::~AtomicFile() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_) ::unlink(temp_.c_str());
}

void AtomicFile::write(const void* data, size_t n) {
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    ssize_t k = ::write(fd_, p, n);
    if (k < 0 && errno == EINTR) continue;
    LP_CHECK(k > 0, "cannot write ", user_name(temp_), ": ", std::strerror(errno));
    p += k;
    n -= static_cast<size_t>(k);
  }
}

void AtomicFile::copy_from(int src_fd, uint64_t offset, uint64_t n) {
  loff_t in = static_cast<loff_t>(offset);
  while (n > 0) {
    ssize_t k = ::copy_file_range(src_fd, &in, fd_, nullptr, n, 0);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) break;  // unsupported here (or a short source): finish with read + write below
    n -= static_cast<uint64_t>(k);
  }
  std::vector<char> buf(n > 0 ? std::min<uint64_t>(n, 8 << 20) : 0);
  while (n > 0) {
    ssize_t k = ::pread(src_fd, buf.data(), std::min<uint64_t>(n, buf.size()), in);
    if (k < 0 && errno == EINTR) continue;
    LP_CHECK(k > 0, "cannot read while copying into ", user_name(temp_), ": ", k < 0 ? std::strerror(errno) : "unexpected end of file");
    write(buf.data(), static_cast<size_t>(k));
    in += k;
    n -= static_cast<uint64_t>(k);
  }
}

void AtomicFile::commit() {
  LP_CHECK(::fsync(fd_) == 0, "cannot flush ", user_name(temp_), ": ", std::strerror(errno));
  LP_CHECK(::close(fd_) == 0, "cannot close ", user_name(temp_), ": ", std::strerror(errno));
  fd_ = -1;
  without_interrupt([&] {
    LP_CHECK(::rename(temp_.c_str(), target_.c_str()) == 0, "cannot write ", user_name(target_), ": ",
             std::strerror(errno));
    committed_ = true;
    cleanup_.reset();
  });
}

}  // namespace llamapro
