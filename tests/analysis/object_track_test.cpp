// Colour object tracking (rayvid analyze --track): a drawn disc is found where it was drawn and
// its direction is the one it was moved in, whatever the axis; other hues, greys and a missing
// object are not found; the same holds after H.264 (the semantic tests read MP4s).
#include <gtest/gtest.h>

#include <cmath>

#include "analysis/object_track.h"
#include "io/video.h"
#include "rayvid/error.h"
#include "support/test_env.h"

namespace rayvid::analysis {
namespace {
namespace fs = std::filesystem;

struct Disc {
  uint8_t r, g, b;
  double x, y, vx, vy, radius;
};

// A grey frame per step with each disc drawn at (x + vx f, y + vy f).
io::VideoFrames draw(int width, int height, int frames, const std::vector<Disc>& discs) {
  io::VideoFrames v{width, height, frames, std::vector<uint8_t>()};
  v.rgb.assign(v.frame_bytes() * frames, 128);
  for (int f = 0; f < frames; ++f)
    for (const auto& d : discs)
      for (int y = 0; y < height; ++y)
        for (int x = 0; x < width; ++x)
          if (std::hypot(x - (d.x + d.vx * f), y - (d.y + d.vy * f)) <= d.radius) {
            uint8_t* p = v.frame(f) + (static_cast<size_t>(y) * width + x) * 3;
            p[0] = d.r, p[1] = d.g, p[2] = d.b;
          }
  return v;
}

ObjectTrack track(const io::VideoFrames& v, const std::string& colour) {
  ObjectTracker tracker(parse_colour(colour));
  for (int f = 0; f < v.num_frames; ++f) tracker.add({v.width, v.height, v.frame(f)});
  return tracker.finish();
}

TEST(ObjectTrack, FindsTheDiscAndItsDirectionOnEveryAxis) {
  const struct {
    double vx, vy;
    const char* direction;
  } cases[] = {{-2, 0, "left"}, {2, 0, "right"}, {0, -2, "up"}, {0.3, 2, "down"}};
  for (const auto& c : cases) {
    const auto v = draw(96, 80, 17, {{220, 40, 40, 48 - 16 * c.vx, 40 - 16 * c.vy, c.vx, c.vy, 9}});
    const ObjectTrack t = track(v, "red");
    EXPECT_EQ(t.direction, c.direction);
    EXPECT_EQ(t.found_frames, 17);
    EXPECT_TRUE(t.found_first && t.found_last);
    EXPECT_NEAR(t.dx, c.vx * 16, 0.5) << c.direction;  // the centroid of a rasterised disc
    EXPECT_NEAR(t.dy, c.vy * 16, 0.5) << c.direction;
    EXPECT_NEAR(t.frames[0].x, 48 - 16 * c.vx, 0.5);
    EXPECT_NEAR(t.frames[0].area_fraction, M_PI * 81 / (96 * 80), 0.004);
  }
}

TEST(ObjectTrack, SeparatesHuesAndIgnoresGreysAndAbsentColours) {
  // A purple disc moving up and a blue one moving right, on grey with a white and a black disc.
  const auto v = draw(128, 96, 9,
                      {{150, 60, 200, 40, 70, 0, -3, 8},
                       {50, 80, 230, 30, 25, 4, 0, 8},
                       {235, 235, 235, 100, 70, 0, 0, 10},
                       {20, 20, 20, 100, 20, 0, 0, 10}});
  EXPECT_EQ(track(v, "purple").direction, "up");
  EXPECT_EQ(track(v, "blue").direction, "right");
  EXPECT_EQ(track(v, "#3250e6").direction, "right");  // the blue disc by hex
  const ObjectTrack green = track(v, "green");
  EXPECT_EQ(green.found_frames, 0);
  EXPECT_EQ(green.direction, "not found");
  EXPECT_FALSE(green.found_last);
}

TEST(ObjectTrack, ASteadyObjectStays) {
  const auto v = draw(96, 96, 9, {{245, 140, 30, 48, 48, 0.1, 0, 10}});
  EXPECT_EQ(track(v, "orange").direction, "stays");
  EXPECT_EQ(track(v, "orange").found_frames, 9);
}

TEST(ObjectTrack, ThroughH264) {
  const fs::path dir = rayvid::test::scratch_dir("object_track");
  const auto v =
      draw(96, 96, 17, {{235, 215, 40, 70, 48, -2.2, 0, 11}, {40, 190, 60, 14, 14, 0, 2, 9}});
  io::write_mp4(dir / "clip.mp4", v, {});
  const auto tracks =
      track_colours(dir / "clip.mp4", {parse_colour("yellow"), parse_colour("green")});
  ASSERT_EQ(tracks.size(), 2u);
  EXPECT_EQ(tracks[0].direction, "left");
  EXPECT_NEAR(tracks[0].dx, -2.2 * 16, 1.5);
  EXPECT_EQ(tracks[1].direction, "down");
  EXPECT_EQ(tracks[1].found_frames, 17);
}

TEST(ObjectTrack, RefusesUnknownNamesAndGreys) {
  EXPECT_THROW(parse_colour("teal-ish"), Error);
  EXPECT_THROW(parse_colour("#808080"), Error);  // no hue
  EXPECT_THROW(parse_colour("#12345"), Error);
  EXPECT_NEAR(parse_colour("#dc2828").hue_deg, 0, 0.5);
  EXPECT_NEAR(parse_colour("#28be3c").hue_deg, 128, 1);
}

}  // namespace
}  // namespace rayvid::analysis
