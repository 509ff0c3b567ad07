// metrics_log.cpp — see metrics_log.h.
#include "train/metrics_log.h"

#include <cmath>
#include <sstream>

#include "train/run_folder.h"
#include "util/check.h"
#include "util/files.h"

namespace llamapro {

namespace {
constexpr const char* kEvalLossOf = "eval_loss/";
}

json step_record(const StepMetrics& m) {
  json record = {{"step", m.step}, {"tokens", m.tokens}, {"loss", m.loss}, {"lr", m.lr}, {"grad_norm", m.grad_norm},
                 {"tokens_per_s", m.tokens_per_second}};
  if (!m.resident_bytes.is_null()) record["resident_bytes"] = m.resident_bytes;
  if (!m.source_tokens.is_null()) record["source_tokens"] = m.source_tokens;
  return record;
}

json eval_record(const EvalMetrics& m) {
  json record = {{"step", m.step}, {"tokens", m.tokens}};
  for (const auto& [name, loss] : m.per_set) record[kEvalLossOf + name] = loss;
  record["eval_loss"] = m.loss;
  record["eval_ppl"] = std::exp(m.loss);
  return record;
}

std::vector<MetricsPoint> read_metrics_log(const std::filesystem::path& run_dir) {
  const std::filesystem::path file = run_dir / kMetricsFile;
  LP_CHECK(std::filesystem::is_regular_file(file), run_dir.string(), ": no ", kMetricsFile,
           " (not a training run folder)");
  std::istringstream in(read_file(file));
  std::vector<MetricsPoint> out;
  int line_no = 0;
  for (std::string line; std::getline(in, line);) {
    line_no++;
    if (line.empty()) continue;
    const json j = parse_json(line, file.string() + ":" + std::to_string(line_no));
    if (!j.is_object() || !j.contains("tokens") || !j["tokens"].is_number()) continue;
    MetricsPoint p;
    p.tokens = j["tokens"].get<double>();
    if (j.contains("loss") && j["loss"].is_number()) p.loss = j["loss"].get<double>();
    if (j.contains("eval_loss") && j["eval_loss"].is_number()) p.eval_loss = j["eval_loss"].get<double>();
    for (const auto& [key, value] : j.items())
      if (key.rfind(kEvalLossOf, 0) == 0 && value.is_number())
        p.eval_loss_of[key.substr(std::string(kEvalLossOf).size())] = value.get<double>();
    out.push_back(std::move(p));
  }
  return out;
}

}  // namespace llamapro
