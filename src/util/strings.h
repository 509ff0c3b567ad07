// strings.h — small text helpers shared by the command line and the file formats.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace llamapro {

std::vector<std::string> split(std::string_view text, char sep);
// {"a", "b"} -> "a,b" with sep ",".
std::string join(const std::vector<std::string>& parts, std::string_view sep);

// {3, 7, 11} -> "3,7,11" (any container of integers: block positions, indices).
template <typename Integers>
std::string join_numbers(const Integers& values) {
  std::string s;
  for (const auto v : values) s += (s.empty() ? "" : ",") + std::to_string(v);
  return s;
}

// "3,7,11" -> {3, 7, 11}; clear error naming `what` for anything that is not an integer list.
std::vector<int64_t> parse_int_list(std::string_view text, std::string_view what);

// Parses an integer, whole string or error naming `what`.
int64_t parse_int(std::string_view text, std::string_view what);

// "5GB", "500MB", "2GiB", "1000" -> bytes (decimal units as Hugging Face uses, binary with i).
uint64_t parse_size(std::string_view text);

// 1234567890 -> "1.23 GB"; 123 -> "123 B".
std::string format_bytes(uint64_t bytes);

// 6738415616 -> "6,738,415,616".
std::string format_thousands(uint64_t n);

// 6738415616 -> "6.74B", 260000 -> "260K".
std::string format_count(double n);

// Seconds as "1h02m", "3m05s", "12.3s".
std::string format_duration(double seconds);

// Without leading and trailing spaces, tabs and line breaks.
std::string trim(std::string_view s);

bool starts_with(std::string_view s, std::string_view prefix);
bool ends_with(std::string_view s, std::string_view suffix);

}  // namespace llamapro
