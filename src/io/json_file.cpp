// JSON config files with errors that name the file and the field.
#include "io/json_file.h"

#include "io/regular_file.h"

namespace rayvid::io {

std::string json_type_name(const nlohmann::json& value) { return value.type_name(); }

JsonFile JsonFile::load(const std::filesystem::path& path) {
  // Checked before opening: a FIFO would block the read forever, /dev/zero would never end.
  const std::string text = read_regular_file(path, "JSON file");
  nlohmann::json data;
  try {
    data = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    fail(ErrorCategory::kBadInput, "{}: not valid JSON ({})", path.string(), e.what());
  }
  RAYVID_CHECK(data.is_object(), BadInput, "{}: expected a JSON object at the top level, got {}",
               path.string(), json_type_name(data));
  return from_json(std::move(data), path.string());
}

JsonFile JsonFile::from_json(nlohmann::json data, std::string label) {
  JsonFile file;
  file.data_ = std::move(data);
  file.label_ = std::move(label);
  return file;
}

const nlohmann::json& JsonFile::require_object(const std::string& key) const {
  RAYVID_CHECK(has(key), BadInput, "{}: missing field '{}'", label_, key);
  const auto& value = data_.at(key);
  RAYVID_CHECK(value.is_object(), BadInput, "{}: field '{}' should be an object, got {}", label_,
               key, json_type_name(value));
  return value;
}

}  // namespace rayvid::io
