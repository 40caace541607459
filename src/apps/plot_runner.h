// Runs the matplotlib scripts in scripts/plot/ (charts are drawn by a real plotting library, not
// rasterised here). The interpreter is $RAYVID_PYTHON or the project's venv python found at build
// time; the scripts folder is $RAYVID_PLOT_DIR or the source tree's scripts/plot.
#pragma once

#include <string>
#include <vector>

namespace rayvid::apps {

// Runs `python scripts/plot/<script> args...`. Returns false (and prints why on stderr) when
// the interpreter or script is missing or the script fails: plots are a convenience, the JSON and
// CSV next to them hold the numbers.
bool run_plot_script(const std::string& script, const std::vector<std::string>& args);

}  // namespace rayvid::apps
