// What the host CPU can do natively, for choices between equivalent code paths.
#pragma once

namespace rayvid {

// True when the CPU multiplies bf16 natively (AVX512-BF16, AMX-BF16, Arm BF16). Without it,
// LibTorch's bf16 GEMMs convert on the fly and run several times slower than fp32 GEMMs.
bool cpu_has_native_bf16_matmul();

}  // namespace rayvid
