// test_config.cpp — ModelConfig::from_json / to_json: each architecture, defaults, rope scaling,
// and refusals (unknown architecture or rope type, missing or mistyped keys) with clear messages.
#include <gtest/gtest.h>

#include "io_helpers.h"
#include "util/check.h"

namespace llamapro::testing {
namespace {

ModelConfig parse(const json& j) { return ModelConfig::from_json(j, "cfg.json"); }

std::string error_of(const json& j) {
  try {
    parse(j);
  } catch (const Error& e) {
    return e.what();
  }
  return "<accepted>";
}

// The keys every architecture needs, nothing else.
json minimal(const std::string& arch) {
  return {{"architectures", {arch}}, {"hidden_size", 64}, {"num_hidden_layers", 3}, {"num_attention_heads", 4},
          {"intermediate_size", 100}, {"vocab_size", 50}};
}

TEST(Config, LlamaDefaults) {
  ModelConfig c = parse(minimal("LlamaForCausalLM"));
  EXPECT_EQ(c.architecture, "LlamaForCausalLM");
  EXPECT_EQ(c.model_type, "llama");
  EXPECT_EQ(c.num_key_value_heads, 4) << "defaults to MHA";
  EXPECT_EQ(c.head_dim, 16) << "hidden_size / heads";
  EXPECT_EQ(c.max_position_embeddings, 2048);
  EXPECT_EQ(c.rms_norm_eps, 1e-6);
  EXPECT_EQ(c.rope_theta, 10000.0);
  EXPECT_EQ(c.rope_scaling.kind, RopeScaling::Kind::None);
  EXPECT_EQ(c.initializer_range, 0.02);
  EXPECT_FALSE(c.tie_word_embeddings);
  EXPECT_FALSE(c.qkv_bias);
  EXPECT_FALSE(c.o_bias);
  EXPECT_FALSE(c.mlp_bias);
  EXPECT_FALSE(c.sliding_window.has_value());
  EXPECT_EQ(c.torch_dtype, "float32");
  EXPECT_FALSE(c.bos_token_id.has_value());
  EXPECT_TRUE(c.eos_token_ids.empty());
  EXPECT_EQ(c.q_dim(), 64);
  EXPECT_EQ(c.kv_dim(), 64);
}

TEST(Config, LlamaFullAndBiases) {
  json j = minimal("LlamaForCausalLM");
  j.update({{"num_key_value_heads", 2}, {"head_dim", 32}, {"max_position_embeddings", 4096}, {"rms_norm_eps", 1e-5},
            {"rope_theta", 5e5}, {"tie_word_embeddings", true}, {"attention_bias", true}, {"mlp_bias", true},
            {"torch_dtype", "bfloat16"}, {"bos_token_id", 1}, {"eos_token_id", {2, 7}}, {"sliding_window", 99}});
  ModelConfig c = parse(j);
  EXPECT_EQ(c.head_dim, 32) << "explicit head_dim wins over hidden_size / heads";
  EXPECT_EQ(c.q_dim(), 128);
  EXPECT_EQ(c.kv_dim(), 64);
  EXPECT_EQ(c.max_position_embeddings, 4096);
  EXPECT_EQ(c.rms_norm_eps, 1e-5);
  EXPECT_EQ(c.rope_theta, 5e5);
  EXPECT_TRUE(c.tie_word_embeddings);
  EXPECT_TRUE(c.qkv_bias);
  EXPECT_TRUE(c.o_bias);
  EXPECT_TRUE(c.mlp_bias);
  EXPECT_EQ(c.torch_dtype, "bfloat16");
  EXPECT_EQ(c.bos_token_id, 1);
  EXPECT_EQ(c.eos_token_ids, (std::vector<int64_t>{2, 7}));
  EXPECT_FALSE(c.sliding_window.has_value()) << "llama ignores sliding_window";
}

TEST(Config, ModelTypeAloneSelectsTheArchitecture) {
  json j = minimal("x");
  j.erase("architectures");
  j["model_type"] = "mistral";
  EXPECT_EQ(parse(j).architecture, "MistralForCausalLM");
  j["model_type"] = "qwen2";
  EXPECT_EQ(parse(j).architecture, "Qwen2ForCausalLM");
  j["model_type"] = "llama";
  EXPECT_EQ(parse(j).architecture, "LlamaForCausalLM");
}

TEST(Config, MistralUsesItsSlidingWindow) {
  json j = minimal("MistralForCausalLM");
  j["sliding_window"] = 4096;
  j["attention_bias"] = true;  // not a mistral key: no biases
  ModelConfig c = parse(j);
  EXPECT_EQ(c.model_type, "mistral");
  EXPECT_EQ(c.sliding_window, 4096);
  EXPECT_FALSE(c.qkv_bias);
  EXPECT_FALSE(c.o_bias);
  j["sliding_window"] = nullptr;
  EXPECT_FALSE(parse(j).sliding_window.has_value());
}

TEST(Config, Qwen2HasQkvBiasAndOptionalWindow) {
  json j = minimal("Qwen2ForCausalLM");
  j["sliding_window"] = 128;
  ModelConfig c = parse(j);
  EXPECT_EQ(c.model_type, "qwen2");
  EXPECT_TRUE(c.qkv_bias);
  EXPECT_FALSE(c.o_bias);
  EXPECT_FALSE(c.mlp_bias);
  EXPECT_FALSE(c.sliding_window.has_value()) << "only with use_sliding_window";
  j["use_sliding_window"] = true;
  EXPECT_EQ(parse(j).sliding_window, 128);
}

TEST(Config, RopeScalingLinear) {
  json j = minimal("LlamaForCausalLM");
  j["rope_scaling"] = {{"type", "linear"}, {"factor", 4.0}};
  ModelConfig c = parse(j);
  EXPECT_EQ(c.rope_scaling.kind, RopeScaling::Kind::Linear);
  EXPECT_EQ(c.rope_scaling.kind_name(), "linear");
  EXPECT_EQ(c.rope_scaling.factor, 4.0);
  j["rope_scaling"] = {{"rope_type", "linear"}};
  EXPECT_NE(error_of(j).find("missing key \"factor\""), std::string::npos) << error_of(j);
  j["rope_scaling"] = {{"rope_type", "linear"}, {"factor", 0}};
  EXPECT_NE(error_of(j).find("factor must be positive"), std::string::npos);
  j["rope_scaling"] = {{"rope_type", "default"}};
  EXPECT_EQ(parse(j).rope_scaling.kind, RopeScaling::Kind::None);
  j["rope_scaling"] = nullptr;
  EXPECT_EQ(parse(j).rope_scaling.kind, RopeScaling::Kind::None);
}

TEST(Config, RopeScalingLlama3) {
  json j = minimal("LlamaForCausalLM");
  j["rope_theta"] = 500000.0;
  j["rope_scaling"] = {{"rope_type", "llama3"}, {"factor", 32.0}, {"low_freq_factor", 1.0},
                       {"high_freq_factor", 4.0}, {"original_max_position_embeddings", 8192}};
  ModelConfig c = parse(j);
  EXPECT_EQ(c.rope_scaling.kind, RopeScaling::Kind::Llama3);
  EXPECT_EQ(c.rope_scaling.factor, 32.0);
  EXPECT_EQ(c.rope_scaling.low_freq_factor, 1.0);
  EXPECT_EQ(c.rope_scaling.high_freq_factor, 4.0);
  EXPECT_EQ(c.rope_scaling.original_max_position_embeddings, 8192);
  EXPECT_EQ(c.rope_theta, 500000.0);
  j["rope_scaling"].erase("low_freq_factor");
  EXPECT_NE(error_of(j).find("low_freq_factor"), std::string::npos);
  j["rope_scaling"]["low_freq_factor"] = 4.0;
  EXPECT_NE(error_of(j).find("high_freq_factor must exceed"), std::string::npos);
}

TEST(Config, RopeParametersOfNewerConfigs) {
  json j = minimal("LlamaForCausalLM");
  j["rope_parameters"] = {{"rope_type", "linear"}, {"factor", 2.0}, {"rope_theta", 1e6}};
  ModelConfig c = parse(j);
  EXPECT_EQ(c.rope_scaling.kind, RopeScaling::Kind::Linear);
  EXPECT_EQ(c.rope_theta, 1e6);
}

TEST(Config, UnknownRopeTypeIsRefused) {
  json j = minimal("LlamaForCausalLM");
  j["rope_scaling"] = {{"type", "yarn"}, {"factor", 4.0}};
  std::string e = error_of(j);
  EXPECT_NE(e.find("unsupported rope type \"yarn\""), std::string::npos) << e;
  EXPECT_NE(e.find("linear, llama3"), std::string::npos) << e;
  EXPECT_EQ(e.rfind("cfg.json", 0), 0u) << "names the file";
}

TEST(Config, UnknownArchitectureNamesTheSupportedOnes) {
  std::string e = error_of(minimal("GPT2LMHeadModel"));
  EXPECT_NE(e.find("unsupported architecture \"GPT2LMHeadModel\""), std::string::npos) << e;
  for (const char* a : {"LlamaForCausalLM", "MistralForCausalLM", "Qwen2ForCausalLM"})
    EXPECT_NE(e.find(a), std::string::npos) << e;
  EXPECT_EQ(supported_architectures(), "LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM");
  json j = minimal("x");
  j.erase("architectures");
  EXPECT_NE(error_of(j).find("unsupported architecture \"\""), std::string::npos) << "no hint at all";
  j["model_type"] = "gemma";
  EXPECT_NE(error_of(j).find("\"gemma\""), std::string::npos);
}

TEST(Config, MissingRequiredKeysAreNamed) {
  for (const char* key : {"hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size", "vocab_size"}) {
    json j = minimal("LlamaForCausalLM");
    j.erase(key);
    EXPECT_EQ(error_of(j), std::string("cfg.json: missing key \"") + key + "\"");
  }
  EXPECT_NE(error_of(json::array()).find("expected a JSON object"), std::string::npos);
}

TEST(Config, WrongTypesAndValuesAreRefused) {
  auto with = [](const char* key, json v) {
    json j = minimal("LlamaForCausalLM");
    j[key] = v;
    return error_of(j);
  };
  EXPECT_NE(with("hidden_size", "64").find("wrong type"), std::string::npos);
  EXPECT_NE(with("tie_word_embeddings", 1).find("wrong type"), std::string::npos);
  EXPECT_NE(with("hidden_size", 0).find("must be positive"), std::string::npos);
  EXPECT_NE(with("vocab_size", -5).find("must be positive"), std::string::npos);
  EXPECT_NE(with("num_key_value_heads", 3).find("multiple of num_key_value_heads"), std::string::npos);
  EXPECT_NE(with("head_dim", 7).find("positive even"), std::string::npos);
  EXPECT_NE(with("hidden_act", "gelu").find("unsupported hidden_act"), std::string::npos);
  EXPECT_NE(with("max_position_embeddings", 0).find("must be positive"), std::string::npos);
  // Numbers that do not fit, or are not integers, must not be converted silently.
  EXPECT_NE(with("hidden_size", 1e300).find("integer in range"), std::string::npos);
  EXPECT_NE(with("hidden_size", 64.5).find("integer in range"), std::string::npos);
  EXPECT_NE(with("hidden_size", json(UINT64_MAX)).find("integer in range"), std::string::npos);
  EXPECT_EQ(with("hidden_size", 64.0), "<accepted>") << "an integral float is an integer";
  // Sizes whose products would overflow are refused before anything multiplies them.
  EXPECT_NE(with("num_hidden_layers", int64_t(1) << 40).find("exceeds"), std::string::npos);
  json j = minimal("LlamaForCausalLM");
  j["num_attention_heads"] = int64_t(1) << 32;
  j["head_dim"] = int64_t(1) << 32;
  EXPECT_NE(error_of(j).find("at most"), std::string::npos);
}

TEST(Config, ToJsonKeepsUnknownKeysAndOrder) {
  json j = json::parse(R"({"zeta_custom": [1, 2], "architectures": ["LlamaForCausalLM"], "hidden_size": 64,
    "num_hidden_layers": 3, "auto_map": {"AutoModel": "x.Y"}, "num_attention_heads": 4,
    "intermediate_size": 100, "vocab_size": 50, "torch_dtype": "float16", "alpha_custom": null})");
  ModelConfig c = parse(j);
  c.num_hidden_layers = 5;
  c.torch_dtype = "bfloat16";
  json out = c.to_json();
  std::vector<std::string> keys_in, keys_out;
  for (const auto& [k, v] : j.items()) keys_in.push_back(k);
  for (const auto& [k, v] : out.items()) keys_out.push_back(k);
  EXPECT_EQ(keys_out, keys_in) << "same keys, same order";
  EXPECT_EQ(out["num_hidden_layers"], 5);
  EXPECT_EQ(out["torch_dtype"], "bfloat16");
  EXPECT_EQ(out["zeta_custom"], j["zeta_custom"]);
  EXPECT_EQ(out["auto_map"], j["auto_map"]);
  EXPECT_TRUE(out["alpha_custom"].is_null());
  // Newer configs spell it "dtype": that key is updated instead of adding torch_dtype.
  json k = minimal("LlamaForCausalLM");
  k["dtype"] = "float32";
  ModelConfig d = parse(k);
  d.torch_dtype = "float16";
  json dout = d.to_json();
  EXPECT_EQ(dout["dtype"], "float16");
  EXPECT_FALSE(dout.contains("torch_dtype"));
  // And it parses back to the same values.
  ModelConfig again = parse(out);
  EXPECT_EQ(again.num_hidden_layers, 5);
  EXPECT_EQ(again.torch_dtype, "bfloat16");
}

}  // namespace
}  // namespace llamapro::testing
