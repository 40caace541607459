// Memory profiles: how much of the model stays on the device, traded against time.
//   max       every component resident across requests (the fastest; what rayvid always did)
//   balanced  the DiT(s) resident; the text and image encoders load for the encode and are freed
//             before denoising, the VAE loads for its encode/decode and is freed after
//   low       balanced, and the DiT's blocks stream from host memory one block ahead
//             (models/wan_dit/block_streamer.h); the two A14B experts take turns, never resident
//             together
//   auto      the first of max, balanced, low whose predicted device peak fits the free device
//             memory (on the CPU, where host and device are one memory: max)
// Every profile computes the same numbers; only residency changes.
#pragma once

#include <string>

namespace rayvid::engine {

enum class MemoryProfile { kMax, kBalanced, kLow };

// "max", "balanced", "low" (not "auto": the planner resolves it); kBadArgument otherwise.
MemoryProfile parse_memory_profile(const std::string& name);
std::string memory_profile_name(MemoryProfile profile);

// --weights auto|fp8|compute (kBadArgument otherwise): whether the DiT blocks' Linear weights are
// kept in fp8; auto follows the checkpoint.
bool wants_fp8_storage(const std::string& weights, bool checkpoint_stores_fp8);

}  // namespace rayvid::engine
