#include "util/interrupt.h"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <map>
#include <mutex>
#include <thread>

namespace llamapro {

namespace {

std::recursive_mutex g_mutex;  // guards g_paths; held by commits and by the watcher at exit
std::map<uint64_t, std::filesystem::path> g_paths;
uint64_t g_next_id = 0;
std::atomic<bool> g_graceful{false};
std::atomic<int> g_stop{0};

[[noreturn]] void interrupt_now(int sig) {
  std::lock_guard<std::recursive_mutex> lock(g_mutex);  // waits for a commit in flight
  std::string removed;
  for (const auto& [id, path] : g_paths) {
    std::error_code ec;
    if (std::filesystem::remove_all(path, ec) > 0 && path.string().find(".partial-") != std::string::npos)
      removed += " " + path.string();
  }
  std::fprintf(stderr, "\nerror: interrupted by %s%s%s\n", sig == SIGINT ? "SIGINT" : "SIGTERM",
               removed.empty() ? "" : "; removed the unfinished", removed.c_str());
  std::fflush(stderr);
  _exit(128 + sig);
}

void watch(sigset_t set) {
  for (;;) {
    int sig = 0;
    if (sigwait(&set, &sig) != 0) continue;
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
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    // Blocked here, before any other thread exists, so every later thread inherits the mask
    // and only the watcher ever receives these signals.
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    std::thread(watch, set).detach();
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

}  // namespace llamapro
