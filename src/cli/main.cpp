// main.cpp — the llamapro command line: parses, dispatches, and turns every failure into one
// "error: ..." line with exit status 1.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <iostream>

#include "cli/commands.h"
#include "util/check.h"

int main(int argc, char** argv) {
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
  llamapro::cli::add_data(app);
  llamapro::cli::add_tokenize(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "error: " << e.what() << " (see llamapro --help)\n";
    return 1;
  } catch (const std::bad_alloc&) {
    std::cerr << "error: out of memory\n";
    return 1;
  } catch (const std::exception& e) {
    std::string what = e.what();
    // Keep the one-line promise even for messages of foreign libraries.
    if (auto nl = what.find('\n'); nl != std::string::npos) what.resize(nl);
    std::cerr << "error: " << what << "\n";
    if (const auto* lp = dynamic_cast<const llamapro::Error*>(&e); lp && std::getenv("LLAMAPRO_DEBUG"))
      std::cerr << "  (thrown at " << lp->file() << ":" << lp->line() << ")\n";
    return 1;
  }
  return 0;
}
