// Validation of safetensors headers; see safetensors_format.h for the rules.
#include "io/safetensors_format.h"

#include <algorithm>
#include <cstring>
#include <functional>
#include <limits>
#include <nlohmann/json.hpp>
#include <unordered_set>

#include "core/check.h"

namespace rayvid::io {
namespace {

using nlohmann::json;

struct DTypeInfo {
  std::string_view name;
  StDType dtype;
  size_t size;
};

constexpr DTypeInfo kDTypes[] = {
    {"F64", StDType::kF64, 8},   {"F32", StDType::kF32, 4},        {"F16", StDType::kF16, 2},
    {"BF16", StDType::kBF16, 2}, {"F8_E4M3", StDType::kF8E4M3, 1}, {"F8_E5M2", StDType::kF8E5M2, 1},
    {"I64", StDType::kI64, 8},   {"I32", StDType::kI32, 4},        {"I16", StDType::kI16, 2},
    {"I8", StDType::kI8, 1},     {"U8", StDType::kU8, 1},          {"BOOL", StDType::kBool, 1},
};

const DTypeInfo& info_of(StDType dtype) {
  for (const auto& info : kDTypes)
    if (info.dtype == dtype) return info;
  fail(ErrorCategory::kInternal, "unknown safetensors dtype enum {}", static_cast<int>(dtype));
}

uint64_t checked_mul(uint64_t a, uint64_t b, const std::string& label, const std::string& name) {
  RAYVID_CHECK(b == 0 || a <= std::numeric_limits<uint64_t>::max() / b, BadInput,
               "{}: tensor '{}' has a shape whose byte size overflows 64 bits", label, name);
  return a * b;
}

StTensorEntry parse_entry(const std::string& name, const json& value, const std::string& label) {
  RAYVID_CHECK(value.is_object(), BadInput, "{}: tensor '{}' is not a JSON object", label, name);
  for (const auto& [key, unused] : value.items()) {
    RAYVID_CHECK(key == "dtype" || key == "shape" || key == "data_offsets", BadInput,
                 "{}: tensor '{}' has unknown field '{}'", label, name, key);
  }
  StTensorEntry entry;
  entry.name = name;

  auto dtype_it = value.find("dtype");
  RAYVID_CHECK(dtype_it != value.end() && dtype_it->is_string(), BadInput,
               "{}: tensor '{}' has no string 'dtype'", label, name);
  const auto& dtype_text = dtype_it->get_ref<const std::string&>();
  const DTypeInfo* found = nullptr;
  for (const auto& info : kDTypes)
    if (info.name == dtype_text) found = &info;
  RAYVID_CHECK(found != nullptr, BadInput,
               "{}: tensor '{}' has unsupported dtype '{}' (rayvid reads F64, F32, F16, BF16, "
               "F8_E4M3, F8_E5M2, I64, I32, I16, I8, U8, BOOL)",
               label, name, dtype_text);
  entry.dtype = found->dtype;

  auto shape_it = value.find("shape");
  RAYVID_CHECK(shape_it != value.end() && shape_it->is_array(), BadInput,
               "{}: tensor '{}' has no 'shape' array", label, name);
  uint64_t numel = 1;
  for (const auto& dim : *shape_it) {
    RAYVID_CHECK(dim.is_number_unsigned() || (dim.is_number_integer() && dim.get<int64_t>() >= 0),
                 BadInput, "{}: tensor '{}' has a shape entry that is not a non-negative integer",
                 label, name);
    const uint64_t d = dim.get<uint64_t>();
    RAYVID_CHECK(d <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max()), BadInput,
                 "{}: tensor '{}' has a dimension too large", label, name);
    numel = checked_mul(numel, d, label, name);
    entry.shape.push_back(static_cast<int64_t>(d));
  }
  const uint64_t nbytes = checked_mul(numel, found->size, label, name);

  auto offsets_it = value.find("data_offsets");
  RAYVID_CHECK(offsets_it != value.end() && offsets_it->is_array() && offsets_it->size() == 2 &&
                   (*offsets_it)[0].is_number_unsigned() && (*offsets_it)[1].is_number_unsigned(),
               BadInput, "{}: tensor '{}' needs 'data_offsets' as two non-negative integers", label,
               name);
  entry.begin = (*offsets_it)[0].get<uint64_t>();
  entry.end = (*offsets_it)[1].get<uint64_t>();
  RAYVID_CHECK(entry.begin <= entry.end, BadInput,
               "{}: tensor '{}' has data_offsets [{}, {}] that run backwards", label, name,
               entry.begin, entry.end);
  RAYVID_CHECK(entry.end - entry.begin == nbytes, BadInput,
               "{}: tensor '{}' spans {} bytes but its shape and dtype {} need {}", label, name,
               entry.end - entry.begin, dtype_text, nbytes);
  return entry;
}

// Streams the header's top-level members to `on_member` through nlohmann's SAX interface: each
// member's value (a small object) is built as a json, handed over, and dropped, so memory beyond
// what on_member keeps is one member, and time is linear in the header. (The DOM callback parser
// used before re-scanned the whole top-level object after every inner one: minutes for 80,000
// tensors.) Duplicate keys, which nlohmann would silently collapse and the format forbids, are
// refused at every depth.
class HeaderMembers final : public json::json_sax_t {
 public:
  using OnMember = std::function<void(const std::string& name, const json& value)>;
  HeaderMembers(const std::string& label, OnMember on_member)
      : label_(label), on_member_(std::move(on_member)) {}

  bool null() override { return scalar(json(nullptr)); }
  bool boolean(bool value) override { return scalar(json(value)); }
  bool number_integer(json::number_integer_t value) override { return scalar(json(value)); }
  bool number_unsigned(json::number_unsigned_t value) override { return scalar(json(value)); }
  bool number_float(json::number_float_t value, const std::string&) override {
    return scalar(json(value));
  }
  bool string(std::string& value) override { return scalar(json(std::move(value))); }
  bool binary(json::binary_t& value) override { return scalar(json(std::move(value))); }

  bool start_object(size_t) override {
    if (!in_header_) return in_header_ = true;
    return open(json::object());
  }
  bool key(std::string& key) override {
    // Top-level names are remembered in a hash set; inside a member, the object being built
    // already holds its keys.
    const bool fresh =
        open_.empty() ? member_names_.insert(key).second : !open_.back()->contains(key);
    RAYVID_CHECK(fresh, BadInput, "{}: safetensors header names '{}' twice", label_, key);
    (open_.empty() ? member_name_ : key_) = std::move(key);
    return true;
  }
  bool end_object() override {
    if (open_.empty()) return true;  // the end of the header object
    return close();
  }
  bool start_array(size_t) override { return open(json::array()); }
  bool end_array() override { return close(); }
  bool parse_error(size_t, const std::string&, const json::exception& e) override {
    fail(ErrorCategory::kBadInput, "{}: safetensors header is not valid UTF-8 JSON ({})", label_,
         e.what());
  }

 private:
  bool scalar(json value) {
    if (open_.empty()) {
      member_ = std::move(value);
      return finish_member();
    }
    place(std::move(value));
    return true;
  }
  bool open(json container) {
    // A valid header nests three deep (header, tensor, shape); a deeper value fails validation
    // anyway, and capping it here keeps a 100 MB "[[[[..." from building 50 million containers.
    RAYVID_CHECK(open_.size() < kMaxDepth, BadInput,
                 "{}: safetensors header nests deeper than {} levels; the file is corrupt or not "
                 "safetensors",
                 label_, kMaxDepth + 1);
    if (open_.empty()) {
      member_ = std::move(container);
      open_.push_back(&member_);
    } else {
      open_.push_back(place(std::move(container)));
    }
    return true;
  }
  bool close() {
    open_.pop_back();
    return open_.empty() ? finish_member() : true;
  }
  // Adds `value` to the innermost open container and returns where it now lives. Pointers on
  // open_ stay valid: only the innermost container grows while they are in use.
  json* place(json value) {
    json& parent = *open_.back();
    if (parent.is_array()) {
      parent.push_back(std::move(value));
      return &parent.back();
    }
    json& slot = parent[key_];
    slot = std::move(value);
    return &slot;
  }
  bool finish_member() {
    RAYVID_CHECK(in_header_, BadInput, "{}: safetensors header is not a JSON object", label_);
    on_member_(member_name_, member_);
    member_ = nullptr;
    return true;
  }

  static constexpr size_t kMaxDepth = 31;  // containers within one member

  const std::string& label_;
  OnMember on_member_;
  bool in_header_ = false;                        // inside the top-level object
  std::unordered_set<std::string> member_names_;  // top-level names seen so far
  std::string member_name_;                       // of the member being built
  json member_;                                   // its value, while being built
  std::vector<json*> open_;                       // member_'s open containers, innermost last
  std::string key_;                               // the key of the next value in open_.back()
};

void parse_header_members(std::string_view text, const std::string& label,
                          HeaderMembers::OnMember on_member) {
  HeaderMembers handler(label, std::move(on_member));
  try {
    json::sax_parse(text.begin(), text.end(), &handler);
  } catch (const json::exception& e) {  // parse_error() reports syntax; this is a safety net
    fail(ErrorCategory::kBadInput, "{}: safetensors header is not valid UTF-8 JSON ({})", label,
         e.what());
  }
}

}  // namespace

size_t dtype_size(StDType dtype) { return info_of(dtype).size; }
std::string_view dtype_name(StDType dtype) { return info_of(dtype).name; }

int64_t StTensorEntry::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

StHeader parse_safetensors(const uint8_t* file_bytes, size_t file_size, const std::string& label) {
  RAYVID_CHECK(file_size >= 8, BadInput,
               "{}: {} bytes is too short for a safetensors file (needs an 8-byte header length)",
               label, file_size);
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | file_bytes[i];  // little-endian
  RAYVID_CHECK(header_len <= kMaxHeaderBytes, BadInput,
               "{}: header length {} exceeds the 100 MB limit; the file is corrupt or not "
               "safetensors",
               label, header_len);
  RAYVID_CHECK(header_len <= file_size - 8, BadInput,
               "{}: header length {} runs past the end of the {}-byte file (truncated download?)",
               label, header_len, file_size);
  RAYVID_CHECK(header_len >= 2 && file_bytes[8] == '{', BadInput,
               "{}: safetensors header must be a JSON object starting with '{{'", label);

  StHeader result;
  result.data_start = 8 + header_len;
  const std::string_view text(reinterpret_cast<const char*>(file_bytes + 8), header_len);
  parse_header_members(text, label, [&](const std::string& name, const json& value) {
    if (name == "__metadata__") {
      RAYVID_CHECK(value.is_object(), BadInput, "{}: __metadata__ must be an object", label);
      for (const auto& [key, meta] : value.items()) {
        RAYVID_CHECK(meta.is_string(), BadInput, "{}: __metadata__ value of '{}' must be a string",
                     label, key);
        result.metadata[key] = meta.get<std::string>();
      }
      return;
    }
    result.tensors.push_back(parse_entry(name, value, label));
  });

  std::sort(result.tensors.begin(), result.tensors.end(),
            [](const StTensorEntry& a, const StTensorEntry& b) {
              return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
            });
  uint64_t expected_begin = 0;
  for (const auto& entry : result.tensors) {
    RAYVID_CHECK(entry.begin == expected_begin, BadInput,
                 "{}: tensor '{}' starts at byte {} but the previous tensor ends at {} (offsets "
                 "must be contiguous, without holes or overlap)",
                 label, entry.name, entry.begin, expected_begin);
    expected_begin = entry.end;
  }
  const uint64_t buffer_size = file_size - result.data_start;
  RAYVID_CHECK(expected_begin == buffer_size, BadInput,
               "{}: tensors cover {} bytes but the data buffer holds {} (truncated or padded file)",
               label, expected_begin, buffer_size);
  return result;
}

}  // namespace rayvid::io
