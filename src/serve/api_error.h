// The error an HTTP client sees: a status, the request field at fault (empty when none) and a
// one-line message that names the problem and the fix. Every handler reports through it, so a bad
// request is always HTTP 4xx with a JSON body, never a dropped connection or a 500.
#pragma once

#include <stdexcept>
#include <string>

namespace rayvid::serve {

class ApiError : public std::runtime_error {
 public:
  ApiError(int status, std::string field, const std::string& message)
      : std::runtime_error(message), status_(status), field_(std::move(field)) {}
  int status() const noexcept { return status_; }
  const std::string& field() const noexcept { return field_; }

 private:
  int status_;
  std::string field_;
};

// 400 naming the field: "field 'duration': ..." is what the client prints.
[[noreturn]] inline void bad_field(const std::string& field, const std::string& message) {
  throw ApiError(400, field, "field '" + field + "': " + message);
}

}  // namespace rayvid::serve
