// rayvid: command-line front end. Parses flags, runs one subcommand, maps errors to exit codes:
// 0 success, 2 bad arguments, 3 bad input file, 4 unsupported, 5 out of memory, 70 internal.
#include <c10/util/Exception.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <string>

#include <cstdio>
#include <exception>

#include "apps/commands.h"
#include "core/version.h"
#include "engine/torch_errors.h"
#include "rayvid/error.h"

namespace {

// The README promises one line per error: a message that carries line breaks (a library's, say)
// is folded.
std::string one_line(std::string message) {
  while (!message.empty() && message.back() == '\n') message.pop_back();
  for (size_t at = message.find('\n'); at != std::string::npos; at = message.find('\n', at))
    message.replace(at, 1, "; ");
  return message;
}

}  // namespace

int main(int argc, char** argv) {
  // Logs go to stderr with the progress lines; stdout carries only results (the MP4's path, JSON).
  spdlog::set_default_logger(spdlog::stderr_color_mt("rayvid"));
  spdlog::set_pattern("rayvid: %l: %v");
  CLI::App app{"rayvid: local text-to-video and image-to-video with the Wan model family"};
  app.set_version_flag("--version", std::string("rayvid ") + rayvid::kVersion);
  app.require_subcommand(1);
  app.fallthrough();
  // Errors are one line; the details behind them (every mismatched tensor, say) are debug logs.
  app.add_flag_callback(
      "--verbose,-v", [] { spdlog::set_level(spdlog::level::debug); },
      "Print details behind errors and what each stage decided (debug log on stderr)");

  rayvid::apps::add_generate(app);
  rayvid::apps::add_bench(app);
  rayvid::apps::add_analyze(app);
  rayvid::apps::add_inspect(app);
  rayvid::apps::add_serve(app);

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
    std::fprintf(stderr, "rayvid: %s: %s\n", rayvid::category_name(e.category()),
                 one_line(e.what()).c_str());
    return rayvid::exit_code_for(e.category());
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "rayvid: out of memory: try a smaller size, fewer frames, or bf16\n");
    return rayvid::exit_code_for(rayvid::ErrorCategory::kOutOfMemory);
  } catch (const c10::Error& e) {
    // The engine translates LibTorch errors; this catches the tools around it (bench, inspect).
    try {
      rayvid::engine::rethrow_as_rayvid_error(e);
    } catch (const rayvid::Error& translated) {
      std::fprintf(stderr, "rayvid: %s: %s\n", rayvid::category_name(translated.category()),
                   one_line(translated.what()).c_str());
      return rayvid::exit_code_for(translated.category());
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "rayvid: internal error: %s (please report this)\n",
                 one_line(e.what()).c_str());
    return rayvid::exit_code_for(rayvid::ErrorCategory::kInternal);
  }
  return 0;
}
