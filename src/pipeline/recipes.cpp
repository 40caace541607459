// Sampling recipes (see recipes.h).
#include "pipeline/recipes.h"

namespace rayvid::pipeline {
namespace {

const std::vector<SamplingRecipe>& recipes() {
  static const std::vector<SamplingRecipe> all = {
      {"distill-4step",
       4,
       "euler",
       5.0,
       1.0,
       {1.0, 0.75, 0.5, 0.25},
       "step-distill LoRAs (lightx2v, Lightning): 4 Euler steps at t = 1000, 750, 500, 250 on the "
       "shift-5 schedule, no guidance"},
  };
  return all;
}

}  // namespace

const SamplingRecipe* find_recipe(std::string_view name) {
  for (const SamplingRecipe& r : recipes()) {
    if (r.name == name) return &r;
  }
  return nullptr;
}

std::vector<std::string> recipe_names() {
  std::vector<std::string> names;
  for (const SamplingRecipe& r : recipes()) names.push_back(r.name);
  return names;
}

}  // namespace rayvid::pipeline
