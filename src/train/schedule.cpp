#include "train/schedule.h"

#include <algorithm>
#include <cmath>

#include "util/check.h"

namespace llamapro {

double Schedule::lr_at(int64_t step) const {
  if (step < warmup_steps) return peak_lr * double(step + 1) / double(warmup_steps);
  if (kind == Kind::Constant) return peak_lr;
  const int64_t decay_steps = std::max<int64_t>(1, total_steps - warmup_steps);
  const double progress = std::clamp(double(step - warmup_steps) / double(decay_steps), 0.0, 1.0);
  const double shape = kind == Kind::Cosine ? 0.5 * (1.0 + std::cos(M_PI * progress)) : 1.0 - progress;
  return min_lr + (peak_lr - min_lr) * shape;
}

Schedule::Kind parse_schedule(const std::string& name) {
  if (name == "cosine") return Schedule::Kind::Cosine;
  if (name == "linear") return Schedule::Kind::Linear;
  if (name == "constant") return Schedule::Kind::Constant;
  LP_FAIL("unknown --schedule \"", name, "\" (expected cosine, linear or constant)");
}

std::string schedule_name(Schedule::Kind kind) {
  switch (kind) {
    case Schedule::Kind::Cosine: return "cosine";
    case Schedule::Kind::Linear: return "linear";
    case Schedule::Kind::Constant: return "constant";
  }
  return "?";
}

Warmup parse_warmup(const std::string& text) {
  Warmup w;
  w.text = text;
  try {
    size_t used = 0;
    w.value = std::stod(text, &used);
    LP_CHECK(used == text.size(), "");
  } catch (...) {
    LP_FAIL("--warmup: \"", text, "\" is not a number of steps (e.g. 100) or a fraction (e.g. 0.06)");
  }
  LP_CHECK(std::isfinite(w.value) && w.value >= 0, "--warmup: ", text, " must not be negative");
  w.fraction = w.value < 1.0 && text.find('.') != std::string::npos;
  LP_CHECK(w.fraction || w.value == std::floor(w.value), "--warmup: ", text,
           " is neither whole steps nor a fraction below 1");
  LP_CHECK(w.fraction || w.value <= 1e15, "--warmup: ", text, " steps is out of range");
  return w;
}

int64_t Warmup::steps(int64_t total_steps) const {
  return fraction ? static_cast<int64_t>(std::llround(value * double(total_steps))) : static_cast<int64_t>(value);
}

}  // namespace llamapro
