// Prompt cleaning exactly as diffusers' Wan pipelines do it before tokenising
// (pipelines/wan/pipeline_wan.py `prompt_clean`):
//   ftfy.fix_text -> html.unescape(html.unescape(.)) -> strip -> every whitespace run -> " " ->
//   strip
//
// ftfy has no C++ port; we implement the fixers that change valid UTF-8 text in ways that survive
// SentencePiece's NFKC normalisation, with ftfy 6.3.1's own tables (text_tables.inc):
//   unescape_html (ftfy's entity rules, skipped for lines after one containing '<'), C1 controls
//   as windows-1252, Latin ligatures, full/half-width forms, curly quotes -> straight, line
//   breaks, ANSI terminal escapes, control characters, NFC (ICU), and whole-line mojibake repair
//   (latin-1 / windows-1252 read as UTF-8, e.g. "cafÃ©" -> "café"), repeated to a fixed point.
// Known difference from ftfy: mojibake is repaired only when a whole line is re-decodable (ftfy
// also repairs mixed lines, other code pages such as cp1251/macroman, and lines with lost 0xA0
// bytes), and without ftfy's "badness" heuristic (a line that is entirely valid UTF-8 once
// re-encoded as windows-1252 is always repaired; in practice that is only ever mojibake).
// html.unescape is exact: all 2,231 HTML5 named references (with the legacy semicolon-less
// prefixes), numeric references with the browser remapping table.
#pragma once

#include <string>
#include <string_view>

namespace rayvid::models::umt5 {

// The whole pipeline above. Invalid UTF-8 is a kBadInput error.
std::string clean_prompt(std::string_view utf8);

// The stages, for tests.
std::u32string ftfy_fix_text(std::u32string_view text);
std::u32string html_unescape(std::u32string_view text);  // Python's html.unescape
bool is_python_space(char32_t c);                        // str.isspace() / regex \s

}  // namespace rayvid::models::umt5
