// fixtures.h — where the conformance fixtures are, and running the CLI from tests.
#pragma once

#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <sys/wait.h>
#include <unistd.h>

namespace llamapro::testing {

// $LLAMAPRO_FIXTURES, or "" when unset.
inline std::string fixtures_dir() {
  const char* dir = std::getenv("LLAMAPRO_FIXTURES");
  return dir ? dir : "";
}

// Skips the test when the fixtures are absent, or fails it when LLAMAPRO_REQUIRE_FIXTURES is
// set (CI), so that conformance tests can never silently stop running there.
#define LP_REQUIRE_FIXTURES()                                                             \
  do {                                                                                    \
    if (::llamapro::testing::fixtures_dir().empty()) {                                     \
      if (std::getenv("LLAMAPRO_REQUIRE_FIXTURES")) FAIL() << "LLAMAPRO_FIXTURES not set"; \
      GTEST_SKIP() << "LLAMAPRO_FIXTURES not set";                                         \
    }                                                                                     \
  } while (0)

inline std::string fixture(const std::string& relative) {
  return fixtures_dir() + "/" + relative;
}

// A fresh empty directory under the system temp dir, removed when the object dies.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "llamapro-test-XXXXXX").string();
    if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }
  std::string str(const std::string& child = "") const {
    return child.empty() ? path_.string() : (path_ / child).string();
  }

 private:
  std::filesystem::path path_;
};

struct CliResult {
  int status = -1;  // exit status, or 128 + signal when killed by a signal
  std::string out;
  std::string err;
};

inline std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Runs a shell command line with stdin from /dev/null, collecting its stdout and stderr.
inline CliResult run_shell(const std::string& command) {
  TempDir tmp;
  int raw = std::system((command + " >" + tmp.str("out") + " 2>" + tmp.str("err") + " </dev/null").c_str());
  CliResult r;
  if (WIFEXITED(raw)) r.status = WEXITSTATUS(raw);
  else if (WIFSIGNALED(raw)) r.status = 128 + WTERMSIG(raw);
  r.out = read_text(tmp.str("out"));
  r.err = read_text(tmp.str("err"));
  return r;
}

// Runs the llamapro binary with a shell-quoted argument string, in `dir` when given, for at
// most 10 minutes (a hang shows as status 124).
inline CliResult run_cli_in(const std::string& dir, const std::string& args) {
  return run_shell((dir.empty() ? std::string() : "cd '" + dir + "' && ") + "timeout 600 " + std::string(LLAMAPRO_BIN) +
                   " " + args);
}

inline CliResult run_cli(const std::string& args) { return run_cli_in("", args); }

// A failed run by the rules of the house: exit 1, and one "error: " line on stderr.
inline ::testing::AssertionResult is_clean_error(const CliResult& r) {
  if (r.status != 1) return ::testing::AssertionFailure() << "status " << r.status << ", stderr: " << r.err;
  if (r.err.rfind("error: ", 0) != 0) return ::testing::AssertionFailure() << "stderr: " << r.err;
  return ::testing::AssertionSuccess();
}

}  // namespace llamapro::testing
