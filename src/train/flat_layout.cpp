#include "train/flat_layout.h"

#include "util/check.h"

namespace llamapro {

ShardMode parse_shard_mode(const std::string& text) {
  if (text == "none") return ShardMode::None;
  if (text == "optimizer") return ShardMode::Optimizer;
  if (text == "gradients") return ShardMode::Gradients;
  if (text == "parameters") return ShardMode::Parameters;
  LP_FAIL("--shard: expected none, optimizer, gradients or parameters, got \"", text, "\"");
}

const char* shard_mode_name(ShardMode mode) {
  switch (mode) {
    case ShardMode::None: return "none";
    case ShardMode::Optimizer: return "optimizer";
    case ShardMode::Gradients: return "gradients";
    case ShardMode::Parameters: return "parameters";
  }
  return "?";
}

json FlatLayout::to_json() const {
  json list = json::array();
  for (size_t i = 0; i < tensors.size(); i++) list.push_back({tensors[i], numel_of(i)});
  return {{"name", name}, {"world", world}, {"slice", slice}, {"tensors", list}};
}

FlatLayout FlatLayout::from_json(const json& j, const std::string& where) {
  FlatLayout l;
  l.name = json_get<std::string>(j, "name", where);
  l.world = json_get<int>(j, "world", where);
  l.slice = json_get<int64_t>(j, "slice", where);
  for (const json& t : json_get<json>(j, "tensors", where)) {
    LP_CHECK(t.is_array() && t.size() == 2, where, ": a layout tensor is not a [name, numel] pair");
    l.tensors.push_back(t[0].get<std::string>());
    l.shapes.push_back({t[1].get<int64_t>()});
    l.offsets.push_back(l.numel);
    l.numel += t[1].get<int64_t>();
  }
  LP_CHECK(l.world >= 1 && l.slice * l.world >= l.numel, where, ": layout \"", l.name, "\" does not add up");
  return l;
}

FlatLayout make_layout(std::string name, const std::vector<NamedTensor>& tensors, int world) {
  FlatLayout l;
  l.name = std::move(name);
  l.world = world;
  for (const NamedTensor& t : tensors) {
    l.tensors.push_back(t.name);
    l.shapes.push_back(t.tensor.sizes().vec());
    l.offsets.push_back(l.numel);
    l.numel += t.tensor.numel();
  }
  l.slice = (l.numel + world - 1) / world;
  return l;
}

torch::Tensor flatten_padded(const std::vector<torch::Tensor>& tensors, const FlatLayout& layout,
                             torch::ScalarType dtype) {
  LP_CHECK(tensors.size() == layout.tensors.size(), "internal: ", tensors.size(), " tensors for layout ", layout.name);
  torch::NoGradGuard no_grad;
  torch::Tensor flat = torch::zeros({layout.padded()}, torch::TensorOptions().dtype(dtype).device(
                                                            tensors.empty() ? torch::kCPU : tensors[0].device()));
  for (size_t i = 0; i < tensors.size(); i++)
    if (tensors[i].defined()) flat.narrow(0, layout.offsets[i], tensors[i].numel()).copy_(tensors[i].reshape({-1}));
  return flat;
}

}  // namespace llamapro
