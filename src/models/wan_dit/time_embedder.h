// The DiT's timestep embedding without the rest of the model: only the time MLP's tensors are read
// from the checkpoint (diffusers or original names). For TeaCache's schedule in `--dry-run`, which
// depends on these embeddings alone (pipeline/step_cache.h).
#pragma once

#include <ATen/core/Tensor.h>

#include <filesystem>

#include "models/wan_dit/config.h"
#include "models/weights.h"

namespace rayvid::models::wan_dit {

// The embedding of each timestep as WanDiT::time_embedding computes it with this dtype: temb
// [N, dim] (`e`) or, projected, [N, 6·dim] (`e0`), returned fp32.
at::Tensor time_embeddings_from_checkpoint(const std::filesystem::path& component_dir,
                                           const std::vector<double>& timesteps, bool projected,
                                           c10::ScalarType dtype);
// The same from any weight source (a single-file DiT through CheckpointSource).
at::Tensor time_embeddings_from_checkpoint(const WanDiTConfig& config, const WeightSource& source,
                                           const std::vector<double>& timesteps, bool projected,
                                           c10::ScalarType dtype);

}  // namespace rayvid::models::wan_dit
