// summary.cpp — see summary.h.
#include "model/summary.h"

#include <map>
#include <string>

#include "model/tensor_names.h"

namespace llamapro {

int64_t parameter_count(const ModelConfig& c, const Checkpoint& ck) {
  int64_t n = 0;
  for (const auto& e : model_tensors(c)) n += ck.tensor(e.name).info->numel();
  return n;
}

namespace {
uint64_t weight_file_bytes(const Checkpoint& ck) {
  uint64_t n = 0;
  for (const auto& s : ck.shards()) n += s->mapping().size();
  return n;
}
}  // namespace

json layer_table(const ModelConfig& c, const Checkpoint& ck, const Manifest* manifest) {
  json rows = json::array();
  for (int64_t l = 0; l < c.num_hidden_layers; l++) {
    int64_t params = 0;
    std::map<std::string, int> dtypes;
    for (const auto& e : block_tensors(c, l)) {
      const TensorInfo& t = *ck.tensor(e.name).info;
      params += t.numel();
      dtypes[std::string(dtype_name(t.dtype))]++;
    }
    json row = {{"index", l}, {"parameters", params}};
    std::string dt;
    for (const auto& [d, count] : dtypes) dt += (dt.empty() ? "" : "+") + d;
    row["dtype"] = dt;
    if (manifest) {
      const BlockRecord& b = manifest->blocks.at(static_cast<size_t>(l));
      row["origin"] = b.origin;
      row["source"] = b.source;
      row["init"] = b.init;
    }
    rows.push_back(row);
  }
  return rows;
}

json model_summary(const ModelConfig& c, const Checkpoint& ck, const Manifest* manifest) {
  std::map<std::string, int64_t> dtypes;
  for (const auto& name : ck.names()) dtypes[std::string(dtype_name(ck.tensor(name).info->dtype))]++;
  json shards = json::array();
  for (const auto& s : ck.shards()) shards.push_back(s->path().filename().string());
  json rope = {{"theta", c.rope_theta}, {"scaling", c.rope_scaling.kind_name()}};
  if (c.rope_scaling.kind != RopeScaling::Kind::None) rope["factor"] = c.rope_scaling.factor;
  if (c.rope_scaling.kind == RopeScaling::Kind::Llama3) {
    rope["low_freq_factor"] = c.rope_scaling.low_freq_factor;
    rope["high_freq_factor"] = c.rope_scaling.high_freq_factor;
    rope["original_max_position_embeddings"] = c.rope_scaling.original_max_position_embeddings;
  }
  json j = {
      {"path", ck.dir().string()},
      {"architecture", c.architecture},
      {"model_type", c.model_type},
      {"parameters", parameter_count(c, ck)},
      {"layers", c.num_hidden_layers},
      {"hidden_size", c.hidden_size},
      {"intermediate_size", c.intermediate_size},
      {"attention_heads", c.num_attention_heads},
      {"kv_heads", c.num_key_value_heads},
      {"head_dim", c.head_dim},
      {"vocab_size", c.vocab_size},
      {"max_position_embeddings", c.max_position_embeddings},
      {"rms_norm_eps", c.rms_norm_eps},
      {"rope", rope},
      {"tie_word_embeddings", c.tie_word_embeddings},
      {"biases", {{"qkv", c.qkv_bias}, {"o", c.o_bias}, {"mlp", c.mlp_bias}}},
      {"torch_dtype", c.torch_dtype},
      {"tensor_dtypes", dtypes},
      {"tensor_bytes", ck.tensor_bytes()},
      {"size_on_disk", weight_file_bytes(ck)},
      {"shards", shards},
  };
  if (c.sliding_window) j["sliding_window"] = *c.sliding_window;
  if (manifest) {
    json m = manifest->to_json();
    j["stages"] = m["stages"];
    j["training"] = m["training"];
  }
  return j;
}

}  // namespace llamapro
