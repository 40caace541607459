// Hardening items 10-13: values the user gives are used or refused, never replaced (zero, NaN,
// infinity, huge), seeds mean what torch means, the sidecar records what ran, and errors are one
// line in the right class.
#include <ATen/ATen.h>

#include "engine/provenance.h"
#include "hardening/hardening_support.h"
#include "io/safetensors.h"
#include "rayvid/rayvid.h"

namespace rayvid::hardening {
namespace {

std::string dry_run(const std::string& flags) {
  return cli() + " generate --dry-run --prompt 'a cat' " + flags;
}

// Item 10: before the fix these silently used the defaults (or ran to a black video, exit 0).
TEST(RequestValues, ZeroNanInfinityAndHugeAreRefusedNotReplaced) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"--frames 0", "--frames 0"},
      {"--width 0", "--width 0"},
      {"--height -64", "--height -64"},
      {"--fps 0", "--fps 0"},
      {"--steps 0", "--steps 0"},
      {"--guidance-scale nan", "--guidance-scale nan"},
      {"--guidance-scale inf", "--guidance-scale inf"},
      {"--guidance-scale 1e300", "--guidance-scale 1e+300"},
      {"--guidance-scale -2", "--guidance-scale -2"},
      {"--guidance-scale-2 nan", "--guidance-scale-2 nan"},
      {"--shift inf", "--shift inf"},
      {"--shift nan", "--shift nan"},
      {"--shift 0", "--shift 0"},
      {"--shift 1e300", "--shift 1e+300"},
  };
  for (const auto& [flags, needle] : cases) expect_clean_error(dry_run(flags), 2, needle);
}

// Item 13: a huge size suggests a size that is accepted (it used to suggest one still over 4096).
TEST(RequestValues, OversizeSuggestsASizeWithinTheCap) {
  const auto r =
      test::run_command("{ " + dry_run("--width 2147483647 --height 64") + " >/dev/null; }");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("try 4096x64"), std::string::npos) << r.output;
  EXPECT_EQ(count_lines(r.output), 1) << r.output;
}

// Item 13: an invalid UTF-8 prompt is a bad argument (exit 2), not a bad file (it was exit 3).
TEST(RequestValues, InvalidUtf8PromptIsABadArgument) {
  // printf, not $'..': run_command's shell is sh.
  expect_clean_error(cli() + " generate --dry-run --prompt \"$(printf 'a \\377 cat')\"", 2,
                     "--prompt: prompt is not valid UTF-8");
  expect_clean_error(
      cli() + " generate --dry-run --prompt x --negative-prompt \"$(printf '\\303')\"", 2,
      "--negative-prompt");
}

// Item 11: the seed means what torch.manual_seed means.
TEST(Seeds, ParseSeedAcceptsTorchsRangeWithTorchsMeaning) {
  EXPECT_EQ(parse_seed("0"), 0u);
  EXPECT_EQ(parse_seed("42"), 42u);
  EXPECT_EQ(parse_seed("18446744073709551615"), 18446744073709551615u);
  EXPECT_EQ(parse_seed("-1"), 18446744073709551615u);  // torch: initial_seed() of -1
  EXPECT_EQ(parse_seed("-9223372036854775808"), 9223372036854775808u);
  EXPECT_EQ(parse_seed("9223372036854775807"), 9223372036854775807u);
  for (const char* bad : {"18446744073709551616", "-9223372036854775809", "", "-", "1.5", "0x10",
                          "12abc", " 1", "1e3"}) {
    try {
      parse_seed(bad);
      ADD_FAILURE() << "accepted seed '" << bad << "'";
    } catch (const Error& e) {
      EXPECT_EQ(e.category(), ErrorCategory::kBadArgument) << bad;
    }
  }
}

// The noise of `--seed S` from a --dump-latents run, and the seed its sidecar records.
std::pair<at::Tensor, uint64_t> run_seed(const std::string& seed, const fs::path& dir) {
  const fs::path dump = dir / ("dump" + seed);
  const auto r = test::run_command(small_generate(dir) + " --quiet --seed=" + seed +
                                   " --dump-latents " + quoted(dump));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  return {io::WeightStore::open_file(dump / "noise.safetensors").tensor("noise").clone(),
          read_json(dir / "out.json")["seed"].get<uint64_t>()};
}

// Each seed draws what torch.Generator().manual_seed(seed) draws and is recorded as torch's
// initial_seed(). (torch's CPU generator seeds its Mersenne Twister from the low 32 bits, so -1
// and 2^63 - 1 draw the same noise in torch too; before the fix rayvid also *recorded* them as the
// same seed, clamped, and accepted 2^64.)
TEST(Seeds, EverySeedDrawsAndRecordsWhatTorchDoes) {
  const fs::path python = test::source_dir() / ".venv" / "bin" / "python";
  if (!fs::exists(python)) GTEST_SKIP() << "needs the reference venv (scripts/setup makes it)";
  const fs::path dir = test::scratch_dir("hardening-seeds");
  const std::vector<std::string> seeds = {"-1", "18446744073709551615", "-9223372036854775808",
                                          "4294967301", "7"};
  std::string shape, seed_list;
  for (const auto& seed : seeds) seed_list += seed + ",";
  const at::Tensor first = run_seed(seeds[0], dir).first;
  for (int64_t d : first.sizes()) shape += std::to_string(d) + ",";
  const auto r = test::run_command(
      quoted(python) + " -c \"import torch\nfor s in [" + seed_list +
      "]:\n g = torch.Generator().manual_seed(s)\n print(g.initial_seed(), ' '.join(repr(v) for v "
      "in torch.randn((" +
      shape + "), generator=g).flatten()[:8].tolist()))\" 2>/dev/null");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::istringstream torch_out(r.output);
  for (const auto& seed : seeds) {
    const auto [noise, recorded] = run_seed(seed, dir);
    uint64_t initial_seed = 0;
    torch_out >> initial_seed;
    EXPECT_EQ(recorded, initial_seed) << seed;
    const at::Tensor flat = noise.flatten();
    for (int i = 0; i < 8; ++i) {
      double v = 0;
      torch_out >> v;
      EXPECT_FLOAT_EQ(flat[i].item<float>(), static_cast<float>(v)) << seed << " [" << i << "]";
    }
  }
}

// Item 12: a default run records the shift that ran (the scheduler config's), not 0.
TEST(Provenance, RecordsTheShiftThatRan) {
  const fs::path dir = test::scratch_dir("hardening-provenance");
  auto r = test::run_command(small_generate(dir) + " --quiet");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const double configured =
      read_json(demo_model() / "scheduler" / "scheduler_config.json")["flow_shift"];
  EXPECT_EQ(read_json(dir / "out.json")["shift"].get<double>(), configured);
  r = test::run_command(small_generate(dir) + " --quiet --shift 3");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(read_json(dir / "out.json")["shift"].get<double>(), 3.0);
}

// Item 10: an all-NaN checkpoint stops at the first step (exit 3, naming it), with no output; it
// used to give a black video and exit 0.
TEST(RequestValues, NonFiniteLatentsStopTheRunNamingTheStep) {
  const fs::path dir = test::scratch_dir("hardening-nan-weights");
  const fs::path model = copy_demo_model(dir);
  const fs::path weights = model / "transformer" / "diffusion_pytorch_model.safetensors";
  std::map<std::string, at::Tensor> tensors;
  {
    const auto store = io::WeightStore::open_file(weights);
    for (const auto& name : store.names())
      tensors[name] = at::full_like(store.tensor(name), std::nan(""));
  }
  engine::write_safetensors(weights, tensors);
  expect_clean_error(small_generate(dir) + " --quiet --model " + quoted(model), 3,
                     "denoising step 1/2 produced NaN or infinite values", dir);
}

}  // namespace
}  // namespace rayvid::hardening
