// Corpus regression for the safetensors parser: 10,000+ deterministic mutations of valid files
// (truncations, bit flips, huge lengths, overlapping offsets, wrong dtypes, JSON edits). Each must
// parse, or fail with rayvid::Error; nothing else may escape, and nothing may crash (this test
// runs under ASan and UBSan in scripts/test).
#include <gtest/gtest.h>

#include <random>

#include "io/safetensors_format.h"
#include "rayvid/error.h"
#include "support/safetensors_builder.h"

namespace rayvid::io {
namespace {

using test::safetensors_bytes;

// Parses; returns true if accepted. Any exception other than rayvid::Error fails the test.
bool parses(const std::string& bytes, int case_id) {
  try {
    const auto header = parse_safetensors(reinterpret_cast<const uint8_t*>(bytes.data()),
                                          bytes.size(), "case-" + std::to_string(case_id));
    // Accepted files must satisfy the invariants the loader relies on.
    for (const auto& t : header.tensors) {
      EXPECT_LE(header.data_start + t.end, bytes.size()) << "case " << case_id;
      EXPECT_EQ(t.end - t.begin, static_cast<uint64_t>(t.numel()) * dtype_size(t.dtype));
    }
    return true;
  } catch (const rayvid::Error& e) {
    EXPECT_NE(std::string(e.what()).find("case-"), std::string::npos)
        << "error does not name the file: " << e.what();
    return false;
  } catch (const std::exception& e) {
    ADD_FAILURE() << "case " << case_id << " escaped as " << typeid(e).name() << ": " << e.what();
    return false;
  }
}

std::string mutate(const std::string& base, std::mt19937_64& rng) {
  std::string s = base;
  const int kind = static_cast<int>(rng() % 8);
  auto pick = [&](size_t n) { return n == 0 ? 0 : static_cast<size_t>(rng() % n); };
  switch (kind) {
    case 0:  // truncate anywhere
      s.resize(pick(s.size()));
      break;
    case 1:  // flip 1-4 random bits
      for (int i = 0, n = 1 + static_cast<int>(rng() % 4); i < n && !s.empty(); ++i)
        s[pick(s.size())] ^= static_cast<char>(1u << (rng() % 8));
      break;
    case 2: {  // huge or wrong header length
      const uint64_t lengths[] = {0, 1, 7, 100'000'001, ~0ull, s.size(), s.size() - 8,
                                  static_cast<uint64_t>(rng())};
      const uint64_t n = lengths[rng() % 8];
      for (int i = 0; i < 8; ++i) s[i] = static_cast<char>((n >> (8 * i)) & 0xff);
      break;
    }
    case 3: {  // replace a digit in the header (offsets, shapes)
      for (int tries = 0; tries < 20; ++tries) {
        const size_t i = 8 + pick(s.size() - 8);
        if (i < s.size() && s[i] >= '0' && s[i] <= '9') {
          s[i] = static_cast<char>('0' + rng() % 10);
          break;
        }
      }
      break;
    }
    case 4: {  // swap dtype names
      const char* dtypes[] = {"F32", "F16", "I64", "U8", "XX", "F8_E4M3", "BOOL", "C64"};
      const auto pos = s.find("F32");
      if (pos != std::string::npos) s.replace(pos, 3, dtypes[rng() % 8]);
      break;
    }
    case 5:  // append or drop trailing bytes
      if (rng() % 2) s.append(1 + pick(16), '\0');
      else if (s.size() > 8) s.resize(s.size() - 1 - pick(std::min<size_t>(s.size() - 8, 8)));
      break;
    case 6: {  // insert random bytes into the header
      const size_t at = 8 + pick(std::max<size_t>(1, s.size() - 8));
      std::string junk(1 + pick(4), '\0');
      for (auto& c : junk) c = static_cast<char>(rng());
      s.insert(std::min(at, s.size()), junk);
      break;
    }
    default: {  // overlapping offsets, duplicate keys, bad metadata: structured edits
      const std::string headers[] = {
          R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
          R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"a":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})",
          R"({"__metadata__":{"k":1},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})",
          R"({"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})",
          R"({"a":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,8]}})",
          R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})",
          R"([1,2,3])",
          R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"extra":1}})",
      };
      s = safetensors_bytes(headers[rng() % 8], std::string(16, '\x01'));
      break;
    }
  }
  return s;
}

TEST(SafetensorsCorpus, TenThousandMutationsFailCleanly) {
  std::mt19937_64 rng(20261122);
  const std::string bases[] = {
      test::valid_safetensors(),
      safetensors_bytes(R"({"x":{"dtype":"I64","shape":[],"data_offsets":[0,8]}})",
                        std::string(8, '\x02')),
      safetensors_bytes(R"({"e":{"dtype":"U8","shape":[0],"data_offsets":[0,0]}})", ""),
  };
  for (const auto& base : bases) ASSERT_TRUE(parses(base, -1));
  int accepted = 0, rejected = 0;
  for (int i = 0; i < 12000; ++i) {
    const std::string bytes = mutate(bases[i % 3], rng);
    (parses(bytes, i) ? accepted : rejected)++;
  }
  EXPECT_EQ(accepted + rejected, 12000);
  EXPECT_GT(rejected, 10000) << "mutations should mostly be invalid";
}

}  // namespace
}  // namespace rayvid::io
