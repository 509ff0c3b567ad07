#include "export/gguf_export.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <map>

#include "io/dtype.h"
#include "model/model_folder.h"
#include "model/random_model.h"
#include "model/tensor_names.h"
#include "tokenizer/tokenizer.h"
#include "util/check.h"
#include "util/files.h"
#include "util/progress.h"

namespace llamapro {

namespace fs = std::filesystem;

namespace {

// ---------------------------------------------------------------------------------------------
// names: llama.cpp's for every tensor llamapro knows (the one place they appear)

const char* gguf_block_name(BlockTensor t) {
  switch (t) {
    case BlockTensor::AttnNorm: return "attn_norm.weight";
    case BlockTensor::Q: return "attn_q.weight";
    case BlockTensor::QBias: return "attn_q.bias";
    case BlockTensor::K: return "attn_k.weight";
    case BlockTensor::KBias: return "attn_k.bias";
    case BlockTensor::V: return "attn_v.weight";
    case BlockTensor::VBias: return "attn_v.bias";
    case BlockTensor::O: return "attn_output.weight";
    case BlockTensor::OBias: return "attn_output.bias";
    case BlockTensor::MlpNorm: return "ffn_norm.weight";
    case BlockTensor::Gate: return "ffn_gate.weight";
    case BlockTensor::GateBias: return "ffn_gate.bias";
    case BlockTensor::Up: return "ffn_up.weight";
    case BlockTensor::UpBias: return "ffn_up.bias";
    case BlockTensor::Down: return "ffn_down.weight";
    case BlockTensor::DownBias: return "ffn_down.bias";
  }
  return "?";
}

// ---------------------------------------------------------------------------------------------
// what llama.cpp can represent

struct Arch {
  std::string name;         // key prefix and general.architecture
  bool permute_qk = false;  // llama's graph rotates interleaved pairs; HF stores rotate-half
};

Arch gguf_arch(const ModelConfig& c, const std::string& where) {
  Arch a;
  if (c.model_type == "llama" || c.model_type == "mistral") a = {"llama", true};
  else if (c.model_type == "qwen2") a = {"qwen2", false};
  else LP_FAIL(where, ": llama.cpp export supports llama, mistral and qwen2, not \"", c.model_type, "\"");
  LP_CHECK(!c.mlp_bias, where, ": llama.cpp's llama graph has no MLP biases (mlp_bias is true); cannot export");
  LP_CHECK(!(a.name == "qwen2" && c.sliding_window), where,
           ": llama.cpp's qwen2 graph has no sliding-window attention (use_sliding_window is true); cannot export");
  return a;
}

// llama.cpp divides each RoPE frequency by these factors (tensor rope_freqs.weight): the llama3
// rule, in the same terms as model/rope.cpp.
std::vector<float> llama3_rope_factors(const ModelConfig& c) {
  const RopeScaling& s = c.rope_scaling;
  const double old_len = double(s.original_max_position_embeddings);
  const double low_wavelen = old_len / s.low_freq_factor, high_wavelen = old_len / s.high_freq_factor;
  std::vector<float> factors;
  for (int64_t i = 0; i < c.head_dim; i += 2) {
    const double freq = 1.0 / std::pow(c.rope_theta, double(i) / double(c.head_dim));
    const double wavelen = 2 * M_PI / freq;
    if (wavelen < high_wavelen) factors.push_back(1.0f);
    else if (wavelen > low_wavelen) factors.push_back(float(s.factor));
    else {
      const double smooth = (old_len / wavelen - s.low_freq_factor) / (s.high_freq_factor - s.low_freq_factor);
      factors.push_back(float(1.0 / ((1 - smooth) / s.factor + smooth)));
    }
  }
  return factors;
}

// ---------------------------------------------------------------------------------------------
// tensors

struct PlannedTensor {
  GgufTensorInfo info;
  std::string source;          // HF name; empty for rope_freqs
  int64_t permute_heads = 0;   // > 0: rows reordered per head (q/k of llama)
  std::vector<float> values;   // rope_freqs
};

std::vector<PlannedTensor> plan_tensors(const ModelFolder& in, const Arch& arch, GgmlType type,
                                        std::vector<std::string>& notes) {
  const ModelConfig& c = in.config;
  std::vector<PlannedTensor> out;
  size_t kept_f16 = 0;
  auto add = [&](const std::string& gguf_name, const std::string& hf_name, int64_t heads = 0) {
    const TensorInfo& t = *in.checkpoint->tensor(hf_name).info;
    PlannedTensor p;
    p.info.name = gguf_name;
    for (auto it = t.shape.rbegin(); it != t.shape.rend(); ++it) p.info.dims.push_back(uint64_t(*it));  // ggml order
    p.info.type = t.shape.size() == 1 ? GgmlType::F32 : type;
    if (p.info.type == GgmlType::Q8_0 && p.info.dims[0] % kQ8BlockSize != 0) {
      p.info.type = GgmlType::F16;  // as llama.cpp's converter does for rows that are no whole blocks
      kept_f16++;
    }
    p.source = hf_name;
    p.permute_heads = heads;
    out.push_back(std::move(p));
  };
  add("token_embd.weight", std::string(kEmbedTokens));
  for (int64_t l = 0; l < c.num_hidden_layers; l++)
    for (const auto& e : block_tensors(c, l)) {
      int64_t heads = 0;
      if (arch.permute_qk && (e.kind == BlockTensor::Q || e.kind == BlockTensor::QBias)) heads = c.num_attention_heads;
      if (arch.permute_qk && (e.kind == BlockTensor::K || e.kind == BlockTensor::KBias)) heads = c.num_key_value_heads;
      add("blk." + std::to_string(l) + "." + gguf_block_name(e.kind), e.name, heads);
    }
  add("output_norm.weight", std::string(kFinalNorm));
  if (!c.tie_word_embeddings) add("output.weight", std::string(kLmHead));  // tied: llama.cpp reuses token_embd
  if (c.rope_scaling.kind == RopeScaling::Kind::Llama3) {
    PlannedTensor p;
    p.info = {"rope_freqs.weight", {uint64_t(c.head_dim / 2)}, GgmlType::F32, 0};
    p.values = llama3_rope_factors(c);
    out.push_back(std::move(p));
  }
  if (kept_f16)
    notes.push_back(std::to_string(kept_f16) + " matrices kept in F16: their rows are not a multiple of 32 values");
  return out;
}

// Which stored row (or, for a bias, element) lands at position r of a planned tensor. q/k of
// llama: within each head, HF's rows [0, hd/2) and [hd/2, hd) (rotate-half) become interleaved
// pairs, so new row 2i + j of a head is old row j * hd/2 + i.
uint64_t source_index(const PlannedTensor& p, uint64_t r) {
  if (p.permute_heads == 0) return r;
  const uint64_t rows = p.info.dims.back();  // the outer dimension: rows, or a bias's elements
  const uint64_t hd = rows / uint64_t(p.permute_heads), within = r % hd;
  return r - within + (within % 2) * (hd / 2) + within / 2;
}

// ---------------------------------------------------------------------------------------------
// tokenizer

enum TokenType : int32_t { kNormal = 1, kUnknown = 2, kControl = 3, kUserDefined = 4, kUnused = 5, kByte = 6 };

// llama.cpp's name of a byte-level pre-tokenizer, from the regex in tokenizer.json.
std::string pre_tokenizer_name(const json& pre, const std::string& where) {
  std::vector<std::string> regexes;
  bool byte_level_regex = false;
  std::function<void(const json&)> walk = [&](const json& p) {
    if (!p.is_object()) return;
    const std::string type = p.value("type", "");
    if (type == "Sequence")
      for (const auto& x : p.value("pretokenizers", json::array())) walk(x);
    if (type == "Split" && p.contains("pattern") && p["pattern"].contains("Regex"))
      regexes.push_back(p["pattern"]["Regex"].get<std::string>());
    if (type == "ByteLevel" && p.value("use_regex", true)) byte_level_regex = true;
  };
  walk(pre);
  const std::string llama3 =
      "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
  const std::string qwen2 =
      "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
  if (regexes.size() == 1 && regexes[0] == llama3) return "llama-bpe";
  if (regexes.size() == 1 && regexes[0] == qwen2) return "qwen2";
  if (regexes.empty() && byte_level_regex) return "gpt-2";
  LP_FAIL(where, ": its pre-tokenizer matches none llama.cpp knows (llama-bpe, qwen2, gpt-2); cannot export");
}

// Tokens of ids [0, vocab): the tokenizer's, then "[PAD<i>]" for ids it leaves unused, as
// llama.cpp's converter pads them.
struct Vocab {
  std::vector<std::string> tokens;
  std::vector<int32_t> types;
  std::vector<float> scores;
};

Vocab padded_vocab(int64_t vocab_size) {
  Vocab v;
  for (int64_t i = 0; i < vocab_size; i++) {
    v.tokens.push_back("[PAD" + std::to_string(i) + "]");
    v.types.push_back(kUnused);
    v.scores.push_back(0.0f);
  }
  return v;
}

std::vector<std::pair<std::string, std::string>> merges_of(const json& model, const std::string& where) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& m : model.value("merges", json::array())) {
    if (m.is_string()) {
      const std::string s = m.get<std::string>();
      const size_t sp = s.find(' ', 1);
      LP_CHECK(sp != std::string::npos, where, ": merge \"", s, "\" is not two tokens");
      out.emplace_back(s.substr(0, sp), s.substr(sp + 1));
    } else {
      LP_CHECK(m.is_array() && m.size() == 2, where, ": a merge is neither \"a b\" nor [a, b]");
      out.emplace_back(m[0].get<std::string>(), m[1].get<std::string>());
    }
  }
  return out;
}

void add_tokenizer(const ModelFolder& in, std::vector<GgufKeyValue>& kv, std::vector<std::string>& notes) {
  const ModelConfig& c = in.config;
  const fs::path file = in.dir() / "tokenizer.json";
  auto put = [&](const std::string& k, GgufValue v) { kv.push_back({k, std::move(v)}); };
  if (!fs::is_regular_file(file)) {
    // No tokenizer: llama.cpp still needs a vocabulary of the model's size to run from ids. A
    // byte-level one (ids 0..255 the 256 bytes, the rest placeholders) loads everywhere.
    notes.push_back("no tokenizer.json: the GGUF holds a stand-in byte-level vocabulary; run it from token ids");
    Vocab v = padded_vocab(c.vocab_size);
    for (const auto& [text, id] : byte_level_tokenizer_json()["model"]["vocab"].items())
      if (id.get<int64_t>() < std::min<int64_t>(256, c.vocab_size)) {
        v.tokens[size_t(id.get<int64_t>())] = text;
        v.types[size_t(id.get<int64_t>())] = kNormal;
      }
    if (c.bos_token_id && *c.bos_token_id < c.vocab_size) v.types[size_t(*c.bos_token_id)] = kControl;
    for (int64_t e : c.eos_token_ids)
      if (e < c.vocab_size) v.types[size_t(e)] = kControl;
    put("tokenizer.ggml.model", GgufValue::string("gpt2"));
    put("tokenizer.ggml.pre", GgufValue::string("gpt-2"));
    put("tokenizer.ggml.tokens", GgufValue::strings(v.tokens));
    put("tokenizer.ggml.token_type", GgufValue::i32s(v.types));
    put("tokenizer.ggml.merges", GgufValue::strings({}));
    if (c.bos_token_id) put("tokenizer.ggml.bos_token_id", GgufValue::u32(uint32_t(*c.bos_token_id)));
    if (!c.eos_token_ids.empty()) put("tokenizer.ggml.eos_token_id", GgufValue::u32(uint32_t(c.eos_token_ids[0])));
    put("tokenizer.ggml.add_bos_token", GgufValue::boolean(false));
    return;
  }
  const std::string where = file.string();
  const json j = read_json_file(file);
  const json model = j.value("model", json::object());
  LP_CHECK(model.value("type", "") == "BPE", where, ": llama.cpp export supports BPE tokenizers, not \"",
           model.value("type", "?"), "\"");
  const Tokenizer tok = Tokenizer::from_dir(in.dir());
  LP_CHECK(int64_t(tok.vocab_size()) <= c.vocab_size, where, ": the tokenizer has ", tok.vocab_size(),
           " tokens, more than the model's vocab_size ", c.vocab_size);
  const bool spm = model.value("byte_fallback", false);  // sentencepiece-style: "▁" words, <0xHH> bytes

  Vocab v = padded_vocab(c.vocab_size);
  const json vocab = model.value("vocab", json::object());
  for (const auto& [text, id_json] : vocab.items()) {
    const int64_t id = id_json.get<int64_t>();
    LP_CHECK(id >= 0 && id < c.vocab_size, where, ": token id ", id, " outside the model's vocabulary");
    v.tokens[size_t(id)] = text;
    const bool byte = spm && text.size() == 6 && text.rfind("<0x", 0) == 0 && text.back() == '>';
    v.types[size_t(id)] = byte ? kByte : kNormal;
  }
  for (const auto& a : j.value("added_tokens", json::array())) {
    const int64_t id = a.value("id", int64_t(-1));
    if (id < 0 || id >= c.vocab_size) continue;
    v.tokens[size_t(id)] = a.value("content", "");
    v.types[size_t(id)] = a.value("special", false) ? kControl : kUserDefined;
  }
  const auto merges = merges_of(model, where);
  if (spm) {
    // llama.cpp's sentencepiece tokenizer merges the adjacent pair whose result scores highest:
    // scoring each token by minus the rank of the merge that makes it reproduces BPE's order.
    std::map<std::string, float> score;
    for (size_t r = 0; r < merges.size(); r++) score.emplace(merges[r].first + merges[r].second, -float(r));
    for (size_t i = 0; i < v.tokens.size(); i++)
      if (auto it = score.find(v.tokens[i]); it != score.end() && v.types[i] == kNormal) v.scores[i] = it->second;
    const std::string unk = model.value("unk_token", json()).is_string() ? model["unk_token"].get<std::string>() : "";
    put("tokenizer.ggml.model", GgufValue::string("llama"));
    put("tokenizer.ggml.tokens", GgufValue::strings(v.tokens));
    put("tokenizer.ggml.scores", GgufValue::f32s(v.scores));
    put("tokenizer.ggml.token_type", GgufValue::i32s(v.types));
    if (!unk.empty() && tok.token_to_id(unk) >= 0)
      put("tokenizer.ggml.unknown_token_id", GgufValue::u32(uint32_t(tok.token_to_id(unk))));
    const std::string norm = j.value("normalizer", json()).dump();
    put("tokenizer.ggml.add_space_prefix", GgufValue::boolean(norm.find("\"Prepend\"") != std::string::npos));
  } else {
    std::vector<std::string> joined;
    for (const auto& [a, b] : merges) joined.push_back(a + " " + b);
    put("tokenizer.ggml.model", GgufValue::string("gpt2"));
    put("tokenizer.ggml.pre", GgufValue::string(pre_tokenizer_name(j.value("pre_tokenizer", json()), where)));
    put("tokenizer.ggml.tokens", GgufValue::strings(v.tokens));
    put("tokenizer.ggml.token_type", GgufValue::i32s(v.types));
    put("tokenizer.ggml.merges", GgufValue::strings(std::move(joined)));
  }
  const std::vector<int32_t> framing = tok.encode("", true);  // what the post-processor adds
  const int32_t bos = tok.bos_id() >= 0 ? tok.bos_id() : (c.bos_token_id ? int32_t(*c.bos_token_id) : -1);
  const int32_t eos = tok.eos_id() >= 0 ? tok.eos_id() : (c.eos_token_ids.empty() ? -1 : int32_t(c.eos_token_ids[0]));
  if (bos >= 0) put("tokenizer.ggml.bos_token_id", GgufValue::u32(uint32_t(bos)));
  if (eos >= 0) put("tokenizer.ggml.eos_token_id", GgufValue::u32(uint32_t(eos)));
  put("tokenizer.ggml.add_bos_token", GgufValue::boolean(!framing.empty() && framing.front() == bos));
  put("tokenizer.ggml.add_eos_token", GgufValue::boolean(!framing.empty() && framing.back() == eos && eos != bos));
  const fs::path config = in.dir() / "tokenizer_config.json";
  if (fs::is_regular_file(config)) {
    const json tc = read_json_file(config);
    if (tc.contains("pad_token") && tc["pad_token"].is_string() && tok.token_to_id(tc["pad_token"].get<std::string>()) >= 0)
      put("tokenizer.ggml.padding_token_id", GgufValue::u32(uint32_t(tok.token_to_id(tc["pad_token"].get<std::string>()))));
  }
  if (!tok.chat_template().empty()) put("tokenizer.chat_template", GgufValue::string(tok.chat_template()));
}

// ---------------------------------------------------------------------------------------------
// metadata

uint32_t file_type(GgmlType t) {
  switch (t) {  // llama.cpp's llama_ftype
    case GgmlType::F32: return 0;
    case GgmlType::F16: return 1;
    case GgmlType::Q8_0: return 7;
    case GgmlType::BF16: return 32;
  }
  return 0;
}

// One line a person reads in llama.cpp's model info: where the blocks came from.
std::string provenance(const ModelFolder& in) {
  if (!in.has_manifest) return "";
  const Manifest& m = in.manifest;
  std::string s = "llamapro: " + std::to_string(m.base_layers) + " base blocks";
  for (const auto& st : m.stages) {
    s += "; stage " + st.name + " added blocks ";
    for (size_t i = 0; i < st.positions.size(); i++) s += (i ? "," : "") + std::to_string(st.positions[i]);
    s += " (" + st.init + ")";
    if (st.trained_tokens > 0) s += ", trained on " + std::to_string(st.trained_tokens) + " tokens";
  }
  s += "; " + std::to_string(m.training.size()) + " training run" + (m.training.size() == 1 ? "" : "s");
  return s;
}

std::vector<GgufKeyValue> model_metadata(const ModelFolder& in, const Arch& arch, GgmlType type,
                                         std::vector<std::string>& notes) {
  const ModelConfig& c = in.config;
  std::vector<GgufKeyValue> kv;
  auto put = [&](const std::string& k, GgufValue v) { kv.push_back({k, std::move(v)}); };
  const std::string a = arch.name + ".";
  put("general.architecture", GgufValue::string(arch.name));
  put("general.name", GgufValue::string(folder_name(in.dir())));
  put("general.file_type", GgufValue::u32(file_type(type)));
  if (type == GgmlType::Q8_0) put("general.quantization_version", GgufValue::u32(2));
  put("general.alignment", GgufValue::u32(uint32_t(kGgufDefaultAlignment)));
  if (std::string p = provenance(in); !p.empty()) {
    put("general.description", GgufValue::string(p));
    put("llamapro.manifest", GgufValue::string(in.manifest.to_json().dump()));
  }
  put(a + "vocab_size", GgufValue::u32(uint32_t(c.vocab_size)));
  put(a + "context_length", GgufValue::u32(uint32_t(c.max_position_embeddings)));
  put(a + "embedding_length", GgufValue::u32(uint32_t(c.hidden_size)));
  put(a + "block_count", GgufValue::u32(uint32_t(c.num_hidden_layers)));
  put(a + "feed_forward_length", GgufValue::u32(uint32_t(c.intermediate_size)));
  put(a + "attention.head_count", GgufValue::u32(uint32_t(c.num_attention_heads)));
  put(a + "attention.head_count_kv", GgufValue::u32(uint32_t(c.num_key_value_heads)));
  put(a + "attention.layer_norm_rms_epsilon", GgufValue::f32(float(c.rms_norm_eps)));
  put(a + "rope.freq_base", GgufValue::f32(float(c.rope_theta)));
  put(a + "rope.dimension_count", GgufValue::u32(uint32_t(c.head_dim)));
  if (c.head_dim * c.num_attention_heads != c.hidden_size) {  // an explicit head_dim
    put(a + "attention.key_length", GgufValue::u32(uint32_t(c.head_dim)));
    put(a + "attention.value_length", GgufValue::u32(uint32_t(c.head_dim)));
  }
  if (c.rope_scaling.kind == RopeScaling::Kind::Linear) {
    put(a + "rope.scaling.type", GgufValue::string("linear"));
    put(a + "rope.scaling.factor", GgufValue::f32(float(c.rope_scaling.factor)));
  }
  if (c.sliding_window && *c.sliding_window < c.max_position_embeddings)
    notes.push_back("llama.cpp attends over the whole context: the model's sliding window of " +
                    std::to_string(*c.sliding_window) + " tokens is not applied");
  add_tokenizer(in, kv, notes);
  return kv;
}

// A ggml type whose bytes are those of the stored dtype.
bool same_bytes(DType stored, GgmlType t) {
  return (stored == DType::F32 && t == GgmlType::F32) || (stored == DType::F16 && t == GgmlType::F16) ||
         (stored == DType::BF16 && t == GgmlType::BF16);
}

}  // namespace

GgmlType parse_gguf_type(const std::string& name) {
  if (name == "f32") return GgmlType::F32;
  if (name == "f16") return GgmlType::F16;
  if (name == "bf16") return GgmlType::BF16;
  if (name == "q8_0") return GgmlType::Q8_0;
  LP_FAIL("--type: unknown type \"", name, "\" (expected f32, f16, bf16 or q8_0)");
}

void quantize_row_q8_0(const float* x, size_t n, uint8_t* out) {
  for (size_t b = 0; b < n; b += kQ8BlockSize) {
    float amax = 0;
    for (size_t j = 0; j < kQ8BlockSize; j++) amax = std::max(amax, std::fabs(x[b + j]));
    const float d = amax / 127.0f, id = d != 0 ? 1.0f / d : 0.0f;
    const uint16_t d16 = f32_to_f16(d);
    std::memcpy(out, &d16, 2);
    for (size_t j = 0; j < kQ8BlockSize; j++) out[2 + j] = uint8_t(int8_t(std::round(x[b + j] * id)));
    out += 2 + kQ8BlockSize;
  }
}

GgufExportResult export_gguf(const ModelFolder& in, const fs::path& out, const GgufExportOptions& o) {
  const std::string where = in.dir().string();
  const Arch arch = gguf_arch(in.config, where);
  GgufExportResult result;
  std::vector<PlannedTensor> planned = plan_tensors(in, arch, o.type, result.notes);
  std::vector<GgufKeyValue> metadata = model_metadata(in, arch, o.type, result.notes);  // refusals happen here

  std::vector<GgufTensorInfo> infos;
  uint64_t total = 0;
  for (const auto& p : planned) {
    infos.push_back(p.info);
    total += p.info.nbytes();
  }
  Output output({out, OutputKind::File, {in.dir()}, o.force});
  AtomicFile file(output.path());
  GgufWriter writer(std::move(metadata), std::move(infos));
  writer.begin(file);

  Progress progress("export", total, "B");
  uint64_t done = 0;
  std::vector<float> row;
  std::vector<uint8_t> bytes;
  for (const auto& p : planned) {
    if (p.source.empty()) {  // rope_freqs: computed values
      writer.append(p.values.data(), p.values.size() * sizeof(float));
      continue;
    }
    const TensorRef ref = in.checkpoint->tensor(p.source);
    const uint64_t cols = p.info.dims[0], rows = p.info.nbytes() / ggml_row_bytes(p.info.type, cols);
    const bool vector = p.info.dims.size() == 1;
    if (same_bytes(ref.info->dtype, p.info.type) && p.permute_heads == 0) {  // stored as llama.cpp wants it
      writer.append_from_file(ref.file->mapping().fd(), ref.file->file_offset(*ref.info), p.info.nbytes());
      done += p.info.nbytes();
      if (o.progress) progress.update(done);
      continue;
    }
    row.resize(size_t(cols));
    bytes.resize(size_t(ggml_row_bytes(p.info.type, cols)));
    const size_t esize = dtype_size(ref.info->dtype);
    for (uint64_t r = 0; r < rows; r++) {
      if (vector && p.permute_heads > 0) {  // a q/k bias: its elements move like the rows
        for (uint64_t i = 0; i < cols; i++)
          convert_elements(ref.data + source_index(p, i) * esize, ref.info->dtype, &row[size_t(i)], DType::F32, 1);
      } else {
        convert_elements(ref.data + source_index(p, r) * cols * esize, ref.info->dtype, row.data(), DType::F32,
                         size_t(cols));
      }
      switch (p.info.type) {
        case GgmlType::F32: std::memcpy(bytes.data(), row.data(), bytes.size()); break;
        case GgmlType::F16: convert_elements(row.data(), DType::F32, bytes.data(), DType::F16, size_t(cols)); break;
        case GgmlType::BF16: convert_elements(row.data(), DType::F32, bytes.data(), DType::BF16, size_t(cols)); break;
        case GgmlType::Q8_0: quantize_row_q8_0(row.data(), size_t(cols), bytes.data()); break;
      }
      writer.append(bytes.data(), bytes.size());
      done += bytes.size();
      if (o.progress && r % 64 == 0) progress.update(done);
    }
    // Drop the pages read from the mapping, so memory stays a few rows whatever the model size.
    ref.file->mapping().advise_done(ref.file->file_offset(*ref.info), ref.info->nbytes());
  }
  writer.finish();
  if (o.progress) progress.finish();
  file.commit();
  output.commit();
  result.bytes = writer.bytes_written();
  result.tensors = planned.size();
  result.seconds = progress.elapsed_seconds();
  return result;
}

}  // namespace llamapro
