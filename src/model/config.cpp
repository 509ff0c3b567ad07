#include "model/config.h"

#include <cmath>

#include <array>

#include "util/check.h"

namespace llamapro {

namespace {
struct Architecture {
  const char* hf_class;
  const char* model_type;
  bool qkv_bias;  // q/k/v biases are built in, whatever attention_bias says
};
constexpr std::array<Architecture, 3> kArchitectures = {{
    {"LlamaForCausalLM", "llama", false},
    {"MistralForCausalLM", "mistral", false},
    {"Qwen2ForCausalLM", "qwen2", true},
}};

const Architecture& find_architecture(const json& j, const std::string& where) {
  std::string cls, type = json_get_or<std::string>(j, "model_type", "", where);
  if (j.contains("architectures") && j["architectures"].is_array() && !j["architectures"].empty() &&
      j["architectures"][0].is_string())
    cls = j["architectures"][0].get<std::string>();
  for (const auto& a : kArchitectures)
    if ((!cls.empty() && cls == a.hf_class) || (cls.empty() && type == a.model_type)) return a;
  LP_FAIL(where, ": unsupported architecture \"", cls.empty() ? type : cls, "\" (supported: ",
          supported_architectures(), ")");
}

// rope settings live in "rope_scaling" (+ top-level "rope_theta") in most hub configs and in
// "rope_parameters" in newer ones; both spell the kind as "rope_type" or the older "type".
void parse_rope(const json& j, ModelConfig& c, const std::string& where) {
  const json* params = nullptr;
  if (j.contains("rope_parameters") && j["rope_parameters"].is_object()) params = &j["rope_parameters"];
  else if (j.contains("rope_scaling") && j["rope_scaling"].is_object()) params = &j["rope_scaling"];
  c.rope_theta = json_get_or<double>(j, "rope_theta", 10000.0, where);
  if (!params) return;
  const std::string at = where + " rope settings";
  c.rope_theta = json_get_or<double>(*params, "rope_theta", c.rope_theta, at);
  std::string kind = json_get_or<std::string>(*params, "rope_type", "", at);
  if (kind.empty()) kind = json_get_or<std::string>(*params, "type", "default", at);
  auto& s = c.rope_scaling;
  if (kind == "default") {
    s.kind = RopeScaling::Kind::None;
  } else if (kind == "linear") {
    s.kind = RopeScaling::Kind::Linear;
    s.factor = json_get<double>(*params, "factor", at);
  } else if (kind == "llama3") {
    s.kind = RopeScaling::Kind::Llama3;
    s.factor = json_get<double>(*params, "factor", at);
    s.low_freq_factor = json_get<double>(*params, "low_freq_factor", at);
    s.high_freq_factor = json_get<double>(*params, "high_freq_factor", at);
    s.original_max_position_embeddings = json_get<int64_t>(*params, "original_max_position_embeddings", at);
    LP_CHECK(s.high_freq_factor > s.low_freq_factor, at, ": high_freq_factor must exceed low_freq_factor");
  } else {
    LP_FAIL(at, ": unsupported rope type \"", kind, "\" (supported: default, linear, llama3)");
  }
  LP_CHECK(s.factor > 0, at, ": factor must be positive");
}
}  // namespace

std::string RopeScaling::kind_name() const {
  switch (kind) {
    case Kind::None: return "none";
    case Kind::Linear: return "linear";
    case Kind::Llama3: return "llama3";
  }
  return "?";
}

std::string supported_architectures() {
  std::string s;
  for (const auto& a : kArchitectures) s += std::string(s.empty() ? "" : ", ") + a.hf_class;
  return s;
}

ModelConfig ModelConfig::from_json(const json& j, const std::string& where) {
  LP_CHECK(j.is_object(), where, ": expected a JSON object");
  ModelConfig c;
  c.raw = j;
  const Architecture& arch = find_architecture(j, where);
  c.architecture = arch.hf_class;
  c.model_type = arch.model_type;

  c.hidden_size = json_get<int64_t>(j, "hidden_size", where);
  c.num_hidden_layers = json_get<int64_t>(j, "num_hidden_layers", where);
  c.num_attention_heads = json_get<int64_t>(j, "num_attention_heads", where);
  c.intermediate_size = json_get<int64_t>(j, "intermediate_size", where);
  c.vocab_size = json_get<int64_t>(j, "vocab_size", where);
  LP_CHECK(c.hidden_size > 0 && c.num_hidden_layers > 0 && c.num_attention_heads > 0 && c.intermediate_size > 0 &&
               c.vocab_size > 0,
           where, ": hidden_size, num_hidden_layers, num_attention_heads, intermediate_size and vocab_size must be positive");
  c.num_key_value_heads = json_get_or<int64_t>(j, "num_key_value_heads", c.num_attention_heads, where);
  LP_CHECK(c.num_key_value_heads > 0 && c.num_attention_heads % c.num_key_value_heads == 0, where,
           ": num_attention_heads (", c.num_attention_heads, ") must be a multiple of num_key_value_heads (",
           c.num_key_value_heads, ")");
  c.head_dim = json_get_or<int64_t>(j, "head_dim", c.hidden_size / c.num_attention_heads, where);
  LP_CHECK(c.head_dim > 0 && c.head_dim % 2 == 0, where, ": head_dim must be a positive even number, got ", c.head_dim);
  // Far above any real model, and low enough that products of two sizes (V*C, NH*HD) fit int64
  // and that the tensor table of a hostile config stays small.
  constexpr int64_t kMaxSize = int64_t(1) << 24, kMaxLayers = int64_t(1) << 16;
  LP_CHECK(c.num_hidden_layers <= kMaxLayers, where, ": num_hidden_layers ", c.num_hidden_layers, " exceeds ", kMaxLayers);
  for (int64_t v : {c.hidden_size, c.num_attention_heads, c.num_key_value_heads, c.head_dim, c.intermediate_size, c.vocab_size})
    LP_CHECK(v <= kMaxSize, where, ": hidden_size, attention heads, head_dim, intermediate_size and vocab_size must be at most ",
             kMaxSize, ", got ", v);
  c.max_position_embeddings = json_get_or<int64_t>(j, "max_position_embeddings", 2048, where);
  LP_CHECK(c.max_position_embeddings > 0, where, ": max_position_embeddings must be positive");
  c.rms_norm_eps = json_get_or<double>(j, "rms_norm_eps", 1e-6, where);
  LP_CHECK(std::isfinite(c.rms_norm_eps) && c.rms_norm_eps > 0 && c.rms_norm_eps < 1, where,
           ": rms_norm_eps must be in (0, 1), got ", c.rms_norm_eps);
  c.initializer_range = json_get_or<double>(j, "initializer_range", 0.02, where);
  LP_CHECK(std::isfinite(c.initializer_range) && c.initializer_range >= 0, where,
           ": initializer_range must be a non-negative number, got ", c.initializer_range);
  c.tie_word_embeddings = json_get_or<bool>(j, "tie_word_embeddings", false, where);
  parse_rope(j, c, where);

  std::string act = json_get_or<std::string>(j, "hidden_act", "silu", where);
  LP_CHECK(act == "silu", where, ": unsupported hidden_act \"", act, "\" (supported: silu)");
  bool attention_bias = json_get_or<bool>(j, "attention_bias", false, where);
  c.qkv_bias = arch.qkv_bias || (c.model_type == "llama" && attention_bias);
  c.o_bias = c.model_type == "llama" && attention_bias;
  c.mlp_bias = c.model_type == "llama" && json_get_or<bool>(j, "mlp_bias", false, where);

  // Mistral uses its window whenever one is set; Qwen2 only with use_sliding_window.
  bool windowed = c.model_type == "mistral" ||
                  (c.model_type == "qwen2" && json_get_or<bool>(j, "use_sliding_window", false, where));
  if (windowed && j.contains("sliding_window") && !j["sliding_window"].is_null())
    c.sliding_window = json_get<int64_t>(j, "sliding_window", where);

  c.torch_dtype = json_get_or<std::string>(j, "torch_dtype", json_get_or<std::string>(j, "dtype", "float32", where), where);
  if (j.contains("bos_token_id") && j["bos_token_id"].is_number_integer())
    c.bos_token_id = j["bos_token_id"].get<int64_t>();
  if (j.contains("eos_token_id")) {
    const auto& e = j["eos_token_id"];
    if (e.is_number_integer()) c.eos_token_ids.push_back(e.get<int64_t>());
    else if (e.is_array())
      for (const auto& v : e)
        if (v.is_number_integer()) c.eos_token_ids.push_back(v.get<int64_t>());
  }
  return c;
}

json ModelConfig::to_json() const {
  json j = raw;
  j["num_hidden_layers"] = num_hidden_layers;
  if (j.contains("dtype") && !j.contains("torch_dtype")) j["dtype"] = torch_dtype;
  else j["torch_dtype"] = torch_dtype;
  return j;
}

}  // namespace llamapro
