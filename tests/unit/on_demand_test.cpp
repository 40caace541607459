// The on-demand holders behind the memory profiles (engine/on_demand.h), with stand-in
// components that count their lives: a component loads on first use, release() frees it, and
// two experts sharing ExpertTurns are never alive together; an expert that loads after
// set_context()/set_control() receives them, so a reload computes with the same conditioning.
#include "engine/on_demand.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

namespace rayvid::engine {
namespace {

int alive = 0;  // stand-in denoisers currently loaded

class CountingDenoiser : public pipeline::Denoiser {
 public:
  explicit CountingDenoiser(double weight) : weight_(weight) { ++alive; }
  ~CountingDenoiser() override { --alive; }
  void set_context(const at::Tensor& text, const std::optional<at::Tensor>&) override {
    text_ = text;
  }
  void set_control(const at::Tensor& control, double scale) override { control_ = control * scale; }
  at::Tensor forward(const at::Tensor& latents, const at::Tensor&) override {
    at::Tensor out = latents * weight_ + text_.sum();
    return control_.defined() ? out + control_.sum() : out;
  }

 private:
  double weight_;
  at::Tensor text_, control_;
};

TEST(OnDemand, ExpertsTakeTurnsAndGetTheirConditioningOnEachLoad) {
  auto turns = std::make_shared<ExpertTurns>();
  OnDemandDenoiser high([] { return std::make_unique<CountingDenoiser>(2.0); }, turns);
  OnDemandDenoiser low([] { return std::make_unique<CountingDenoiser>(3.0); }, turns);
  const at::Tensor text = at::ones({1, 2}), latents = at::ones({1});
  high.set_context(text, std::nullopt);
  low.set_context(text, std::nullopt);
  low.set_control(at::ones({1}), 0.5);
  EXPECT_EQ(alive, 0);  // conditioning alone loads nothing

  EXPECT_EQ(high.forward(latents, latents).item<double>(), 2.0 + 2.0);
  EXPECT_TRUE(high.loaded());
  EXPECT_EQ(low.forward(latents, latents).item<double>(), 3.0 + 2.0 + 0.5);
  EXPECT_FALSE(high.loaded());  // the high-noise expert left before the low-noise one came
  EXPECT_EQ(alive, 1);
  EXPECT_EQ(high.forward(latents, latents).item<double>(), 4.0);  // reloaded, same context
  EXPECT_EQ(high.loads(), 2);
  EXPECT_EQ(alive, 1);
}

TEST(OnDemand, WithoutTurnsBothStayAndReleaseFrees) {
  OnDemandDenoiser a([] { return std::make_unique<CountingDenoiser>(1.0); });
  OnDemandDenoiser b([] { return std::make_unique<CountingDenoiser>(1.0); });
  a.ensure_loaded(), b.ensure_loaded();
  EXPECT_EQ(alive, 2);
  a.release(), b.release();
  EXPECT_EQ(alive, 0);
}

}  // namespace
}  // namespace rayvid::engine
