// rayvid: command-line front end. Parses flags, runs one subcommand, maps errors to exit codes:
// 0 success, 2 bad arguments, 3 bad input file, 4 unsupported, 5 out of memory, 70 internal.
#include <spdlog/spdlog.h>

#include <cstdio>
#include <exception>

#include "apps/commands.h"
#include "core/version.h"
#include "rayvid/error.h"

int main(int argc, char** argv) {
  CLI::App app{"rayvid: local text-to-video and image-to-video with the Wan model family"};
  app.set_version_flag("--version", std::string("rayvid ") + rayvid::kVersion);
  app.require_subcommand(1);
  app.fallthrough();

  rayvid::apps::add_generate(app);
  rayvid::apps::add_bench(app);
  rayvid::apps::add_analyze(app);
  rayvid::apps::add_inspect(app);
  rayvid::apps::add_not_built(app, "serve", "Serve the engine over HTTP", "a later issue");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "rayvid: bad arguments: %s (see rayvid --help)\n", e.what());
    return rayvid::exit_code_for(rayvid::ErrorCategory::kBadArgument);
  } catch (const rayvid::Error& e) {
    std::fprintf(stderr, "rayvid: %s: %s\n", rayvid::category_name(e.category()), e.what());
    return rayvid::exit_code_for(e.category());
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "rayvid: out of memory: try a smaller size, fewer frames, or bf16\n");
    return rayvid::exit_code_for(rayvid::ErrorCategory::kOutOfMemory);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "rayvid: internal error: %s (please report this)\n", e.what());
    return rayvid::exit_code_for(rayvid::ErrorCategory::kInternal);
  }
  return 0;
}
