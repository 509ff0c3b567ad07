// check.h — the one way llamapro reports bad input and broken invariants.
//
// LP_CHECK(cond, parts...) throws llamapro::Error when cond is false; the parts are streamed
// into the message. The command line prints "error: <message>" and exits with status 1, so a
// message must say what was wrong, where, and what was expected, on one line.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace llamapro {

class Error : public std::runtime_error {
 public:
  Error(const std::string& message, const char* file = "", int line = 0)
      : std::runtime_error(message), file_(file), line_(line) {}
  const char* file() const { return file_; }  // where it was thrown, for debugging
  int line() const { return line_; }

 private:
  const char* file_;
  int line_;
};

namespace detail {
template <typename... Parts>
std::string concat(const Parts&... parts) {
  std::ostringstream os;
  (os << ... << parts);
  return os.str();
}
[[noreturn]] inline void throw_error(const char* file, int line, const std::string& message) {
  throw Error(message, file, line);
}
}  // namespace detail

}  // namespace llamapro

#define LP_FAIL(...) ::llamapro::detail::throw_error(__FILE__, __LINE__, ::llamapro::detail::concat(__VA_ARGS__))
#define LP_CHECK(cond, ...)      \
  do {                           \
    if (!(cond)) LP_FAIL(__VA_ARGS__); \
  } while (0)
