#include "eval/report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "plot/chart.h"
#include "util/files.h"
#include "util/output.h"

namespace llamapro {

namespace {

std::string number(double v) {
  char buf[32];
  if (std::isnan(v)) return "-";
  std::snprintf(buf, sizeof buf, std::fabs(v) >= 100 ? "%.1f" : "%.4f", v);
  return buf;
}

// "0.5120 ±0.0201 +0.0130": value, standard error, change against the first model.
std::string cell_text(const Report& r, size_t m, size_t c) {
  const ReportCell& x = r.cells[m][c];
  std::string s = number(x.value);
  if (!std::isnan(x.stderr_)) s += " ±" + number(x.stderr_);
  if (m > 0 && !std::isnan(x.value) && !std::isnan(r.cells[0][c].value)) {
    char buf[32];
    std::snprintf(buf, sizeof buf, " %+.4f", x.value - r.cells[0][c].value);
    s += buf;
  }
  return s;
}

std::string column_title(const ReportColumn& c) { return c.task + " " + c.metric; }

}  // namespace

std::string report_table(const Report& r) {
  std::vector<size_t> width(r.columns.size() + 1, 5);
  for (const auto& m : r.models) width[0] = std::max(width[0], folder_name(m).size());
  for (size_t c = 0; c < r.columns.size(); c++) {
    width[c + 1] = column_title(r.columns[c]).size();
    for (size_t m = 0; m < r.models.size(); m++) width[c + 1] = std::max(width[c + 1], cell_text(r, m, c).size());
  }
  auto pad = [](std::string s, size_t w) { return s + std::string(w > s.size() ? w - s.size() : 0, ' '); };
  std::string out = pad("model", width[0]);
  for (size_t c = 0; c < r.columns.size(); c++) out += "  " + pad(column_title(r.columns[c]), width[c + 1]);
  out += "\n";
  for (size_t m = 0; m < r.models.size(); m++) {
    out += pad(folder_name(r.models[m]), width[0]);
    for (size_t c = 0; c < r.columns.size(); c++) out += "  " + pad(cell_text(r, m, c), width[c + 1]);
    out += "\n";
  }
  if (r.models.size() > 1)
    out += "(the signed number is the change against " + folder_name(r.models[0]) +
           "; ± the standard error where shown; losses and perplexities: lower is better)\n";
  return out;
}

std::string report_markdown(const Report& r) {
  std::string out = "# Benchmark results\n\n| model |";
  for (const auto& c : r.columns) out += " " + column_title(c) + " |";
  out += "\n|---|";
  for (size_t c = 0; c < r.columns.size(); c++) out += "---:|";
  out += "\n";
  for (size_t m = 0; m < r.models.size(); m++) {
    out += "| " + folder_name(r.models[m]) + " |";
    for (size_t c = 0; c < r.columns.size(); c++) out += " " + cell_text(r, m, c) + " |";
    out += "\n";
  }
  out += "\nModels:\n\n";
  for (const auto& m : r.models) out += "- `" + m + "`\n";
  out += "\n± is the standard error of the mean over documents; the signed number is the change against the "
         "first model. chart.png (and chart.svg) draws each column at its own scale and, with two data folders, "
         "every model's change in both (gain against forgetting); results.json holds every metric and every "
         "document's scores.\n";
  return out;
}

Figure report_figure(const Report& r) {
  Figure f;
  f.title = "results side by side";
  for (const auto& m : r.models) f.entries.push_back(folder_name(m));
  for (size_t c = 0; c < r.columns.size(); c++) {
    BarPanel p{r.columns[c].task, r.columns[c].metric + (r.columns[c].higher_is_better ? " (higher is better)" : " (lower is better)"), {}};
    for (size_t m = 0; m < r.models.size(); m++) p.values.push_back(r.cells[m][c].value);
    f.bars.push_back(p);
  }
  // Two loss columns (domain first, then general): where each model moved from the reference.
  std::vector<size_t> losses;
  for (size_t c = 0; c < r.columns.size(); c++)
    if (r.columns[c].metric == "loss") losses.push_back(c);
  if (losses.size() >= 2 && r.models.size() >= 2) {
    const size_t d = losses[0], g = losses[1];
    XYPanel p{"gain and forgetting", "change of " + r.columns[d].task + " loss", "change of " + r.columns[g].task + " loss",
              {}, true};
    for (size_t m = 1; m < r.models.size(); m++) {
      Series s{"", {r.cells[m][d].value - r.cells[0][d].value}, {r.cells[m][g].value - r.cells[0][g].value}, false,
               {folder_name(r.models[m])}, int(m)};
      p.series.push_back(s);
    }
    f.xy.push_back(p);
  }
  return f;
}

void write_report(const Report& r, const std::filesystem::path& dir, bool force,
                  const std::vector<std::filesystem::path>& inputs) {
  Output out({dir, OutputKind::Folder, inputs, force, "-o", {"results.json"}});
  write_file_atomic(out.path() / "report.md", report_markdown(r));
  const Figure figure = report_figure(r);
  draw_figure(figure, out.path() / "chart.svg", ChartFormat::Svg);
  draw_figure(figure, out.path() / "chart.png", ChartFormat::Png);
  write_json_file(out.path() / "results.json", r.results);
  out.commit();
}

}  // namespace llamapro
