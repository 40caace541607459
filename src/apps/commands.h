// The rayvid CLI's subcommands. Each add_* registers its flags on the app and sets the callback
// that runs it; errors are thrown as rayvid::Error and turned into exit codes in main.cpp.
#pragma once

#include <CLI/CLI.hpp>

namespace rayvid::apps {

void add_inspect(CLI::App& app);
void add_generate(CLI::App& app);
void add_analyze(CLI::App& app);
void add_bench(CLI::App& app);
void add_serve(CLI::App& app);

}  // namespace rayvid::apps
