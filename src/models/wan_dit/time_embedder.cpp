// Time MLP alone: see time_embedder.h.
#include "models/wan_dit/time_embedder.h"

#include <ATen/ATen.h>

#include <map>

#include "core/check.h"
#include "io/json_file.h"
#include "io/safetensors.h"
#include "models/wan_dit/config.h"
#include "models/wan_dit/embeddings.h"
#include "models/wan_dit/weight_names.h"

namespace rayvid::models::wan_dit {

at::Tensor time_embeddings_from_checkpoint(const std::filesystem::path& component_dir,
                                           const std::vector<double>& timesteps, bool projected,
                                           c10::ScalarType dtype) {
  const WanDiTConfig config =
      WanDiTConfig::from_json(io::JsonFile::load(component_dir / "config.json"));
  const StoreSource source(io::WeightStore::open_folder(component_dir), component_dir.string());
  return time_embeddings_from_checkpoint(config, source, timesteps, projected, dtype);
}

at::Tensor time_embeddings_from_checkpoint(const WanDiTConfig& config, const WeightSource& source,
                                           const std::vector<double>& timesteps, bool projected,
                                           c10::ScalarType dtype) {
  std::map<std::string, std::string> by_canonical;  // diffusers name -> the checkpoint's
  for (const std::string& name : source.names()) by_canonical[wan_canonical_name(name)] = name;
  auto tensor = [&](const std::string& canonical) {
    const auto it = by_canonical.find(canonical);
    RAYVID_CHECK(it != by_canonical.end(), BadInput, "{}: no tensor {} in the checkpoint",
                 source.label(), canonical);
    return source.load(it->second);
  };
  WanDiTWeights w;
  // As load_weights keeps them: the time MLP in fp32 (an fp32 island), time_proj in the dtype.
  w.time_linear_1 = {tensor("condition_embedder.time_embedder.linear_1.weight").to(at::kFloat),
                     tensor("condition_embedder.time_embedder.linear_1.bias").to(at::kFloat)};
  w.time_linear_2 = {tensor("condition_embedder.time_embedder.linear_2.weight").to(at::kFloat),
                     tensor("condition_embedder.time_embedder.linear_2.bias").to(at::kFloat)};
  w.time_proj = {tensor("condition_embedder.time_proj.weight").to(dtype),
                 tensor("condition_embedder.time_proj.bias").to(dtype)};
  ComputeSettings s;
  s.dtype = dtype;
  const at::Tensor t = at::tensor(timesteps, at::TensorOptions().dtype(at::kFloat));
  std::vector<at::Tensor> rows;
  for (int64_t i = 0; i < t.size(0); ++i) {  // one at a time, as the run embeds each step's t
    const TimeEmbedding e = embed_time(t.narrow(0, i, 1), w, config, s);
    rows.push_back((projected ? e.proj.flatten(1) : e.temb).to(at::kFloat));
  }
  return at::cat(rows);  // [N, dim] or [N, 6·dim]
}

}  // namespace rayvid::models::wan_dit
