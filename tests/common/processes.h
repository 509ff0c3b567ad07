// processes.h — running the llamapro binary in the background from tests: start it, wait for a
// file it writes, and collect its exit status.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "common/fixtures.h"
#include "util/strings.h"

namespace llamapro::testing {

// Starts the llamapro binary in the background with a space-separated argument string and
// extra environment variables; stdout and stderr go to `log` (/dev/null by default); it runs
// in `cwd` when given.
inline pid_t spawn_cli(const std::string& args, const std::vector<std::pair<std::string, std::string>>& env = {},
                       const std::string& log = "/dev/null", const std::string& cwd = "") {
  std::vector<std::string> parts = split(args, ' ');
  pid_t pid = fork();
  if (pid == 0) {
    if (!cwd.empty() && chdir(cwd.c_str()) != 0) _exit(126);
    for (const auto& [k, v] : env) setenv(k.c_str(), v.c_str(), 1);
    int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, 1);
    dup2(fd, 2);
    std::vector<char*> argv = {const_cast<char*>(LLAMAPRO_BIN)};
    for (auto& p : parts) argv.push_back(p.data());
    argv.push_back(nullptr);
    execv(LLAMAPRO_BIN, argv.data());
    _exit(127);
  }
  return pid;
}

// True once `path` exists (polled every 2 ms), false after `seconds`.
inline bool wait_for(const std::string& path, double seconds) {
  auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < until) {
    if (std::filesystem::exists(path)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return false;
}

// The first entry of `dir` whose name starts with `prefix`, polled like wait_for; "" if none.
inline std::string wait_for_prefix(const std::string& dir, const std::string& prefix, double seconds) {
  auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < until) {
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(dir, ec))
      if (starts_with(e.path().filename().string(), prefix)) return e.path().string();
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return "";
}

// The exit status of a spawned run (its code, or 128 + the signal that killed it) and its peak
// resident memory in KB.
inline std::pair<int, long> wait_status_and_peak_kb(pid_t pid) {
  int status = 0;
  struct rusage usage {};
  wait4(pid, &status, 0, &usage);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), usage.ru_maxrss};
}

// The exit status of a spawned run.
inline int wait_status(pid_t pid) { return wait_status_and_peak_kb(pid).first; }

// Starts `llamapro ARGS` and kills it with SIGKILL once `path` exists (a checkpoint, say).
// True when it was killed there; false when it finished or failed first, or `path` never came.
inline bool kill_when_written(const std::string& args, const std::string& path, double seconds = 60) {
  const pid_t pid = spawn_cli(args);
  const bool appeared = wait_for(path, seconds);
  kill(pid, SIGKILL);
  return appeared && wait_status(pid) == 128 + SIGKILL;
}

}  // namespace llamapro::testing
