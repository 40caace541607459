// The submission body's checks: every field a typed value, unknown fields refused by name, the
// hosted API's conventions (duration as 5 / "5s", seed -1 = random) and the route's image rule.
#include <gtest/gtest.h>

#include "serve/api_error.h"
#include "serve/request_fields.h"

namespace rayvid::serve {
namespace {

using nlohmann::json;

// The field an ApiError names, or "" when the body was accepted.
std::string refused_field(const json& body, Task task = Task::kTextToVideo, Limits limits = {}) {
  try {
    normalise_input(body, task, limits, 42);
  } catch (const ApiError& e) {
    EXPECT_EQ(e.status(), 400);
    EXPECT_NE(std::string(e.what()).find(e.field().empty() ? "JSON" : e.field()), std::string::npos)
        << e.what();
    return e.field().empty() ? "<body>" : e.field();
  }
  return "";
}

TEST(ServeRequestFields, AcceptsTheHostedApiBodyAndFillsTheSeed) {
  const json input = normalise_input(
      {{"prompt", "a fox"}, {"size", "9:16"}, {"resolution", "720p"}, {"duration", 10}},
      Task::kTextToVideo, {}, 1234);
  EXPECT_EQ(input["duration"], "10s");
  EXPECT_EQ(input["seed"], 1234u);
  EXPECT_EQ(input["size"], "9:16");
  const GenerateRequest r = to_generate_request(input, nullptr);
  EXPECT_EQ(r.prompt, "a fox");
  EXPECT_EQ(r.resolution, "720p");
  EXPECT_EQ(r.duration, "10s");
  EXPECT_EQ(r.seed, 1234u);
  EXPECT_FALSE(r.steps.has_value());  // not given: the model's default, not 0
  EXPECT_FALSE(r.image.has_value());
}

TEST(ServeRequestFields, SeedMinusOneIsRandomAnyOtherSeedIsKept) {
  EXPECT_EQ(normalise_input({{"prompt", "x"}, {"seed", -1}}, Task::kTextToVideo, {}, 7)["seed"],
            7u);
  EXPECT_EQ(normalise_input({{"prompt", "x"}, {"seed", 0}}, Task::kTextToVideo, {}, 7)["seed"], 0u);
  EXPECT_EQ(normalise_input({{"prompt", "x"}, {"seed", "18446744073709551615"}}, Task::kTextToVideo,
                            {}, 7)["seed"],
            18446744073709551615ull);
  EXPECT_EQ(refused_field({{"prompt", "x"}, {"seed", 1.5}}), "seed");
  EXPECT_EQ(refused_field({{"prompt", "x"}, {"seed", "twelve"}}), "seed");
}

TEST(ServeRequestFields, RayvidsOwnFieldsReachTheEngineRequest) {
  const json input = normalise_input({{"prompt", "x"},
                                      {"steps", 12},
                                      {"width", 256},
                                      {"height", 160},
                                      {"frames", 9},
                                      {"sampler", "euler"},
                                      {"guidance_scale", 3.5},
                                      {"shift", 2},
                                      {"negative_prompt", "blur"},
                                      {"enable_sync_mode", true}},
                                     Task::kTextToVideo, {}, 1);
  EXPECT_FALSE(input.contains("enable_sync_mode"));  // how to answer, not what to make
  const GenerateRequest r = to_generate_request(input, nullptr);
  EXPECT_EQ(r.steps, 12);
  EXPECT_EQ(r.width, 256);
  EXPECT_EQ(r.height, 160);
  EXPECT_EQ(r.frames, 9);
  EXPECT_EQ(r.sampler, "euler");
  EXPECT_DOUBLE_EQ(*r.guidance_scale, 3.5);
  EXPECT_DOUBLE_EQ(*r.shift, 2.0);
  EXPECT_EQ(r.negative_prompt, "blur");
}

TEST(ServeRequestFields, EachBadFieldIsNamed) {
  EXPECT_EQ(refused_field(json::array()), "<body>");
  EXPECT_EQ(refused_field(json::object()), "prompt");
  EXPECT_EQ(refused_field({{"prompt", ""}}), "prompt");
  EXPECT_EQ(refused_field({{"prompt", 5}}), "prompt");
  EXPECT_EQ(refused_field({{"prompt", "x"}, {"durration", "5s"}}), "durration");
  EXPECT_EQ(refused_field({{"prompt", "x"}, {"steps", 0}}), "steps");
  EXPECT_EQ(refused_field({{"prompt", "x"}, {"steps", "8"}}), "steps");
  EXPECT_EQ(refused_field({{"prompt", "x"}, {"width", 1e12}}), "width");
  EXPECT_EQ(refused_field({{"prompt", "x"}, {"guidance_scale", "high"}}), "guidance_scale");
  EXPECT_EQ(refused_field({{"prompt", "x"}, {"duration", true}}), "duration");
  EXPECT_EQ(refused_field({{"prompt", "x"}, {"enable_sync_mode", "yes"}}), "enable_sync_mode");
  EXPECT_EQ(refused_field({{"prompt", "x"}, {"reference", {1, 2}}}), "reference");
  EXPECT_EQ(refused_field({{"prompt", "x"}, {"loras", "style.safetensors"}}), "loras");
  EXPECT_EQ(refused_field({{"prompt", "x"}, {"loras", {{{"path", "a"}, {"strength", 1}}}}}),
            "loras");
  EXPECT_EQ(refused_field({{"prompt", "x"}, {"loras", {{{"path", "a"}, {"scale", "1"}}}}}),
            "loras");
  EXPECT_EQ(refused_field({{"prompt", "x"}, {"loras", {{{"path", "a"}, {"scale", 0.5}}}}}), "");
  Limits tight;
  tight.max_prompt_bytes = 10;
  EXPECT_EQ(refused_field({{"prompt", "eleven byte"}}, Task::kTextToVideo, tight), "prompt");
  EXPECT_EQ(refused_field({{"prompt", "ten bytes!"}}, Task::kTextToVideo, tight), "");
}

TEST(ServeRequestFields, TheRouteDecidesWhetherAnImageIsRequiredOrRefused) {
  EXPECT_EQ(refused_field({{"prompt", "x"}, {"image", "/media/a/b.png"}}, Task::kTextToVideo),
            "image");
  EXPECT_EQ(refused_field({{"prompt", "x"}}, Task::kImageToVideo), "image");
  const json input =
      normalise_input({{"prompt", "x"}, {"image", "/media/a/b.png"}}, Task::kImageToVideo, {}, 1);
  std::string asked;
  const GenerateRequest r =
      to_generate_request(input, [&](const std::string& field, const std::string& value) {
        asked = field + "=" + value;
        return std::filesystem::path("/tmp/resolved.png");
      });
  EXPECT_EQ(asked, "image=/media/a/b.png");
  EXPECT_EQ(r.image, "/tmp/resolved.png");
}

}  // namespace
}  // namespace rayvid::serve
