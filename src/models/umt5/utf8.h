// UTF-8 <-> code points for the text front end. Invalid UTF-8 (bad lead or continuation bytes,
// overlong forms, surrogates, values above U+10FFFF, truncated sequences) is a kBadInput error
// naming the byte offset: prompts come from users, and must never crash or be silently mangled.
#pragma once

#include <string>
#include <string_view>

namespace rayvid::models::umt5 {

std::u32string decode_utf8(std::string_view text);
std::string encode_utf8(std::u32string_view text);

}  // namespace rayvid::models::umt5
