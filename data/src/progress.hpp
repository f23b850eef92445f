#pragma once
// What a user sees while training: a live bar on a terminal (batches done,
// rate, ETA, running loss), plain lines when output is not a terminal.
#include <chrono>
#include <ostream>

#include "xgrad/data/trainer.hpp"

namespace xg::data {

class ProgressPrinter {
 public:
  ProgressPrinter(std::ostream& os, Progress mode);
  void start_epoch(std::int64_t epoch, std::int64_t max_epochs, std::int64_t batches);
  void batch(std::int64_t done, double running_loss);
  void end_epoch(const EpochLog& log, bool improved);

 private:
  std::ostream& os_;
  bool live_ = false, quiet_ = false;
  std::int64_t epoch_ = 0, max_epochs_ = 0, batches_ = 0;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

}  // namespace xg::data
