// commands.h — every subcommand registers itself on the root app through one of these.
#pragma once

namespace CLI {
class App;
}

namespace llamapro::cli {

// Each add_* creates its subcommand with options and a callback that runs it.
void add_inspect(CLI::App& app);
void add_init(CLI::App& app);
void add_expand(CLI::App& app);
void add_verify(CLI::App& app);
void add_train(CLI::App& app);
void add_eval(CLI::App& app);
void add_score(CLI::App& app);
void add_generate(CLI::App& app);
void add_chat(CLI::App& app);
void add_merge(CLI::App& app);
void add_plot(CLI::App& app);
void add_data(CLI::App& app);
void add_tokenize(CLI::App& app);
void add_export(CLI::App& app);
void add_launch(CLI::App& app);

}  // namespace llamapro::cli
