// launcher.h — `llamapro launch`: starts this node's ranks of a data-parallel run with
// torchrun's variables, prefixes each rank's stderr lines with "[rank R]", forwards SIGINT and
// SIGTERM (every rank then saves its part of a checkpoint and stops), and when one rank dies or
// is stopped ends the others and fails naming it.
#pragma once

#include <string>
#include <vector>

namespace llamapro {

struct LaunchOptions {
  // master_port 0: a free port (single node only); command: the train command line after --.
  int nproc_per_node = 1, nnodes = 1, node_rank = 0, master_port = 0;
  std::string master_addr = "127.0.0.1";
  std::vector<std::string> command;
};

// A loopback port nobody listens on now (the kernel's pick), for a single-node run without
// --master-port.
int free_loopback_port();

// Runs the ranks to their end; returns the job's exit status (0, or that of ranks stopped by a
// signal) and throws, naming the rank, when one failed.
int run_launch(LaunchOptions o);

}  // namespace llamapro
