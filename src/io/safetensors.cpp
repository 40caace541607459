// Memory-mapped safetensors files and sharded component checkpoints.
#include "io/safetensors.h"

#include <ATen/ATen.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

#include "core/check.h"
#include "io/json_file.h"

namespace rayvid::io {
namespace fs = std::filesystem;

c10::ScalarType to_scalar_type(StDType dtype) {
  switch (dtype) {
    case StDType::kF64: return at::kDouble;
    case StDType::kF32: return at::kFloat;
    case StDType::kF16: return at::kHalf;
    case StDType::kBF16: return at::kBFloat16;
    case StDType::kF8E4M3: return at::kFloat8_e4m3fn;
    case StDType::kF8E5M2: return at::kFloat8_e5m2;
    case StDType::kI64: return at::kLong;
    case StDType::kI32: return at::kInt;
    case StDType::kI16: return at::kShort;
    case StDType::kI8: return at::kChar;
    case StDType::kU8: return at::kByte;
    case StDType::kBool: return at::kBool;
  }
  fail(ErrorCategory::kInternal, "unmapped safetensors dtype");
}

void refuse_pickle_checkpoint(const fs::path& path) {
  const auto ext = path.extension().string();
  RAYVID_CHECK(ext != ".bin" && ext != ".pth" && ext != ".pt" && ext != ".ckpt", BadInput,
               "{}: pickle checkpoints can run arbitrary code and are not loaded; convert it once "
               "with Python: `from safetensors.torch import save_file; import torch; "
               "save_file(torch.load(p, weights_only=True), p_out)` (or save_pretrained with "
               "safe_serialization=True)",
               path.string());
}

std::shared_ptr<SafetensorsFile> SafetensorsFile::open(const fs::path& path) {
  refuse_pickle_checkpoint(path);
  const std::string label = path.string();
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  RAYVID_CHECK(fd >= 0, BadInput, "{}: cannot open ({})", label, std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    fail(ErrorCategory::kBadInput, "{}: not a regular file", label);
  }
  const size_t size = static_cast<size_t>(st.st_size);
  if (size < 8) {
    ::close(fd);
    fail(ErrorCategory::kBadInput, "{}: {} bytes is too short for a safetensors file", label, size);
  }
  // MAP_PRIVATE + PROT_WRITE: copy-on-write pages, so an in-place op on a loaded tensor changes
  // only this process's copy, never the checkpoint.
  void* mapping = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  ::close(fd);
  RAYVID_CHECK(mapping != MAP_FAILED, BadInput, "{}: cannot mmap ({})", label,
               std::strerror(errno));

  std::shared_ptr<SafetensorsFile> file(new SafetensorsFile());
  file->path_ = path;
  file->mapping_ = mapping;
  file->mapping_size_ = size;
  file->self_ = file;
  file->header_ = parse_safetensors(static_cast<const uint8_t*>(mapping), size, label);
  for (size_t i = 0; i < file->header_.tensors.size(); ++i)
    file->index_[file->header_.tensors[i].name] = i;
  return file;
}

SafetensorsFile::~SafetensorsFile() {
  if (mapping_ != nullptr) ::munmap(mapping_, mapping_size_);
}

const StTensorEntry* SafetensorsFile::find(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &header_.tensors[it->second];
}

at::Tensor SafetensorsFile::tensor(const std::string& name) const {
  const StTensorEntry* entry = find(name);
  RAYVID_CHECK(entry != nullptr, BadInput, "{}: no tensor named '{}'", path_.string(), name);
  auto* data = static_cast<uint8_t*>(mapping_) + header_.data_start + entry->begin;
  // The deleter holds a reference to the file, so the mapping outlives every tensor view of it.
  auto keep_alive = self_.lock();
  return at::from_blob(
      data, entry->shape, [keep_alive](void*) {},
      at::TensorOptions().dtype(to_scalar_type(entry->dtype)).device(at::kCPU));
}

WeightStore WeightStore::open_file(const fs::path& file) {
  WeightStore store;
  const std::string name = file.filename().string();
  if (name.size() > 11 && name.ends_with(".index.json")) {
    const JsonFile index = JsonFile::load(file);
    const auto& map = index.require_object("weight_map");
    std::map<std::string, size_t> shard_of_file;
    for (const auto& [tensor, shard_json] : map.items()) {
      RAYVID_CHECK(shard_json.is_string(), BadInput,
                   "{}: weight_map entry '{}' must name a shard file", file.string(), tensor);
      const fs::path shard = file.parent_path() / shard_json.get<std::string>();
      auto [it, inserted] = shard_of_file.try_emplace(shard.string(), store.opened_.size());
      if (inserted) {
        store.files_.push_back(shard);
        store.opened_.push_back(SafetensorsFile::open(shard));
      }
      RAYVID_CHECK(store.opened_[it->second]->find(tensor) != nullptr, BadInput,
                   "{}: index says '{}' is in {}, but that shard has no such tensor",
                   file.string(), tensor, shard.string());
      store.where_[tensor] = it->second;
    }
    for (size_t i = 0; i < store.opened_.size(); ++i) {
      for (const auto& entry : store.opened_[i]->header().tensors) {
        RAYVID_CHECK(store.where_.count(entry.name) != 0, BadInput,
                     "{}: shard {} holds '{}', which the index does not list", file.string(),
                     store.files_[i].string(), entry.name);
      }
    }
    return store;
  }
  store.files_.push_back(file);
  store.opened_.push_back(SafetensorsFile::open(file));
  for (const auto& entry : store.opened_[0]->header().tensors) store.where_[entry.name] = 0;
  return store;
}

WeightStore WeightStore::open_folder(const fs::path& folder) {
  RAYVID_CHECK(fs::is_directory(folder), BadInput, "{}: not a folder", folder.string());
  std::vector<fs::path> indexes, singles, pickles;
  for (const auto& item : fs::directory_iterator(folder)) {
    if (!item.is_regular_file()) continue;
    const std::string name = item.path().filename().string();
    if (name.ends_with(".safetensors.index.json")) indexes.push_back(item.path());
    else if (name.ends_with(".safetensors")) singles.push_back(item.path());
    else if (name.ends_with(".bin") || name.ends_with(".pth") || name.ends_with(".pt") ||
             name.ends_with(".ckpt"))
      pickles.push_back(item.path());
  }
  std::sort(indexes.begin(), indexes.end());
  std::sort(singles.begin(), singles.end());
  if (indexes.size() == 1) return open_file(indexes[0]);
  RAYVID_CHECK(indexes.size() <= 1, BadInput,
               "{}: several *.safetensors.index.json files; keep exactly one", folder.string());
  if (singles.size() == 1) return open_file(singles[0]);
  RAYVID_CHECK(singles.size() <= 1, BadInput,
               "{}: {} .safetensors files but no *.safetensors.index.json saying how they combine",
               folder.string(), singles.size());
  if (!pickles.empty()) refuse_pickle_checkpoint(pickles[0]);
  fail(ErrorCategory::kBadInput, "{}: no .safetensors weights found", folder.string());
}

std::vector<std::string> WeightStore::names() const {
  std::vector<std::string> names;
  names.reserve(where_.size());
  for (const auto& [name, unused] : where_) names.push_back(name);
  return names;
}

WeightInfo WeightStore::info(const std::string& name) const {
  auto it = where_.find(name);
  RAYVID_CHECK(it != where_.end(), BadInput, "checkpoint has no tensor named '{}'", name);
  const auto& file = opened_[it->second];
  const StTensorEntry* entry = file->find(name);
  return WeightInfo{name, entry->dtype, entry->shape, file->path()};
}

at::Tensor WeightStore::tensor(const std::string& name) const {
  auto it = where_.find(name);
  RAYVID_CHECK(it != where_.end(), BadInput, "checkpoint has no tensor named '{}'", name);
  return opened_[it->second]->tensor(name);
}

uint64_t WeightStore::total_bytes() const {
  uint64_t total = 0;
  for (const auto& file : opened_)
    for (const auto& entry : file->header().tensors) total += entry.end - entry.begin;
  return total;
}

std::map<std::string, std::string> WeightStore::metadata() const {
  std::map<std::string, std::string> merged;
  for (const auto& file : opened_)
    for (const auto& [k, v] : file->header().metadata) merged[k] = v;
  return merged;
}

}  // namespace rayvid::io
