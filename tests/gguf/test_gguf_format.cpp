// test_gguf_format.cpp — the GGUF writer and reader against each other and against hand-made
// bytes, Q8_0 against a hand computation, and the export's tensor layout (names, ggml
// dimension order, llama's q/k permutation, llama3 RoPE factors) against independent math.
#include <gtest/gtest.h>

#include <torch/torch.h>

#include <cstring>

#include "common/fixtures.h"
#include "export/gguf.h"
#include "export/gguf_export.h"
#include "io/dtype.h"
#include "model/model_folder.h"
#include "model/rope.h"
#include "util/check.h"
#include "util/files.h"

namespace llamapro {
namespace {

using testing::fixture;
using testing::TempDir;

std::string write_small_gguf(const TempDir& tmp) {
  std::vector<GgufKeyValue> kv = {
      {"general.architecture", GgufValue::string("llama")},
      {"x.u32", GgufValue::u32(7)},
      {"x.i32", GgufValue::i32(-3)},
      {"x.f32", GgufValue::f32(0.5f)},
      {"x.bool", GgufValue::boolean(true)},
      {"x.strings", GgufValue::strings({"a", "", "b c"})},
      {"x.i32s", GgufValue::i32s({1, -2, 3})},
  };
  std::vector<GgufTensorInfo> tensors = {{"a", {3}, GgmlType::F32, 0}, {"b", {32, 2}, GgmlType::Q8_0, 0}};
  const std::string path = tmp.str("small.gguf");
  AtomicFile file(path);
  GgufWriter w(kv, tensors);
  w.begin(file);
  const float a[3] = {1, 2, 3};
  w.append(a, sizeof a);
  std::vector<uint8_t> b(68);
  for (size_t i = 0; i < b.size(); i++) b[i] = uint8_t(i);
  w.append(b.data(), 10);  // any piece size
  w.append(b.data() + 10, b.size() - 10);
  w.finish();
  file.commit();
  return path;
}

TEST(GgufFormat, WriterAndReaderAgree) {
  TempDir tmp;
  GgufFile f(write_small_gguf(tmp));
  EXPECT_EQ(f.version(), 3u);
  ASSERT_EQ(f.metadata().size(), 7u);
  EXPECT_EQ(f.find("x.u32")->to_string(), "7");
  EXPECT_EQ(f.find("x.i32")->to_string(), "-3");
  EXPECT_EQ(f.find("x.f32")->to_string(), "0.5");
  EXPECT_EQ(f.find("x.bool")->to_string(), "true");
  EXPECT_EQ(f.find("x.strings")->to_string(), "[\"a\", \"\", \"b c\"]");
  EXPECT_EQ(f.find("x.i32s")->to_string(), "[1, -2, 3]");
  ASSERT_EQ(f.tensors().size(), 2u);
  const auto& a = f.tensors()[0];
  const auto& b = f.tensors()[1];
  EXPECT_EQ(a.offset, 0u);
  EXPECT_EQ(b.offset, 32u);  // 12 bytes, padded to the 32-byte alignment
  EXPECT_EQ(b.nbytes(), 68u);  // 2 rows of one 34-byte block
  EXPECT_EQ(f.data_offset() % 32, 0u);
  float got[3];
  std::memcpy(got, f.tensor_data(a), sizeof got);
  EXPECT_EQ(got[2], 3.0f);
  EXPECT_EQ(f.tensor_data(b)[67], 67);
}

TEST(GgufFormat, EveryTruncationAndCorruptionIsOneCleanError) {
  TempDir tmp;
  const std::string path = write_small_gguf(tmp), bytes = read_file(path);
  // Every prefix that cuts into the header or the tensor data is refused (never a crash or an
  // overread); only the final padding may go missing.
  GgufFile whole(path);
  const size_t end = size_t(whole.data_offset() + whole.tensors().back().offset + whole.tensors().back().nbytes());
  for (size_t n = 0; n < end; n++)
    EXPECT_THROW(GgufFile(reinterpret_cast<const uint8_t*>(bytes.data()), n, "prefix"), Error) << n;
  auto corrupt = [&](size_t at, uint8_t value) {
    std::string b = bytes;
    b[at] = char(value);
    return b;
  };
  auto refuses = [](const std::string& b, const std::string& says) {
    try {
      GgufFile(reinterpret_cast<const uint8_t*>(b.data()), b.size(), "f");
    } catch (const Error& e) {
      return std::string(e.what()).find(says) != std::string::npos ? ::testing::AssertionSuccess()
                                                                     : ::testing::AssertionFailure() << e.what();
    }
    return ::testing::AssertionFailure() << "accepted";
  };
  EXPECT_TRUE(refuses(corrupt(0, 'X'), "bad magic"));
  EXPECT_TRUE(refuses(corrupt(4, 9), "version 9"));
  EXPECT_TRUE(refuses(corrupt(16, 0xFF), "count larger than the file allows"));  // key/value count
}

TEST(GgufQuant, Q8_0MatchesAHandComputation) {
  std::vector<float> x(64);
  for (size_t i = 0; i < 32; i++) x[i] = float(i) * 0.25f - 4.0f;  // max |x| = 4
  // second block all zeros: scale 0, quants 0
  std::vector<uint8_t> out(68);
  quantize_row_q8_0(x.data(), x.size(), out.data());
  const float d = 4.0f / 127.0f;
  uint16_t d16;
  std::memcpy(&d16, out.data(), 2);
  EXPECT_EQ(d16, f32_to_f16(d));
  for (size_t i = 0; i < 32; i++) {
    const float q = x[i] / d;
    const int want = int(q < 0 ? -std::floor(-q + 0.5f) : std::floor(q + 0.5f));  // half away from zero
    EXPECT_EQ(int(int8_t(out[2 + i])), want) << i;
  }
  EXPECT_EQ(int(int8_t(out[2])), -127);
  for (size_t i = 34; i < 68; i++) EXPECT_EQ(out[i], 0) << i;
}

// A tensor of an exported F32 GGUF as a torch tensor in HF's (rows, cols) layout.
torch::Tensor gguf_tensor(const GgufFile& f, const std::string& name) {
  for (const auto& t : f.tensors()) {
    if (t.name != name) continue;
    EXPECT_EQ(t.type, GgmlType::F32);
    std::vector<int64_t> shape(t.dims.rbegin(), t.dims.rend());
    return torch::from_blob(const_cast<uint8_t*>(f.tensor_data(t)), shape, torch::kFloat).clone();
  }
  ADD_FAILURE() << "no tensor " << name;
  return {};
}

torch::Tensor hf_tensor(const ModelFolder& m, const std::string& name) {
  TensorRef r = m.checkpoint->tensor(name);
  std::vector<float> v(r.info->numel());
  convert_elements(r.data, r.info->dtype, v.data(), DType::F32, v.size());
  return torch::tensor(v).view(r.info->shape);
}

TEST(GgufExport, LayoutFollowsLlamaCpp) {
  LP_REQUIRE_FIXTURES();
  TempDir tmp;
  for (const char* name : {"tiny-llama", "tiny-qwen2", "tiny-llama3", "stories260K"}) {
    SCOPED_TRACE(name);
    const ModelFolder m = ModelFolder::open(fixture(std::string("models/") + name));
    GgufExportOptions o;
    o.type = GgmlType::F32;
    o.progress = false;
    const std::string out = tmp.str(std::string(name) + ".gguf");
    export_gguf(m, out, o);
    GgufFile f(out);
    const ModelConfig& c = m.config;
    EXPECT_EQ(f.find("general.architecture")->to_string(), c.model_type == "qwen2" ? "\"qwen2\"" : "\"llama\"");
    // Dimensions in ggml order: the embedding is (C, V).
    const GgufTensorInfo& embd = f.tensors()[0];
    EXPECT_EQ(embd.name, "token_embd.weight");
    EXPECT_EQ(embd.dims, (std::vector<uint64_t>{uint64_t(c.hidden_size), uint64_t(c.vocab_size)}));
    // q/k: llama rotates interleaved pairs, so each head's rows go from rotate-half order
    // (first half, second half) to pairs; qwen2 rotates halves like HF and is left alone.
    const int64_t hd = c.head_dim;
    for (auto [hf, gg, heads] : {std::tuple{"q_proj", "attn_q", c.num_attention_heads},
                                 std::tuple{"k_proj", "attn_k", c.num_key_value_heads}}) {
      torch::Tensor w = hf_tensor(m, std::string("model.layers.1.self_attn.") + hf + ".weight");
      torch::Tensor want = c.model_type == "qwen2" ? w
                                                   : w.view({heads, 2, hd / 2, c.hidden_size}).transpose(1, 2).reshape(w.sizes());
      EXPECT_TRUE(torch::equal(gguf_tensor(f, std::string("blk.1.") + gg + ".weight"), want)) << hf;
    }
    if (c.model_type == "qwen2")
      EXPECT_TRUE(torch::equal(gguf_tensor(f, "blk.0.attn_k.bias"), hf_tensor(m, "model.layers.0.self_attn.k_proj.bias")));
    // Tied embeddings have no output tensor; llama.cpp reuses token_embd.
    bool has_output = false;
    for (const auto& t : f.tensors()) has_output |= t.name == "output.weight";
    EXPECT_EQ(has_output, !c.tie_word_embeddings);
    // llama3: llama.cpp divides each frequency by rope_freqs; the result must be ours.
    if (c.rope_scaling.kind == RopeScaling::Kind::Llama3) {
      ModelConfig plain = c;
      plain.rope_scaling = RopeScaling{};
      torch::Tensor ratio = rope_inv_freq(plain) / rope_inv_freq(c);
      EXPECT_TRUE(torch::allclose(gguf_tensor(f, "rope_freqs.weight"), ratio, 1e-5, 1e-6));
    }
  }
}

TEST(GgufExport, RefusesWhatLlamaCppCannotRepresentBeforeWriting) {
  LP_REQUIRE_FIXTURES();
  TempDir tmp;
  // A complete folder with MLP biases (init writes the bias tensors the config asks for): the
  // exporter itself must refuse it, not the folder's reader.
  std::string config = read_file(fixture("models/tiny-llama/config.json"));
  config.replace(config.find("\"mlp_bias\": false"), std::string("\"mlp_bias\": false").size(), "\"mlp_bias\": true");
  write_file_atomic(tmp.str("config.json"), config);
  ASSERT_EQ(testing::run_cli("init --config " + tmp.str("config.json") + " -o " + tmp.str("m") + " --no-progress").status, 0);
  ASSERT_EQ(testing::run_cli("inspect " + tmp.str("m")).status, 0);
  auto r = testing::run_cli("export gguf " + tmp.str("m") + " -o " + tmp.str("m.gguf"));
  EXPECT_TRUE(testing::is_clean_error(r));
  EXPECT_NE(r.err.find("llama.cpp's llama graph has no MLP biases"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(tmp.str("m.gguf")));
  // And the output rules of every command: never into an input.
  r = testing::run_cli("export gguf " + fixture("models/tiny-qwen2") + " -o " + fixture("models/tiny-qwen2/x.gguf"));
  EXPECT_TRUE(testing::is_clean_error(r));
  EXPECT_NE(r.err.find("lies inside the input"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace llamapro
