// train_helpers.h — shared set-up of the training tests: pre-tokenized data from id lists,
// and reading tensors of a model folder.
#pragma once

#include <torch/torch.h>

#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "common/fixtures.h"
#include "common/processes.h"
#include "io/checkpoint.h"
#include "io/safetensors.h"
#include "util/strings.h"

namespace llamapro::testing {

// A data folder of the given documents, taken verbatim (pre-tokenized JSON Lines).
inline std::string prepare_ids(const TempDir& tmp, const std::string& model_dir,
                               const std::vector<std::vector<int64_t>>& docs, const std::string& name = "data") {
  std::ofstream f(tmp.str(name + ".jsonl"));
  for (const auto& d : docs) {
    f << "{\"ids\": [";
    for (size_t i = 0; i < d.size(); i++) f << (i ? "," : "") << d[i];
    f << "]}\n";
  }
  f.close();
  CliResult r = run_cli("data prepare --tokenizer " + model_dir + " --input " + tmp.str(name + ".jsonl") + " -o " +
                        tmp.str(name) + " --val-fraction 0 --no-progress");
  EXPECT_EQ(r.status, 0) << r.err;
  return tmp.str(name);
}

// A float32 copy of a tensor stored in a safetensors file / model folder.
inline torch::Tensor load_tensor(const SafetensorsFile& f, const std::string& name) {
  const TensorInfo* t = f.find(name);
  EXPECT_NE(t, nullptr) << name;
  if (!t) return {};
  EXPECT_EQ(t->dtype, DType::F32) << name;
  return torch::from_blob(const_cast<uint8_t*>(f.data(*t)), t->shape, torch::kFloat).clone();
}

inline torch::Tensor load_tensor(const Checkpoint& ck, const std::string& name) {
  TensorRef r = ck.tensor(name);
  return torch::from_blob(const_cast<uint8_t*>(r.data), r.info->shape, torch::kFloat).clone();
}

inline double rel_error(const torch::Tensor& got, const torch::Tensor& want) {
  return (got - want).norm().item<double>() / std::max(1e-30, want.norm().item<double>());
}

}  // namespace llamapro::testing
