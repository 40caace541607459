#include "serve/random_id.h"

#include <openssl/rand.h>

#include <array>
#include <cstring>

#include "core/check.h"

namespace rayvid::serve {
namespace {

template <size_t N>
std::array<unsigned char, N> random_bytes() {
  std::array<unsigned char, N> bytes{};
  RAYVID_CHECK(RAND_bytes(bytes.data(), static_cast<int>(N)) == 1, Internal,
               "OpenSSL's random generator failed");
  return bytes;
}

}  // namespace

std::string random_id() {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id;
  for (unsigned char b : random_bytes<16>()) {
    id += kHex[b >> 4];
    id += kHex[b & 15];
  }
  return id;
}

uint64_t random_u64() {
  const auto bytes = random_bytes<8>();
  uint64_t v = 0;
  std::memcpy(&v, bytes.data(), sizeof v);
  return v;
}

}  // namespace rayvid::serve
