// test_plot.cpp — pictures: a PNG of the expected size whose pixels show the bars and curves in
// their palette colours on white, an SVG, `llamapro plot` on run folders, and its refusals.
#include <gtest/gtest.h>

#include <cairo.h>

#include <fstream>

#include "common/fixtures.h"
#include "plot/chart.h"
#include "util/check.h"

namespace llamapro {
namespace {

using testing::CliResult;
using testing::run_cli;
using testing::TempDir;

struct Pixel {
  int r, g, b;
};

// The pixels of a PNG, read back with cairo.
class Png {
 public:
  explicit Png(const std::string& path) : s_(cairo_image_surface_create_from_png(path.c_str())) {}
  ~Png() { cairo_surface_destroy(s_); }
  bool ok() const { return cairo_surface_status(s_) == CAIRO_STATUS_SUCCESS; }
  int width() const { return cairo_image_surface_get_width(s_); }
  int height() const { return cairo_image_surface_get_height(s_); }
  Pixel at(int x, int y) const {
    cairo_surface_flush(s_);
    const uint8_t* row = cairo_image_surface_get_data(s_) + y * cairo_image_surface_get_stride(s_);
    const uint32_t v = reinterpret_cast<const uint32_t*>(row)[x];
    return {int(v >> 16 & 255), int(v >> 8 & 255), int(v & 255)};
  }
  // How many pixels have this colour (within 8 per channel).
  int count(Pixel c) const {
    int n = 0;
    for (int y = 0; y < height(); y++)
      for (int x = 0; x < width(); x++) {
        Pixel p = at(x, y);
        n += std::abs(p.r - c.r) <= 8 && std::abs(p.g - c.g) <= 8 && std::abs(p.b - c.b) <= 8;
      }
    return n;
  }

 private:
  cairo_surface_t* s_;
};

constexpr Pixel kBlue{0, 115, 178}, kOrange{230, 158, 0};  // the palette's first two colours

TEST(Chart, BarsAndCurvesAppearInTheirColoursOnWhite) {
  TempDir tmp;
  Figure f;
  f.title = "test";
  f.entries = {"base", "pro"};
  f.bars.push_back({"domain", "loss", {3.0, 1.5}});
  Series s{"curve", {0, 1, 2, 3}, {4, 3, 2.5, 2.2}, true, {}, 1};
  f.xy.push_back({"loss", "tokens", "loss", {s}, false});
  const std::string png = tmp.str("f.png");
  draw_figure(f, png, ChartFormat::Png);
  Png img(png);
  ASSERT_TRUE(img.ok());
  EXPECT_EQ(img.width(), 720);  // two panels of 360
  EXPECT_GT(img.height(), 260);
  const Pixel corner = img.at(2, 2);
  EXPECT_EQ(corner.r + corner.g + corner.b, 3 * 255) << "white background";
  EXPECT_GT(img.count(kBlue), 2000) << "the first bar (and its legend box)";
  EXPECT_GT(img.count(kOrange), 1000) << "the second bar, the curve and their legend";
  // The first bar is twice as tall as the second: count blue and orange pixels in the bar panel.
  int blue = 0, orange = 0;
  for (int y = 74; y < 242; y++)  // the bar panel's frame, below the figure title
    for (int x = 62; x < 344; x++) {
      Pixel p = img.at(x, y);
      blue += std::abs(p.r - kBlue.r) <= 8 && std::abs(p.g - kBlue.g) <= 8 && std::abs(p.b - kBlue.b) <= 8;
      orange += std::abs(p.r - kOrange.r) <= 8 && std::abs(p.g - kOrange.g) <= 8 && std::abs(p.b - kOrange.b) <= 8;
    }
  EXPECT_NEAR(double(blue) / double(orange), 2.0, 0.1);

  draw_figure(f, tmp.str("f.svg"), ChartFormat::Svg);
  const std::string svg = testing::read_text(tmp.str("f.svg"));
  EXPECT_EQ(svg.rfind("<?xml", 0), 0u);
  EXPECT_NE(svg.find("<svg"), std::string::npos);
  EXPECT_THROW(chart_format("f.jpg"), Error);
}

void write_run(const TempDir& tmp, const std::string& name, double scale) {
  std::filesystem::create_directories(tmp.path() / name);
  std::ofstream f(tmp.path() / name / "metrics.jsonl");
  for (int step = 1; step <= 50; step++) {
    f << "{\"step\": " << step << ", \"tokens\": " << step * 512 << ", \"loss\": " << scale * (1 + 4.0 / step) << "}\n";
    if (step % 10 == 0) f << "{\"step\": " << step << ", \"tokens\": " << step * 512 << ", \"eval_loss\": " << scale * (1.2 + 4.0 / step) << "}\n";
  }
}

TEST(PlotCli, DrawsRunsAndRefusesWhatIsNotARun) {
  TempDir tmp;
  write_run(tmp, "pro", 1.0);
  write_run(tmp, "full", 0.8);
  CliResult r = run_cli("plot " + tmp.str("pro") + " " + tmp.str("full") + " -o " + tmp.str("loss.png"));
  ASSERT_EQ(r.status, 0) << r.err;
  Png img(tmp.str("loss.png"));
  ASSERT_TRUE(img.ok());
  EXPECT_EQ(img.width(), 720);  // training and validation panels
  EXPECT_GT(img.count(kBlue), 300);
  EXPECT_GT(img.count(kOrange), 300);
  ASSERT_EQ(run_cli("plot " + tmp.str("pro") + " -o " + tmp.str("loss.svg")).status, 0);

  CliResult again = run_cli("plot " + tmp.str("pro") + " -o " + tmp.str("loss.png"));
  EXPECT_TRUE(testing::is_clean_error(again));
  EXPECT_NE(again.err.find("already exists"), std::string::npos) << again.err;
  std::filesystem::create_directories(tmp.path() / "empty");
  CliResult not_run = run_cli("plot " + tmp.str("empty") + " -o " + tmp.str("x.png"));
  EXPECT_TRUE(testing::is_clean_error(not_run));
  EXPECT_NE(not_run.err.find("no metrics.jsonl"), std::string::npos) << not_run.err;
  CliResult jpg = run_cli("plot " + tmp.str("pro") + " -o " + tmp.str("x.jpg"));
  EXPECT_TRUE(testing::is_clean_error(jpg));
  EXPECT_NE(jpg.err.find(".png or .svg"), std::string::npos) << jpg.err;
  CliResult inside = run_cli("plot " + tmp.str("pro") + " -o " + tmp.str("pro/x.png"));
  EXPECT_TRUE(testing::is_clean_error(inside));
  EXPECT_FALSE(std::filesystem::exists(tmp.path() / "x.png"));
}

}  // namespace
}  // namespace llamapro
