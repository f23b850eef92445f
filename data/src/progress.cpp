#include "progress.hpp"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>

namespace xg::data {

ProgressPrinter::ProgressPrinter(std::ostream& os, Progress mode) : os_(os) {
  quiet_ = mode == Progress::Off;
  const char* term = std::getenv("TERM");
  const bool terminal = ::isatty(STDOUT_FILENO) && term && std::string(term) != "dumb";
  live_ = mode == Progress::Bar || (mode == Progress::Auto && &os == &std::cout && terminal);
}

void ProgressPrinter::start_epoch(std::int64_t epoch, std::int64_t max_epochs, std::int64_t batches) {
  epoch_ = epoch;
  max_epochs_ = max_epochs;
  batches_ = batches;
  start_ = last_draw_ = std::chrono::steady_clock::now();
}

void ProgressPrinter::batch(std::int64_t done, double running_loss) {
  if (!live_ || quiet_) return;
  const auto now = std::chrono::steady_clock::now();
  if (done != batches_ && now - last_draw_ < std::chrono::milliseconds(100)) return;  // redraw at most 10×/s
  last_draw_ = now;
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const double rate = elapsed > 0 ? static_cast<double>(done) / elapsed : 0.0;
  const double eta = rate > 0 ? static_cast<double>(batches_ - done) / rate : 0.0;
  constexpr int width = 30;
  const int filled = static_cast<int>(width * done / std::max<std::int64_t>(batches_, 1));
  std::string bar(static_cast<std::size_t>(filled), '=');
  if (filled < width) bar += '>' + std::string(static_cast<std::size_t>(width - filled - 1), ' ');
  char line[256];
  std::snprintf(line, sizeof line, "\repoch %lld/%lld [%s] %lld/%lld  %.1f batch/s  ETA %.0fs  loss %.4f ",
                static_cast<long long>(epoch_), static_cast<long long>(max_epochs_), bar.c_str(),
                static_cast<long long>(done), static_cast<long long>(batches_), rate, eta, running_loss);
  os_ << line << std::flush;
}

void ProgressPrinter::end_epoch(const EpochLog& l, bool improved) {
  if (quiet_) return;
  if (live_) os_ << "\r\033[K";  // clear the bar
  char line[256];
  int n = std::snprintf(line, sizeof line, "epoch %lld/%lld  train_loss %.4f", static_cast<long long>(l.epoch),
                        static_cast<long long>(max_epochs_ ? max_epochs_ : l.epoch), l.train_loss);
  if (std::isfinite(l.val_loss)) n += std::snprintf(line + n, sizeof line - static_cast<std::size_t>(n), "  val_loss %.4f", l.val_loss);
  if (std::isfinite(l.val_accuracy))
    n += std::snprintf(line + n, sizeof line - static_cast<std::size_t>(n), "  val_acc %.4f", l.val_accuracy);
  std::snprintf(line + n, sizeof line - static_cast<std::size_t>(n), "  lr %.3g  %.1fs%s", l.lr, l.seconds,
                improved ? "  *" : "");
  os_ << line << "\n" << std::flush;
}

}  // namespace xg::data
