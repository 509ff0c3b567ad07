// plot.cpp — `llamapro plot RUN_DIR... -o FILE.png|.svg`: training and validation loss against
// tokens for one or several training runs, side by side, named by their folders.
#include <CLI/CLI.hpp>

#include <cmath>
#include <cstdio>
#include <sstream>
#include <map>

#include "cli/commands.h"
#include "cli/options.h"
#include "plot/chart.h"
#include "util/check.h"
#include "util/files.h"
#include "util/json.h"
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

// metrics.jsonl of a run folder: the training loss of every step and each evaluation.
RunCurves read_run(const std::string& dir, int color, double smoothing) {
  const std::filesystem::path file = std::filesystem::path(dir) / "metrics.jsonl";
  LP_CHECK(std::filesystem::is_regular_file(file), dir, ": no metrics.jsonl (not a training run folder)");
  RunCurves c;
  const std::string name = folder_name(dir);
  c.train = {"", {}, {}, true, {}, color};
  c.train_smooth = {name + " (train)", {}, {}, true, {}, color};
  c.eval = {name + " (validation)", {}, {}, false, {}, color};
  std::istringstream in(read_file(file));
  int line_no = 0;
  double ema = 0, weight = 0;  // debiased exponential average, as TensorBoard smooths
  for (std::string line; std::getline(in, line);) {
    line_no++;
    if (line.empty()) continue;
    json j;
    try {
      j = json::parse(line);
    } catch (const std::exception&) {
      LP_FAIL(file.string(), ":", line_no, ": not a JSON line");
    }
    if (!j.is_object() || !j.contains("tokens") || !j["tokens"].is_number()) continue;
    const double tokens = j["tokens"].get<double>();
    if (j.contains("loss") && j["loss"].is_number()) {
      const double loss = j["loss"].get<double>();
      ema = smoothing * ema + (1 - smoothing) * loss;
      weight = smoothing * weight + (1 - smoothing);
      c.train.x.push_back(tokens);
      c.train.y.push_back(loss);
      c.train_smooth.x.push_back(tokens);
      c.train_smooth.y.push_back(ema / weight);
    }
    if (j.contains("eval_loss") && j["eval_loss"].is_number()) {
      c.eval.x.push_back(tokens);
      c.eval.y.push_back(j["eval_loss"].get<double>());
    }
    for (const auto& [key, value] : j.items()) {
      if (key.rfind("eval_loss/", 0) != 0 || !value.is_number()) continue;
      Series& s = c.source_evals[key.substr(10)];
      s.color = color;
      s.x.push_back(tokens);
      s.y.push_back(value.get<double>());
    }
  }
  LP_CHECK(!c.train.x.empty(), file.string(), ": no training steps recorded yet");
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
