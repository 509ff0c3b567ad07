// init.h — Hugging Face's weight initialisation without libtorch, streamed: linear weights
// ~ N(0, initializer_range), biases 0, RMSNorm weights 1. Used for random models and for
// --init random expansions; each tensor draws from its own stream, so results do not depend
// on write order.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "util/random.h"

namespace llamapro {

enum class InitKind { Normal, Ones, Zeros };

// The kind by name and rank: 2-D weights are normal, "*norm*" vectors ones, other vectors zeros.
InitKind init_kind(std::string_view name, size_t rank);

// A generator seeded for one tensor of one run.
Rng tensor_rng(uint64_t seed, std::string_view name);

void fill_init(InitKind kind, double std, Rng& rng, float* out, size_t n);

}  // namespace llamapro
