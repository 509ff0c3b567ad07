// interrupt.h — SIGINT and SIGTERM without losing or leaving files.
//
// install_interrupt_handler(), called first thing in main, routes both signals to one watcher
// thread (the handler only writes the signal's number to a pipe; the watcher is ordinary code,
// so it may remove folders). When one arrives, the watcher removes every registered unfinished
// output and exits with 128 + signal (130, 143). A command that can stop cleanly (train: save a checkpoint)
// turns the first signal into a request it polls; a second signal interrupts as usual.
// Without install_interrupt_handler() (library use, tests) signals keep their default action.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>

namespace llamapro {

void install_interrupt_handler();

// While alive, `path` (a stage, a lock file) is removed if the process is interrupted.
class RemoveOnInterrupt {
 public:
  explicit RemoveOnInterrupt(std::filesystem::path path);
  ~RemoveOnInterrupt();
  RemoveOnInterrupt(const RemoveOnInterrupt&) = delete;
  RemoveOnInterrupt& operator=(const RemoveOnInterrupt&) = delete;

 private:
  uint64_t id_;
};

// Runs `fn` (a commit: renames) so that an interrupt waits for it to finish: the watcher
// never removes a stage halfway through its rename into place.
void without_interrupt(const std::function<void()>& fn);

// From now on the first SIGINT/SIGTERM only sets stop_requested(); the command stops at a
// safe point and returns, and main exits with 128 + that signal.
void request_graceful_stop();
int stop_requested();  // the signal that asked to stop, or 0
// Stops as if `sig` had arrived here (another rank of the job received it), unless a signal did.
void stop_as_if(int sig);

}  // namespace llamapro
