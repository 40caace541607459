// Placeholder until the DiT (models/wan_dit) and VAE (models/wan_vae) land: the plumbing of
// `rayvid bench --measure` is in place and says honestly what it is waiting for.
#include "core/check.h"
#include "engine/bench/arch_bench.h"

namespace rayvid::engine::bench {

ArchTiming time_architecture(const ArchSpec& arch, const pipeline::VideoShape& shape,
                             const ArchBenchOptions&) {
  fail(ErrorCategory::kUnsupported,
       "`rayvid bench --arch {} --measure` ({}x{}x{}) needs the DiT and VAE implementations, which "
       "are not merged yet; use --plan for the analytic floor meanwhile",
       arch.name, shape.width, shape.height, shape.frames);
}

}  // namespace rayvid::engine::bench
