// summary.cpp — see summary.h.
#include "model/summary.h"

#include <cstdarg>
#include <cstdio>
#include <map>
#include <string>

#include "model/tensor_names.h"
#include "util/files.h"
#include "util/strings.h"

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

namespace {

// printf onto the end of a string, of any length.
void appendf(std::string& out, const char* format, ...) {
  va_list args, again;
  va_start(args, format);
  va_copy(again, args);
  const int n = std::vsnprintf(nullptr, 0, format, args);
  va_end(args);
  if (n > 0) {
    const size_t at = out.size();
    out.resize(at + size_t(n) + 1);
    std::vsnprintf(out.data() + at, size_t(n) + 1, format, again);
    out.resize(at + size_t(n));
  }
  va_end(again);
}

// A training record's data: a folder (older manifests) or a list of {path, weight}, as
// "domain (0.9), general (0.1)".
std::string training_data_text(const json& run) {
  const json data = run.contains("data") ? run["data"] : json();
  if (data.is_string()) return data.get<std::string>();
  std::string text;
  if (data.is_array())
    for (const json& source : data) {
      if (!source.is_object() || !source.contains("path") || !source["path"].is_string()) continue;
      text += (text.empty() ? "" : ", ") + folder_name(source["path"].get<std::string>());
      if (data.size() > 1 && source.contains("weight") && source["weight"].is_number()) {
        char weight[32];
        std::snprintf(weight, sizeof weight, " (%.3g)", source["weight"].get<double>());
        text += weight;
      }
    }
  return text.empty() ? "unrecorded data" : text;
}

}  // namespace

std::string summary_text(const json& s, const json* layers, const Manifest* manifest) {
  std::string out;
  auto line = [&](const char* key, const std::string& value) { appendf(out, "%-14s %s\n", key, value.c_str()); };
  const json& rope = s["rope"];
  line("model", s["path"].get<std::string>());
  line("architecture", s["architecture"].get<std::string>() + " (" + s["model_type"].get<std::string>() + ")");
  int64_t params = s["parameters"];
  line("parameters", format_thousands(params) + " (" + format_count(double(params)) + ")");
  line("layers", std::to_string(s["layers"].get<int64_t>()));
  line("hidden size", std::to_string(s["hidden_size"].get<int64_t>()));
  line("mlp size", std::to_string(s["intermediate_size"].get<int64_t>()));
  int64_t nh = s["attention_heads"], nkv = s["kv_heads"];
  std::string attn = std::to_string(nh) + " heads, " + std::to_string(nkv) + " KV heads";
  attn += nh == nkv ? " (MHA)" : nkv == 1 ? " (MQA)" : " (GQA " + std::to_string(nh / nkv) + ":1)";
  line("attention", attn + ", head_dim " + std::to_string(s["head_dim"].get<int64_t>()));
  line("vocab", std::to_string(s["vocab_size"].get<int64_t>()));
  line("positions", std::to_string(s["max_position_embeddings"].get<int64_t>()) +
                        (s.contains("sliding_window") ? ", sliding window " + std::to_string(s["sliding_window"].get<int64_t>()) : ""));
  char buf[160];
  std::snprintf(buf, sizeof buf, "theta %g, scaling %s", rope["theta"].get<double>(), rope["scaling"].get<std::string>().c_str());
  std::string rope_text = buf;
  if (rope.contains("factor")) {
    std::snprintf(buf, sizeof buf, " (factor %g", rope["factor"].get<double>());
    rope_text += buf;
    if (rope.contains("low_freq_factor")) {
      std::snprintf(buf, sizeof buf, ", low %g, high %g, original %lld", rope["low_freq_factor"].get<double>(),
                    rope["high_freq_factor"].get<double>(), (long long)rope["original_max_position_embeddings"].get<int64_t>());
      rope_text += buf;
    }
    rope_text += ")";
  }
  line("rope", rope_text);
  std::snprintf(buf, sizeof buf, "%g", s["rms_norm_eps"].get<double>());
  line("rms norm eps", buf);
  line("tied embed", s["tie_word_embeddings"].get<bool>() ? "yes" : "no");
  std::string biases;
  for (const char* k : {"qkv", "o", "mlp"})
    if (s["biases"][k].get<bool>()) biases += std::string(biases.empty() ? "" : ", ") + k;
  line("biases", biases.empty() ? "none" : biases);
  std::string dts;
  for (const auto& [d, n] : s["tensor_dtypes"].items()) dts += (dts.empty() ? "" : ", ") + d + " x" + std::to_string(n.get<int64_t>());
  line("dtype", s["torch_dtype"].get<std::string>() + " (tensors: " + dts + ")");
  size_t nshards = s["shards"].size();
  line("files", std::to_string(nshards) + (nshards == 1 ? " safetensors file, " : " safetensors shards, ") +
                    format_bytes(s["size_on_disk"].get<uint64_t>()) + " on disk");
  if (manifest) {
    for (const auto& st : manifest->stages) {
      line("stage", st.name + ": added blocks " + join_numbers(st.positions) + (st.trained_tokens ? ", trained on " + format_count(double(st.trained_tokens)) + " tokens" : ""));
    }
    for (const auto& run : manifest->training) {
      std::string text = format_count(double(run.value("tokens", int64_t(0)))) + " tokens, " +
                         std::to_string(run.value("steps", int64_t(0))) + " steps of " + run.value("trainable", std::string()) +
                         " on " + training_data_text(run);
      if (run.contains("final_eval_loss") && run["final_eval_loss"].is_number()) {
        char loss[48];
        std::snprintf(loss, sizeof loss, ", validation loss %.4f", run["final_eval_loss"].get<double>());
        text += loss;
      }
      line("trained", text);
    }
  }
  if (layers) {
    appendf(out, "\n%5s  %12s  %-9s%s\n", "layer", "parameters", "dtype", manifest ? "  origin      source  init" : "");
    for (const auto& r : *layers) {
      appendf(out, "%5lld  %12s  %-9s", (long long)r["index"].get<int64_t>(),
                  format_thousands(r["parameters"].get<int64_t>()).c_str(), r["dtype"].get<std::string>().c_str());
      if (r.contains("origin")) {
        int64_t src = r["source"];
        appendf(out, "  %-10s  %6s  %s", r["origin"].get<std::string>().c_str(), src < 0 ? "-" : std::to_string(src).c_str(),
                    r["init"].get<std::string>().c_str());
      }
      appendf(out, "\n");
    }
  }
  return out;
}

}  // namespace llamapro
