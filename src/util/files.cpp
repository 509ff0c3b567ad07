#include "util/files.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include "util/check.h"
#include "util/interrupt.h"

namespace llamapro {

std::string folder_name(const fs::path& path) {
  return (path.filename().empty() ? path.parent_path() : path).filename().string();
}

std::string read_file(const fs::path& path) {
  std::error_code ec;
  LP_CHECK(!fs::is_directory(path, ec), path.string(), " is a folder; expected a file");
  std::ifstream in(path, std::ios::binary);
  LP_CHECK(in.good(), "cannot read ", path.string(), ": ", std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  LP_CHECK(!in.bad(), "cannot read ", path.string());
  return ss.str();
}

std::string stage_suffix(const char* kind) { return std::string(".") + kind + "-" + std::to_string(getpid()); }

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
  LP_CHECK(fd_ >= 0, "cannot create ", temp_.string(), ": ", std::strerror(errno));
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
    LP_CHECK(k > 0, "cannot write ", temp_.string(), ": ", std::strerror(errno));
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
    LP_CHECK(k > 0, "cannot read while copying into ", temp_.string(), ": ", k < 0 ? std::strerror(errno) : "unexpected end of file");
    write(buf.data(), static_cast<size_t>(k));
    in += k;
    n -= static_cast<uint64_t>(k);
  }
}

void AtomicFile::commit() {
  LP_CHECK(::fsync(fd_) == 0, "cannot flush ", temp_.string(), ": ", std::strerror(errno));
  LP_CHECK(::close(fd_) == 0, "cannot close ", temp_.string(), ": ", std::strerror(errno));
  fd_ = -1;
  without_interrupt([&] {
    LP_CHECK(::rename(temp_.c_str(), target_.c_str()) == 0, "cannot rename ", temp_.string(), " to ",
             target_.string(), ": ", std::strerror(errno));
    committed_ = true;
    cleanup_.reset();
  });
}

}  // namespace llamapro
