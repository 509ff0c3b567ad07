// report.h — benchmark results of several models side by side: a text table for the terminal,
// and a report folder (report.md, results.json, chart.png and chart.svg) written through util/output.
// Models are rows, task metrics columns; every cell after the first model's carries its change
// against the first model, the shape of LLaMA Pro's claim (gain on the domain, no forgetting).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "util/json.h"

namespace llamapro {

struct ReportColumn {
  std::string task, metric;
  bool higher_is_better = true;  // perplexities: lower is better
};

struct ReportCell {
  double value = NAN, stderr_ = NAN;
};

struct Report {
  std::vector<std::string> models;               // paths, the first is the reference
  std::vector<ReportColumn> columns;
  std::vector<std::vector<ReportCell>> cells;    // [model][column]
  json results = json::object();                 // everything, for results.json
};

std::string report_table(const Report& r);     // plain text, aligned
std::string report_markdown(const Report& r);
// One panel of bars per column (each at its own scale), and with two loss columns (domain, then
// general) a panel of each model's change in both against the first: gain against forgetting.
struct Figure;
Figure report_figure(const Report& r);
// report.md, results.json, chart.png and chart.svg in a new folder `dir` (replaced only with
// force, never an input).
void write_report(const Report& r, const std::filesystem::path& dir, bool force,
                  const std::vector<std::filesystem::path>& inputs);

}  // namespace llamapro
