// Strict weight loading: see weights.h.
#include "models/weights.h"

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "core/check.h"
#include "models/fp8_weights.h"

namespace rayvid::models {

at::Tensor WeightSource::generate(const std::string& name, const std::vector<int64_t>&,
                                  c10::ScalarType, c10::Device) const {
  fail(ErrorCategory::kInternal, "{}: weight source cannot generate {}", label(), name);
}

StoreSource::StoreSource(io::WeightStore store, std::string label)
    : store_(std::move(store)), label_(std::move(label)) {}

std::optional<std::vector<int64_t>> StoreSource::shape(const std::string& name) const {
  if (!store_.contains(name)) return std::nullopt;
  return store_.info(name).shape;
}

ShapeOnlySource::ShapeOnlySource(std::map<std::string, std::vector<int64_t>> shapes,
                                 std::string label)
    : shapes_(std::move(shapes)), label_(std::move(label)) {}

std::vector<std::string> ShapeOnlySource::names() const {
  std::vector<std::string> names;
  for (const auto& [name, unused] : shapes_) names.push_back(name);
  return names;
}

std::optional<std::vector<int64_t>> ShapeOnlySource::shape(const std::string& name) const {
  auto it = shapes_.find(name);
  if (it == shapes_.end()) return std::nullopt;
  return it->second;
}

at::Tensor ShapeOnlySource::load(const std::string& name) const {
  return at::empty(shapes_.at(name), at::TensorOptions().device(at::kMeta).dtype(at::kFloat));
}

WeightLoader::WeightLoader(const WeightSource& source, c10::Device device, c10::ScalarType dtype,
                           NameTranslator translator)
    : source_(source), device_(device), dtype_(dtype) {
  for (const auto& name : source_.names()) {
    std::string canonical = name;
    if (translator) {
      if (auto translated = translator(name)) canonical = *translated;
    }
    canonical_to_source_[canonical] = name;
  }
}

bool WeightLoader::has(const std::string& name) const {
  return canonical_to_source_.count(name) != 0;
}

at::Tensor WeightLoader::take(const std::string& name, const std::vector<int64_t>& shape) {
  return take(name, shape, dtype_);
}

const std::string* WeightLoader::stored_name(const std::string& name,
                                             const std::vector<int64_t>& shape) {
  taken_[name] = shape;
  auto it = canonical_to_source_.find(name);
  if (it == canonical_to_source_.end()) {
    problems_.push_back(
        fmt::format("missing {} (expected shape [{}])", name, fmt::join(shape, ", ")));
    return nullptr;
  }
  const auto actual = source_.shape(it->second);
  if (!actual || *actual != shape) {
    problems_.push_back(fmt::format("wrong shape for {}: expected [{}], checkpoint has [{}]", name,
                                    fmt::join(shape, ", "),
                                    actual ? fmt::format("{}", fmt::join(*actual, ", ")) : "?"));
    return nullptr;
  }
  return &it->second;
}

bool WeightLoader::check_floating(const std::string& name, const at::Tensor& tensor) {
  // A weight stored as integers (say F32 bytes relabelled I32) would otherwise reach a matmul and
  // fail there with a LibTorch stack trace; name it here instead.
  if (at::isFloatingType(tensor.scalar_type())) return true;
  problems_.push_back(fmt::format("{} is stored as {}, but it is a floating-point weight", name,
                                  c10::toString(tensor.scalar_type())));
  return false;
}

Fp8Weight WeightLoader::take_fp8(const std::string& name, const std::vector<int64_t>& shape) {
  auto on_device = [&](const Fp8Weight& w) {
    return Fp8Weight{w.data.to(device_).contiguous(),
                     w.scale.defined() ? w.scale.to(device_, at::kFloat).contiguous() : w.scale};
  };
  if (source_.generates()) {
    taken_[name] = shape;
    return on_device(quantize_fp8_rowwise(source_.generate(name, shape, at::kFloat, at::kCPU)));
  }
  const std::string* stored = stored_name(name, shape);
  if (!stored) return {};
  if (auto fp8 = source_.fp8_weight(*stored)) return on_device(*fp8);
  const at::Tensor tensor = source_.load(*stored);
  if (tensor.is_meta()) return {tensor.to(at::kFloat8_e4m3fn), {}};
  if (!check_floating(name, tensor)) return {};
  // Quantized on the CPU, one tensor at a time: only the fp8 bytes travel to the device.
  return on_device(quantize_fp8_rowwise(tensor));
}

at::Tensor WeightLoader::take(const std::string& name, const std::vector<int64_t>& shape,
                              c10::ScalarType dtype) {
  if (source_.generates()) {
    taken_[name] = shape;
    return source_.generate(name, shape, dtype, device_);
  }
  const std::string* stored = stored_name(name, shape);
  if (!stored) return {};
  at::Tensor tensor = source_.load(*stored);
  if (tensor.is_meta()) return tensor;
  if (at::isFloatingType(dtype) && !check_floating(name, tensor)) return {};
  const auto target_dtype = at::isFloatingType(tensor.scalar_type()) ? dtype : tensor.scalar_type();
  // contiguous(): checkpoint tensors alias the file mapping; copying to the target dtype/device
  // happens here, once, so forward code never touches the mapping.
  return tensor.to(device_, target_dtype).contiguous();
}

void WeightLoader::finish() const {
  std::vector<std::string> problems = problems_;
  for (const auto& [canonical, source_name] : canonical_to_source_) {
    if (taken_.count(canonical) == 0) {
      const auto shape = source_.shape(source_name);
      problems.push_back(fmt::format("unexpected {} [{}]", source_name,
                                     shape ? fmt::format("{}", fmt::join(*shape, ", ")) : "?"));
    }
  }
  if (problems.empty()) return;
  // One line on stderr (the README's promise): the count and the first few; every problem goes
  // to the debug log, which `rayvid --verbose` prints.
  for (const auto& problem : problems) spdlog::debug("{}: {}", source_.label(), problem);
  const size_t shown = std::min<size_t>(problems.size(), 3);
  std::vector<std::string> head(problems.begin(), problems.begin() + shown);
  fail(ErrorCategory::kBadInput,
       "{}: checkpoint does not match the model config ({} problem{}: {}{}); check that the "
       "folder's config.json belongs to these weights (rayvid --verbose lists every problem)",
       source_.label(), problems.size(), problems.size() == 1 ? "" : "s", fmt::join(head, "; "),
       problems.size() > shown ? fmt::format("; and {} more", problems.size() - shown) : "");
}

}  // namespace rayvid::models
