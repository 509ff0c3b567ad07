// fuzz_file_input.h — for parsers that read a path: the fuzz input written to a file in
// /dev/shm (memory-backed), one per process, rewritten for every run.
#pragma once

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <fstream>
#include <string>

inline const std::string& fuzz_write_input(const uint8_t* data, size_t size, const char* suffix) {
  static const std::string path = "/dev/shm/llamapro-fuzz-" + std::to_string(getpid()) + suffix;
  std::ofstream(path, std::ios::binary | std::ios::trunc).write(reinterpret_cast<const char*>(data), std::streamsize(size));
  return path;
}
