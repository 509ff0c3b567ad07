// bench_model.cpp — model speed against a plain C reference (ref_llama.c) on CPU, and forward
// scoring of a LLaMA-2-7B-shaped random model on a GPU.
//
//   bench_model [--fixtures DIR] [--new-tokens N] [--llama2c-rate TOK_S]
//                                                      CPU: greedy decode on stories260K (and the
//                                                      ratio to run.c's rate when given) and
//                                                      forward of a 4-layer 512-dim random model
//   bench_model --gpu [--device cuda] [--dtype bf16] [--shape 7b|tiny] [--seq 4096] [--batch 1]
//                                                      forward scoring tokens/s on a random model
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "infer/generate.h"
#include "model/compat.h"
#include "model/device.h"
#include "model/load.h"
#include "ref_llama.h"

using namespace llamapro;
using clock_type = std::chrono::steady_clock;

namespace {

double seconds_since(clock_type::time_point t0) {
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}

// The C reference's view of a float32 CPU model (weights must stay alive).
struct RefModel {
  RefConfig config{};
  RefWeights weights{};
  std::vector<const float*> attn_norm, wq, wk, wv, wo, mlp_norm, gate, up, down;
  std::vector<torch::Tensor> keep;  // contiguous float32 copies where needed

  RefModel(const Model& m, int seq_len) {
    const ModelConfig& c = m.config();
    config = {int(c.hidden_size), int(c.intermediate_size), int(c.num_hidden_layers), int(c.num_attention_heads),
              int(c.num_key_value_heads), int(c.head_dim), int(c.vocab_size), seq_len, float(c.rope_theta),
              float(c.rms_norm_eps)};
    const ModelWeights& w = m.weights();
    for (const auto& b : w.blocks) {
      attn_norm.push_back(ptr(b.attn_norm));
      wq.push_back(ptr(b.attn.wq));
      wk.push_back(ptr(b.attn.wk));
      wv.push_back(ptr(b.attn.wv));
      wo.push_back(ptr(b.attn.wo));
      mlp_norm.push_back(ptr(b.mlp_norm));
      gate.push_back(ptr(b.w_gate));
      up.push_back(ptr(b.w_up));
      down.push_back(ptr(b.w_down));
    }
    weights = {ptr(w.embed), attn_norm.data(), wq.data(), wk.data(), wv.data(), wo.data(), mlp_norm.data(),
               gate.data(), up.data(), down.data(), ptr(w.norm), ptr(w.lm_head)};
  }
  const float* ptr(const torch::Tensor& t) {
    keep.push_back(t.detach().to(torch::kCPU, torch::kFloat).contiguous());
    return keep.back().data_ptr<float>();
  }
};

// Tokens per second of the decoding steps alone (the token sampled from the prefill's logits
// is not a step), as llama2.c's run.c counts; the median of `runs` generations.
double decode_rate(const Model& m, const GenerateOptions& o, int runs, std::vector<int64_t>* tokens) {
  std::vector<double> rates;
  for (int i = 0; i < runs; i++) {
    auto g = generate(m, {1}, o);
    rates.push_back(double(g.tokens.size() - 1) / g.decode_seconds);
    if (tokens) *tokens = g.tokens;
  }
  std::sort(rates.begin(), rates.end());
  return rates[rates.size() / 2];
}

struct Row {
  std::string what;
  double ours, peer;  // tokens/s
};

void print_table(const std::vector<Row>& rows, const char* peer_name) {
  std::printf("\n%-44s %14s %14s %8s\n", "benchmark", "llamapro tok/s", peer_name, "ratio");
  for (const auto& r : rows)
    std::printf("%-44s %14.1f %14.1f %7.2fx\n", r.what.c_str(), r.ours, r.peer, r.ours / r.peer);
}

int run_cpu(const std::string& fixtures, int new_tokens, double llama2c_rate) {
  std::vector<Row> rows, peer_rows;
  torch::NoGradGuard no_grad;
  std::printf("libtorch %s, %d threads\n", compat::torch_version().c_str(), torch::get_num_threads());

  // 1. greedy decoding of stories260K from BOS
  if (!fixtures.empty()) {
    Model m = load_model(fixtures + "/models/stories260K", ModelOptions{});
    GenerateOptions o;
    o.max_new_tokens = new_tokens;
    o.stop_at_eos = false;
    generate(m, {1}, o);  // warm up
    std::vector<int64_t> ours;
    const double ours_tps = decode_rate(m, o, 5, &ours);

    RefModel ref(m, new_tokens + 1);
    RefState* s = ref_state_new(&ref.config);
    std::vector<int> ref_tokens;
    int token = ref_argmax(ref_forward(s, &ref.weights, 1, 0), ref.config.vocab_size);
    ref_tokens.push_back(token);
    auto t0 = clock_type::now();
    for (int pos = 1; pos < new_tokens; pos++) {
      token = ref_argmax(ref_forward(s, &ref.weights, token, pos), ref.config.vocab_size);
      ref_tokens.push_back(token);
    }
    const double ref_tps = double(new_tokens - 1) / seconds_since(t0);
    ref_state_free(s);
    int same = 0;
    while (same < new_tokens && ref_tokens[size_t(same)] == ours[size_t(same)]) same++;
    std::printf("stories260K greedy: first %d of %d tokens identical between llamapro and the C reference\n", same,
                new_tokens);
    const std::string what = "stories260K greedy decode, " + std::to_string(new_tokens) + " tokens";
    rows.push_back({what, ours_tps, ref_tps});
    if (llama2c_rate > 0) peer_rows.push_back({what, ours_tps, llama2c_rate});
  } else {
    std::printf("(LLAMAPRO_FIXTURES not set: stories260K benchmark skipped)\n");
  }

  // 2. forward of a random 4-layer, 512-dim model over a sequence
  ModelConfig c;
  c.hidden_size = 512;
  c.num_hidden_layers = 4;
  c.num_attention_heads = 8;
  c.num_key_value_heads = 8;
  c.head_dim = 64;
  c.intermediate_size = 1376;
  c.vocab_size = 32000;
  c.max_position_embeddings = 2048;
  Model m = random_model(c, ModelOptions{}, 1);
  const int64_t T = 256, B = 4;
  auto ids = torch::randint(0, c.vocab_size, {B, T}, torch::kLong);
  m.forward(ids.narrow(0, 0, 1));  // warm up
  auto t0 = clock_type::now();
  int iters = 0;
  while (iters < 3 || seconds_since(t0) < 2.0) {
    m.forward(ids);
    iters++;
  }
  const double ours_tps = double(B * T * iters) / seconds_since(t0);
  // The C reference has no batched forward: it runs the same positions token by token.
  RefModel ref(m, int(T));
  RefState* s = ref_state_new(&ref.config);
  const int64_t* p = ids.data_ptr<int64_t>();
  t0 = clock_type::now();
  for (int pos = 0; pos < T; pos++) ref_forward(s, &ref.weights, int(p[pos]), pos);
  const double ref_tps = double(T) / seconds_since(t0);
  ref_state_free(s);
  rows.push_back({"random 4x512 forward, batch 4 x 256 positions", ours_tps, ref_tps});

  // 3. the same model decoding one token at a time (what the C reference does)
  GenerateOptions o;
  o.max_new_tokens = 128;
  o.stop_at_eos = false;
  const double dec_tps = decode_rate(m, o, 3, nullptr);
  s = ref_state_new(&ref.config);
  int token = ref_argmax(ref_forward(s, &ref.weights, 1, 0), int(c.vocab_size));
  t0 = clock_type::now();
  for (int pos = 1; pos < 128; pos++) token = ref_argmax(ref_forward(s, &ref.weights, token, pos), int(c.vocab_size));
  const double ref_dec = 127.0 / seconds_since(t0);
  ref_state_free(s);
  rows.push_back({"random 4x512 greedy decode, 128 tokens", dec_tps, ref_dec});

  print_table(rows, "C ref tok/s");
  if (!peer_rows.empty()) print_table(peer_rows, "run.c tok/s");
  return 0;
}

// LLaMA-2-7B: 32 blocks of 4096 with MLP 11008, 32 heads, vocab 32000.
ModelConfig shape(const std::string& name) {
  ModelConfig c;
  c.num_attention_heads = 32;
  c.num_key_value_heads = 32;
  c.vocab_size = 32000;
  c.max_position_embeddings = 4096;
  c.rms_norm_eps = 1e-5;
  if (name == "7b") {
    c.hidden_size = 4096;
    c.num_hidden_layers = 32;
    c.intermediate_size = 11008;
  } else if (name == "tiny") {
    c.hidden_size = 256;
    c.num_hidden_layers = 2;
    c.intermediate_size = 688;
    c.num_attention_heads = c.num_key_value_heads = 4;
  } else {
    std::fprintf(stderr, "error: unknown --shape %s (expected 7b or tiny)\n", name.c_str());
    std::exit(1);
  }
  c.head_dim = c.hidden_size / c.num_attention_heads;
  return c;
}

int run_gpu(const std::string& device, const std::string& dtype, const std::string& shape_name, int64_t seq,
            int64_t batch, int iters) {
  ModelOptions o;
  o.device = parse_device(device);
  o.dtype = parse_compute_dtype(dtype, o.device);
  ModelConfig c = shape(shape_name);
  LP_CHECK(seq <= c.max_position_embeddings, "--seq ", seq, " exceeds ", c.max_position_embeddings);
  auto t0 = clock_type::now();
  Model m = random_model(c, o, 1);
  int64_t params = 0;
  for (const auto& p : m.named_parameters()) params += p.tensor.numel();
  std::printf("libtorch %s, %s, random %s model (%.2fB parameters) in %s, init %.1fs\n",
              compat::torch_version().c_str(), device.c_str(), shape_name.c_str(), double(params) / 1e9,
              dtype_label(o.dtype).c_str(), seconds_since(t0));
  torch::NoGradGuard no_grad;
  auto ids = torch::randint(0, c.vocab_size, {batch, seq}, torch::TensorOptions().dtype(torch::kLong).device(o.device));
  auto sync = [](const torch::Tensor& t) { return t.sum().item<float>(); };  // waits for the device
  sync(m.forward(ids));  // warm up (kernel selection, allocator)
  t0 = clock_type::now();
  for (int i = 0; i < iters; i++) sync(m.forward(ids));
  const double s = seconds_since(t0);
  const double tps = double(batch * seq * iters) / s;
  std::printf("\n%-48s %14s %14s %8s\n", "benchmark", "llamapro tok/s", "peer tok/s", "ratio");
  char what[128];
  std::snprintf(what, sizeof what, "%s forward scoring, %s, batch %lld x seq %lld", shape_name.c_str(),
                dtype_label(o.dtype).c_str(), (long long)batch, (long long)seq);
  // The peer figure (DESIGN.md section 5): transformers 5.17 + PyTorch 2.11 SDPA bf16 on an
  // H100, LLaMA-2-7B forward-only scoring.
  const double peer = (shape_name == "7b" && o.dtype == torch::kBFloat16) ? 26200.0 : 0.0;
  if (peer > 0) std::printf("%-48s %14.0f %14.0f %7.2fx\n", what, tps, peer, tps / peer);
  else std::printf("%-48s %14.0f %14s %8s\n", what, tps, "-", "-");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const char* env = std::getenv("LLAMAPRO_FIXTURES");
  std::string fixtures = env ? env : "", device = "cuda", dtype = "bf16", shape_name = "7b";
  bool gpu = false;
  int new_tokens = 256, iters = 5;
  double llama2c_rate = 0;  // tokens/s of llama2.c's run.c measured by run.sh
  int64_t seq = 4096, batch = 1;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) { std::fprintf(stderr, "error: %s needs a value\n", a.c_str()); std::exit(1); }
      return argv[++i];
    };
    if (a == "--gpu") gpu = true;
    else if (a == "--fixtures") fixtures = next();
    else if (a == "--new-tokens") new_tokens = std::stoi(next());
    else if (a == "--llama2c-rate") llama2c_rate = std::stod(next());
    else if (a == "--device") device = next();
    else if (a == "--dtype") dtype = next();
    else if (a == "--shape") shape_name = next();
    else if (a == "--seq") seq = std::stoll(next());
    else if (a == "--batch") batch = std::stoll(next());
    else if (a == "--iters") iters = std::stoi(next());
    else { std::fprintf(stderr, "error: unknown argument %s\n", a.c_str()); return 1; }
  }
  try {
    return gpu ? run_gpu(device, dtype, shape_name, seq, batch, iters) : run_cpu(fixtures, new_tokens, llama2c_rate);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
