#include "io/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "util/check.h"
#include "util/files.h"

namespace llamapro {

MappedFile::MappedFile(const std::filesystem::path& path) : path_(path) {
  int fd = open_input(path);
  struct stat st {};
  ::fstat(fd, &st);
  size_ = static_cast<size_t>(st.st_size);
  fd_ = fd;
  if (size_ > 0) {
    void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
    int err = errno;
    if (p == MAP_FAILED) {
      ::close(fd_);
      LP_FAIL("cannot map ", path.string(), ": ", std::strerror(err));
    }
    data_ = static_cast<const uint8_t*>(p);
  }
}

MappedFile::~MappedFile() {
  if (data_) ::munmap(const_cast<uint8_t*>(data_), size_);
  ::close(fd_);
}

namespace {
void advise(const uint8_t* base, size_t size, size_t offset, size_t length, int how) {
  if (!base || offset >= size) return;
  long page = ::sysconf(_SC_PAGESIZE);
  size_t start = offset / page * page;
  size_t end = std::min(size, offset + length);
  ::madvise(const_cast<uint8_t*>(base) + start, end - start, how);
}
}  // namespace

void MappedFile::advise_done(size_t offset, size_t length) const {
  advise(data_, size_, offset, length, MADV_DONTNEED);
}

}  // namespace llamapro
