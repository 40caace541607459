// SentencePiece, through an isolated shared library (see src/spm_shim/spm_shim.cpp for why):
// the calls the umT5 tokenizer needs, with plain types.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace rayvid::io {

class SentencePiece {
 public:
  static SentencePiece load(const std::filesystem::path& model_file);  // kBadInput on failure
  SentencePiece(SentencePiece&&) noexcept;
  SentencePiece& operator=(SentencePiece&&) noexcept;
  ~SentencePiece();

  int piece_size() const;
  int pad_id() const;
  int eos_id() const;
  int unk_id() const;
  bool is_control(int id) const;
  bool is_unknown(int id) const;
  bool is_byte(int id) const;
  std::string id_to_piece(int id) const;
  std::vector<int> encode(std::string_view text) const;

 private:
  struct Api;
  SentencePiece() = default;
  const Api* api_ = nullptr;
  void* handle_ = nullptr;
};

}  // namespace rayvid::io
