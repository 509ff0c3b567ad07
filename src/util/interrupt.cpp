#include "util/interrupt.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cerrno>
#include <cstdio>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "util/files.h"

namespace llamapro {

namespace {

std::recursive_mutex g_mutex;  // guards g_paths; held by commits and by the watcher at exit
std::map<uint64_t, std::filesystem::path> g_paths;
uint64_t g_next_id = 0;
std::atomic<bool> g_graceful{false};
std::atomic<int> g_stop{0};

// Removes a stage that the main thread may still be writing into. Renamed aside first, it
// gets no new entries (writers address it by its old name), so removal cannot lose a race
// with a file created halfway through it; the new name is one stale-stage recovery knows.
// True when something was removed.
bool remove_stage(const std::filesystem::path& path) {
  std::error_code ec;
  std::filesystem::path doomed = path;
  doomed += stage_suffix("partial");
  std::filesystem::rename(path, doomed, ec);
  const std::filesystem::path& target = ec ? path : doomed;
  bool removed = false;
  for (int attempt = 0; attempt < 20; attempt++) {
    const auto n = std::filesystem::remove_all(target, ec);
    removed = removed || (!ec && n > 0);
    if (!std::filesystem::exists(target, ec)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));  // an entry created meanwhile
  }
  return removed;
}

[[noreturn]] void interrupt_now(int sig) {
  std::lock_guard<std::recursive_mutex> lock(g_mutex);  // waits for a commit in flight
  std::string removed;
  for (const auto& [id, path] : g_paths)
    if (remove_stage(path) && path.string().find(".partial-") != std::string::npos) removed += " " + path.string();
  std::fprintf(stderr, "\nerror: interrupted by %s%s%s\n", sig == SIGINT ? "SIGINT" : "SIGTERM",
               removed.empty() ? "" : "; removed the unfinished", removed.c_str());
  std::fflush(stderr);
  _exit(128 + sig);
}

int g_pipe[2] = {-1, -1};  // the handler writes the signal number; the watcher reads it

// The only work done in signal context: one async-signal-safe write.
void on_signal(int sig) {
  const int saved = errno;
  unsigned char b = static_cast<unsigned char>(sig);
  if (::write(g_pipe[1], &b, 1) < 0) {
  }
  errno = saved;
}

void watch() {
  for (;;) {
    unsigned char b = 0;
    ssize_t n = ::read(g_pipe[0], &b, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n != 1) return;
    const int sig = b;
    if (g_graceful.load()) {
      int expected = 0;
      if (g_stop.compare_exchange_strong(expected, sig)) continue;  // the first one is a request
    }
    interrupt_now(sig);
  }
}

}  // namespace

void install_interrupt_handler() {
  static std::once_flag once;
  std::call_once(once, [] {
    // A handler rather than sigwait(): libraries start threads before main (OpenBLAS), and a
    // process signal may land on any of them.
    if (::pipe2(g_pipe, O_CLOEXEC) != 0) return;
    std::thread(watch).detach();
    for (int sig : {SIGINT, SIGTERM}) {
      struct sigaction old {};
      ::sigaction(sig, nullptr, &old);
      if (old.sa_handler == SIG_IGN) continue;  // ignored by whoever started us (nohup, a background job): keep it so
      struct sigaction sa {};
      sa.sa_handler = on_signal;
      sigemptyset(&sa.sa_mask);
      sa.sa_flags = SA_RESTART;
      ::sigaction(sig, &sa, nullptr);
    }
  });
}

RemoveOnInterrupt::RemoveOnInterrupt(std::filesystem::path path) {
  std::lock_guard<std::recursive_mutex> lock(g_mutex);
  id_ = g_next_id++;
  g_paths[id_] = std::move(path);
}

RemoveOnInterrupt::~RemoveOnInterrupt() {
  std::lock_guard<std::recursive_mutex> lock(g_mutex);
  g_paths.erase(id_);
}

void without_interrupt(const std::function<void()>& fn) {
  std::lock_guard<std::recursive_mutex> lock(g_mutex);
  fn();
}

void request_graceful_stop() { g_graceful.store(true); }
int stop_requested() { return g_stop.load(); }
void stop_as_if(int sig) {
  int expected = 0;
  g_stop.compare_exchange_strong(expected, sig);
}

}  // namespace llamapro
