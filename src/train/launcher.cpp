// launcher.cpp — see launcher.h.
#include "train/launcher.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "train/distributed.h"
#include "util/check.h"

namespace llamapro {

namespace {

volatile sig_atomic_t g_signals = 0, g_last_signal = 0;  // forwarded by the main loop
void on_signal(int sig) {
  g_last_signal = sig;
  g_signals = g_signals + 1;
}

std::string self_path() {
  char buf[4096];
  const ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  LP_CHECK(n > 0, "launch: cannot find the llamapro executable (/proc/self/exe)");
  return std::string(buf, size_t(n));
}

struct Rank {
  int rank = 0;
  pid_t pid = -1;
  int err = -1;         // read end of its stderr
  std::string partial;  // a line not yet ended
  std::string error;    // its last "error: " line, to repeat when it fails
  bool running = true;
  int status = 0;
};

std::string describe_exit(int status) {
  if (WIFSIGNALED(status)) {
    const char* name = sigdescr_np(WTERMSIG(status));
    return "was killed by signal " + std::to_string(WTERMSIG(status)) + (name ? std::string(" (") + name + ")" : "");
  }
  return "exited with status " + std::to_string(WEXITSTATUS(status));
}

bool failed(int status) { return !WIFEXITED(status) || WEXITSTATUS(status) != 0; }

// Copies whole lines from a rank's stderr to ours, each after "[rank R] "; at the rank's end
// also a last line without its newline.
enum class Relay { Lines, Everything };
void relay(Rank& r, Relay what) {
  const bool at_end = what == Relay::Everything;
  char buf[65536];
  for (;;) {
    const ssize_t n = read(r.err, buf, sizeof buf);
    if (n <= 0) break;
    r.partial.append(buf, size_t(n));
  }
  size_t start = 0;
  for (size_t nl; (nl = r.partial.find('\n', start)) != std::string::npos; start = nl + 1) {
    const std::string line = r.partial.substr(start, nl - start);
    if (line.rfind("error: ", 0) == 0) r.error = line.substr(7);
    std::fprintf(stderr, "[rank %d] %s\n", r.rank, line.c_str());
  }
  r.partial.erase(0, start);
  if (at_end && !r.partial.empty()) {  // a last line without its newline
    std::fprintf(stderr, "[rank %d] %s\n", r.rank, r.partial.c_str());
    r.partial.clear();
  }
  std::fflush(stderr);
}

Rank start_rank(const LaunchOptions& o, int local_rank, const std::string& exe) {
  Rank r;
  r.rank = o.node_rank * o.nproc_per_node + local_rank;
  int fds[2];
  LP_CHECK(pipe(fds) == 0, "launch: pipe: ", std::strerror(errno));
  r.pid = fork();
  LP_CHECK(r.pid >= 0, "launch: fork: ", std::strerror(errno));
  if (r.pid == 0) {
    // Its own process group: a terminal's Ctrl-C reaches the launcher only, which forwards it
    // once. A launcher that dies without forwarding still stops its ranks.
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    dup2(fds[1], 2);
    close(fds[0]);
    close(fds[1]);
    const int world = o.nnodes * o.nproc_per_node;
    setenv("RANK", std::to_string(r.rank).c_str(), 1);
    setenv("LOCAL_RANK", std::to_string(local_rank).c_str(), 1);
    setenv("WORLD_SIZE", std::to_string(world).c_str(), 1);
    setenv("LOCAL_WORLD_SIZE", std::to_string(o.nproc_per_node).c_str(), 1);
    setenv("GROUP_RANK", std::to_string(o.node_rank).c_str(), 1);
    setenv("MASTER_ADDR", o.master_addr.c_str(), 1);
    setenv("MASTER_PORT", std::to_string(o.master_port).c_str(), 1);
    // The node's cores shared out (as torchrun does), unless the user chose: N ranks each
    // running all cores' threads would oversubscribe them N times.
    const long cores = sysconf(_SC_NPROCESSORS_ONLN);
    setenv("OMP_NUM_THREADS", std::to_string(std::max(1L, cores / o.nproc_per_node)).c_str(), 0);
    std::vector<char*> argv = {const_cast<char*>("llamapro")};
    for (const auto& a : o.command) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(exe.c_str(), argv.data());
    _exit(127);
  }
  close(fds[1]);
  fcntl(fds[0], F_SETFL, O_NONBLOCK);
  r.err = fds[0];
  return r;
}

}  // namespace

int free_loopback_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  LP_CHECK(fd >= 0, "launch: cannot open a socket to pick a free port: ", std::strerror(errno));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  const bool ok = bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
                  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0;
  close(fd);
  LP_CHECK(ok, "launch: cannot pick a free port; give --master-port");
  return ntohs(a.sin_port);
}

int run_launch(LaunchOptions o) {
  LP_CHECK(!o.command.empty() && o.command[0] == "train", "launch runs `train`: llamapro launch --nproc-per-node N -- train MODEL ...");
  LP_CHECK(o.node_rank < o.nnodes, "--node-rank ", o.node_rank, " must be below --nnodes ", o.nnodes);
  check_resolvable(o.master_addr, "--master-addr");  // the ranks would retry it for minutes
  if (o.master_port == 0) {
    LP_CHECK(o.nnodes == 1, "--master-port is needed when several nodes meet (the same on every node)");
    o.master_port = free_loopback_port();
  }
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);

  const std::string exe = self_path();
  std::vector<Rank> ranks;
  for (int i = 0; i < o.nproc_per_node; i++) ranks.push_back(start_rank(o, i, exe));

  int forwarded = 0, running = int(ranks.size());
  std::string stopped_error;  // a rank stopped (SIGSTOP): named instead of the ranks it stalled
  const Rank* first_failure = nullptr;
  auto stop_others = [&](int sig) {
    for (Rank& r : ranks)
      if (r.running) kill(r.pid, sig);
  };
  std::chrono::steady_clock::time_point kill_at{};
  while (running > 0) {
    std::vector<pollfd> fds;
    for (Rank& r : ranks)
      if (r.err >= 0) fds.push_back({r.err, POLLIN, 0});
    poll(fds.data(), fds.size(), 100);
    for (Rank& r : ranks)
      if (r.err >= 0) relay(r, Relay::Lines);
    for (; forwarded < g_signals; forwarded++) stop_others(g_last_signal);  // each signal once
    for (Rank& r : ranks) {
      if (!r.running || waitpid(r.pid, &r.status, WNOHANG | WUNTRACED) != r.pid) continue;
      if (WIFSTOPPED(r.status)) {
        // The others wait for it in a collective until the timeout: a stopped rank ends the job.
        if (!first_failure && g_signals == 0 && stopped_error.empty()) {
          std::fprintf(stderr, "launch: rank %d was stopped by signal %d (%s); ending the job\n", r.rank,
                       WSTOPSIG(r.status), sigdescr_np(WSTOPSIG(r.status)));
          stopped_error = "rank " + std::to_string(r.rank) + " was stopped by signal " +
                          std::to_string(WSTOPSIG(r.status)) + " and stalled the others";
          stop_others(SIGKILL);
        }
        continue;
      }
      r.running = false;
      running--;
      relay(r, Relay::Everything);
      close(r.err);
      r.err = -1;
      if (failed(r.status) && !first_failure && g_signals == 0 && stopped_error.empty()) {
        first_failure = &r;
        // The others are waiting on it in a collective: end them (a grace period first).
        std::fprintf(stderr, "launch: rank %d %s; ending the other ranks\n", r.rank, describe_exit(r.status).c_str());
        stop_others(SIGTERM);
        kill_at = std::chrono::steady_clock::now() + std::chrono::seconds(5);
      }
    }
    if (first_failure && running > 0 && std::chrono::steady_clock::now() > kill_at) stop_others(SIGKILL);
  }
  LP_CHECK(stopped_error.empty(), stopped_error);
  if (first_failure)
    LP_FAIL("rank ", first_failure->rank, " ", describe_exit(first_failure->status),
            first_failure->error.empty() ? "" : ": " + first_failure->error);
  for (const Rank& r : ranks)  // stopped by a signal: exit as the ranks did (they saved a checkpoint)
    if (failed(r.status)) return WIFEXITED(r.status) ? WEXITSTATUS(r.status) : 128 + WTERMSIG(r.status);
  return 0;
}

}  // namespace llamapro
