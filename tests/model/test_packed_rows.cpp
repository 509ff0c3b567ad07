// test_packed_rows.cpp — a packed row computes exactly what its documents compute alone, on real
// models (stories260K: GQA, tied; tiny-qwen2: biases; tiny-llama3: llama3 rope scaling) and with
// activation checkpointing; and the chat loss covers every assistant turn, equal to a hand sum.
#include <gtest/gtest.h>

#include "common/fixtures.h"
#include "data/chat_template.h"
#include "model/load.h"
#include "model/loss.h"
#include "model/transformer.h"
#include "tokenizer/tokenizer.h"

namespace llamapro {
namespace {

using testing::fixture;

double rel_error(const torch::Tensor& out, const torch::Tensor& ref) {
  return ((out - ref).norm() / ref.norm()).item<double>();
}

// One row holding documents of these lengths (then padding to T), with ids drawn below vocab.
struct Row {
  torch::Tensor ids, positions, segments;  // (1, T)
  std::vector<std::pair<int64_t, int64_t>> docs;  // (start, length)
};

Row make_row(const std::vector<int64_t>& lengths, int64_t T, int64_t vocab, uint64_t seed) {
  torch::manual_seed(seed);
  Row r;
  r.ids = torch::randint(1, vocab, {1, T}, torch::kLong);
  r.positions = torch::zeros({1, T}, torch::kLong);
  r.segments = torch::full({1, T}, -1, torch::kLong);
  int64_t at = 0;
  for (size_t d = 0; d < lengths.size(); ++d) {
    r.docs.push_back({at, lengths[d]});
    for (int64_t i = 0; i < lengths[d]; ++i) {
      r.positions[0][at + i] = i;
      r.segments[0][at + i] = int64_t(d);
    }
    at += lengths[d];
  }
  return r;
}

void expect_documents_alone(const Model& model, const Row& row) {
  torch::NoGradGuard no_grad;
  const torch::Tensor packed = model.forward(row.ids, PackedRows{row.positions, row.segments});  // (1, T, V)
  for (auto [start, length] : row.docs) {
    const torch::Tensor alone = model.forward(row.ids.narrow(1, start, length));  // (1, n, V)
    EXPECT_LT(rel_error(packed.narrow(1, start, length), alone), 1e-5) << "document at " << start;
  }
}

TEST(PackedRows, EachDocumentComputesWhatItWouldAlone) {
  LP_REQUIRE_FIXTURES();
  for (const char* name : {"models/stories260K", "models/tiny-qwen2", "models/tiny-llama3"}) {
    SCOPED_TRACE(name);
    Model model = load_model(fixture(name), ModelOptions{});
    expect_documents_alone(model, make_row({9, 5, 17, 1, 12}, 48, model.config().vocab_size, 1));
  }
}

TEST(PackedRows, CheckpointedBlocksGiveTheSameLossAndGradients) {
  LP_REQUIRE_FIXTURES();
  Model model = load_model(fixture("models/stories260K"), ModelOptions{});
  model.set_trainable(3, true);
  const Row row = make_row({20, 7, 13}, 40, 512, 2);
  auto step = [&](bool checkpointing) {
    model.set_recompute_activations(checkpointing);
    auto loss = next_token_loss(model.forward(row.ids, PackedRows{row.positions, row.segments}), row.ids);
    auto& w = model.parameter("model.layers.3.mlp.up_proj.weight");
    w.mutable_grad() = torch::Tensor();
    loss.backward();
    return std::make_pair(loss.item<double>(), w.grad().clone());
  };
  auto [plain_loss, plain_grad] = step(false);
  auto [ckpt_loss, ckpt_grad] = step(true);
  EXPECT_NEAR(plain_loss, ckpt_loss, 1e-6);
  EXPECT_LT(rel_error(ckpt_grad, plain_grad), 1e-5);
}

// A two-turn conversation through the llama2 template on the stories260K tokenizer: the mask
// marks both replies (and their EOS) and nothing else, and the masked loss is the mean of the
// reply tokens' negative log-likelihoods computed by hand.
TEST(ChatLoss, EveryAssistantTurnIsTrainedAndTheLossIsTheHandSum) {
  LP_REQUIRE_FIXTURES();
  const Tokenizer tok = Tokenizer::from_dir(fixture("models/stories260K"));
  Conversation c;
  c.messages = {{"user", "Who is Lily?"}, {"assistant", "Lily is a girl."}, {"user", "What does she like?"},
                {"assistant", "She likes the park."}};
  TemplateTokens tt{"<s>", "</s>", true};
  std::vector<int32_t> ids;
  std::vector<uint8_t> mask;
  encode_chat(tok, render_chat(ChatTemplate::Llama2, c, tt, "test"), ids, mask);
  ASSERT_EQ(ids.size(), mask.size());

  // The masked spans decode to the two replies, each closed by EOS.
  std::vector<std::vector<int32_t>> span_ids;
  for (size_t i = 0; i < ids.size(); ++i) {
    if (!mask[i]) continue;
    if (i == 0 || !mask[i - 1]) span_ids.emplace_back();
    span_ids.back().push_back(ids[i]);
  }
  std::vector<std::string> spans;
  for (const auto& span : span_ids) spans.push_back(tok.decode(span, false));
  ASSERT_EQ(spans.size(), 2u);
  EXPECT_NE(spans[0].find("Lily is a girl."), std::string::npos) << spans[0];
  EXPECT_NE(spans[0].find("</s>"), std::string::npos) << spans[0];
  EXPECT_NE(spans[1].find("She likes the park."), std::string::npos) << spans[1];
  EXPECT_EQ(spans[0].find("Who"), std::string::npos) << "user text is no target";

  Model model = load_model(fixture("models/stories260K"), ModelOptions{});
  torch::NoGradGuard no_grad;
  std::vector<int64_t> ids64(ids.begin(), ids.end());
  const int64_t T = int64_t(ids.size());
  auto id_tensor = torch::tensor(ids64, torch::kLong).view({1, T});
  auto mask_tensor = torch::tensor(std::vector<int64_t>(mask.begin(), mask.end()), torch::kLong).view({1, T}).to(torch::kUInt8);
  auto logits = model.forward(id_tensor);  // (1, T, V)
  const double loss = next_token_loss(logits, id_tensor, mask_tensor).item<double>();

  auto logp = torch::log_softmax(logits[0].to(torch::kDouble), -1);  // (T, V)
  double sum = 0;
  int n = 0;
  for (int64_t t = 1; t < T; ++t) {
    if (!mask[size_t(t)]) continue;
    sum -= logp[t - 1][ids64[size_t(t)]].item<double>();
    n++;
  }
  EXPECT_GT(n, 8);
  EXPECT_NEAR(loss, sum / n, 1e-5);
}

}  // namespace
}  // namespace llamapro
