// "--keyframe FRAME:IMAGE" as rayvid generate and rayvid analyze take it.
#pragma once

#include <string>
#include <utility>

namespace rayvid::apps {

// {frame, image path}; kBadArgument unless FRAME is a non-negative integer and IMAGE is given.
std::pair<int, std::string> parse_keyframe_flag(const std::string& text);

}  // namespace rayvid::apps
