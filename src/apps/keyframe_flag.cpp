#include "apps/keyframe_flag.h"

#include <charconv>

#include "core/check.h"

namespace rayvid::apps {

std::pair<int, std::string> parse_keyframe_flag(const std::string& text) {
  const size_t colon = text.find(':');
  int frame = -1;
  const char* begin = text.data();
  const char* digits_end = begin + (colon == std::string::npos ? 0 : colon);
  const auto [end, ec] = std::from_chars(begin, digits_end, frame);
  RAYVID_CHECK(colon != std::string::npos && ec == std::errc() && end == digits_end && frame >= 0 &&
                   colon + 1 < text.size(),
               BadArgument, "--keyframe '{}': expected FRAME:IMAGE, e.g. --keyframe 40:key.png",
               text);
  return {frame, text.substr(colon + 1)};
}

}  // namespace rayvid::apps
