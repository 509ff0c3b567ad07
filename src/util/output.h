// output.h — the one owner of everything llamapro writes: model folders, data folders, training
// runs, reports, single files. An output
//   - is never an input: resolved through symlinks it may not equal, contain, or lie inside any
//     input of the command, with or without --force;
//   - replaces an existing file or folder only with --force, and then only one of the kind the
//     command writes (a file for a file; a folder that is empty or holds config.json, data.json
//     or run.json for a folder): --force never deletes somebody's unrelated folder;
//   - is locked for the whole run (TARGET.lock beside it): a second run into the same output
//     fails at once and names the holder's pid;
//   - is built in a sibling stage TARGET.partial-<pid>, removed on error, SIGINT and SIGTERM;
//     stages left behind by killed runs are removed, and reported, by the next run;
//   - appears with one rename (commit), so a reader sees the old state or the new, never half.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace llamapro {

class RemoveOnInterrupt;

enum class OutputKind { File, Folder };

struct OutputSpec {
  std::filesystem::path target;
  OutputKind kind = OutputKind::Folder;
  std::vector<std::filesystem::path> inputs;  // what the command names as its inputs
  bool force = false;                         // replace an existing output of the same kind
  std::string flag = "-o";                    // the option that named it, for messages
  // With force, an existing folder is replaced only when empty or holding one of these.
  std::vector<std::string> markers = {"config.json", "data.json", "run.json"};
  // Also refuse every file the process has read so far (util/files inputs_read()), checked when
  // the output is claimed and again at commit. Off only for a run's own checkpoints, which
  // replace the state a resume read.
  bool check_inputs_read = true;
};

// Refuses `target` when it equals, contains or lies inside one of `inputs` (after resolving
// symlinks, and by device and inode for existing files, so hard links count as equal).
void check_not_an_input(const std::filesystem::path& target, const std::vector<std::filesystem::path>& inputs,
                        const std::string& flag);

// Every rule above that can be checked without touching anything: the path names a file or
// folder ("out/" is no file), is not an input (named or read), its folder exists, and it is
// new or replaceable under `force`.
// Output's constructor runs it; commands call it first to refuse before any work.
void check_output(const OutputSpec& spec);

// An exclusive advisory lock on TARGET.lock, held while the object lives (released by the
// kernel if the process dies). The file holds the holder's pid, named when the lock is refused.
class OutputLock {
 public:
  explicit OutputLock(const std::filesystem::path& target);
  ~OutputLock();
  OutputLock(const OutputLock&) = delete;
  OutputLock& operator=(const OutputLock&) = delete;

 private:
  std::filesystem::path path_;
  int fd_ = -1;
  std::unique_ptr<RemoveOnInterrupt> cleanup_;
};

// Removes TARGET.partial-<pid> stages (and finished TARGET.old-<pid> copies) left by runs that
// died, saying so on stderr; a TARGET.old-<pid> whose TARGET is missing is the only copy of a
// previous output and is put back instead. Call with the target's lock held.
void recover_stale_stages(const std::filesystem::path& target);

// True for a folder that --force may replace: empty, or holding one of `markers` (by default
// what llamapro writes: config.json, data.json or run.json).
bool is_replaceable_folder(const std::filesystem::path& dir,
                           const std::vector<std::string>& markers = {"config.json", "data.json", "run.json"});

class Output {
 public:
  // Checks the rules above, takes the lock, recovers stale stages and creates the stage (an
  // empty folder for Folder; nothing yet for File: the caller creates path()).
  explicit Output(OutputSpec spec);
  ~Output();  // without commit(): the stage is removed, the target untouched
  Output(const Output&) = delete;
  Output& operator=(const Output&) = delete;

  const std::filesystem::path& path() const { return stage_; }  // write here
  const std::filesystem::path& target() const { return spec_.target; }
  void commit();

 private:
  OutputSpec spec_;
  std::filesystem::path stage_;
  std::unique_ptr<OutputLock> lock_;
  std::unique_ptr<RemoveOnInterrupt> cleanup_;
  bool committed_ = false;
};

}  // namespace llamapro
