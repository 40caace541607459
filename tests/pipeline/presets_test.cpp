// Every preset combination resolves to the documented size, frames and fps (README table).
#include "pipeline/presets.h"

#include <gtest/gtest.h>

#include "rayvid/error.h"

namespace rayvid::pipeline {
namespace {

struct Expected {
  const char* size;
  const char* resolution;
  int w21, h21;      // Wan2.1 / A14B family (multiples of 16)
  int wti2v, hti2v;  // Wan2.2 TI2V family (multiples of 32)
};

// Worked out by hand from the rule: short side = resolution, long side = short x aspect,
// each snapped to the nearest multiple (ties down).
constexpr Expected kTable[] = {
    {"16:9", "540p", 960, 544, 960, 544},      {"16:9", "720p", 1280, 720, 1280, 704},
    {"16:9", "1080p", 1920, 1072, 1920, 1088}, {"9:16", "540p", 544, 960, 544, 960},
    {"9:16", "720p", 720, 1280, 704, 1280},    {"9:16", "1080p", 1072, 1920, 1088, 1920},
    {"1:1", "540p", 544, 544, 544, 544},       {"1:1", "720p", 720, 720, 704, 704},
    {"1:1", "1080p", 1072, 1072, 1088, 1088},  {"4:3", "540p", 720, 544, 704, 544},
    {"4:3", "720p", 960, 720, 960, 704},       {"4:3", "1080p", 1440, 1072, 1440, 1088},
    {"3:4", "540p", 544, 720, 544, 704},       {"3:4", "720p", 720, 960, 704, 960},
    {"3:4", "1080p", 1072, 1440, 1088, 1440},  {"21:9", "540p", 1264, 544, 1248, 544},
    {"21:9", "720p", 1680, 720, 1664, 704},    {"21:9", "1080p", 2512, 1072, 2528, 1088},
};

TEST(Presets, EveryCombinationResolvesToTheDocumentedShape) {
  int checked = 0;
  for (const auto& e : kTable) {
    for (const char* duration : {"5s", "10s"}) {
      const int seconds = std::string(duration) == "5s" ? 5 : 10;
      const auto a = resolve_preset(preset_family_wan21(), e.size, e.resolution, duration);
      EXPECT_EQ(a.width, e.w21) << e.size << " " << e.resolution;
      EXPECT_EQ(a.height, e.h21) << e.size << " " << e.resolution;
      EXPECT_EQ(a.fps, 16);
      EXPECT_EQ(a.frames, 16 * seconds + 1);
      const auto b = resolve_preset(preset_family_ti2v(), e.size, e.resolution, duration);
      EXPECT_EQ(b.width, e.wti2v) << e.size << " " << e.resolution;
      EXPECT_EQ(b.height, e.hti2v) << e.size << " " << e.resolution;
      EXPECT_EQ(b.fps, 24);
      EXPECT_EQ(b.frames, 24 * seconds + 1);
      EXPECT_NO_THROW(validate_shape(preset_family_wan21(), a));
      EXPECT_NO_THROW(validate_shape(preset_family_ti2v(), b));
      checked += 2;
    }
  }
  EXPECT_EQ(checked, 6 * 3 * 2 * 2);
}

TEST(Presets, UnknownNamesAndImpossibleShapesAreRejected) {
  EXPECT_THROW(resolve_preset(preset_family_ti2v(), "2:1", "540p", "5s"), rayvid::Error);
  EXPECT_THROW(resolve_preset(preset_family_ti2v(), "16:9", "4k", "5s"), rayvid::Error);
  EXPECT_THROW(resolve_preset(preset_family_ti2v(), "16:9", "540p", "7s"), rayvid::Error);
  const auto ti2v = preset_family_ti2v();
  EXPECT_THROW(validate_shape(ti2v, {960, 540, 121, 24}), rayvid::Error);  // 540 % 32
  EXPECT_THROW(validate_shape(ti2v, {960, 544, 120, 24}), rayvid::Error);  // not 4n+1
  EXPECT_THROW(validate_shape(ti2v, {0, 544, 121, 24}), rayvid::Error);
  EXPECT_THROW(validate_shape(ti2v, {8192, 544, 121, 24}), rayvid::Error);
  EXPECT_THROW(validate_shape(ti2v, {960, 544, 121, 0}), rayvid::Error);
  try {
    validate_shape(ti2v, {960, 540, 121, 24});
  } catch (const rayvid::Error& e) {
    EXPECT_NE(std::string(e.what()).find("try 960x512"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace rayvid::pipeline
