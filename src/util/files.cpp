#include "util/files.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include "util/check.h"

namespace llamapro {

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  LP_CHECK(in.good(), "cannot read ", path.string(), ": ", std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  LP_CHECK(!in.bad(), "cannot read ", path.string());
  return ss.str();
}

void write_file_atomic(const fs::path& path, std::string_view bytes) {
  AtomicFile f(path);
  f.write(bytes.data(), bytes.size());
  f.commit();
}

AtomicFile::AtomicFile(fs::path target) : target_(std::move(target)) {
  temp_ = target_;
  temp_ += ".partial-" + std::to_string(getpid());
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
  LP_CHECK(::rename(temp_.c_str(), target_.c_str()) == 0, "cannot rename ", temp_.string(), " to ",
           target_.string(), ": ", std::strerror(errno));
  committed_ = true;
}

StagingDir::StagingDir(fs::path target, bool overwrite) : target_(std::move(target)) {
  if (target_.filename().empty()) target_ = target_.parent_path();  // "out/" -> "out"
  LP_CHECK(overwrite || !fs::exists(target_), "output ", target_.string(),
           " already exists (use --force to replace it)");
  fs::path parent = fs::absolute(target_).parent_path();
  LP_CHECK(fs::is_directory(parent), "cannot create ", target_.string(), ": parent directory ",
           parent.string(), " does not exist");
  staging_ = target_;
  staging_ += ".partial-" + std::to_string(getpid());
  std::error_code ec;
  fs::remove_all(staging_, ec);
  fs::create_directory(staging_, ec);
  LP_CHECK(!ec, "cannot create ", staging_.string(), ": ", ec.message());
}

StagingDir::~StagingDir() {
  if (committed_) return;
  std::error_code ec;
  fs::remove_all(staging_, ec);
}

void StagingDir::commit() {
  std::error_code ec;
  fs::path old;
  if (fs::exists(target_)) {
    // Move the old output aside first so that a failed rename can put it back.
    old = target_;
    old += ".old-" + std::to_string(getpid());
    fs::rename(target_, old, ec);
    LP_CHECK(!ec, "cannot replace ", target_.string(), ": ", ec.message());
  }
  fs::rename(staging_, target_, ec);
  if (ec) {
    if (!old.empty()) fs::rename(old, target_);
    LP_FAIL("cannot move ", staging_.string(), " to ", target_.string(), ": ", ec.message());
  }
  committed_ = true;
  if (!old.empty()) fs::remove_all(old, ec);
}

}  // namespace llamapro
