// Block streaming: see block_streamer.h.
#include "models/wan_dit/block_streamer.h"

#include <ATen/ATen.h>
#include <c10/core/StreamGuard.h>
#include <c10/core/impl/VirtualGuardImpl.h>

#include <algorithm>

namespace rayvid::models::wan_dit {
namespace {

void for_each_in_linear(Linear& l, const std::function<void(at::Tensor&)>& fn) {
  fn(l.weight), fn(l.bias), fn(l.scale);
}

void for_each_in_attention(AttentionWeights& a, const std::function<void(at::Tensor&)>& fn) {
  for (Linear* l : {&a.to_q, &a.to_k, &a.to_v, &a.to_out, &a.add_k_proj, &a.add_v_proj})
    for_each_in_linear(*l, fn);
  fn(a.norm_q), fn(a.norm_k), fn(a.norm_added_k);
}

}  // namespace

void for_each_tensor(BlockWeights& b, const std::function<void(at::Tensor&)>& fn) {
  fn(b.scale_shift_table);
  for_each_in_attention(b.attn1, fn);
  for_each_in_attention(b.attn2, fn);
  fn(b.norm2.weight), fn(b.norm2.bias);
  for_each_in_linear(b.ffn_in, fn);
  for_each_in_linear(b.ffn_out, fn);
}

int64_t block_bytes(const BlockWeights& block) {
  int64_t bytes = 0;
  BlockWeights view = block;  // shares the tensors; only their sizes are read
  for_each_tensor(view, [&](at::Tensor& t) {
    if (t.defined()) bytes += static_cast<int64_t>(t.nbytes());
  });
  return bytes;
}

BlockStreamer::BlockStreamer(c10::Device device) : device_(device) {
  if (!device_.is_cpu())
    side_ = c10::impl::VirtualGuardImpl(device_.type()).getStreamFromGlobalPool(device_);
}

BlockStreamer::~BlockStreamer() { release(); }

void BlockStreamer::release() {
  if (side_) side_->synchronize();  // no copy may still be writing into memory given back
  current_ = {}, next_ = {};
}

void BlockStreamer::start_copy(const std::vector<BlockWeights>& host, size_t index, Slot& slot) {
  slot.index = index;
  slot.weights = host[index];  // shares the host tensors; each is replaced by its copy below
  if (!side_) {                // CPU: the staging copy, now
    for_each_tensor(slot.weights, [&](at::Tensor& t) {
      if (t.defined()) t = t.clone();
    });
    slot.ready.reset();
    return;
  }
  // GPU: copies queued on the side stream (pinned host memory makes them asynchronous); the
  // compute stream waits for the event before it reads them.
  const c10::StreamGuard on_side(*side_);
  for_each_tensor(slot.weights, [&](at::Tensor& t) {
    if (t.defined()) t = t.to(device_, t.scalar_type(), /*non_blocking=*/true);
  });
  slot.ready.emplace(device_.type());
  slot.ready->record(*side_);
}

const BlockWeights& BlockStreamer::fetch(const std::vector<BlockWeights>& host, size_t index) {
  if (next_.index == index) {
    current_ = std::move(next_);
    next_ = {};
  } else {
    start_copy(host, index, current_);
  }
  if (side_) {
    const c10::impl::VirtualGuardImpl guard(device_.type());
    const c10::Stream compute = guard.getStream(device_);
    current_.ready->block(compute);
    // Allocated on the side stream, read on the compute stream: the allocator must not hand the
    // memory to a new copy before the compute stream is done with it.
    for_each_tensor(current_.weights, [&](at::Tensor& t) {
      if (t.defined()) guard.recordDataPtrOnStream(t.storage().data_ptr(), compute);
    });
  }
  start_copy(host, (index + 1) % host.size(), next_);
  return current_.weights;
}

int64_t streamed_bytes_bound(const std::vector<BlockWeights>& blocks) {
  int64_t largest = 0;
  for (const BlockWeights& b : blocks) largest = std::max(largest, block_bytes(b));
  return 2 * largest;
}

}  // namespace rayvid::models::wan_dit
