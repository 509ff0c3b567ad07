// input_files.h — the corpus files named on the command line: paths, directories (walked
// recursively) and globs expanded in a fixed order, and read through zlib so that .gz files
// and plain files look the same.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace llamapro {

struct InputFile {
  std::filesystem::path path;
  uint64_t bytes = 0;   // on disk (compressed size for .gz)
  bool json_lines = false;  // .jsonl / .json / .ndjson, before an optional .gz
};

// Arguments in order; a directory gives its regular files sorted by path (hidden ones
// skipped), a glob its matches sorted. Error for anything missing or matching nothing.
std::vector<InputFile> expand_inputs(const std::vector<std::string>& inputs);

// Sequential reading of one input, decompressing .gz transparently.
class InputReader {
 public:
  explicit InputReader(const std::filesystem::path& path);
  ~InputReader();
  InputReader(const InputReader&) = delete;
  InputReader& operator=(const InputReader&) = delete;

  // Appends the next line without its "\n" (and "\r"); false at the end of the file.
  bool read_line(std::string& line);
  // Appends everything that is left.
  void read_all(std::string& out);
  uint64_t position() const;  // bytes of the file consumed (compressed bytes for .gz)

 private:
  bool fill();
  std::filesystem::path path_;
  void* gz_ = nullptr;  // gzFile
  std::vector<char> buf_;
  size_t begin_ = 0, end_ = 0;
  bool eof_ = false;
};

}  // namespace llamapro
