// Where the Wan DiT tests find their fixtures: the harness goldens (golden/<family>/, models/)
// and this component's extras (golden_extra/wan_dit/ from scripts/reference/extra_wan_dit.py).
#pragma once

#include <filesystem>
#include <string>

#include "io/json_file.h"
#include "io/safetensors.h"
#include "support/test_env.h"

namespace rayvid::models::wan_dit::test_fixtures {

// A golden folder: manifest.json + safetensors files.
struct GoldenDir {
  std::filesystem::path dir;
  io::JsonFile manifest;
  explicit GoldenDir(std::filesystem::path d)
      : dir(std::move(d)), manifest(io::JsonFile::load(dir / "manifest.json")) {}
  io::WeightStore open(const std::string& file) const {
    return io::WeightStore::open_file(dir / file);
  }
};

inline std::filesystem::path extra_dir() {
  return test::fixtures_dir() / "golden_extra" / "wan_dit";
}

// A tiny checkpoint of extra_wan_dit.py: wan21_t2v, wan21_i2v, wan21_flf2v, wan22_ti2v, wan22_a14b.
inline std::filesystem::path tiny_model(const std::string& family,
                                        const std::string& component = "transformer") {
  return extra_dir() / "models" / family / component;
}

}  // namespace rayvid::models::wan_dit::test_fixtures
