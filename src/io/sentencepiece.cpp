// Loading the SentencePiece shim with dlopen and calling it.
#include "io/sentencepiece.h"

#include <dlfcn.h>

#include <mutex>

#include "core/check.h"
#include "io/regular_file.h"

namespace rayvid::io {

struct SentencePiece::Api {
  void* (*load)(const char*, char*, int);
  void (*free)(void*);
  int (*piece_size)(void*);
  int (*pad_id)(void*);
  int (*eos_id)(void*);
  int (*unk_id)(void*);
  int (*is_control)(void*, int);
  int (*is_unknown)(void*, int);
  int (*is_byte)(void*, int);
  int (*id_to_piece)(void*, int, char*, int);
  int (*encode)(void*, const char*, size_t, int*, int, char*, int);
};

namespace {

// The shim sits beside the rayvid binaries (set by CMake); RAYVID_SPM_SHIM overrides it.
std::string shim_path() {
  if (const char* env = std::getenv("RAYVID_SPM_SHIM"); env != nullptr && *env != '\0') return env;
  return RAYVID_SPM_SHIM_PATH;
}

template <typename F>
void bind(void* library, const char* name, F& function) {
  function = reinterpret_cast<F>(dlsym(library, name));
  RAYVID_CHECK(function != nullptr, Internal, "SentencePiece shim lacks {}", name);
}

}  // namespace

SentencePiece SentencePiece::load(const std::filesystem::path& model_file) {
  static std::once_flag once;
  static Api api{};
  static std::string load_error;
  std::call_once(once, [] {
    const std::string path = shim_path();
    void* library = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
    if (library == nullptr) {
      const char* why = dlerror();
      load_error = why != nullptr ? why : "unknown error";
      return;
    }
    bind(library, "rv_spm_load", api.load);
    bind(library, "rv_spm_free", api.free);
    bind(library, "rv_spm_piece_size", api.piece_size);
    bind(library, "rv_spm_pad_id", api.pad_id);
    bind(library, "rv_spm_eos_id", api.eos_id);
    bind(library, "rv_spm_unk_id", api.unk_id);
    bind(library, "rv_spm_is_control", api.is_control);
    bind(library, "rv_spm_is_unknown", api.is_unknown);
    bind(library, "rv_spm_is_byte", api.is_byte);
    bind(library, "rv_spm_id_to_piece", api.id_to_piece);
    bind(library, "rv_spm_encode", api.encode);
  });
  RAYVID_CHECK(load_error.empty(), Internal,
               "cannot load the SentencePiece shim ({}); set RAYVID_SPM_SHIM to "
               "librayvid_sentencepiece.so",
               load_error);
  // The shim opens the path itself: a FIFO there would block it forever.
  require_regular_file(model_file, "SentencePiece model");
  char err[512] = {};
  void* handle = api.load(model_file.c_str(), err, sizeof(err));
  RAYVID_CHECK(handle != nullptr, BadInput, "{}: not a SentencePiece model ({})",
               model_file.string(), err);
  SentencePiece sp;
  sp.api_ = &api;
  sp.handle_ = handle;
  return sp;
}

SentencePiece::SentencePiece(SentencePiece&& other) noexcept
    : api_(other.api_), handle_(other.handle_) {
  other.handle_ = nullptr;
}

SentencePiece& SentencePiece::operator=(SentencePiece&& other) noexcept {
  if (this != &other) {
    if (handle_ != nullptr) api_->free(handle_);
    api_ = other.api_;
    handle_ = other.handle_;
    other.handle_ = nullptr;
  }
  return *this;
}

SentencePiece::~SentencePiece() {
  if (handle_ != nullptr) api_->free(handle_);
}

int SentencePiece::piece_size() const { return api_->piece_size(handle_); }
int SentencePiece::pad_id() const { return api_->pad_id(handle_); }
int SentencePiece::eos_id() const { return api_->eos_id(handle_); }
int SentencePiece::unk_id() const { return api_->unk_id(handle_); }
bool SentencePiece::is_control(int id) const { return api_->is_control(handle_, id) != 0; }
bool SentencePiece::is_unknown(int id) const { return api_->is_unknown(handle_, id) != 0; }
bool SentencePiece::is_byte(int id) const { return api_->is_byte(handle_, id) != 0; }

std::string SentencePiece::id_to_piece(int id) const {
  std::string piece(64, '\0');
  int n = api_->id_to_piece(handle_, id, piece.data(), static_cast<int>(piece.size()));
  if (n > static_cast<int>(piece.size())) {
    piece.resize(n);
    n = api_->id_to_piece(handle_, id, piece.data(), n);
  }
  piece.resize(n);
  return piece;
}

std::vector<int> SentencePiece::encode(std::string_view text) const {
  std::vector<int> ids(text.size() + 16);
  char err[512] = {};
  int n = api_->encode(handle_, text.data(), text.size(), ids.data(), static_cast<int>(ids.size()),
                       err, sizeof(err));
  RAYVID_CHECK(n >= 0, Internal, "SentencePiece failed to encode a prompt ({})", err);
  if (n > static_cast<int>(ids.size())) {
    ids.resize(n);
    n = api_->encode(handle_, text.data(), text.size(), ids.data(), n, err, sizeof(err));
  }
  ids.resize(n);
  return ids;
}

}  // namespace rayvid::io
