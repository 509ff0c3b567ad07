// schedule.h — the learning-rate schedule: linear warmup, then cosine, linear or constant
// down to a floor.
#pragma once

#include <cstdint>
#include <string>

namespace llamapro {

struct Schedule {
  enum class Kind { Cosine, Linear, Constant };
  Kind kind = Kind::Cosine;
  double peak_lr = 2e-4;
  double min_lr = 0.0;
  int64_t warmup_steps = 0;
  int64_t total_steps = 1;

  // The lr for the update with 0-based index `step`: warmup ramps (step+1)/warmup, so the
  // first update already moves; then the decay runs from peak at the end of warmup towards
  // min_lr, which it would reach one step after the last (as transformers' schedules do).
  double lr_at(int64_t step) const;
};

Schedule::Kind parse_schedule(const std::string& name);
std::string schedule_name(Schedule::Kind kind);

// "--warmup 100" (steps) or "--warmup 0.06" (a fraction of the total steps).
struct Warmup {
  std::string text = "0";  // as given, for the run's identity
  double value = 0;
  bool fraction = false;
  int64_t steps(int64_t total_steps) const;
};
Warmup parse_warmup(const std::string& text);

}  // namespace llamapro
