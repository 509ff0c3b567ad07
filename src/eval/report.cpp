#include "eval/report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

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

std::string escape_xml(const std::string& s) {
  std::string o;
  for (char ch : s) {
    if (ch == '<') o += "&lt;";
    else if (ch == '>') o += "&gt;";
    else if (ch == '&') o += "&amp;";
    else o += ch;
  }
  return o;
}

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
         "first model. chart.svg shows the metrics that lie between 0 and 1; results.json holds every metric and "
         "every document's scores.\n";
  return out;
}

std::string report_svg(const Report& r) {
  std::vector<size_t> shown;
  for (size_t c = 0; c < r.columns.size(); c++) {
    bool unit = true;
    for (size_t m = 0; m < r.models.size(); m++) unit &= r.cells[m][c].value >= 0 && r.cells[m][c].value <= 1;
    if (unit) shown.push_back(c);
  }
  const char* colors[] = {"#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860"};
  const int bar = 22, gap = 30, left = 50, top = 30, height = 240;
  size_t label = 0;  // widest label line: the task, then the metric under it
  for (size_t c : shown) label = std::max({label, r.columns[c].task.size(), r.columns[c].metric.size()});
  const int group = std::max(int(r.models.size()) * bar + gap, int(label) * 7 + 16);
  const int width = left + std::max<int>(1, int(shown.size())) * group + 20;
  const int legend = 20 * int(r.models.size());
  char buf[512];
  std::string s;
  std::snprintf(buf, sizeof buf,
                "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" font-family=\"sans-serif\" "
                "font-size=\"12\">\n<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
                width, top + height + 70 + legend);
  s += buf;
  for (int t = 0; t <= 4; t++) {  // the 0..1 axis
    const int y = top + height - t * height / 4;
    std::snprintf(buf, sizeof buf,
                  "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#ddd\"/><text x=\"%d\" y=\"%d\" "
                  "text-anchor=\"end\">%.2f</text>\n",
                  left, y, width - 10, y, left - 6, y + 4, t / 4.0);
    s += buf;
  }
  for (size_t g = 0; g < shown.size(); g++) {
    const size_t c = shown[g];
    const int x0 = left + int(g) * group + (group - int(r.models.size()) * bar) / 2;
    for (size_t m = 0; m < r.models.size(); m++) {
      const double v = r.cells[m][c].value;
      const int h = int(std::lround(v * height));
      std::snprintf(buf, sizeof buf,
                    "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"%s\"><title>%s: %.4f</title></rect>\n",
                    x0 + int(m) * bar, top + height - h, bar - 2, h, colors[m % 6],
                    escape_xml(folder_name(r.models[m])).c_str(), v);
      s += buf;
    }
    const int mid = left + int(g) * group + group / 2;
    std::snprintf(buf, sizeof buf,
                  "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">%s</text><text x=\"%d\" y=\"%d\" "
                  "text-anchor=\"middle\" fill=\"#555\">%s</text>\n",
                  mid, top + height + 18, escape_xml(r.columns[c].task).c_str(), mid, top + height + 32,
                  escape_xml(r.columns[c].metric).c_str());
    s += buf;
  }
  for (size_t m = 0; m < r.models.size(); m++) {
    const int y = top + height + 56 + 20 * int(m);
    std::snprintf(buf, sizeof buf, "<rect x=\"%d\" y=\"%d\" width=\"14\" height=\"14\" fill=\"%s\"/><text x=\"%d\" y=\"%d\">%s</text>\n",
                  left, y - 11, colors[m % 6], left + 20, y, escape_xml(folder_name(r.models[m])).c_str());
    s += buf;
  }
  return s + "</svg>\n";
}

void write_report(const Report& r, const std::filesystem::path& dir, bool force,
                  const std::vector<std::filesystem::path>& inputs) {
  Output out({dir, OutputKind::Folder, inputs, force, "-o", {"results.json"}});
  write_file_atomic(out.path() / "report.md", report_markdown(r));
  write_file_atomic(out.path() / "chart.svg", report_svg(r));
  write_json_file(out.path() / "results.json", r.results);
  out.commit();
}

}  // namespace llamapro
