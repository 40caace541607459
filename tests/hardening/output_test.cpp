// Hardening items 5-7: the output is checked before any heavy work, a full disk is exit 3 with the
// fix, an interrupted run leaves no temporary files, and the MP4 and its sidecar land together or
// not at all.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "hardening/hardening_support.h"
#include "io/atomic_file.h"
#include "rayvid/error.h"

extern char** environ;

namespace rayvid::hardening {
namespace {

// Runs `script` in a private mount namespace (so its tmpfs mounts vanish with it). Returns
// nullopt where this machine does not allow that (not root, or no unshare).
std::optional<test::CommandResult> in_mount_namespace(const std::string& script) {
  const auto probe = test::run_command("unshare -m sh -c 'mount -t tmpfs -o size=64k tmpfs /mnt'");
  if (probe.exit_code != 0) return std::nullopt;
  std::string quoted_script = "'";
  for (char c : script) quoted_script += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return test::run_command("unshare -m sh -c " + quoted_script + "'");
}

std::string files_in(const fs::path& dir) {
  std::string names;
  for (const auto& e : fs::directory_iterator(dir)) names += e.path().filename().string() + " ";
  return names;
}

// Item 5: an unwritable output used to fail only after the whole run (exit 70).
TEST(Output, UnwritableOutputFailsBeforeAnyWork) {
  const fs::path dir = test::scratch_dir("hardening-output-proc");
  // Not quiet: a "load" or "denoise" progress line before the error would make it two lines.
  expect_clean_error(cli() +
                         " generate --prompt x --width 64 --height 64 --frames 5 --steps 2 "
                         "--output /proc/x.mp4",
                     2, "cannot write to /proc");
}

TEST(Output, ReadOnlyMountFailsBeforeAnyWork) {
  const fs::path dir = test::scratch_dir("hardening-output-ro");
  fs::create_directories(dir / "ro");
  const auto r = in_mount_namespace("mount -t tmpfs -o ro,size=1m tmpfs " + quoted(dir / "ro") +
                                    " && { " + small_generate(dir / "ro") + " >/dev/null; }");
  if (!r) GTEST_SKIP() << "needs root to mount a private tmpfs (unshare -m)";
  EXPECT_EQ(r->exit_code, 2) << r->output;
  EXPECT_NE(r->output.find("Read-only file system"), std::string::npos) << r->output;
  EXPECT_EQ(count_lines(r->output), 1) << r->output;
}

// A full disk: exit 3 naming the fix (it was "internal error", exit 70), nothing left behind.
TEST(Output, FullDiskIsExit3WithTheFixAndLeavesNothing) {
  const fs::path dir = test::scratch_dir("hardening-output-full");
  const fs::path mnt = dir / "full";
  fs::create_directories(mnt);
  const auto r = in_mount_namespace(
      "mount -t tmpfs -o size=64k tmpfs " + quoted(mnt) +
      " && { dd if=/dev/zero of=" + quoted(mnt / "filler") + " bs=4096 2>/dev/null; " +
      small_generate(mnt) + " --quiet >/dev/null; echo \"exit=$?\"; ls -A " + quoted(mnt) + "; }");
  if (!r) GTEST_SKIP() << "needs root to mount a private tmpfs (unshare -m)";
  EXPECT_NE(r->output.find("exit=3"), std::string::npos) << r->output;
  EXPECT_NE(r->output.find("disk is full"), std::string::npos) << r->output;
  EXPECT_NE(r->output.find("free space there or choose another --output"), std::string::npos)
      << r->output;
  // Only the filler remains: no out.mp4, no out.json, no temporaries.
  const std::string listing = r->output.substr(r->output.find("exit=3") + 7);
  EXPECT_EQ(listing, "filler\n") << r->output;
}

// Item 7: room for the MP4 but not its sidecar. Before the fix the MP4 was renamed into place and
// then the sidecar failed (exit 3), leaving out.mp4 without out.json. The MP4's size varies by a
// few bytes between runs (timings in its metadata), so the free space is tried at the measured
// page count and one page either side: every run must end with both files or neither, and at
// least one must be the case of the issue (the MP4 written, the sidecar refused).
TEST(Output, Mp4AndSidecarLandTogetherOrNotAtAll) {
  const fs::path dir = test::scratch_dir("hardening-output-pair");
  // The same run on a roomy disk, with a path of the same length, tells the MP4's 4 KiB pages.
  fs::create_directories(dir / "roomy");
  auto r = test::run_command(small_generate(dir / "roomy") + " --quiet");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto pages = static_cast<int>((fs::file_size(dir / "roomy" / "out.mp4") + 4095) / 4096);
  const int filler_pages = 16;
  int sidecar_refused = 0;
  for (int free_pages = pages - 1; free_pages <= pages + 1; ++free_pages) {
    const fs::path mnt = dir / "tight";
    fs::create_directories(mnt);
    const auto result = in_mount_namespace(
        "mount -t tmpfs -o size=" + std::to_string((free_pages + filler_pages) * 4) + "k tmpfs " +
        quoted(mnt) + " && dd if=/dev/zero of=" + quoted(mnt / "filler") + " bs=4096 count=" +
        std::to_string(filler_pages) + " 2>/dev/null && { " + small_generate(mnt) +
        " --quiet >/dev/null; echo \"exit=$?\"; ls -A " + quoted(mnt) + "; }");
    if (!result) GTEST_SKIP() << "needs root to mount a private tmpfs (unshare -m)";
    const std::string& out = result->output;
    const bool both = out.find("exit=0\nfiller\nout.json\nout.mp4\n") != std::string::npos;
    const bool neither = out.find("exit=3\nfiller\n") != std::string::npos &&
                         out.substr(out.find("exit=3\nfiller\n") + 14).empty();
    EXPECT_TRUE(both || neither) << free_pages << " free pages:\n" << out;
    if (neither) {
      EXPECT_NE(out.find("disk is full"), std::string::npos) << out;
      if (out.find(".json failed") != std::string::npos) ++sidecar_refused;
    }
  }
  EXPECT_GE(sidecar_refused, 1) << "no run had room for the MP4 but not the sidecar";
}

// The same promise at the commit itself, deterministically: when the second rename fails (its
// target became a folder meanwhile), the first file is taken back.
TEST(Output, OutputSetTakesTheFirstFileBackWhenTheSecondCannotLand) {
  const fs::path dir = test::scratch_dir("hardening-output-set");
  io::OutputSet outputs({dir / "out.mp4", dir / "out.json"});
  io::write_file_contents(outputs.temp_path(0), "video");
  io::write_file_contents(outputs.temp_path(1), "sidecar");
  fs::create_directories(dir / "out.json" / "blocker");
  EXPECT_THROW(outputs.commit(), Error);
  EXPECT_FALSE(fs::exists(dir / "out.mp4"));
  fs::remove_all(dir / "out.json");
}

// Item 6: SIGINT, SIGTERM and SIGHUP remove the temporaries (they used to stay, MBs each), say so
// in one line, and the process still dies of the signal.
class Interrupt : public ::testing::TestWithParam<int> {};

TEST_P(Interrupt, RemovesTemporaryFilesAndSaysSo) {
  const int sig = GetParam();
  const fs::path dir = test::scratch_dir("hardening-interrupt-" + std::to_string(sig));
  const std::string cli_path = test::cli_path().string();
  const std::string output = (dir / "out.mp4").string();
  const std::string log = (dir.parent_path() / ("interrupt-" + std::to_string(sig) + ".log"));
  // Large enough to still be running when the signal arrives.
  std::vector<std::string> args = {cli_path,  "generate", "--prompt", "a cat",    "--width",
                                   "256",     "--height", "256",      "--frames", "33",
                                   "--steps", "50",       "--quiet",  "--output", output};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, log.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t defaults;  // the child starts with default handlers, as from a terminal
  sigemptyset(&defaults);
  for (int s : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&defaults, s);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  pid_t pid = 0;
  ASSERT_EQ(posix_spawn(&pid, cli_path.c_str(), &actions, &attr, argv.data(), environ), 0);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);

  // Wait for the temporaries (made right after planning), then a moment into the work.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  bool seen = false;
  while (!seen && std::chrono::steady_clock::now() < deadline) {
    for (const auto& e : fs::directory_iterator(dir))
      seen |= e.path().filename().string().find(".tmp-") != std::string::npos;
    if (!seen) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_TRUE(seen) << "no temporary file appeared";
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  ASSERT_EQ(::kill(pid, sig), 0);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == sig) << "status " << status;
  EXPECT_EQ(files_in(dir), "") << "left behind";
  std::ifstream in(log);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_NE(text.str().find("interrupted by SIG" + std::string(sigabbrev_np(sig)) +
                            "; removed 2 temporary files"),
            std::string::npos)
      << text.str();
  EXPECT_EQ(count_lines(text.str()), 1) << text.str();
}

INSTANTIATE_TEST_SUITE_P(Signals, Interrupt, ::testing::Values(SIGINT, SIGTERM, SIGHUP),
                         [](const auto& info) { return std::string(sigabbrev_np(info.param)); });

}  // namespace
}  // namespace rayvid::hardening
