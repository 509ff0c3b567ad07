// main.cpp — the llamapro command line: parses, dispatches, and turns every failure into one
// "error: ..." line with exit status 1.
#include <CLI/CLI.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <cstdlib>
#include <exception>
#include <algorithm>
#include <climits>
#include <iostream>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "kernels/cpu_gemm.h"
#include "util/check.h"
#include "util/interrupt.h"
#include "util/json.h"
#include "util/memory.h"

namespace {

// Levenshtein distance, for "did you mean".
size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); j++) row[j] = j;
  for (size_t i = 1; i <= a.size(); i++) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); j++) {
      size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// "" when `word` names a command; otherwise the error line, with the closest command.
std::string unknown_command(const CLI::App& app, const std::string& word) {
  std::string best, names;
  size_t best_distance = SIZE_MAX;
  for (const CLI::App* sub : app.get_subcommands({})) {
    const std::string& name = sub->get_name();
    if (name == word) return "";
    names += (names.empty() ? "" : ", ") + name;
    size_t d = edit_distance(word, name);
    if (d < best_distance) best_distance = d, best = name;
  }
  std::string line = "unknown command \"" + word + "\"";
  if (best_distance <= std::max<size_t>(2, word.size() / 3)) line += "; did you mean \"" + best + "\"?";
  return line + " (commands: " + names + ")";
}

// A program started with standard input, output or error closed would hand those numbers to
// the first files it opens (the interrupt watcher's pipe became "standard input" and chat
// read it forever): hold them with /dev/null instead.
void reserve_standard_descriptors() {
  for (int fd = 0; fd <= 2; fd++)
    if (::fcntl(fd, F_GETFD) < 0 && errno == EBADF) {
      const int null = ::open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);
      if (null >= 0 && null != fd) {
        ::dup2(null, fd);
        ::close(null);
      }
    }
}

// What a command printed must have reached its destination: a full disk or a closed pipe
// behind standard output is a failure, not exit status 0.
bool flush_standard_output() {
  std::cout.flush();
  const bool ok = std::cout.good() && std::fflush(stdout) == 0 && !std::ferror(stdout);
  if (!ok) std::fprintf(stderr, "error: cannot write standard output: %s\n", std::strerror(errno));
  return ok;
}

}  // namespace

int main(int argc, char** argv) {
  reserve_standard_descriptors();
  llamapro::keep_freed_memory_for_reuse();
  llamapro::use_available_cpus();
  llamapro::install_interrupt_handler();
  CLI::App app{"llamapro: grow LLaMA-family models by block expansion (LLaMA Pro)", "llamapro"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "llamapro 0.1.0");
  llamapro::cli::add_inspect(app);
  llamapro::cli::add_init(app);
  llamapro::cli::add_expand(app);
  llamapro::cli::add_verify(app);
  llamapro::cli::add_train(app);
  llamapro::cli::add_eval(app);
  llamapro::cli::add_score(app);
  llamapro::cli::add_generate(app);
  llamapro::cli::add_chat(app);
  llamapro::cli::add_merge(app);
  llamapro::cli::add_plot(app);
  llamapro::cli::add_data(app);
  llamapro::cli::add_tokenize(app);
  llamapro::cli::add_export(app);
  llamapro::cli::add_launch(app);

  if (argc >= 2 && argv[1][0] != '-') {
    const std::string word = argv[1];
    if (word == "help") {
      std::cout << app.help();
      return 0;
    }
    if (std::string line = unknown_command(app, word); !line.empty()) {
      std::cerr << "error: " << line << "\n";
      return 1;
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // No command, or a group (data, export) without its command: say which commands there are.
    const CLI::App* group = &app;
    while (!group->get_subcommands().empty()) group = group->get_subcommands().front();
    if (!group->get_subcommands({}).empty() && group->get_subcommands().empty() &&
        std::string(e.what()).find("subcommand is required") != std::string::npos) {
      std::string names;
      for (const CLI::App* sub : group->get_subcommands({})) names += (names.empty() ? "" : ", ") + sub->get_name();
      std::cerr << "error: " << (group == &app ? std::string("llamapro") : "llamapro " + group->get_name()) << " needs a command: " << names << "\n";
      return 1;
    }
    std::cerr << "error: " << e.what() << " (see llamapro --help)\n";
    return 1;
  } catch (const std::bad_alloc&) {
    std::cerr << "error: out of memory\n";
    return 1;
  } catch (const std::exception& e) {
    std::string what = e.what();
    // Keep the one-line promise even for messages of foreign libraries.
    if (auto nl = what.find('\n'); nl != std::string::npos) what.resize(nl);
    if (const std::string text = llamapro::json_error_text(what); text != what) what = "malformed JSON: " + text;
    std::cerr << "error: " << what << "\n";
    if (const auto* lp = dynamic_cast<const llamapro::Error*>(&e); lp && std::getenv("LLAMAPRO_DEBUG"))
      std::cerr << "  (thrown at " << lp->file() << ":" << lp->line() << ")\n";
    return 1;
  }
  // A command stopped early by SIGINT/SIGTERM (train, after saving a checkpoint) exits as an
  // interrupted program does.
  if (!flush_standard_output()) return 1;
  if (int sig = llamapro::stop_requested()) return 128 + sig;
  return 0;
}
