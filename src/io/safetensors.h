// Zero-copy access to safetensors checkpoints: one file (SafetensorsFile), or the tensors of one
// model component, possibly sharded through *.safetensors.index.json (WeightStore).
#pragma once

#include <ATen/core/Tensor.h>

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "io/safetensors_format.h"

namespace rayvid::io {

c10::ScalarType to_scalar_type(StDType dtype);

// A memory-mapped, validated safetensors file. Tensors alias the mapping (copy-on-write, so an
// in-place op never reaches the file) and keep it alive for as long as they live.
class SafetensorsFile {
 public:
  static std::shared_ptr<SafetensorsFile> open(const std::filesystem::path& path);
  ~SafetensorsFile();
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;

  const std::filesystem::path& path() const { return path_; }
  const StHeader& header() const { return header_; }
  const StTensorEntry* find(const std::string& name) const;
  at::Tensor tensor(const std::string& name) const;  // CPU, zero-copy

 private:
  SafetensorsFile() = default;
  std::filesystem::path path_;
  void* mapping_ = nullptr;
  size_t mapping_size_ = 0;
  StHeader header_;
  std::map<std::string, size_t> index_;  // name -> position in header_.tensors
  std::weak_ptr<SafetensorsFile> self_;
};

struct WeightInfo {
  std::string name;
  StDType dtype;
  std::vector<int64_t> shape;
  std::filesystem::path file;
};

// All tensors of one model component folder (e.g. `transformer/`): a single *.safetensors file,
// or shards listed by an index. Pickle checkpoints are refused with a conversion hint.
class WeightStore {
 public:
  static WeightStore open_folder(const std::filesystem::path& folder);
  static WeightStore open_file(const std::filesystem::path& file);  // .safetensors or index.json

  std::vector<std::string> names() const;  // sorted
  bool contains(const std::string& name) const { return where_.count(name) != 0; }
  WeightInfo info(const std::string& name) const;
  at::Tensor tensor(const std::string& name) const;
  size_t size() const { return where_.size(); }
  const std::vector<std::filesystem::path>& files() const { return files_; }
  uint64_t total_bytes() const;
  std::map<std::string, std::string> metadata() const;  // merged __metadata__ of all shards

 private:
  std::vector<std::filesystem::path> files_;
  std::vector<std::shared_ptr<SafetensorsFile>> opened_;
  std::map<std::string, size_t> where_;  // name -> index into opened_
};

// The weight files of a component folder by name (*.safetensors.index.json, then *.safetensors),
// each required to be a regular file (or a symlink to one): a folder, FIFO, device or symlink
// loop under such a name is refused here, before anything opens or sizes it. An index is read
// too: every shard it names must be a regular file beside it. Cheap (stat calls and the index
// JSON), so a model folder is checked this way when opened, before any weights load.
std::vector<std::filesystem::path> weight_files(const std::filesystem::path& folder);

// Throws a clear error for .bin/.pth/.ckpt/.pt files, which rayvid never unpickles.
void refuse_pickle_checkpoint(const std::filesystem::path& path);

}  // namespace rayvid::io
