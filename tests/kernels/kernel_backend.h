// What a kernel test needs from the backend it runs on, so that one test source runs the kernels
// on the CPU emulator (rayvid_kernel_emu_tests, label emu) and natively on a GPU
// (rayvid_kernel_gpu_tests, label gpu, built with RAYVID_KERNEL_TEST_GPU):
//   kb::               the kernels' namespace for this backend (rayvid::kernels::emu or ::gpu);
//   DeviceBuffer       memory the kernels can address, filled from / read back into CPU tensors;
//   RAYVID_REQUIRE_BACKEND()  skips a test with "needs a GPU" where the backend is absent.
#pragma once

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "common/kernel_api.h"

#if defined(RAYVID_KERNEL_TEST_GPU)
#include <cuda_runtime.h>
#endif

namespace rayvid::test {

namespace kb = ::rayvid::kernels::RAYVID_KERNEL_BACKEND;

inline bool backend_available() {
#if defined(RAYVID_KERNEL_TEST_GPU)
  int count = 0;
  return cudaGetDeviceCount(&count) == cudaSuccess && count > 0;
#else
  return true;
#endif
}

#define RAYVID_REQUIRE_BACKEND()                                             \
  do {                                                                       \
    if (!::rayvid::test::backend_available()) GTEST_SKIP() << "needs a GPU"; \
  } while (0)

// Bytes on the backend: host memory for the emulator, cudaMalloc'ed memory for the GPU.
class DeviceBuffer {
 public:
  explicit DeviceBuffer(size_t bytes) : bytes_(bytes) {
#if defined(RAYVID_KERNEL_TEST_GPU)
    if (cudaMalloc(&data_, bytes == 0 ? 1 : bytes) != cudaSuccess) throw std::bad_alloc();
#else
    data_ = std::malloc(bytes == 0 ? 1 : bytes);
#endif
  }
  // A copy of a CPU tensor's elements (made contiguous first).
  static DeviceBuffer from(const at::Tensor& host) {
    const at::Tensor c = host.contiguous();
    DeviceBuffer buffer(c.nbytes());
    buffer.upload(c.data_ptr(), c.nbytes());
    return buffer;
  }
  // Every byte 0xFF: NaN as fp32, fp16 and bf16, so an element the kernel never writes shows.
  static DeviceBuffer poisoned(size_t bytes) {
    DeviceBuffer buffer(bytes);
#if defined(RAYVID_KERNEL_TEST_GPU)
    cudaMemset(buffer.data_, 0xFF, bytes);
#else
    std::memset(buffer.data_, 0xFF, bytes);
#endif
    return buffer;
  }
  DeviceBuffer(DeviceBuffer&& other) noexcept : data_(other.data_), bytes_(other.bytes_) {
    other.data_ = nullptr;
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  ~DeviceBuffer() {
#if defined(RAYVID_KERNEL_TEST_GPU)
    if (data_) cudaFree(data_);
#else
    std::free(data_);
#endif
  }

  void* data() const { return data_; }
  template <typename T>
  T* as() const {
    return static_cast<T*>(data_);
  }

  // The buffer as a CPU tensor of `sizes` and `dtype` (after the kernel has finished).
  at::Tensor to_host(at::IntArrayRef sizes, at::ScalarType dtype) const {
    at::Tensor out = at::empty(sizes, at::TensorOptions().dtype(dtype));
    EXPECT_LE(out.nbytes(), bytes_);
#if defined(RAYVID_KERNEL_TEST_GPU)
    EXPECT_EQ(cudaDeviceSynchronize(), cudaSuccess);
    cudaMemcpy(out.data_ptr(), data_, out.nbytes(), cudaMemcpyDeviceToHost);
#else
    std::memcpy(out.data_ptr(), data_, out.nbytes());
#endif
    return out;
  }

 private:
  void upload(const void* src, size_t bytes) {
#if defined(RAYVID_KERNEL_TEST_GPU)
    cudaMemcpy(data_, src, bytes, cudaMemcpyHostToDevice);
#else
    std::memcpy(data_, src, bytes);
#endif
  }
  void* data_ = nullptr;
  size_t bytes_ = 0;
};

// Where `view` (a view into the contiguous CPU tensor `base`) lives in `buffer`, a copy of base.
inline void* device_ptr(const DeviceBuffer& buffer, const at::Tensor& base,
                        const at::Tensor& view) {
  const auto offset =
      static_cast<const char*>(view.data_ptr()) - static_cast<const char*>(base.data_ptr());
  return static_cast<char*>(buffer.data()) + offset;
}

// Fails the test with the launcher's message when a launch did not happen.
#define RAYVID_EXPECT_LAUNCHED(call)                                  \
  do {                                                                \
    ::rayvid::kernels::LaunchError rayvid_launch_error_ = (call);     \
    ASSERT_EQ(rayvid_launch_error_, nullptr) << rayvid_launch_error_; \
  } while (0)

}  // namespace rayvid::test
