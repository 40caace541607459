// `rayvid bench --memory-table`: the memory model (engine/memory_model.h) for every published Wan
// variant x resolution x duration x memory profile, on a GPU with bf16 compute: the predicted
// peak device and host memory, as the README's table.
#pragma once

#include <string>
#include <vector>

#include "engine/memory_model.h"
#include "pipeline/presets.h"

namespace rayvid::tools::bench {

struct MemoryTableRow {
  std::string variant;     // "wan2.1-t2v-14b", ...
  std::string resolution;  // "540p", "720p", "1080p"
  std::string duration;    // "5s", "10s"
  pipeline::VideoShape shape;
  engine::MemoryEstimate max, balanced, low;
};

// The published variants' facts: DiT parameters counted from the architecture's tensor shapes,
// umT5-XXL and CLIP ViT-H as released, the VAE from its config. kBadArgument for an unknown name.
engine::ModelMemoryFacts published_memory_facts(const std::string& variant);
std::vector<std::string> memory_table_variants();

std::vector<MemoryTableRow> memory_table(bool fp8_weights);
// Markdown: one row per variant x resolution x duration, "device / host" GiB per profile.
std::string memory_table_markdown(const std::vector<MemoryTableRow>& rows);

}  // namespace rayvid::tools::bench
