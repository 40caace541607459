// Golden tensor loading and relative-error comparison.
#include "support/golden.h"

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <fmt/ostream.h>
#include <fmt/ranges.h>

#include "support/test_env.h"

namespace rayvid::test {
namespace fs = std::filesystem;

double relative_error(const at::Tensor& out, const at::Tensor& ref) {
  const auto o = out.to(at::kDouble), r = ref.to(at::kDouble);
  const double ref_norm = r.norm().item<double>();
  const double diff_norm = (o - r).norm().item<double>();
  return ref_norm == 0 ? diff_norm : diff_norm / ref_norm;
}

::testing::AssertionResult close_to(const at::Tensor& out, const at::Tensor& ref, double max_rel) {
  if (out.sizes() != ref.sizes())
    return ::testing::AssertionFailure()
           << "shape mismatch: got " << out.sizes() << ", expected " << ref.sizes();
  const double rel = relative_error(out, ref);
  if (std::isfinite(rel) && rel <= max_rel)
    return ::testing::AssertionSuccess() << "relative error " << rel;
  auto failure = ::testing::AssertionFailure();
  failure << fmt::format("relative error {:.3e} exceeds {:.1e} (shape {})\n", rel, max_rel,
                         fmt::streamed(out.sizes()));
  const auto o = out.to(at::kDouble).flatten(), r = ref.to(at::kDouble).flatten();
  const auto diff = (o - r).abs();
  const auto worst = std::get<1>(diff.topk(std::min<int64_t>(5, diff.numel())));
  for (int64_t i = 0; i < worst.numel(); ++i) {
    const int64_t flat = worst[i].item<int64_t>();
    // Unravel the flat index into the tensor's shape for a readable location.
    std::vector<int64_t> index(out.dim());
    int64_t rest = flat;
    for (int64_t d = out.dim() - 1; d >= 0; --d) {
      index[d] = rest % out.size(d);
      rest /= out.size(d);
    }
    failure << fmt::format("  at [{}]: got {:.6g}, expected {:.6g}\n", fmt::join(index, ","),
                           o[flat].item<double>(), r[flat].item<double>());
  }
  return failure;
}

GoldenSet::GoldenSet(const std::string& family)
    : GoldenSet(Dir{fixtures_dir() / "golden" / family}) {}

GoldenSet::GoldenSet(Dir dir)
    : dir_(std::move(dir.path)), manifest_(io::JsonFile::load(dir_ / "manifest.json")) {}

GoldenSet GoldenSet::extra(const std::string& name) {
  return GoldenSet(Dir{fixtures_dir() / "golden_extra" / name});
}

io::WeightStore GoldenSet::open(const std::string& file) const {
  return io::WeightStore::open_file(dir_ / file);
}

at::Tensor GoldenSet::tensor(const std::string& file, const std::string& name) const {
  return open(file).tensor(name).clone();
}

}  // namespace rayvid::test
