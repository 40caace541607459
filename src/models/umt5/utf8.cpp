// UTF-8 decoding with full validation (RFC 3629) and encoding.
#include "models/umt5/utf8.h"

#include "core/check.h"

namespace rayvid::models::umt5 {

std::u32string decode_utf8(std::string_view text) {
  std::u32string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    const auto lead = static_cast<unsigned char>(text[i]);
    int extra = 0;
    char32_t cp = 0;
    char32_t min_value = 0;
    if (lead < 0x80) {
      out.push_back(lead);
      ++i;
      continue;
    } else if ((lead & 0xE0) == 0xC0) {
      extra = 1, cp = lead & 0x1F, min_value = 0x80;
    } else if ((lead & 0xF0) == 0xE0) {
      extra = 2, cp = lead & 0x0F, min_value = 0x800;
    } else if ((lead & 0xF8) == 0xF0) {
      extra = 3, cp = lead & 0x07, min_value = 0x10000;
    } else {
      fail(ErrorCategory::kBadInput,
           "prompt is not valid UTF-8: byte 0x{:02X} at offset {} cannot start a character; "
           "save the prompt as UTF-8",
           lead, i);
    }
    RAYVID_CHECK(i + extra < text.size(), BadInput,
                 "prompt is not valid UTF-8: the character at offset {} is cut off at the end; "
                 "save the prompt as UTF-8",
                 i);
    for (int k = 1; k <= extra; ++k) {
      const auto byte = static_cast<unsigned char>(text[i + k]);
      RAYVID_CHECK((byte & 0xC0) == 0x80, BadInput,
                   "prompt is not valid UTF-8: byte 0x{:02X} at offset {} should continue the "
                   "character at offset {}; save the prompt as UTF-8",
                   byte, i + k, i);
      cp = (cp << 6) | (byte & 0x3F);
    }
    RAYVID_CHECK(cp >= min_value && cp <= 0x10FFFF && !(cp >= 0xD800 && cp <= 0xDFFF), BadInput,
                 "prompt is not valid UTF-8: the bytes at offset {} encode U+{:X}, which UTF-8 "
                 "does not allow (overlong form, surrogate or beyond U+10FFFF)",
                 i, static_cast<uint32_t>(cp));
    out.push_back(cp);
    i += extra + 1;
  }
  return out;
}

std::string encode_utf8(std::u32string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char32_t cp : text) {
    if (cp < 0x80) {
      out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  }
  return out;
}

}  // namespace rayvid::models::umt5
