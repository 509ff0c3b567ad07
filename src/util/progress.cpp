#include "util/progress.h"

#include <unistd.h>

#include <cstdio>

#include "util/strings.h"

namespace llamapro {

using clock_type = std::chrono::steady_clock;

Progress::Progress(std::string label, uint64_t total, std::string unit)
    : label_(std::move(label)), unit_(std::move(unit)), total_(total), tty_(isatty(STDERR_FILENO)),
      start_(clock_type::now()), last_draw_(start_) {}

Progress::~Progress() {
  if (!finished_ && tty_ && done_ > 0) std::fputc('\n', stderr);
}

double Progress::elapsed_seconds() const {
  return std::chrono::duration<double>(clock_type::now() - start_).count();
}

void Progress::update(uint64_t done, const std::string& note) {
  done_ = done;
  auto now = clock_type::now();
  double since = std::chrono::duration<double>(now - last_draw_).count();
  if (since < (tty_ ? 0.1 : 10.0)) return;
  last_draw_ = now;
  draw(false, note);
}

void Progress::finish(const std::string& note) {
  if (finished_) return;
  finished_ = true;
  draw(true, note);
}

void Progress::draw(bool final, const std::string& note) {
  double secs = elapsed_seconds();
  double rate = secs > 0 ? done_ / secs : 0;
  auto amount = [&](double v) { return unit_ == "B" ? format_bytes(uint64_t(v)) : format_count(v) + " " + unit_; };
  std::string line = label_ + " ";
  if (total_ > 0) {
    double frac = std::min(1.0, double(done_) / double(total_));
    if (tty_) {
      const int width = 24;
      int fill = int(frac * width);
      line += "[" + std::string(fill, '#') + std::string(width - fill, '.') + "] ";
    }
    char pct[16];
    std::snprintf(pct, sizeof pct, "%5.1f%% ", 100 * frac);
    line += pct + amount(double(done_)) + "/" + amount(double(total_));
  } else {
    line += amount(double(done_));
  }
  line += "  " + amount(rate) + "/s";
  if (!final && total_ > 0 && rate > 0) line += "  ETA " + format_duration((total_ - done_) / rate);
  if (final) line += "  in " + format_duration(secs);
  if (!note.empty()) line += "  " + note;
  if (tty_) std::fprintf(stderr, "\r\033[K%s%s", line.c_str(), final ? "\n" : "");
  else std::fprintf(stderr, "%s\n", line.c_str());
  std::fflush(stderr);
}

}  // namespace llamapro
