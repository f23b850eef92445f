// The metrics file (JSON lines) and the loss-curve picture (SVG), both
// rewritten whole and atomically after every epoch.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "xgrad/data/trainer.hpp"
#include "xgrad/nn/serialize.hpp"

namespace xg::data {
namespace {
std::string num(double v) {
  if (!std::isfinite(v)) return "null";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}
}  // namespace

void write_metrics_jsonl(const std::string& path, const std::vector<EpochLog>& history) {
  std::ostringstream os;
  for (const EpochLog& l : history)
    os << "{\"epoch\": " << l.epoch << ", \"train_loss\": " << num(l.train_loss) << ", \"val_loss\": " << num(l.val_loss)
       << ", \"val_accuracy\": " << num(l.val_accuracy) << ", \"lr\": " << num(l.lr) << ", \"seconds\": " << num(l.seconds)
       << "}\n";
  write_file_atomic(path, os.str(), "fit");
}

void write_loss_svg(const std::string& path, const std::vector<EpochLog>& history) {
  const double W = 640, H = 400, left = 70, right = 20, top = 30, bottom = 50;
  double lo = INFINITY, hi = -INFINITY;
  for (const EpochLog& l : history)
    for (double v : {l.train_loss, l.val_loss})
      if (std::isfinite(v)) {
        lo = std::min(lo, v);
        hi = std::max(hi, v);
      }
  if (!std::isfinite(lo)) lo = 0, hi = 1;
  if (hi - lo < 1e-12) hi = lo + 1;
  const double pad = 0.05 * (hi - lo);
  lo = std::max(0.0, lo - pad);
  hi += pad;
  const std::size_t n = history.size();
  auto x = [&](std::size_t i) { return left + (n > 1 ? (W - left - right) * static_cast<double>(i) / static_cast<double>(n - 1) : (W - left - right) / 2); };
  auto y = [&](double v) { return top + (H - top - bottom) * (1 - (v - lo) / (hi - lo)); };
  std::ostringstream os;
  os << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << W << "\" height=\"" << H << "\" font-family=\"sans-serif\" font-size=\"12\">\n"
     << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
     << "<text x=\"" << W / 2 << "\" y=\"18\" text-anchor=\"middle\" font-size=\"14\">Loss per epoch</text>\n"
     << "<line x1=\"" << left << "\" y1=\"" << H - bottom << "\" x2=\"" << W - right << "\" y2=\"" << H - bottom << "\" stroke=\"black\"/>\n"
     << "<line x1=\"" << left << "\" y1=\"" << top << "\" x2=\"" << left << "\" y2=\"" << H - bottom << "\" stroke=\"black\"/>\n";
  for (int k = 0; k <= 4; ++k) {  // y ticks
    const double v = lo + (hi - lo) * k / 4.0;
    char tick[16];
    std::snprintf(tick, sizeof tick, "%.3g", v);
    os << "<text x=\"" << left - 6 << "\" y=\"" << y(v) + 4 << "\" text-anchor=\"end\">" << tick << "</text>\n"
       << "<line x1=\"" << left << "\" y1=\"" << y(v) << "\" x2=\"" << W - right << "\" y2=\"" << y(v) << "\" stroke=\"#ddd\"/>\n";
  }
  for (std::size_t i = 0; i < n; ++i)  // x ticks: epochs
    if (n <= 20 || i % (n / 10) == 0)
      os << "<text x=\"" << x(i) << "\" y=\"" << H - bottom + 16 << "\" text-anchor=\"middle\">" << history[i].epoch << "</text>\n";
  os << "<text x=\"" << (left + W - right) / 2 << "\" y=\"" << H - 12 << "\" text-anchor=\"middle\">epoch</text>\n"
     << "<text x=\"16\" y=\"" << (top + H - bottom) / 2 << "\" text-anchor=\"middle\" transform=\"rotate(-90 16 "
     << (top + H - bottom) / 2 << ")\">loss</text>\n";
  auto curve = [&](double EpochLog::*field, const char* colour, const char* name, double legend_y) {
    std::ostringstream pts;
    std::size_t count = 0;
    for (std::size_t i = 0; i < n; ++i)
      if (std::isfinite(history[i].*field)) {
        pts << x(i) << "," << y(history[i].*field) << " ";
        ++count;
      }
    if (!count) return;
    os << "<polyline fill=\"none\" stroke=\"" << colour << "\" stroke-width=\"2\" points=\"" << pts.str() << "\"/>\n";
    for (std::size_t i = 0; i < n; ++i)
      if (std::isfinite(history[i].*field))
        os << "<circle cx=\"" << x(i) << "\" cy=\"" << y(history[i].*field) << "\" r=\"3\" fill=\"" << colour << "\"/>\n";
    os << "<rect x=\"" << W - right - 130 << "\" y=\"" << legend_y - 9 << "\" width=\"12\" height=\"4\" fill=\"" << colour << "\"/>"
       << "<text x=\"" << W - right - 112 << "\" y=\"" << legend_y - 4 << "\">" << name << "</text>\n";
  };
  curve(&EpochLog::train_loss, "#1f77b4", "training loss", top + 10);
  curve(&EpochLog::val_loss, "#d62728", "validation loss", top + 28);
  os << "</svg>\n";
  write_file_atomic(path, os.str(), "fit");
}

}  // namespace xg::data
