// Strict weight loading: see weights.h.
#include "models/weights.h"

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/check.h"

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

at::Tensor WeightLoader::take(const std::string& name, const std::vector<int64_t>& shape,
                              c10::ScalarType dtype) {
  taken_[name] = shape;
  if (source_.generates()) return source_.generate(name, shape, dtype, device_);
  auto it = canonical_to_source_.find(name);
  if (it == canonical_to_source_.end()) {
    problems_.push_back(
        fmt::format("missing {} (expected shape [{}])", name, fmt::join(shape, ", ")));
    return {};
  }
  const auto actual = source_.shape(it->second);
  if (!actual || *actual != shape) {
    problems_.push_back(fmt::format("wrong shape for {}: expected [{}], checkpoint has [{}]", name,
                                    fmt::join(shape, ", "),
                                    actual ? fmt::format("{}", fmt::join(*actual, ", ")) : "?"));
    return {};
  }
  at::Tensor tensor = source_.load(it->second);
  if (tensor.is_meta()) return tensor;
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
  const size_t shown = std::min<size_t>(problems.size(), 40);
  std::vector<std::string> head(problems.begin(), problems.begin() + shown);
  fail(ErrorCategory::kBadInput,
       "{}: checkpoint does not match the model config ({} problems):\n  {}{}\nCheck that the "
       "folder's config.json belongs to these weights.",
       source_.label(), problems.size(), fmt::join(head, "\n  "),
       problems.size() > shown ? fmt::format("\n  ... and {} more", problems.size() - shown) : "");
}

}  // namespace rayvid::models
