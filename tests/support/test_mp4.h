// The MP4 settings of tests that write clips and then measure them: 16 fps and CRF 18, the
// quality at which the io tests require 35 dB and more against the frames written.
#pragma once

#include "io/video.h"

namespace rayvid::test {

inline io::Mp4Options test_mp4_options() {
  io::Mp4Options options;
  options.fps = 16;
  options.crf = 18;
  return options;
}

}  // namespace rayvid::test
