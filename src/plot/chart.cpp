// chart.cpp — figures drawn with cairo: panels of grouped bars or XY series, with axes, ticks
// at round numbers, titles and a legend (see chart.h).
#include "plot/chart.h"

#include <cairo-svg.h>
#include <cairo.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>

#include "util/check.h"

namespace llamapro {

namespace fs = std::filesystem;

namespace {

// A colour-blind-safe palette (Okabe-Ito), as RGB.
constexpr double kPalette[][3] = {{0.00, 0.45, 0.70}, {0.90, 0.62, 0.00}, {0.00, 0.62, 0.45}, {0.80, 0.47, 0.65},
                                  {0.34, 0.71, 0.91}, {0.84, 0.37, 0.00}, {0.94, 0.89, 0.26}, {0.30, 0.30, 0.30}};
constexpr int kPaletteSize = 8;

constexpr double kPanelWidth = 360, kPanelHeight = 260, kMarginLeft = 62, kMarginRight = 16, kMarginTop = 44,
                 kMarginBottom = 48, kTitleHeight = 30, kLegendRow = 18;

void set_color(cairo_t* cr, int index, double alpha = 1.0) {
  const double* c = kPalette[((index % kPaletteSize) + kPaletteSize) % kPaletteSize];
  cairo_set_source_rgba(cr, c[0], c[1], c[2], alpha);
}

void text(cairo_t* cr, double x, double y, const std::string& s, double size, double align_x = 0,
          double align_y = 0, bool bold = false) {
  cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL, bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(cr, size);
  cairo_text_extents_t e;
  cairo_text_extents(cr, s.c_str(), &e);
  cairo_move_to(cr, x - align_x * e.width - e.x_bearing, y + align_y * size);
  cairo_show_text(cr, s.c_str());
}

// Round tick values covering [lo, hi]: steps of 1, 2 or 5 times a power of ten.
std::vector<double> ticks(double lo, double hi, int target = 5) {
  if (!(hi > lo)) hi = lo + 1;
  const double raw = (hi - lo) / target, mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (raw <= m * mag) {
      step = m * mag;
      break;
    }
  std::vector<double> out;
  const double first = std::ceil(lo / step) * step;
  if (!std::isfinite(first) || !std::isfinite(step) || step <= 0) return out;
  // Counted, not accumulated: each tick is first + k·step, at most a few dozen of them.
  for (int k = 0; k < 4 * target + 2; k++) {
    const double v = first + k * step;
    if (v > hi + step * 1e-9) break;
    out.push_back(std::abs(v) < step * 1e-9 ? 0 : v);
  }
  return out;
}

std::string tick_label(double v) {
  char buf[32];
  const double a = std::abs(v);
  if (a >= 1e6 || (a > 0 && a < 1e-3)) std::snprintf(buf, sizeof buf, "%.0e", v);
  else if (a >= 1e3) std::snprintf(buf, sizeof buf, "%.0fK", v / 1e3);
  else std::snprintf(buf, sizeof buf, "%g", v);
  std::string s = buf;
  if (a >= 1e3 && a < 1e6 && std::fmod(v, 1e3) != 0) {
    std::snprintf(buf, sizeof buf, "%.1fK", v / 1e3);
    s = buf;
  }
  return s;
}

struct Range {
  double lo = INFINITY, hi = -INFINITY;
  void add(double v) {
    if (!std::isfinite(v)) return;
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  void pad(double share) {
    if (!std::isfinite(lo)) lo = 0, hi = 1;
    // One value, or values a few ulps apart (flat losses): a window around them, since a range
    // of one ulp has no tick step that advances.
    if (hi - lo <= 1e-9 * std::max(std::abs(lo), std::abs(hi))) {
      const double half = std::max(std::abs(lo) * 0.1, 0.5);
      lo -= half;
      hi += half;
    }
    const double d = (hi - lo) * share;
    lo -= d;
    hi += d;
  }
};

// The plotting area of a panel and the mapping of data into it.
struct Frame {
  double x0, y0, w, h;  // pixels: left, top, width, height
  Range xr, yr;
  double px(double x) const { return x0 + (x - xr.lo) / (xr.hi - xr.lo) * w; }
  double py(double y) const { return y0 + h - (y - yr.lo) / (yr.hi - yr.lo) * h; }
};

void draw_axes(cairo_t* cr, const Frame& f, const std::string& title, const std::string& x_label,
               const std::string& y_label, bool x_ticks) {
  cairo_set_line_width(cr, 1);
  for (double v : ticks(f.yr.lo, f.yr.hi)) {  // horizontal grid and y ticks
    if (v < f.yr.lo || v > f.yr.hi) continue;
    cairo_set_source_rgb(cr, 0.88, 0.88, 0.88);
    cairo_move_to(cr, f.x0, f.py(v));
    cairo_line_to(cr, f.x0 + f.w, f.py(v));
    cairo_stroke(cr);
    cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
    text(cr, f.x0 - 6, f.py(v), tick_label(v), 11, 1.0, 0.35);
  }
  if (x_ticks)
    for (double v : ticks(f.xr.lo, f.xr.hi)) {
      if (v < f.xr.lo || v > f.xr.hi) continue;
      cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
      cairo_move_to(cr, f.px(v), f.y0 + f.h);
      cairo_line_to(cr, f.px(v), f.y0 + f.h + 4);
      cairo_stroke(cr);
      text(cr, f.px(v), f.y0 + f.h + 17, tick_label(v), 11, 0.5);
    }
  cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
  cairo_rectangle(cr, f.x0, f.y0, f.w, f.h);
  cairo_stroke(cr);
  text(cr, f.x0 + f.w / 2, f.y0 - 12, title, 13, 0.5, 0, true);
  if (!x_label.empty()) text(cr, f.x0 + f.w / 2, f.y0 + f.h + 38, x_label, 12, 0.5);
  if (!y_label.empty()) {
    cairo_save(cr);
    cairo_translate(cr, f.x0 - 46, f.y0 + f.h / 2);
    cairo_rotate(cr, -M_PI / 2);
    text(cr, 0, 0, y_label, 12, 0.5);
    cairo_restore(cr);
  }
}

void draw_bars(cairo_t* cr, const BarPanel& p, double left, double top) {
  Frame f{left + kMarginLeft, top + kMarginTop, kPanelWidth - kMarginLeft - kMarginRight,
          kPanelHeight - kMarginTop - kMarginBottom, {}, {}};
  f.yr.add(0);
  for (double v : p.values) f.yr.add(v);
  f.yr.pad(0.08);
  if (f.yr.lo > 0 || (f.yr.lo < 0 && std::all_of(p.values.begin(), p.values.end(), [](double v) { return !(v < 0); })))
    f.yr.lo = 0;  // bars start at zero
  f.xr = {0, double(std::max<size_t>(1, p.values.size()))};
  draw_axes(cr, f, p.title, p.subtitle, "", false);
  const double slot = f.w / double(std::max<size_t>(1, p.values.size()));
  for (size_t i = 0; i < p.values.size(); i++) {
    const double v = p.values[i];
    if (!std::isfinite(v)) continue;
    const double x = f.x0 + slot * double(i) + slot * 0.15, y = f.py(std::max(v, 0.0)), h = std::abs(f.py(v) - f.py(0));
    set_color(cr, int(i));
    cairo_rectangle(cr, x, y, slot * 0.7, std::max(h, 0.5));
    cairo_fill(cr);
    char buf[32];
    std::snprintf(buf, sizeof buf, std::abs(v) >= 100 ? "%.0f" : std::abs(v) >= 10 ? "%.1f" : "%.3g", v);
    cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
    text(cr, x + slot * 0.35, v >= 0 ? y - 4 : y + h + 12, buf, 10, 0.5);
  }
}

void draw_xy(cairo_t* cr, const XYPanel& p, double left, double top) {
  Frame f{left + kMarginLeft, top + kMarginTop, kPanelWidth - kMarginLeft - kMarginRight,
          kPanelHeight - kMarginTop - kMarginBottom, {}, {}};
  for (const Series& s : p.series)
    for (size_t i = 0; i < s.x.size() && i < s.y.size(); i++)
      if (std::isfinite(s.y[i])) {
        f.xr.add(s.x[i]);
        f.yr.add(s.y[i]);
      }
  if (p.zero_lines) {
    f.xr.add(0);
    f.yr.add(0);
  }
  f.xr.pad(p.zero_lines ? 0.12 : 0.02);
  f.yr.pad(0.08);
  draw_axes(cr, f, p.title, p.x_label, p.y_label, true);
  cairo_save(cr);
  cairo_rectangle(cr, f.x0, f.y0, f.w, f.h);
  cairo_clip(cr);
  if (p.zero_lines) {
    cairo_set_source_rgb(cr, 0.5, 0.5, 0.5);
    cairo_set_line_width(cr, 1);
    cairo_move_to(cr, f.px(0), f.y0);
    cairo_line_to(cr, f.px(0), f.y0 + f.h);
    cairo_move_to(cr, f.x0, f.py(0));
    cairo_line_to(cr, f.x0 + f.w, f.py(0));
    cairo_stroke(cr);
  }
  for (size_t k = 0; k < p.series.size(); k++) {
    const Series& s = p.series[k];
    const int color = s.color >= 0 ? s.color : int(k);
    set_color(cr, color, s.opacity);
    cairo_set_line_width(cr, s.opacity < 1 ? 1.0 : 1.8);
    bool drawing = false;
    for (size_t i = 0; i < s.x.size() && i < s.y.size(); i++) {
      if (!std::isfinite(s.y[i])) {
        drawing = false;
        continue;
      }
      if (s.line) {
        if (drawing) cairo_line_to(cr, f.px(s.x[i]), f.py(s.y[i]));
        else cairo_move_to(cr, f.px(s.x[i]), f.py(s.y[i]));
        drawing = true;
      } else {
        cairo_new_sub_path(cr);
        cairo_arc(cr, f.px(s.x[i]), f.py(s.y[i]), 4.5, 0, 2 * M_PI);
        cairo_fill(cr);
        if (i < s.labels.size()) {
          cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
          text(cr, f.px(s.x[i]) + 7, f.py(s.y[i]) - 5, s.labels[i], 10);
          set_color(cr, color, s.opacity);
        }
      }
    }
    if (s.line) cairo_stroke(cr);
  }
  cairo_restore(cr);
}

// Legend lines: a colour, a name, and how the colour is shown.
struct LegendEntry {
  enum Kind { Bar, Line, Marker };
  int color;
  std::string name;
  Kind kind;
};

std::vector<LegendEntry> legend_of(const Figure& fig) {
  std::vector<LegendEntry> out;
  if (!fig.bars.empty())
    for (size_t i = 0; i < fig.entries.size(); i++) out.push_back({int(i), fig.entries[i], LegendEntry::Bar});
  for (const XYPanel& p : fig.xy)
    for (size_t k = 0; k < p.series.size(); k++) {
      const Series& s = p.series[k];
      if (s.name.empty()) continue;
      const int color = s.color >= 0 ? s.color : int(k);
      const LegendEntry::Kind kind = s.line ? LegendEntry::Line : LegendEntry::Marker;
      bool seen = false;
      for (const auto& e : out) seen |= e.name == s.name && e.color == color && e.kind == kind;
      if (!seen) out.push_back({color, s.name, kind});
    }
  return out;
}

using SurfacePtr = std::unique_ptr<cairo_surface_t, decltype(&cairo_surface_destroy)>;
using ContextPtr = std::unique_ptr<cairo_t, decltype(&cairo_destroy)>;

}  // namespace

ChartFormat chart_format(const fs::path& target) {
  const std::string ext = target.extension().string();
  if (ext == ".png") return ChartFormat::Png;
  if (ext == ".svg") return ChartFormat::Svg;
  LP_FAIL(target.string(), ": a picture must end in .png or .svg");
}

void draw_figure(const Figure& fig, const fs::path& path, ChartFormat format) {
  const size_t panels = std::max<size_t>(1, fig.bars.size() + fig.xy.size());
  const std::vector<LegendEntry> legend = legend_of(fig);
  const double width = kPanelWidth * double(std::min<size_t>(panels, 3));
  const double rows = std::ceil(double(panels) / 3.0);
  const double height = kTitleHeight + kPanelHeight * rows + 16 + kLegendRow * double(legend.size());
  const bool svg = format == ChartFormat::Svg;
  SurfacePtr surface(svg ? cairo_svg_surface_create(path.c_str(), width, height)
                         : cairo_image_surface_create(CAIRO_FORMAT_RGB24, int(width), int(height)),
                     cairo_surface_destroy);
  LP_CHECK(cairo_surface_status(surface.get()) == CAIRO_STATUS_SUCCESS, "cannot draw ", path.string(), ": ",
           cairo_status_to_string(cairo_surface_status(surface.get())));
  ContextPtr cr(cairo_create(surface.get()), cairo_destroy);
  cairo_set_source_rgb(cr.get(), 1, 1, 1);
  cairo_paint(cr.get());
  cairo_set_source_rgb(cr.get(), 0.1, 0.1, 0.1);
  text(cr.get(), width / 2, 20, fig.title, 15, 0.5, 0, true);
  size_t at = 0;
  auto place = [&](size_t i, double& left, double& top) {
    left = kPanelWidth * double(i % 3);
    top = kTitleHeight + kPanelHeight * double(i / 3);
  };
  for (const BarPanel& p : fig.bars) {
    double left, top;
    place(at++, left, top);
    draw_bars(cr.get(), p, left, top);
  }
  for (const XYPanel& p : fig.xy) {
    double left, top;
    place(at++, left, top);
    draw_xy(cr.get(), p, left, top);
  }
  double y = kTitleHeight + kPanelHeight * rows + 12;
  for (const LegendEntry& e : legend) {
    set_color(cr.get(), e.color);
    if (e.kind == LegendEntry::Line) {
      cairo_set_line_width(cr.get(), 2.5);
      cairo_move_to(cr.get(), kMarginLeft, y + 7);
      cairo_line_to(cr.get(), kMarginLeft + 22, y + 7);
      cairo_stroke(cr.get());
    } else if (e.kind == LegendEntry::Marker) {
      cairo_arc(cr.get(), kMarginLeft + 11, y + 7, 4.5, 0, 2 * M_PI);
      cairo_fill(cr.get());
    } else {
      cairo_rectangle(cr.get(), kMarginLeft + 4, y + 1, 13, 13);
      cairo_fill(cr.get());
    }
    cairo_set_source_rgb(cr.get(), 0.1, 0.1, 0.1);
    text(cr.get(), kMarginLeft + 30, y + 11, e.name, 12);
    y += kLegendRow;
  }
  cairo_surface_flush(surface.get());
  if (!svg) {
    const cairo_status_t status = cairo_surface_write_to_png(surface.get(), path.c_str());
    LP_CHECK(status == CAIRO_STATUS_SUCCESS, "cannot write ", path.string(), ": ", cairo_status_to_string(status));
  }
  cairo_surface_finish(surface.get());
  LP_CHECK(cairo_surface_status(surface.get()) == CAIRO_STATUS_SUCCESS, "cannot write ", path.string(), ": ",
           cairo_status_to_string(cairo_surface_status(surface.get())));
}

}  // namespace llamapro
