// rayvid's version, recorded in every output's provenance.
#pragma once
namespace rayvid {
inline constexpr const char* kVersion = "0.1.0";
}
