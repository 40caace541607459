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
#include <set>

#include "core/check.h"
#include "io/json_file.h"
#include "io/regular_file.h"

namespace rayvid::io {
namespace fs = std::filesystem;

c10::ScalarType to_scalar_type(StDType dtype) {
  switch (dtype) {
    case StDType::kF64:
      return at::kDouble;
    case StDType::kF32:
      return at::kFloat;
    case StDType::kF16:
      return at::kHalf;
    case StDType::kBF16:
      return at::kBFloat16;
    case StDType::kF8E4M3:
      return at::kFloat8_e4m3fn;
    case StDType::kF8E5M2:
      return at::kFloat8_e5m2;
    case StDType::kI64:
      return at::kLong;
    case StDType::kI32:
      return at::kInt;
    case StDType::kI16:
      return at::kShort;
    case StDType::kI8:
      return at::kChar;
    case StDType::kU8:
      return at::kByte;
    case StDType::kBool:
      return at::kBool;
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

namespace {

// A component folder's files by name, sorted. Names decide, not file types: a folder or FIFO
// named *.safetensors is refused with what it is rather than skipped (skipping ended in a
// misleading "no weights found", or in filesystem_error on a symlink loop).
struct FolderListing {
  std::vector<fs::path> indexes;  // *.safetensors.index.json
  std::vector<fs::path> singles;  // *.safetensors
  std::vector<fs::path> pickles;  // *.bin, *.pth, *.pt, *.ckpt (refused when nothing else is there)
};

FolderListing list_folder(const fs::path& folder) {
  FolderListing listing;
  std::error_code ec;
  for (fs::directory_iterator it(folder, ec), end; !ec && it != end; it.increment(ec)) {
    const fs::path& path = it->path();
    const std::string name = path.filename().string();
    if (name.ends_with(".safetensors.index.json"))
      listing.indexes.push_back(path);
    else if (name.ends_with(".safetensors"))
      listing.singles.push_back(path);
    else if (name.ends_with(".bin") || name.ends_with(".pth") || name.ends_with(".pt") ||
             name.ends_with(".ckpt"))
      listing.pickles.push_back(path);
  }
  RAYVID_CHECK(!ec, BadInput, "{}: cannot list the folder ({})", folder.string(), ec.message());
  std::sort(listing.indexes.begin(), listing.indexes.end());
  std::sort(listing.singles.begin(), listing.singles.end());
  for (const auto& path : listing.indexes) require_regular_file(path, "weights index");
  for (const auto& path : listing.singles) require_regular_file(path, "weights file");
  return listing;
}

// The shard a weight_map entry names, which must be a file in the index's own folder: "../x" or
// "/abs/x" would read files the model folder does not hold. Only the folder the shard sits in is
// resolved, not the shard: in the Hugging Face cache every file is a symlink to a blob elsewhere.
fs::path shard_beside_index(const fs::path& index, const std::string& tensor,
                            const std::string& entry) {
  const fs::path relative(entry);
  const fs::path folder = index.parent_path().empty() ? fs::path(".") : index.parent_path();
  const fs::path shard_folder = (folder / relative).parent_path();
  std::error_code ec_folder, ec_shard;
  const fs::path resolved_folder = fs::weakly_canonical(folder, ec_folder);
  const fs::path resolved_shard_folder = fs::weakly_canonical(shard_folder, ec_shard);
  const bool beside = !relative.is_absolute() && relative.has_filename() &&
                      relative.filename() != "." && relative.filename() != ".." && !ec_folder &&
                      !ec_shard && resolved_shard_folder == resolved_folder;
  RAYVID_CHECK(beside, BadInput,
               "{}: weight_map entry '{}' points at '{}', which is not a file in the index's "
               "folder; name the shard by its file name alone and keep it beside the index",
               index.string(), tensor, entry);
  return folder / relative.filename();
}

// An index's weight_map, tensor name -> shard path, each shard checked to lie beside the index.
std::map<std::string, fs::path> read_weight_map(const fs::path& index_file) {
  const JsonFile index = JsonFile::load(index_file);
  std::map<std::string, fs::path> shards;
  for (const auto& [tensor, entry] : index.require_object("weight_map").items()) {
    RAYVID_CHECK(entry.is_string(), BadInput, "{}: weight_map entry '{}' must name a shard file",
                 index_file.string(), tensor);
    shards[tensor] = shard_beside_index(index_file, tensor, entry.get<std::string>());
  }
  return shards;
}

}  // namespace

std::shared_ptr<SafetensorsFile> SafetensorsFile::open(const fs::path& path) {
  refuse_pickle_checkpoint(path);
  require_regular_file(path, "safetensors file");
  const std::string label = path.string();
  // O_NONBLOCK: should the path turn into a FIFO after the check, open() returns instead of
  // waiting for a writer, and fstat refuses it. It changes nothing for a regular file or mmap.
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  RAYVID_CHECK(fd >= 0, BadInput, "{}: cannot open ({})", label, std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    fail(ErrorCategory::kBadInput,
         "{}: cannot read the safetensors file: it is not a regular file; put the real file there",
         label);
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
    std::map<std::string, size_t> shard_of_file;
    for (const auto& [tensor, shard] : read_weight_map(file)) {
      auto [it, inserted] = shard_of_file.try_emplace(shard.string(), store.opened_.size());
      if (inserted) {
        store.files_.push_back(shard);
        store.opened_.push_back(SafetensorsFile::open(shard));
      }
      RAYVID_CHECK(store.opened_[it->second]->find(tensor) != nullptr, BadInput,
                   "{}: index says '{}' is in {}, but that shard has no such tensor", file.string(),
                   tensor, shard.string());
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
  RAYVID_CHECK(path_kind(folder) == PathKind::kFolder, BadInput, "{}: not a folder ({})",
               folder.string(), describe_path(folder));
  const FolderListing listing = list_folder(folder);
  const auto& indexes = listing.indexes;
  const auto& singles = listing.singles;
  if (indexes.size() == 1) return open_file(indexes[0]);
  RAYVID_CHECK(indexes.size() <= 1, BadInput,
               "{}: several *.safetensors.index.json files; keep exactly one", folder.string());
  if (singles.size() == 1) return open_file(singles[0]);
  RAYVID_CHECK(singles.size() <= 1, BadInput,
               "{}: {} .safetensors files but no *.safetensors.index.json saying how they combine",
               folder.string(), singles.size());
  if (!listing.pickles.empty()) refuse_pickle_checkpoint(listing.pickles[0]);
  fail(ErrorCategory::kBadInput, "{}: no .safetensors weights found", folder.string());
}

std::vector<fs::path> weight_files(const fs::path& folder) {
  FolderListing listing = list_folder(folder);
  std::vector<fs::path> files = std::move(listing.indexes);
  for (const auto& index : files) {
    std::set<fs::path> shards;
    for (const auto& [tensor, shard] : read_weight_map(index)) shards.insert(shard);
    for (const auto& shard : shards) require_regular_file(shard, "weights shard");
  }
  files.insert(files.end(), listing.singles.begin(), listing.singles.end());
  return files;
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
