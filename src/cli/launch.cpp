// launch.cpp — `llamapro launch --nproc-per-node N [--nnodes M --node-rank R --master-addr A
// --master-port P] -- train ...`: the options of train/launcher.
#include <CLI/CLI.hpp>

#include <cstdlib>

#include "cli/commands.h"
#include "cli/options.h"
#include "train/launcher.h"

namespace llamapro::cli {

void add_launch(CLI::App& app) {
  auto o = std::make_shared<LaunchOptions>();
  auto* cmd = app.add_subcommand("launch", "Run a data-parallel training on this node: llamapro launch --nproc-per-node N -- train ...");
  cmd->option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  cmd->add_option("--nproc-per-node", o->nproc_per_node, "ranks on this node")->required()->check(count(1, 1024));
  cmd->add_option("--nnodes", o->nnodes, "nodes taking part")->capture_default_str()->check(count(1, 65536));
  cmd->add_option("--node-rank", o->node_rank, "this node's index, 0 .. nnodes-1")->capture_default_str()
      ->check(count(0, 65535));
  cmd->add_option("--master-addr", o->master_addr, "address of node 0, where the ranks meet")->capture_default_str()
      ->check(non_empty_path());
  cmd->add_option("--master-port", o->master_port, "port on node 0 (default: a free one, single node only)")
      ->check(count(1, 65535));
  cmd->add_option("command", o->command, "after --: the train command, as it would run alone")->required()->expected(-1);
  cmd->callback([o] {
    const int status = run_launch(*o);
    if (status != 0) std::exit(status);
  });
}

}  // namespace llamapro::cli
