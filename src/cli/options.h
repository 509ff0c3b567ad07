// options.h — range checks for command-line options, applied where the option is parsed, so a
// bad value is refused before any work with the flag's name and what was given:
//   error: --betas: 2 is not in [0, 1)
#pragma once

#include <CLI/CLI.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <string>

namespace llamapro::cli {

struct Bound {
  double value;
  bool open;  // excluded
};
inline Bound incl(double v) { return {v, false}; }
inline Bound excl(double v) { return {v, true}; }
inline constexpr double kInf = std::numeric_limits<double>::infinity();

// "[lo, hi)", "(0, inf)" ...
inline std::string range_text(Bound lo, Bound hi) {
  auto num = [](double v) {
    if (std::isinf(v)) return std::string(v > 0 ? "inf" : "-inf");
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.15g", v);
    return std::string(buf);
  };
  return std::string(lo.open ? "(" : "[") + num(lo.value) + ", " + num(hi.value) + (hi.open ? ")" : "]");
}

// True when `text` is a finite number inside the bounds; `why` says what is wrong otherwise.
inline bool check_in(const std::string& text, Bound lo, Bound hi, std::string& why) {
  double v = 0;
  size_t used = 0;
  try {
    v = std::stod(text, &used);
  } catch (...) {
    used = 0;
  }
  if (used == 0 || used != text.size() || std::isnan(v)) {
    why = "\"" + text + "\" is not a number";
    return false;
  }
  const bool ok = (lo.open ? v > lo.value : v >= lo.value) && (hi.open ? v < hi.value : v <= hi.value);
  if (!ok) why = text + " is not in " + range_text(lo, hi);
  return ok;
}

// A validator for numeric options (integers and reals alike).
inline CLI::Validator in(Bound lo, Bound hi) {
  return CLI::Validator(
      [lo, hi](std::string& text) {
        std::string why;
        return check_in(text, lo, hi, why) ? std::string() : why;
      },
      range_text(lo, hi));
}

inline CLI::Validator positive() { return in(excl(0), excl(kInf)); }
inline CLI::Validator non_negative() { return in(incl(0), excl(kInf)); }
inline CLI::Validator at_least(double lo) { return in(incl(lo), excl(kInf)); }
// Whole numbers up to `hi` (counts of steps, batches, threads ...).
inline CLI::Validator count(double lo, double hi) { return in(incl(lo), incl(hi)); }

// Seeds: whole numbers from 0 to 2^64 - 1 (a negative one would wrap around in an unsigned
// seed, a larger one saturate).
inline CLI::Validator seed_value() {
  return CLI::Validator(
      [](std::string& text) {
        const bool digits = !text.empty() && text.find_first_not_of("0123456789") == std::string::npos;
        if (!digits) return "\"" + text + "\" is not a seed (a whole number from 0)";
        const std::string max = "18446744073709551615";
        const size_t first = std::min(text.find_first_not_of('0'), text.size() - 1);
        const std::string value = text.substr(first);
        const bool fits = value.size() < max.size() || (value.size() == max.size() && value <= max);
        return fits ? std::string() : text + " is not a seed: seeds go up to " + max + " (2^64 - 1)";
      },
      "SEED");
}

// A validator for an option whose empty value would silently mean its default: "the WHAT is empty".
inline CLI::Validator non_empty(const std::string& what, const std::string& name = "TEXT") {
  return CLI::Validator(
      [what](std::string& text) { return text.empty() ? "the " + what + " is empty" : std::string(); }, name);
}

// A validator for a path option: not empty.
inline CLI::Validator non_empty_path() { return non_empty("path", "PATH"); }

}  // namespace llamapro::cli
