// A model folder checked without loading a byte of weights: every config parsed and validated,
// the components checked against each other (engine::describe_model), and every component's
// checkpoint checked against its config by building the real model on the meta device from the
// checkpoint's names, shapes and dtypes. `rayvid inspect` reports these problems and exits 3; the
// engine finds the same ones when it loads.
#pragma once

#include <string>
#include <vector>

#include "models/model_folder.h"

namespace rayvid::engine {

// One line per problem, each naming the file or component; empty when the folder is sound.
std::vector<std::string> check_model_folder(const models::ModelFolder& folder);

}  // namespace rayvid::engine
