// workspace.h — a folder of real inputs made by llamapro itself (no fixtures needed): a model,
// its expansion, prepared data, text, ids, links, a foreign folder and a FIFO. Reliability tests
// run commands inside it and check that nothing in it changed: every failed command must leave
// each input byte-identical and no stage, lock or partial file behind.
#pragma once

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "common/fixtures.h"
#include "util/hash.h"

namespace llamapro::testing {

class Workspace {
 public:
  Workspace() {
    auto ok = [](const CliResult& r) { EXPECT_EQ(r.status, 0) << r.err; };
    ok(run("init -o m --preset tiny --no-progress"));
    ok(run("expand m -o x --add 1 --no-progress"));
    write("a.txt", text(300));
    ok(run("data prepare --tokenizer m --input a.txt --split-lines -o d --val-fraction 0.2 --no-progress"));
    write("ids.json", "[[1, 2, 3, 4], [5, 6, 7, 8]]");
    std::filesystem::create_directories(path("par/corp"));
    write("par/corp/a.txt", text(5));
    std::filesystem::create_directories(path("par2"));
    std::filesystem::copy(path("m"), path("par2/base"));
    std::filesystem::create_directory_symlink("m", path("mlink"));
    std::filesystem::create_directories(path("foreign"));
    write("foreign/notes.txt", "somebody's notes\n");
    std::filesystem::create_directories(path("adir"));
    write("adir/f", "x");
    write("existing.bin", "keep me");
    std::filesystem::copy(path("m"), path("badeps"));
    std::string config = read_text(path("m/config.json"));
    config.replace(config.find("\"rms_norm_eps\""), std::string("\"rms_norm_eps\": 1e-05").size(), "\"rms_norm_eps\": -1");
    write("badeps/config.json", config);
    write("badeps.json", config);
    std::filesystem::create_directories(path("fifo-model"));
    std::filesystem::copy_file(path("m/config.json"), path("fifo-model/config.json"));
    mkfifo(path("fifo-model/model.safetensors").c_str(), 0644);
  }

  std::string path(const std::string& rel = "") const { return rel.empty() ? dir_.str() : dir_.str(rel); }

  // Runs llamapro inside the workspace (relative paths), with a time limit: a hang fails.
  CliResult run(const std::string& args) const {
    return run_cli_in(dir_.str(), args);
  }

  // Every entry under the workspace: type, link target or size and content hash.
  std::map<std::string, std::string> snapshot() const {
    std::map<std::string, std::string> out;
    namespace fs = std::filesystem;
    for (auto it = fs::recursive_directory_iterator(dir_.path()); it != fs::recursive_directory_iterator(); ++it) {
      const fs::path rel = fs::relative(it->path(), dir_.path());
      const auto st = it->symlink_status();
      if (fs::is_symlink(st)) out[rel] = "link " + fs::read_symlink(it->path()).string();
      else if (fs::is_directory(st)) out[rel] = "dir";
      else if (fs::is_regular_file(st)) out[rel] = hex64(fnv1a(read_text(it->path().string())));
      else out[rel] = "special";
      if (fs::is_symlink(st)) it.disable_recursion_pending();
    }
    return out;
  }

  // A deterministic English-like text of `lines` lines.
  static std::string text(int lines, uint64_t seed = 7) {
    const char* words[] = {"the", "cat", "sat", "on", "a", "mat", "and", "dog", "ran", "to", "park", "with", "ball"};
    std::string s;
    for (int line = 0; line < lines; line++)
      for (int w = 0; w < 12; w++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        s += std::string(words[(seed >> 33) % 13]) + (w == 11 ? ".\n" : " ");
      }
    return s;
  }

  void write(const std::string& rel, const std::string& bytes) const {
    std::ofstream(path(rel), std::ios::binary) << bytes;
  }

 private:
  TempDir dir_;
};

// stderr is one line, "error: ..." (notes and warnings before it allowed), and the status 1.
inline ::testing::AssertionResult is_one_error_line(const CliResult& r) {
  if (r.status != 1) return ::testing::AssertionFailure() << "status " << r.status << ", stderr: " << r.err;
  std::string last;
  int errors = 0;
  std::istringstream lines(r.err);
  for (std::string line; std::getline(lines, line);) {
    if (line.empty() || line.rfind("warning: ", 0) == 0 || line.rfind("note: ", 0) == 0) continue;
    errors++;
    last = line;
  }
  if (errors != 1 || last.rfind("error: ", 0) != 0)
    return ::testing::AssertionFailure() << "expected one error line, stderr: " << r.err;
  return ::testing::AssertionSuccess();
}

struct BadCase {
  std::string args;  // run inside the workspace
  std::string says;  // a part of the error line
};

// Runs each case in one workspace: one error line naming the problem, status 1, and every
// entry of the workspace as it was (no output, no stage, no lock).
inline void expect_refused(const std::vector<BadCase>& cases, const std::function<void(Workspace&)>& setup = {}) {
  Workspace ws;
  if (setup) setup(ws);
  const auto before = ws.snapshot();
  for (const auto& c : cases) {
    SCOPED_TRACE(c.args);
    CliResult r = ws.run(c.args);
    EXPECT_TRUE(is_one_error_line(r));
    EXPECT_NE(r.err.find(c.says), std::string::npos) << "expected \"" << c.says << "\" in: " << r.err;
    EXPECT_EQ(ws.snapshot(), before) << "the workspace changed";
  }
}

}  // namespace llamapro::testing
