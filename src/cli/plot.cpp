// plot.cpp — `llamapro plot RUN_DIR... -o FILE.png|.svg`: training and validation loss against
// tokens for one or several training runs, side by side, named by their folders.
#include <CLI/CLI.hpp>

#include <cmath>
#include <cstdio>
#include <map>

#include "cli/commands.h"
#include "cli/options.h"
#include "plot/chart.h"
#include "train/metrics_log.h"
#include "util/check.h"
#include "util/files.h"
#include "util/output.h"

namespace llamapro::cli {

namespace {

struct PlotOptions {
  std::vector<std::string> runs;
  std::string out_file, title = "training runs";
  double smoothing = 0.6;
  bool force = false;
};

struct RunCurves {
  Series train, train_smooth, eval;
  std::map<std::string, Series> source_evals;  // "eval_loss/NAME" of runs on several data folders
};

// A run's curves from its metrics log: the training loss of every step, each evaluation.
RunCurves read_run(const std::string& dir, int color, double smoothing) {
  RunCurves c;
  const std::string name = folder_name(dir);
  c.train = {"", {}, {}, true, {}, color};
  c.train_smooth = {name + " (train)", {}, {}, true, {}, color};
  c.eval = {name + " (validation)", {}, {}, false, {}, color};
  double ema = 0, weight = 0;  // debiased exponential average, as TensorBoard smooths
  for (const MetricsPoint& p : read_metrics_log(dir)) {
    if (p.loss) {
      ema = smoothing * ema + (1 - smoothing) * *p.loss;
      weight = smoothing * weight + (1 - smoothing);
      c.train.x.push_back(p.tokens);
      c.train.y.push_back(*p.loss);
      c.train_smooth.x.push_back(p.tokens);
      c.train_smooth.y.push_back(ema / weight);
    }
    if (p.eval_loss) {
      c.eval.x.push_back(p.tokens);
      c.eval.y.push_back(*p.eval_loss);
    }
    for (const auto& [set, loss] : p.eval_loss_of) {
      Series& s = c.source_evals[set];
      s.color = color;
      s.x.push_back(p.tokens);
      s.y.push_back(loss);
    }
  }
  LP_CHECK(!c.train.x.empty(), dir, ": no training steps recorded yet");
  return c;
}

void run_plot(const PlotOptions& o) {
  std::vector<std::filesystem::path> inputs(o.runs.begin(), o.runs.end());
  const ChartFormat format = chart_format(o.out_file);
  Output out({o.out_file, OutputKind::File, inputs, o.force, "-o"});
  Figure fig;
  fig.title = o.title;
  XYPanel train{"training loss", "tokens", "loss", {}, false};
  XYPanel eval{"validation loss", "tokens", "loss", {}, false};
  std::map<std::string, XYPanel> by_source;  // one panel per data folder of mixed runs
  for (size_t i = 0; i < o.runs.size(); i++) {
    RunCurves c = read_run(o.runs[i], int(i), o.smoothing);
    if (o.smoothing > 0) {  // the raw steps faint behind the smoothed curve
      train.series.push_back(c.train);
      train.series.back().opacity = 0.25;
    }
    train.series.push_back(c.train_smooth);  // the raw values themselves when smoothing is 0
    if (!c.eval.x.empty()) {
      Series line = c.eval;
      line.name.clear();
      line.line = true;
      eval.series.push_back(line);
      eval.series.push_back(c.eval);
    }
    for (auto& [source, series] : c.source_evals) {
      XYPanel& p = by_source.try_emplace(source, XYPanel{"validation loss: " + source, "tokens", "loss", {}, false})
                       .first->second;
      p.series.push_back(series);  // a line, named in the legend by the runs above
    }
  }
  fig.xy.push_back(train);
  if (!eval.series.empty()) fig.xy.push_back(eval);
  for (auto& [source, panel] : by_source) fig.xy.push_back(panel);
  draw_figure(fig, out.path(), format);
  out.commit();
  std::printf("wrote %s\n", o.out_file.c_str());
}

}  // namespace

void add_plot(CLI::App& app) {
  auto o = std::make_shared<PlotOptions>();
  auto* cmd = app.add_subcommand("plot", "Draw training and validation loss of training runs (PNG or SVG)");
  cmd->add_option("runs", o->runs, "training run folders (made by llamapro train)")->required()->expected(1, -1);
  cmd->add_option("-o,--output", o->out_file, "picture file: .png or .svg")->required()->check(non_empty_path());
  cmd->add_option("--title", o->title, "the figure's title")->capture_default_str();
  cmd->add_option("--smoothing", o->smoothing, "exponential smoothing of the training loss (0 = raw)")
      ->capture_default_str()->check(in(incl(0), excl(1)));
  cmd->add_flag("--force", o->force, "replace an existing picture");
  cmd->callback([o] { run_plot(*o); });
}

}  // namespace llamapro::cli
