// flat_layout.h — how sharded training lays tensors out (ZeRO's flat buffers): a group of
// tensors end to end in one flat buffer, padded to a multiple of the world size and cut into
// equal slices, rank r owning [r * slice, (r + 1) * slice). The layout is saved with each
// checkpoint, so a run can resume under any other layout or world size.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

#include "model/transformer.h"
#include "util/json.h"

namespace llamapro {

// --shard: what each of N data-parallel ranks keeps whole and what it keeps 1/N of.
enum class ShardMode {
  None,        // everything whole on every rank
  Optimizer,   // masters and moments split (ZeRO-1)
  Gradients,   // ... and the reduced gradients (ZeRO-2)
  Parameters,  // ... and the blocks' weights, gathered a block at a time (ZeRO-3, FSDP)
};
ShardMode parse_shard_mode(const std::string& text);  // none, optimizer, gradients, parameters
const char* shard_mode_name(ShardMode mode);

struct FlatLayout {
  std::string name;                          // what its state is saved under
  std::vector<std::string> tensors;          // in order
  std::vector<std::vector<int64_t>> shapes;
  std::vector<int64_t> offsets;              // of each tensor in the flat buffer
  int64_t numel = 0;                         // without padding
  int64_t slice = 0;                         // per rank: ceil(numel / world)
  int world = 1;

  int64_t padded() const { return slice * world; }
  int64_t numel_of(size_t i) const { return c10::multiply_integers(shapes[i]); }  // tensor i's elements
  json to_json() const;  // name, world, slice, tensors as [name, numel] pairs
  static FlatLayout from_json(const json& j, const std::string& where);
};

FlatLayout make_layout(std::string name, const std::vector<NamedTensor>& tensors, int world);

// The tensors end to end in one zero-padded flat buffer of the layout's padded size.
torch::Tensor flatten_padded(const std::vector<torch::Tensor>& tensors, const FlatLayout& layout,
                             torch::ScalarType dtype);

}  // namespace llamapro
