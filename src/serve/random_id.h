// Job and upload ids: 128 bits from OpenSSL's CSPRNG as 32 hex digits. Output and upload URLs
// carry no key (a <video> element cannot send one), so an id is what keeps them private.
#pragma once

#include <string>

namespace rayvid::serve {

std::string random_id();
uint64_t random_u64();  // a seed for a request that gave none

}  // namespace rayvid::serve
