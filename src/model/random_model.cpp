#include "model/random_model.h"

#include <algorithm>

#include "io/checkpoint.h"
#include "model/init.h"
#include "model/model_folder.h"
#include "model/tensor_names.h"
#include "util/check.h"
#include "util/progress.h"

namespace llamapro {

namespace {

json llama_config(int64_t hidden, int64_t layers, int64_t heads, int64_t kv_heads, int64_t mlp, int64_t vocab,
                  int64_t positions) {
  return {{"architectures", {"LlamaForCausalLM"}},
          {"model_type", "llama"},
          {"hidden_size", hidden},
          {"intermediate_size", mlp},
          {"num_hidden_layers", layers},
          {"num_attention_heads", heads},
          {"num_key_value_heads", kv_heads},
          {"vocab_size", vocab},
          {"max_position_embeddings", positions},
          {"rms_norm_eps", 1e-5},
          {"rope_theta", 10000.0},
          {"hidden_act", "silu"},
          {"tie_word_embeddings", false},
          {"attention_bias", false},
          {"mlp_bias", false},
          {"initializer_range", 0.02},
          {"bos_token_id", 256},
          {"eos_token_id", 257},
          {"torch_dtype", "float32"}};
}

}  // namespace

const std::vector<ModelPreset>& model_presets() {
  static const std::vector<ModelPreset> presets = [] {
    std::vector<ModelPreset> p;
    p.push_back({"tiny", "4 layers, dim 128, GQA 4:2, vocab 512 (seconds to train on a CPU)",
                 llama_config(128, 4, 4, 2, 344, 512, 512)});
    p.push_back({"small", "4 layers, dim 512, vocab 32000 (CPU benchmarks)", llama_config(512, 4, 8, 8, 1376, 32000, 2048)});
    p.push_back({"tinyllama-1.1b", "TinyLlama 1.1B shape: 22 layers, dim 2048, GQA 32:4",
                 llama_config(2048, 22, 32, 4, 5632, 32000, 2048)});
    p.push_back({"llama2-7b", "LLaMA-2-7B shape: 32 layers, dim 4096, MHA", llama_config(4096, 32, 32, 32, 11008, 32000, 4096)});
    json l3 = llama_config(4096, 32, 32, 8, 14336, 128256, 131072);
    l3["rope_theta"] = 500000.0;
    l3["rope_scaling"] = {{"rope_type", "llama3"}, {"factor", 8.0}, {"low_freq_factor", 1.0},
                          {"high_freq_factor", 4.0}, {"original_max_position_embeddings", 8192}};
    p.push_back({"llama3-8b", "Llama-3-8B shape: 32 layers, dim 4096, GQA 32:8, llama3 RoPE scaling", l3});
    json q = llama_config(896, 24, 14, 2, 4864, 151936, 32768);
    q["architectures"] = {"Qwen2ForCausalLM"};
    q["model_type"] = "qwen2";
    q["rope_theta"] = 1000000.0;
    q["tie_word_embeddings"] = true;
    q["rms_norm_eps"] = 1e-6;
    p.push_back({"qwen2-0.5b", "Qwen2-0.5B shape: 24 layers, dim 896, q/k/v biases, tied embeddings", q});
    return p;
  }();
  return presets;
}

json preset_config(const std::string& name) {
  std::string names;
  for (const auto& p : model_presets()) {
    if (p.name == name) return p.config;
    names += (names.empty() ? "" : ", ") + p.name;
  }
  LP_FAIL("unknown preset \"", name, "\" (expected one of: ", names, ")");
}

json byte_level_tokenizer_json() {
  // The GPT-2 byte-to-character map: printable bytes stand for themselves, the others are
  // shifted to code points from U+0100 up.
  auto utf8 = [](uint32_t cp) {
    std::string s;
    if (cp < 0x80) s += static_cast<char>(cp);
    else {
      s += static_cast<char>(0xC0 | (cp >> 6));
      s += static_cast<char>(0x80 | (cp & 0x3F));
    }
    return s;
  };
  json vocab = json::object();
  uint32_t shifted = 0;
  for (uint32_t b = 0; b < 256; b++) {
    bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
    vocab[utf8(printable ? b : 256 + shifted++)] = b;
  }
  auto special = [](int id, const char* content) {
    return json{{"id", id}, {"content", content}, {"single_word", false}, {"lstrip", false},
                {"rstrip", false}, {"normalized", false}, {"special", true}};
  };
  vocab["<s>"] = 256;
  vocab["</s>"] = 257;
  vocab["<unk>"] = 258;
  json post = {{"type", "TemplateProcessing"},
               {"single", {{{"SpecialToken", {{"id", "<s>"}, {"type_id", 0}}}}, {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}}},
               {"pair", {{{"SpecialToken", {{"id", "<s>"}, {"type_id", 0}}}}, {{"Sequence", {{"id", "A"}, {"type_id", 0}}}},
                         {{"Sequence", {{"id", "B"}, {"type_id", 1}}}}}},
               {"special_tokens", {{"<s>", {{"id", "<s>"}, {"ids", {256}}, {"tokens", {"<s>"}}}}}}};
  return {{"version", "1.0"},
          {"truncation", nullptr},
          {"padding", nullptr},
          {"added_tokens", {special(256, "<s>"), special(257, "</s>"), special(258, "<unk>")}},
          {"normalizer", nullptr},
          {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", true}}},
          {"post_processor", post},
          {"decoder", {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true}, {"use_regex", true}}},
          {"model", {{"type", "BPE"}, {"dropout", nullptr}, {"unk_token", nullptr}, {"continuing_subword_prefix", nullptr},
                     {"end_of_word_suffix", nullptr}, {"fuse_unk", false}, {"byte_fallback", false},
                     {"ignore_merges", false}, {"vocab", vocab}, {"merges", json::array()}}}};
}

void write_random_model(const ModelConfig& config, const std::filesystem::path& out, const RandomModelOptions& o) {
  LP_CHECK(is_weight_dtype(o.dtype), "random models are stored as f32, f16 or bf16");
  std::vector<TensorSpec> specs;
  uint64_t total = 0;
  for (const auto& e : model_tensors(config)) {
    specs.push_back({e.name, o.dtype, e.shape});
    total += specs.back().nbytes();
  }
  ModelFolderWriter folder({out, OutputKind::Folder, {}, o.force}, specs, o.max_shard_bytes);
  CheckpointWriter& writer = folder.tensors();
  Progress progress("init", total, "B");
  uint64_t done = 0;
  const size_t chunk = 4 << 20;  // elements
  std::vector<float> f32;
  std::vector<uint8_t> bytes;
  for (const auto& s : specs) {
    Rng rng = tensor_rng(o.seed, s.name);
    InitKind kind = init_kind(s.name, s.shape.size());
    size_t n = static_cast<size_t>(s.nbytes() / dtype_size(s.dtype));
    for (size_t i = 0; i < n; i += chunk) {
      size_t k = std::min(chunk, n - i);
      f32.resize(k);
      fill_init(kind, config.initializer_range, rng, f32.data(), k);
      bytes.resize(k * dtype_size(s.dtype));
      convert_elements(f32.data(), DType::F32, bytes.data(), s.dtype, k);
      writer.append(bytes.data(), bytes.size());
      done += bytes.size();
      if (o.progress) progress.update(done);
    }
  }
  ModelConfig c = config;
  c.torch_dtype = std::string(torch_dtype_name(o.dtype));
  const std::filesystem::path stage = folder.stage();
  json gen = {{"bos_token_id", c.bos_token_id ? json(*c.bos_token_id) : json(nullptr)},
              {"eos_token_id", c.eos_token_ids.empty() ? json(nullptr) : json(c.eos_token_ids[0])}};
  write_json_file(stage / "generation_config.json", gen);
  if (config.vocab_size >= 259) {
    write_json_file(stage / "tokenizer.json", byte_level_tokenizer_json());
    write_json_file(stage / "tokenizer_config.json",
                    {{"bos_token", "<s>"}, {"eos_token", "</s>"}, {"unk_token", "<unk>"}, {"add_bos_token", true},
                     {"model_max_length", config.max_position_embeddings}});
  }
  ModelFolderWriter::Finish finish;
  finish.config = &c;
  folder.finish(finish);
  if (o.progress) progress.finish();
}

}  // namespace llamapro
