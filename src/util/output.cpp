#include "util/output.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "util/check.h"
#include "util/files.h"
#include "util/interrupt.h"
#include "util/strings.h"

namespace llamapro {

namespace fs = std::filesystem;

namespace {

// Absolute, with symlinks of the existing part resolved and "." / ".." folded.
fs::path resolved(const fs::path& p) {
  std::error_code ec;
  fs::path abs = fs::absolute(p, ec);
  LP_CHECK(!ec, "cannot resolve path \"", p.string(), "\": ", ec.message());
  fs::path r = fs::weakly_canonical(abs, ec);
  return ec ? abs.lexically_normal() : r;
}

// True when `inner` is `outer` or lies below it (both resolved).
bool is_within(const fs::path& inner, const fs::path& outer) {
  auto i = inner.begin(), o = outer.begin();
  for (; o != outer.end(); ++o, ++i) {
    if (o->empty()) continue;  // trailing separator
    if (i == inner.end() || *i != *o) return false;
  }
  return true;
}

// "name.partial-1234" (or a temporary file of it, "name.partial-1234.partial-1234") -> 1234
// when `entry` is such a sibling of `name`, else -1.
long sibling_pid(const std::string& entry, const std::string& name, const std::string& kind) {
  const std::string prefix = name + "." + kind + "-";
  if (!starts_with(entry, prefix) || entry.size() == prefix.size()) return -1;
  long pid = 0;
  size_t i = prefix.size();
  for (; i < entry.size() && entry[i] != '.'; i++) {
    if (entry[i] < '0' || entry[i] > '9' || pid > 1'000'000'000) return -1;
    pid = pid * 10 + (entry[i] - '0');
  }
  return i > prefix.size() && (i == entry.size() || starts_with(entry.substr(i), ".partial-")) ? pid : -1;
}

void remove_or_fail(const fs::path& p) {
  std::error_code ec;
  fs::remove_all(p, ec);
  LP_CHECK(!ec, "cannot remove ", p.string(), ": ", ec.message());
}

}  // namespace

void check_not_an_input(const fs::path& target, const std::vector<fs::path>& inputs, const std::string& flag) {
  const fs::path out = resolved(target);
  for (const auto& in : inputs) {
    if (in.empty()) continue;
    const fs::path i = resolved(in);
    std::error_code ec;
    const bool same = out == i || fs::equivalent(out, i, ec);
    LP_CHECK(!same, flag, " ", target.string(), " is the input ", in.string(), "; write the output somewhere else");
    LP_CHECK(!is_within(i, out), flag, " ", target.string(), " contains the input ", in.string(),
             "; write the output somewhere else");
    LP_CHECK(!is_within(out, i), flag, " ", target.string(), " lies inside the input ", in.string(),
             "; write the output somewhere else");
  }
}

OutputLock::OutputLock(const fs::path& target) : path_(target) {
  path_ += ".lock";
  for (int attempt = 0;; attempt++) {
    fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    LP_CHECK(fd_ >= 0, "cannot create the lock file ", path_.string(), ": ", std::strerror(errno));
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      char buf[32] = {};
      ssize_t n = ::pread(fd_, buf, sizeof buf - 1, 0);
      const std::string holder = n > 0 ? trim(std::string_view(buf, strnlen(buf, size_t(n)))) : "unknown";
      ::close(fd_);
      fd_ = -1;
      LP_FAIL(target.string(), " is in use by another llamapro run (pid ", holder,
              "); wait for it to finish or choose another output");
    }
    // The previous holder may have removed the file between our open() and flock(): then we
    // hold a lock on a file nobody else can see, so try again on the current one.
    struct stat held {}, now {};
    if (::fstat(fd_, &held) == 0 && ::stat(path_.c_str(), &now) == 0 && held.st_ino == now.st_ino &&
        held.st_dev == now.st_dev)
      break;
    ::close(fd_);
    fd_ = -1;
    LP_CHECK(attempt < 100, "cannot lock ", path_.string(), ": it keeps being replaced");
  }
  const std::string pid = std::to_string(getpid()) + "\n";
  if (::ftruncate(fd_, 0) == 0 && ::pwrite(fd_, pid.data(), pid.size(), 0) < 0) {
  }  // the pid is only informative
  cleanup_ = std::make_unique<RemoveOnInterrupt>(path_);
}

OutputLock::~OutputLock() {
  if (fd_ < 0) return;
  ::unlink(path_.c_str());  // while still holding it, so no one locks the removed file
  ::close(fd_);
}

void recover_stale_stages(const fs::path& target) {
  const fs::path parent = fs::absolute(target).parent_path();
  const std::string name = target.filename().string();
  std::error_code ec;
  std::vector<fs::path> stages, olds;
  for (const auto& e : fs::directory_iterator(parent, ec)) {
    const std::string n = e.path().filename().string();
    long pid = sibling_pid(n, name, "partial");
    if (pid > 0 && pid != getpid()) stages.push_back(e.path());
    pid = sibling_pid(n, name, "old");
    if (pid > 0 && pid != getpid()) olds.push_back(e.path());
  }
  for (const auto& s : stages) {
    std::fprintf(stderr, "note: removing %s, left unfinished by a run that was stopped\n", s.string().c_str());
    remove_or_fail(s);
  }
  for (const auto& old : olds) {
    if (!fs::exists(target)) {
      std::fprintf(stderr, "note: %s was being replaced when its run stopped; restoring it from %s\n",
                   target.string().c_str(), old.string().c_str());
      fs::rename(old, target, ec);
      LP_CHECK(!ec, "cannot restore ", target.string(), " from ", old.string(), ": ", ec.message());
    } else {
      std::fprintf(stderr, "note: removing %s, the replaced copy of %s\n", old.string().c_str(), target.string().c_str());
      remove_or_fail(old);
    }
  }
}

bool is_replaceable_folder(const fs::path& dir, const std::vector<std::string>& markers) {
  std::error_code ec;
  if (fs::is_empty(dir, ec)) return true;
  for (const auto& marker : markers)
    if (fs::is_regular_file(dir / marker, ec)) return true;
  return false;
}

namespace {

fs::path normalized_target(const OutputSpec& spec) {
  LP_CHECK(!spec.target.empty(), spec.flag, ": the output path is empty");
  LP_CHECK(spec.kind == OutputKind::Folder || !spec.target.filename().empty(), spec.flag, " ",
           spec.target.string(), " ends with a separator, which names a folder; expected a file name");
  fs::path t = spec.target.filename().empty() ? spec.target.parent_path() : spec.target;  // "out/" -> "out"
  LP_CHECK(!t.empty() && t.filename() != "." && t.filename() != "..", spec.flag, ": \"", spec.target.string(),
           "\" does not name a new file or folder");
  return t;
}

}  // namespace

void check_output(const OutputSpec& spec) {
  const fs::path target = normalized_target(spec);
  check_not_an_input(target, spec.inputs, spec.flag);
  if (spec.check_inputs_read) check_not_an_input(target, inputs_read(), spec.flag);
  const fs::path parent = fs::absolute(target).parent_path();
  LP_CHECK(fs::is_directory(parent), "cannot create ", target.string(), ": folder ", parent.string(), " does not exist");
  std::error_code ec;
  const auto status = fs::symlink_status(target, ec);
  if (!fs::exists(status)) return;
  LP_CHECK(spec.force, spec.flag, " ", target.string(), " already exists (use --force to replace it)");
  if (spec.kind == OutputKind::File) {
    LP_CHECK(fs::is_regular_file(status), spec.flag, " ", target.string(), " is not a regular file; not replacing it");
    return;
  }
  LP_CHECK(fs::is_directory(status), spec.flag, " ", target.string(), " is not a folder; not replacing it");
  std::string markers;
  for (const auto& m : spec.markers) markers += (markers.empty() ? "" : ", ") + m;
  LP_CHECK(is_replaceable_folder(target, spec.markers), spec.flag, " ", target.string(),
           " is a folder llamapro did not write (none of ", markers, " in it); not replacing it, even with --force");
}

Output::Output(OutputSpec spec) : spec_(std::move(spec)) {
  spec_.target = normalized_target(spec_);
  const fs::path& target = spec_.target;
  check_output(spec_);  // before the lock: refusals need no lock
  lock_ = std::make_unique<OutputLock>(target);
  recover_stale_stages(target);
  check_output(spec_);  // again: a stale stage may have been restored as the target
  stage_ = target;
  stage_ += stage_suffix("partial");
  cleanup_ = std::make_unique<RemoveOnInterrupt>(stage_);
  if (spec_.kind == OutputKind::Folder) {
    std::error_code ec;
    fs::create_directory(stage_, ec);
    LP_CHECK(!ec, "cannot create ", stage_.string(), ": ", ec.message());
  }
}

Output::~Output() {
  if (committed_) return;
  std::error_code ec;
  fs::remove_all(stage_, ec);
}

void Output::commit() {
  const fs::path& target = spec_.target;
  // Files read since the output was claimed (a model loaded after it) must not be replaced.
  if (spec_.check_inputs_read) check_not_an_input(target, inputs_read(), spec_.flag);
  fs::path old;
  without_interrupt([&] {
    std::error_code ec;
    if (spec_.kind == OutputKind::Folder && fs::exists(target)) {
      // A folder cannot be renamed over another: move the old one aside, so a failed rename
      // can put it back (and a run killed right here is repaired by recover_stale_stages).
      old = target;
      old += stage_suffix("old");
      fs::rename(target, old, ec);
      LP_CHECK(!ec, "cannot replace ", target.string(), ": ", ec.message());
    }
    fs::rename(stage_, target, ec);
    if (ec) {
      if (!old.empty()) fs::rename(old, target);
      LP_FAIL("cannot move ", stage_.string(), " to ", target.string(), ": ", ec.message());
    }
    committed_ = true;
    cleanup_.reset();
  });
  if (!old.empty()) {
    RemoveOnInterrupt finish(old);
    std::error_code ec;
    fs::remove_all(old, ec);
  }
}

}  // namespace llamapro
