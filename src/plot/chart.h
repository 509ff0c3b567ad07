// chart.h — the pictures llamapro draws (loss curves, side-by-side results, gain against
// forgetting), rendered with cairo to PNG or SVG by the file's extension.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace llamapro {

// One curve or point set of an XY panel; points whose y is not finite are skipped.
struct Series {
  std::string name;                 // in the legend ("" = not listed)
  std::vector<double> x, y;
  bool line = true;                 // false: markers only
  std::vector<std::string> labels;  // markers: a text beside each point (optional)
  int color = -1;                   // palette index; -1 = the series' own index
  double opacity = 1.0;             // e.g. raw values faint behind a smoothed curve
};

struct XYPanel {
  std::string title, x_label, y_label;
  std::vector<Series> series;
  bool zero_lines = false;  // draw x = 0 and y = 0 (a chart of changes)
};

// Grouped bars: one panel per metric, each with its own scale, one bar per entry.
struct BarPanel {
  std::string title, subtitle;
  std::vector<double> values;  // one per entry; NaN = missing
};

struct Figure {
  std::string title;
  std::vector<std::string> entries;  // bar charts: what each bar is (the legend)
  std::vector<BarPanel> bars;
  std::vector<XYPanel> xy;
};

enum class ChartFormat { Png, Svg };
// By the extension of the file the user named: .png or .svg; error otherwise.
ChartFormat chart_format(const std::filesystem::path& target);

// Writes the figure to `path`. Panels are laid out three to a row, bar panels first.
void draw_figure(const Figure& f, const std::filesystem::path& path, ChartFormat format);

}  // namespace llamapro
