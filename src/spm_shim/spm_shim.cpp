// A C interface to SentencePiece, built as its own shared library and loaded by
// io/sentencepiece.cpp with dlopen(RTLD_LOCAL | RTLD_DEEPBIND).
//
// Why: Debian's libsentencepiece embeds protobuf-lite 3.14 and exports its symbols, while OpenCV's
// video module pulls in libopencv_dnn and with it the system libprotobuf 3.21. In one process the
// two protobufs bind to each other's symbols and crash during static initialisation. Loaded
// locally with deep binding, SentencePiece keeps its own protobuf and stays invisible to the rest.
#include <sentencepiece_processor.h>

#include <cstring>
#include <string>
#include <vector>

namespace {

void copy_error(const std::string& message, char* err, int errlen) {
  if (err == nullptr || errlen <= 0) return;
  std::strncpy(err, message.c_str(), static_cast<size_t>(errlen) - 1);
  err[errlen - 1] = '\0';
}

sentencepiece::SentencePieceProcessor* spm(void* handle) {
  return static_cast<sentencepiece::SentencePieceProcessor*>(handle);
}

}  // namespace

extern "C" {

void* rv_spm_load(const char* path, char* err, int errlen) {
  auto* processor = new sentencepiece::SentencePieceProcessor();
  const auto status = processor->Load(path);
  if (!status.ok()) {
    copy_error(status.ToString(), err, errlen);
    delete processor;
    return nullptr;
  }
  return processor;
}

void rv_spm_free(void* handle) { delete spm(handle); }
int rv_spm_piece_size(void* handle) { return spm(handle)->GetPieceSize(); }
int rv_spm_pad_id(void* handle) { return spm(handle)->pad_id(); }
int rv_spm_eos_id(void* handle) { return spm(handle)->eos_id(); }
int rv_spm_unk_id(void* handle) { return spm(handle)->unk_id(); }
int rv_spm_is_control(void* handle, int id) { return spm(handle)->IsControl(id); }
int rv_spm_is_unknown(void* handle, int id) { return spm(handle)->IsUnknown(id); }
int rv_spm_is_byte(void* handle, int id) { return spm(handle)->IsByte(id); }

// Writes the piece (not NUL-terminated) when it fits; returns its length.
int rv_spm_id_to_piece(void* handle, int id, char* buffer, int capacity) {
  const std::string piece = spm(handle)->IdToPiece(id);
  if (static_cast<int>(piece.size()) <= capacity) std::memcpy(buffer, piece.data(), piece.size());
  return static_cast<int>(piece.size());
}

// Encodes to ids; returns the count (written when it fits `capacity`), or -1 with `err` set.
int rv_spm_encode(void* handle, const char* text, size_t length, int* ids, int capacity, char* err,
                  int errlen) {
  std::vector<int> out;
  const auto status = spm(handle)->Encode(std::string(text, length), &out);
  if (!status.ok()) {
    copy_error(status.ToString(), err, errlen);
    return -1;
  }
  if (static_cast<int>(out.size()) <= capacity)
    std::memcpy(ids, out.data(), out.size() * sizeof(int));
  return static_cast<int>(out.size());
}

}  // extern "C"
