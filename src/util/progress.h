// progress.h — progress of long work on stderr: a redrawn bar with rate and ETA on a
// terminal, a plain line every few seconds otherwise (logs, CI).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace llamapro {

class Progress {
 public:
  // total = 0 when unknown; unit names what is counted ("B" formats as bytes).
  Progress(std::string label, uint64_t total, std::string unit);
  ~Progress();

  void update(uint64_t done, const std::string& note = "");  // absolute position
  void finish(const std::string& note = "");                 // final line, once
  double elapsed_seconds() const;

 private:
  void draw(bool final, const std::string& note);
  std::string label_, unit_;
  uint64_t total_, done_ = 0;
  bool tty_, finished_ = false;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

}  // namespace llamapro
