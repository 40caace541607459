// Placeholder subcommands: listed in --help, honest about not being built yet.
#include "apps/commands.h"
#include "core/check.h"

namespace rayvid::apps {

void add_not_built(CLI::App& app, const std::string& name, const std::string& description,
                   const std::string& issue) {
  auto* sub = app.add_subcommand(name, description + " (not built yet)");
  sub->allow_extras();
  sub->callback([name, issue]() {
    fail(ErrorCategory::kUnsupported, "`rayvid {}` is not built yet (it lands with {})", name,
         issue);
  });
}

}  // namespace rayvid::apps
