// node.h — npm reference packages for conformance tests: installed on first use with `npm ci`
// from the committed lock file, under a lock so tests running side by side do not collide.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <string>

namespace llamapro::testing {

// "" when node runs and DIR/MARKER exists (after `npm ci NPM_FLAGS` in DIR if needed), else why not.
inline std::string npm_packages_missing(const std::string& dir, const std::string& marker,
                                        const std::string& npm_flags = "") {
  if (std::system("node --version >/dev/null 2>&1") != 0) return "node is not installed";
  const std::string path = dir + "/" + marker;
  if (!std::filesystem::exists(path)) {
    const std::string cmd = "cd '" + dir + "' && flock .npm-install.lock sh -c '[ -f " + marker + " ] || npm ci " +
                            npm_flags + " --no-audit --no-fund' >/dev/null 2>&1";
    if (std::system(cmd.c_str()) != 0 || !std::filesystem::exists(path))
      return "the npm packages of " + dir + " are not installed and `npm ci` there failed";
  }
  return "";
}

}  // namespace llamapro::testing
