#include "model/init.h"

#include "util/hash.h"

namespace llamapro {

InitKind init_kind(std::string_view name, size_t rank) {
  if (rank >= 2) return InitKind::Normal;
  return name.find("norm") != std::string_view::npos ? InitKind::Ones : InitKind::Zeros;
}

Rng tensor_rng(uint64_t seed, std::string_view name) { return Rng(fnv1a(name, kFnvOffset ^ seed)); }

void fill_init(InitKind kind, double std, Rng& rng, float* out, size_t n) {
  switch (kind) {
    case InitKind::Normal:
      for (size_t i = 0; i < n; i++) out[i] = static_cast<float>(rng.normal() * std);
      break;
    case InitKind::Ones:
      for (size_t i = 0; i < n; i++) out[i] = 1.0f;
      break;
    case InitKind::Zeros:
      for (size_t i = 0; i < n; i++) out[i] = 0.0f;
      break;
  }
}

}  // namespace llamapro
