// Progress on stderr for long work: human-readable lines, JSON lines, or nothing.
#pragma once

#include <string>

#include "rayvid/rayvid.h"

namespace rayvid::apps {

enum class ProgressMode { kText, kJson, kQuiet };
ProgressMode parse_progress_mode(const std::string& name, bool quiet);
ProgressCallback make_progress_printer(ProgressMode mode);

}  // namespace rayvid::apps
