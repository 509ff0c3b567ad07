// input_files.cpp — expanding input arguments and reading (possibly gzipped) files.
#include "data/input_files.h"

#include <glob.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <unistd.h>

#include "util/check.h"
#include "util/files.h"
#include "util/strings.h"

namespace llamapro {

namespace fs = std::filesystem;

namespace {

bool is_json_lines(const fs::path& p) {
  std::string name = p.filename().string();
  if (ends_with(name, ".gz")) name.resize(name.size() - 3);
  return ends_with(name, ".jsonl") || ends_with(name, ".json") || ends_with(name, ".ndjson");
}

bool hidden(const fs::path& p) {
  std::string name = p.filename().string();
  return !name.empty() && name[0] == '.';
}

void add_file(const fs::path& p, std::vector<InputFile>& out) {
  std::error_code ec;
  uint64_t size = fs::file_size(p, ec);
  LP_CHECK(!ec, "cannot read input ", p.string(), ": ", ec.message());
  out.push_back({p, size, is_json_lines(p)});
}

void add_directory(const fs::path& dir, std::vector<InputFile>& out) {
  std::vector<fs::path> files;
  std::error_code ec;
  auto it = fs::recursive_directory_iterator(dir, fs::directory_options::none, ec);
  LP_CHECK(!ec, "cannot list input directory ", dir.string(), ": ", ec.message());
  for (; it != fs::recursive_directory_iterator(); it.increment(ec)) {
    LP_CHECK(!ec, "cannot list input directory ", dir.string(), ": ", ec.message());
    if (hidden(it->path())) {
      if (it->is_directory()) it.disable_recursion_pending();
      continue;
    }
    if (it->is_regular_file()) files.push_back(it->path());
  }
  std::sort(files.begin(), files.end());  // directory order differs between file systems
  for (const auto& f : files) add_file(f, out);
}

}  // namespace

std::vector<InputFile> expand_inputs(const std::vector<std::string>& inputs) {
  LP_CHECK(!inputs.empty(), "no input given (--input PATH...)");
  std::vector<InputFile> out;
  for (const std::string& arg : inputs) {
    fs::path p(arg);
    std::error_code ec;
    if (fs::is_directory(p, ec)) {
      size_t before = out.size();
      add_directory(p, out);
      LP_CHECK(out.size() > before, "input directory ", arg, " holds no files");
    } else if (fs::exists(p, ec)) {
      LP_CHECK(fs::is_regular_file(p, ec), "input ", arg, " is not a regular file");
      add_file(p, out);
    } else if (arg.find_first_of("*?[") != std::string::npos) {
      glob_t g{};
      int rc = ::glob(arg.c_str(), 0, nullptr, &g);
      std::vector<std::string> matches(g.gl_pathv, g.gl_pathv + (rc == 0 ? g.gl_pathc : 0));
      ::globfree(&g);
      LP_CHECK(rc == 0 && !matches.empty(), "input pattern ", arg, " matches no files");
      std::sort(matches.begin(), matches.end());
      for (const auto& m : matches) {
        if (fs::is_directory(m)) add_directory(m, out);
        else if (fs::is_regular_file(m)) add_file(m, out);
      }
    } else {
      LP_FAIL("input ", arg, " does not exist");
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Reading

// The buffer starts small (corpora of many small files) and doubles for long lines.
InputReader::InputReader(const fs::path& path) : path_(path), buf_(1 << 16) {
  const int fd = open_input(path);
  gzFile f = gzdopen(fd, "rb");
  if (!f) ::close(fd);
  LP_CHECK(f, "cannot open ", path.string(), ": ", std::strerror(errno));
  gzbuffer(f, 1 << 16);
  gz_ = f;
}

InputReader::~InputReader() {
  if (gz_) gzclose_r(static_cast<gzFile>(gz_));
}

bool InputReader::fill() {
  if (eof_) return false;
  if (begin_ > 0) {
    std::memmove(buf_.data(), buf_.data() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  if (end_ == buf_.size()) buf_.resize(buf_.size() * 2);  // a line longer than the buffer
  int n = gzread(static_cast<gzFile>(gz_), buf_.data() + end_, static_cast<unsigned>(buf_.size() - end_));
  if (n <= 0) {
    // A truncated .gz reads as a short end of file; zlib then reports Z_BUF_ERROR.
    int err = Z_OK;
    const char* msg = gzerror(static_cast<gzFile>(gz_), &err);
    LP_CHECK(n == 0 && (err == Z_OK || err == Z_STREAM_END), "cannot read ", path_.string(), ": ",
             err == Z_ERRNO ? std::strerror(errno) : msg);
  }
  if (n == 0) {
    eof_ = true;
    return false;
  }
  end_ += static_cast<size_t>(n);
  return true;
}

bool InputReader::read_line(std::string& line) {
  size_t scanned = begin_;
  for (;;) {
    const char* nl = static_cast<const char*>(std::memchr(buf_.data() + scanned, '\n', end_ - scanned));
    if (nl) {
      size_t len = static_cast<size_t>(nl - (buf_.data() + begin_));
      size_t keep = len > 0 && buf_[begin_ + len - 1] == '\r' ? len - 1 : len;
      line.append(buf_.data() + begin_, keep);
      begin_ += len + 1;
      return true;
    }
    scanned = end_ - begin_;  // relative, as fill() moves the data to the front
    if (!fill()) {
      if (begin_ == end_) return false;
      line.append(buf_.data() + begin_, end_ - begin_);  // last line without "\n"
      begin_ = end_;
      return true;
    }
    scanned += begin_;
  }
}

void InputReader::read_all(std::string& out) {
  do {
    out.append(buf_.data() + begin_, end_ - begin_);
    begin_ = end_ = 0;
  } while (fill());
}

uint64_t InputReader::position() const {
  z_off_t off = gzoffset(static_cast<gzFile>(gz_));
  return off < 0 ? 0 : static_cast<uint64_t>(off);
}

}  // namespace llamapro
