// Prompt cleaning: see prompt_clean.h. Every function mirrors the Python it names.
#include "models/umt5/prompt_clean.h"

#include <algorithm>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include <unicode/normalizer2.h>
#include <unicode/unistr.h>

#include "core/check.h"
#include "models/umt5/utf8.h"

namespace rayvid::models::umt5 {
namespace {

struct EntityEntry {
  const char* name;
  const char* value;
};
struct CodeMap {
  char32_t from;
  char32_t to;
};
struct CodeStr {
  char32_t from;
  const char* to;
};

#include "models/umt5/text_tables.inc"

using EntityMap = std::unordered_map<std::string, std::u32string>;

const EntityMap& html5_entities() {
  static const EntityMap map = [] {
    EntityMap m;
    for (const auto& e : kHtml5Entities) m.emplace(e.name, decode_utf8(e.value));
    return m;
  }();
  return map;
}

// ftfy.chardata.HTML_ENTITIES: html5 names that end in ';', plus upper-cased variants.
std::optional<std::u32string> ftfy_entity(const std::string& name_with_semicolon) {
  static const EntityMap upper = [] {
    EntityMap m;
    for (const auto& e : kFtfyUpperEntities) m.emplace(e.name, decode_utf8(e.value));
    return m;
  }();
  if (auto it = html5_entities().find(name_with_semicolon); it != html5_entities().end()) {
    return it->second;
  }
  if (auto it = upper.find(name_with_semicolon); it != upper.end()) return it->second;
  return std::nullopt;
}

std::unordered_map<char32_t, std::u32string> code_str_map(const CodeStr* begin,
                                                          const CodeStr* end) {
  std::unordered_map<char32_t, std::u32string> m;
  for (auto it = begin; it != end; ++it) m.emplace(it->from, decode_utf8(it->to));
  return m;
}

bool is_ascii_digit(char32_t c) { return c >= '0' && c <= '9'; }
bool is_hex_digit(char32_t c) {
  return is_ascii_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
bool is_ascii_alnum(char32_t c) {
  return is_ascii_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

std::string ascii_of(std::u32string_view s) {
  std::string out;
  for (char32_t c : s) {
    if (c >= 0x80) return {};  // no entity name has non-ASCII characters
    out.push_back(static_cast<char>(c));
  }
  return out;
}

// html._replace_charref for a numeric reference; `digits` excludes '#', 'x' and ';'.
std::u32string numeric_charref(std::u32string_view digits, bool hex) {
  uint64_t num = 0;
  for (char32_t c : digits) {
    const uint64_t d = is_ascii_digit(c) ? c - '0' : (c | 0x20) - 'a' + 10;
    num = std::min<uint64_t>(num * (hex ? 16 : 10) + d, 0x7FFFFFFF);  // any cap > 0x10FFFF
  }
  for (const auto& e : kInvalidCharrefs) {
    if (e.from == num) return std::u32string(1, e.to);
  }
  if ((num >= 0xD800 && num <= 0xDFFF) || num > 0x10FFFF) return U"\uFFFD";
  for (char32_t c : kInvalidCodepoints) {
    if (c == num) return U"";
  }
  return std::u32string(1, static_cast<char32_t>(num));
}

// One html.unescape match starting at text[i] == '&'. Returns the replacement and sets `end` to
// one past the match, or std::nullopt if the regex
//   &(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)
// does not match here.
std::optional<std::u32string> html_charref_at(std::u32string_view text, size_t i, size_t& end) {
  const size_t n = text.size();
  size_t k = i + 1;
  if (k < n && text[k] == '#') {
    ++k;
    bool hex = false;
    size_t start = k;
    if (k < n && is_ascii_digit(text[k])) {
      while (k < n && is_ascii_digit(text[k])) ++k;
    } else if (k + 1 < n && (text[k] == 'x' || text[k] == 'X') && is_hex_digit(text[k + 1])) {
      hex = true;
      start = ++k;
      while (k < n && is_hex_digit(text[k])) ++k;
    } else {
      return std::nullopt;
    }
    const auto digits = text.substr(start, k - start);
    if (k < n && text[k] == ';') ++k;
    end = k;
    return numeric_charref(digits, hex);
  }
  static const std::u32string_view kStop = U"\t\n\f <&#;";
  while (k < n && k - (i + 1) < 32 && kStop.find(text[k]) == std::u32string_view::npos) ++k;
  if (k == i + 1) return std::nullopt;
  if (k < n && text[k] == ';') ++k;
  end = k;
  const auto ref = text.substr(i + 1, k - (i + 1));  // the name, with its ';' if any
  const auto& html5 = html5_entities();
  const std::string name = ascii_of(ref);
  if (!name.empty()) {
    if (auto it = html5.find(name); it != html5.end()) return it->second;
    // Legacy references without ';' match as prefixes ("&ampfoo" -> "&foo").
    for (size_t x = name.size() - 1; x >= 2; --x) {
      if (auto it = html5.find(name.substr(0, x)); it != html5.end()) {
        std::u32string value = it->second;
        for (char32_t ch : ref.substr(x)) value.push_back(ch);
        return value;
      }
    }
  } else {
    // A non-ASCII name can still begin with an ASCII legacy entity.
    size_t ascii_len = 0;
    while (ascii_len < ref.size() && ref[ascii_len] < 0x80) ++ascii_len;
    for (size_t x = std::min(ascii_len, ref.size() - 1); x >= 2; --x) {
      if (auto it = html5.find(ascii_of(ref.substr(0, x))); it != html5.end()) {
        std::u32string value = it->second;
        for (char32_t ch : ref.substr(x)) value.push_back(ch);
        return value;
      }
    }
  }
  std::u32string unchanged;
  unchanged.push_back(U'&');
  for (char32_t ch : ref) unchanged.push_back(ch);  // (append() trips GCC 12's -Wrestrict)
  return unchanged;
}

// ftfy.fixes.unescape_html: only complete "&name;" / "&#...;" references, regex
// &#?[0-9A-Za-z]{1,24};
std::u32string ftfy_unescape_html(std::u32string_view text) {
  std::u32string out;
  const size_t n = text.size();
  size_t i = 0;
  while (i < n) {
    if (text[i] != '&') {
      out.push_back(text[i++]);
      continue;
    }
    size_t k = i + 1;
    const bool numeric = k < n && text[k] == '#';
    if (numeric) ++k;
    const size_t start = k;
    while (k < n && is_ascii_alnum(text[k]) && k - start < 25) ++k;
    const size_t len = k - start;
    if (len < 1 || len > 24 || k >= n || text[k] != ';') {
      out.push_back(text[i++]);
      continue;
    }
    const auto match = text.substr(i, k + 1 - i);  // "&...;"
    std::u32string replacement(match);
    if (auto value = ftfy_entity(ascii_of(match.substr(1)))) {
      replacement = *value;
    } else if (numeric) {
      const auto unescaped = html_unescape(match);
      if (unescaped.find(U';') == std::u32string::npos) replacement = unescaped;
    }
    out += replacement;
    i = k + 1;
  }
  return out;
}

// ftfy's sloppy-windows-1252 / latin-1 byte for a code point, or -1.
int sloppy_cp1252_byte(char32_t c) {
  if (c < 0x80 || (c >= 0xA0 && c <= 0xFF)) return static_cast<int>(c);
  for (int b = 0; b < 32; ++b) {
    if (kCp1252High[b] == c) return 0x80 + b;
  }
  return -1;
}

bool is_valid_utf8(const std::string& bytes) {
  try {
    decode_utf8(bytes);
    return true;
  } catch (const std::exception&) {
    return false;
  }
}

// The part of ftfy.fix_encoding that applies to a whole line: text that is entirely latin-1 /
// sloppy-windows-1252 and whose bytes are valid UTF-8 was mojibake; decode it.
std::u32string fix_encoding(std::u32string text) {
  while (true) {
    if (std::all_of(text.begin(), text.end(), [](char32_t c) { return c < 0x80; })) return text;
    bool latin1 = true;
    bool cp1252 = true;
    for (char32_t c : text) {
      latin1 = latin1 && c <= 0xFF;
      cp1252 = cp1252 && sloppy_cp1252_byte(c) >= 0;
    }
    std::optional<std::u32string> fixed;
    for (int pass = 0; pass < 2 && !fixed; ++pass) {
      if (!(pass == 0 ? latin1 : cp1252)) continue;
      std::string bytes;
      for (char32_t c : text) {
        bytes.push_back(static_cast<char>(pass == 0 ? static_cast<int>(c) : sloppy_cp1252_byte(c)));
      }
      if (is_valid_utf8(bytes)) fixed = decode_utf8(bytes);
    }
    if (!fixed || *fixed == text) return text;
    text = std::move(*fixed);
  }
}

std::u32string translate(std::u32string_view text,
                         const std::unordered_map<char32_t, std::u32string>& map) {
  std::u32string out;
  for (char32_t c : text) {
    if (auto it = map.find(c); it != map.end()) {
      out += it->second;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

bool is_removed_control(char32_t c) {
  return c <= 0x08 || c == 0x0B || (c >= 0x0E && c <= 0x1F) || c == 0x7F ||
         (c >= 0x206A && c <= 0x206F) || c == 0xFEFF || (c >= 0xFFF9 && c <= 0xFFFC);
}

// unicodedata.normalize("NFC", .) through ICU.
std::u32string nfc(const std::u32string& text) {
  UErrorCode status = U_ZERO_ERROR;
  const icu::Normalizer2* normalizer = icu::Normalizer2::getNFCInstance(status);
  RAYVID_CHECK(U_SUCCESS(status), Internal, "ICU NFC normaliser unavailable ({})",
               u_errorName(status));
  const auto source = icu::UnicodeString::fromUTF32(reinterpret_cast<const UChar32*>(text.data()),
                                                    static_cast<int32_t>(text.size()));
  if (normalizer->isNormalized(source, status) && U_SUCCESS(status)) return text;
  status = U_ZERO_ERROR;
  const icu::UnicodeString normalized = normalizer->normalize(source, status);
  RAYVID_CHECK(U_SUCCESS(status), Internal, "ICU NFC normalisation failed ({})",
               u_errorName(status));
  std::u32string out(static_cast<size_t>(normalized.countChar32()), U'\0');
  status = U_ZERO_ERROR;
  normalized.toUTF32(reinterpret_cast<UChar32*>(out.data()), static_cast<int32_t>(out.size()),
                     status);
  RAYVID_CHECK(U_SUCCESS(status), Internal, "ICU NFC conversion failed ({})", u_errorName(status));
  return out;
}

// ftfy.fix_and_explain on one line, with the default TextFixerConfig.
std::u32string fix_segment(std::u32string text, bool unescape) {
  static const auto ligatures = code_str_map(std::begin(kLigatures), std::end(kLigatures));
  static const auto widths = code_str_map(std::begin(kWidthMap), std::end(kWidthMap));
  while (true) {
    const std::u32string original = text;
    if (unescape) text = ftfy_unescape_html(text);
    text = fix_encoding(std::move(text));
    for (char32_t& c : text) {  // fix_c1_controls
      if (c >= 0x80 && c <= 0x9F) c = kCp1252High[c - 0x80];
    }
    text = translate(text, ligatures);
    text = translate(text, widths);
    for (char32_t& c : text) {  // uncurl_quotes
      if (c == 0x02BC || (c >= 0x2018 && c <= 0x201B)) c = '\'';
      if (c >= 0x201C && c <= 0x201F) c = '"';
    }
    std::u32string lines;  // fix_line_breaks
    for (size_t i = 0; i < text.size(); ++i) {
      const char32_t c = text[i];
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') continue;
      lines.push_back(c == '\r' || c == 0x2028 || c == 0x2029 || c == 0x85 ? U'\n' : c);
    }
    std::u32string cleaned;  // remove_terminal_escapes (ESC [ [0-9;]* [A-Za-z]), control chars
    for (size_t i = 0; i < lines.size(); ++i) {
      if (lines[i] == 0x1B && i + 1 < lines.size() && lines[i + 1] == '[') {
        size_t k = i + 2;
        while (k < lines.size() && (is_ascii_digit(lines[k]) || lines[k] == ';')) ++k;
        if (k < lines.size() && lines[k] < 0x80 && std::isalpha(static_cast<int>(lines[k]))) {
          i = k;
          continue;
        }
      }
      if (!is_removed_control(lines[i])) cleaned.push_back(lines[i]);
    }
    text = nfc(cleaned);
    if (text == original) return text;
  }
}

}  // namespace

bool is_python_space(char32_t c) {
  return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 ||
         c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F ||
         c == 0x205F || c == 0x3000;
}

std::u32string html_unescape(std::u32string_view text) {
  if (text.find(U'&') == std::u32string_view::npos) return std::u32string(text);
  std::u32string out;
  size_t i = 0;
  while (i < text.size()) {
    size_t end = 0;
    if (text[i] == '&') {
      if (auto replacement = html_charref_at(text, i, end)) {
        out += *replacement;
        i = end;
        continue;
      }
    }
    out.push_back(text[i++]);
  }
  return out;
}

std::u32string ftfy_fix_text(std::u32string_view text) {
  std::u32string out;
  bool unescape = true;  // unescape_html="auto": off from the first line containing '<' onwards
  size_t pos = 0;
  while (pos < text.size()) {
    size_t brk = text.find(U'\n', pos);
    brk = brk == std::u32string_view::npos ? text.size() : brk + 1;
    const auto segment = text.substr(pos, brk - pos);
    if (segment.find(U'<') != std::u32string_view::npos) unescape = false;
    out += fix_segment(std::u32string(segment), unescape);
    pos = brk;
  }
  return out;
}

std::string clean_prompt(std::string_view utf8) {
  std::u32string text = ftfy_fix_text(decode_utf8(utf8));
  text = html_unescape(html_unescape(text));
  // strip, collapse every whitespace run to one space, strip: one pass does all three.
  std::u32string out;
  bool pending_space = false;
  for (char32_t c : text) {
    if (is_python_space(c)) {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out.push_back(U' ');
    pending_space = false;
    out.push_back(c);
  }
  return encode_utf8(out);
}

}  // namespace rayvid::models::umt5
