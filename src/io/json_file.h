// JSON config files (config.json, model_index.json, scheduler_config.json, ...) with errors that
// name the file and the field: "transformer/config.json: field 'num_layers' should be an integer,
// got string".
#pragma once

#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "core/check.h"

namespace rayvid::io {

std::string json_type_name(const nlohmann::json& value);

template <typename T>
struct is_std_vector : std::false_type {};
template <typename T, typename A>
struct is_std_vector<std::vector<T, A>> : std::true_type {};

class JsonFile {
 public:
  static JsonFile load(const std::filesystem::path& path);
  static JsonFile from_json(nlohmann::json data, std::string label);

  const std::string& label() const { return label_; }
  const nlohmann::json& json() const { return data_; }
  bool has(const std::string& key) const { return data_.contains(key) && !data_[key].is_null(); }

  // A required field; missing or mistyped is a kBadInput error naming file and field.
  template <typename T>
  T require(const std::string& key) const {
    RAYVID_CHECK(has(key), BadInput, "{}: missing field '{}'", label_, key);
    return convert<T>(key, data_.at(key));
  }
  // An optional field; a present but mistyped value is still an error.
  template <typename T>
  T get_or(const std::string& key, T fallback) const {
    return has(key) ? convert<T>(key, data_.at(key)) : fallback;
  }
  template <typename T>
  std::optional<T> get_optional(const std::string& key) const {
    if (!has(key)) return std::nullopt;
    return convert<T>(key, data_.at(key));
  }
  const nlohmann::json& require_object(const std::string& key) const;

 private:
  template <typename T>
  T convert(const std::string& key, const nlohmann::json& value) const {
    try {
      if constexpr (is_std_vector<T>::value) {
        RAYVID_CHECK(value.is_array(), BadInput, "{}: field '{}' should be a list, got {}", label_,
                     key, json_type_name(value));
        T out;
        for (const auto& item : value) out.push_back(convert<typename T::value_type>(key, item));
        return out;
      } else if constexpr (std::is_same_v<T, bool>) {
        RAYVID_CHECK(value.is_boolean(), BadInput, "{}: field '{}' should be a boolean, got {}",
                     label_, key, json_type_name(value));
      } else if constexpr (std::is_integral_v<T>) {
        RAYVID_CHECK(value.is_number_integer(), BadInput,
                     "{}: field '{}' should be an integer, got {}", label_, key,
                     json_type_name(value));
        // nlohmann narrows silently (1e12 into an int wraps): check the range first.
        const bool fits =
            value.is_number_unsigned()
                ? value.get<uint64_t>() <= static_cast<uint64_t>(std::numeric_limits<T>::max())
                : value.get<int64_t>() >= static_cast<int64_t>(std::numeric_limits<T>::min()) &&
                      (value.get<int64_t>() < 0 ||
                       static_cast<uint64_t>(value.get<int64_t>()) <=
                           static_cast<uint64_t>(std::numeric_limits<T>::max()));
        RAYVID_CHECK(fits, BadInput, "{}: field '{}' is {}, out of range for this field", label_,
                     key, value.dump());
      } else if constexpr (std::is_floating_point_v<T>) {
        RAYVID_CHECK(value.is_number(), BadInput, "{}: field '{}' should be a number, got {}",
                     label_, key, json_type_name(value));
      } else if constexpr (std::is_same_v<T, std::string>) {
        RAYVID_CHECK(value.is_string(), BadInput, "{}: field '{}' should be a string, got {}",
                     label_, key, json_type_name(value));
      }
      return value.get<T>();
    } catch (const nlohmann::json::exception& e) {
      fail(ErrorCategory::kBadInput, "{}: field '{}' has the wrong type ({})", label_, key,
           e.what());
    }
  }

  std::string label_;
  nlohmann::json data_;
};

}  // namespace rayvid::io
