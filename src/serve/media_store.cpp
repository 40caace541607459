#include "serve/media_store.h"

#include <fmt/format.h>
#include <openssl/evp.h>

#include <chrono>

#include "io/atomic_file.h"
#include "io/image_header.h"
#include "serve/api_error.h"
#include "serve/random_id.h"

namespace rayvid::serve {
namespace {
namespace fs = std::filesystem;

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// A name safe on any filesystem and in a URL: the basename's [A-Za-z0-9._-], no leading dot.
std::string sanitise_filename(const std::string& name) {
  std::string base =
      name.substr(name.find_last_of("/\\") == std::string::npos ? 0 : name.find_last_of("/\\") + 1);
  std::string out;
  for (char c : base) {
    const bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
    out += ok ? c : '_';
  }
  while (!out.empty() && out.front() == '.') out.erase(out.begin());
  if (out.size() > 100) out = out.substr(out.size() - 100);
  return out.empty() ? "upload" : out;
}

bool is_hex_id(const std::string& id) {
  return id.size() == 32 && id.find_first_not_of("0123456789abcdef") == std::string::npos;
}

// RFC 4648 base64 through OpenSSL (EVP_DecodeBlock counts '=' padding as zero bytes).
std::optional<std::string> decode_base64(const std::string& text) {
  if (text.size() % 4 != 0) return std::nullopt;
  std::string out(text.size() / 4 * 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(text.data()),
                                static_cast<int>(text.size()));
  if (n < 0) return std::nullopt;
  size_t padding = 0;
  for (size_t i = text.size(); i > 0 && text[i - 1] == '=' && padding < 2; --i) ++padding;
  out.resize(static_cast<size_t>(n) - padding);
  return out;
}

const char* extension_of(io::ImageFormat format) {
  switch (format) {
    case io::ImageFormat::kPng:
      return "png";
    case io::ImageFormat::kJpeg:
      return "jpg";
    case io::ImageFormat::kWebp:
      return "webp";
    case io::ImageFormat::kBmp:
      return "bmp";
    default:
      return "bin";
  }
}

}  // namespace

MediaStore::MediaStore(fs::path dir, JobStore& store, const Limits& limits)
    : dir_(std::move(dir)), store_(store), limits_(limits) {
  fs::create_directories(dir_);
}

fs::path MediaStore::path_of(const Upload& upload) const {
  return dir_ / upload.id / upload.filename;
}

Upload MediaStore::create_ticket(const nlohmann::json& body) {
  if (!body.is_object()) throw ApiError(400, "", "expected a JSON object {filename, size}");
  if (!body.contains("filename") || !body["filename"].is_string())
    bad_field("filename", "required: the file's name, e.g. \"source.png\"");
  if (!body.contains("size") || !body["size"].is_number_integer() ||
      body["size"].get<int64_t>() < 1)
    bad_field("size", "required: the file's size in bytes");
  const int64_t size = body["size"].get<int64_t>();
  if (size > limits_.max_upload_bytes)
    bad_field("size", fmt::format("{} bytes is over the server's upload limit of {} "
                                  "(--max-upload-mb)",
                                  size, limits_.max_upload_bytes));
  Upload upload;
  upload.id = random_id();
  upload.filename = sanitise_filename(body["filename"].get<std::string>());
  upload.content_type = body.value("content_type", std::string("application/octet-stream"));
  upload.size = size;
  upload.created_at = now_seconds();
  store_.insert_upload(upload);
  return upload;
}

void MediaStore::check_image(const std::string& field, const std::string& bytes) const {
  const auto header =
      io::read_image_header(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  if (header.format == io::ImageFormat::kUnknown)
    bad_field(field, "not an image rayvid reads: send PNG, JPEG, WebP or BMP");
  if (header.width <= 0 || header.height <= 0 || !header.complete)
    bad_field(field,
              fmt::format("the {} file is truncated or damaged", io::format_name(header.format)));
  if (header.width * header.height > limits_.max_image_pixels)
    bad_field(field, fmt::format("{}x{} is over the server's limit of {} pixels "
                                 "(--max-image-pixels); send a smaller image",
                                 header.width, header.height, limits_.max_image_pixels));
}

void MediaStore::receive(const std::string& id, const std::string& bytes) {
  const auto upload = is_hex_id(id) ? store_.get_upload(id) : std::nullopt;
  if (!upload)
    throw ApiError(404, "", "no such upload ticket; ask for one with POST /api/v3/media/uploads");
  if (upload->complete)
    throw ApiError(409, "", "this upload already has its file; ask for a new ticket");
  if (static_cast<int64_t>(bytes.size()) != upload->size)
    throw ApiError(
        400, "size",
        fmt::format("the ticket was for {} bytes and {} arrived", upload->size, bytes.size()));
  check_image("file", bytes);
  fs::create_directories(path_of(*upload).parent_path());
  io::write_file_atomic(path_of(*upload), bytes);
  store_.mark_upload_complete(upload->id);
}

std::optional<fs::path> MediaStore::find(const std::string& id, const std::string& filename) const {
  if (!is_hex_id(id)) return std::nullopt;
  const auto upload = store_.get_upload(id);
  if (!upload || !upload->complete || upload->filename != filename) return std::nullopt;
  return path_of(*upload);
}

fs::path MediaStore::resolve_image(const std::string& field, const std::string& value,
                                   const std::set<std::string>& own_authorities) {
  if (value.rfind("data:", 0) == 0) {
    const size_t comma = value.find(',');
    if (comma == std::string::npos || comma < 7 || value.compare(comma - 7, 7, ";base64") != 0)
      bad_field(field, "a data: URI must be base64: data:image/png;base64,...");
    const auto bytes = decode_base64(value.substr(comma + 1));
    if (!bytes) bad_field(field, "the data: URI's base64 does not decode");
    if (static_cast<int64_t>(bytes->size()) > limits_.max_upload_bytes)
      bad_field(field, fmt::format("{} bytes is over the server's upload limit of {}",
                                   bytes->size(), limits_.max_upload_bytes));
    check_image(field, *bytes);
    const auto header =
        io::read_image_header(reinterpret_cast<const uint8_t*>(bytes->data()), bytes->size());
    Upload upload{random_id(),
                  fmt::format("inline.{}", extension_of(header.format)),
                  fmt::format("image/{}", extension_of(header.format)),
                  static_cast<int64_t>(bytes->size()),
                  false,
                  now_seconds()};
    store_.insert_upload(upload);
    fs::create_directories(path_of(upload).parent_path());
    io::write_file_atomic(path_of(upload), *bytes);
    store_.mark_upload_complete(upload.id);
    return path_of(upload);
  }
  if (value.rfind("/media/", 0) == 0) return local_media(field, value);  // this server's path
  // http://authority/media/<id>/<name>
  const size_t scheme_end = value.find("://");
  const std::string scheme = scheme_end == std::string::npos ? "" : value.substr(0, scheme_end);
  if (scheme != "http" && scheme != "https")
    bad_field(field, "expected an uploaded file's URL (POST /api/v3/media/uploads) or a data: URI");
  const size_t path_start = value.find('/', scheme_end + 3);
  const std::string authority = value.substr(scheme_end + 3, path_start - scheme_end - 3);
  const std::string path = path_start == std::string::npos ? "" : value.substr(path_start);
  if (!own_authorities.count(authority))
    bad_field(field, fmt::format("{} is not this server: rayvid serve fetches nothing remote; "
                                 "upload the file (POST /api/v3/media/uploads) or send a data: URI",
                                 authority));
  return local_media(field, path);
}

fs::path MediaStore::local_media(const std::string& field, const std::string& path) const {
  // /media/<32 hex>/<name>, nothing else (no query, no climbing): find() looks the id up.
  if (path.rfind("/media/", 0) == 0) {
    const std::string rest = path.substr(7);
    const size_t slash = rest.find('/');
    if (slash != std::string::npos) {
      if (auto file = find(rest.substr(0, slash), rest.substr(slash + 1))) return *file;
    }
  }
  bad_field(field, "no uploaded file at " + path + " on this server; upload it first");
}

}  // namespace rayvid::serve
