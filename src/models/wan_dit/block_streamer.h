// Block streaming: the transformer blocks' weights stay in host memory (pinned when the device
// is a GPU) and travel to the device one block ahead of the compute. While block i runs, block
// i+1 is copied on a side stream; the compute waits for that copy only when it needs the block.
// At most two blocks' weights are on the device at a time (the one computing, the one arriving),
// which is what lets a 14B DiT run in a few GB of device memory.
//
// On the CPU the same code runs with a staging copy (each block copied to fresh memory before it
// computes, synchronously), so the streaming path is tested without a GPU; the numbers are the
// resident path's bit for bit, since a copy changes no value.
#pragma once

#include <c10/core/Device.h>
#include <c10/core/Event.h>

#include <cstddef>
#include <memory>
#include <optional>
#include <vector>

#include "models/wan_dit/weights.h"

namespace rayvid::models::wan_dit {

class BlockStreamer {
 public:
  explicit BlockStreamer(c10::Device device);
  ~BlockStreamer();
  BlockStreamer(const BlockStreamer&) = delete;
  BlockStreamer& operator=(const BlockStreamer&) = delete;

  // Block `index` of `host` (the blocks in host memory) on the device, valid until the next
  // fetch(). Starts copying block index + 1 (block 0 after the last: the next step starts there).
  const BlockWeights& fetch(const std::vector<BlockWeights>& host, size_t index);
  // Forgets both staged blocks (their memory goes back to the allocator); call it when the host
  // blocks change (a LoRA merge).
  void release();

 private:
  struct Slot {
    size_t index = static_cast<size_t>(-1);
    BlockWeights weights;
    std::optional<c10::Event> ready;  // recorded on the side stream after the copy (GPU)
  };
  void start_copy(const std::vector<BlockWeights>& host, size_t index, Slot& slot);

  c10::Device device_;
  std::optional<c10::Stream> side_;  // GPU only
  Slot current_, next_;
};

// Every tensor of a block (Linear weights, biases and fp8 scales, norms, the modulation table),
// for moving or measuring a block; undefined tensors are passed too.
void for_each_tensor(BlockWeights& block, const std::function<void(at::Tensor&)>& fn);
int64_t block_bytes(const BlockWeights& block);
// What streaming keeps on the device at most: the two largest blocks' bytes.
int64_t streamed_bytes_bound(const std::vector<BlockWeights>& blocks);

}  // namespace rayvid::models::wan_dit
