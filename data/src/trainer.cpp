#include "xgrad/data/trainer.hpp"


#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "progress.hpp"
#include "xgrad/nn/serialize.hpp"
#include "xgrad/ops.hpp"
#include "xgrad/optim/clip.hpp"

namespace xg::data {

// ---------------------------------------------------------------- early stopping

EarlyStopping::EarlyStopping(std::int64_t patience, double min_delta, Mode mode)
    : patience_(patience), min_delta_(min_delta), mode_(mode),
      best_(mode == Mode::Min ? std::numeric_limits<double>::infinity() : -std::numeric_limits<double>::infinity()) {
  XG_CHECK(patience >= 0, "EarlyStopping", "patience must be >= 0, got ", patience);
  XG_CHECK(min_delta >= 0, "EarlyStopping", "min_delta must be >= 0, got ", min_delta);
}

bool EarlyStopping::step(double metric) {
  ++epochs_;
  improved_ = mode_ == Mode::Min ? metric < best_ - min_delta_ : metric > best_ + min_delta_;
  if (improved_) {
    best_ = metric;
    best_epoch_ = epochs_;
    bad_epochs_ = 0;
  } else {
    ++bad_epochs_;
  }
  return bad_epochs_ >= patience_ && !improved_;
}

void EarlyStopping::restore(double best, std::int64_t best_epoch, std::int64_t bad_epochs, std::int64_t epochs) {
  best_ = best;
  best_epoch_ = best_epoch;
  bad_epochs_ = bad_epochs;
  epochs_ = epochs;
}

// ---------------------------------------------------------------- trainer

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

double monitored(const EpochLog& log, const std::string& monitor) {
  if (monitor == "val_loss") return log.val_loss;
  if (monitor == "val_accuracy") return log.val_accuracy;
  return log.train_loss;
}

bool file_exists(const std::string& path) { return std::ifstream(path).good(); }

nlohmann::json to_json(const EpochLog& l) {
  auto num = [](double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); };
  return {{"epoch", l.epoch}, {"train_loss", num(l.train_loss)}, {"val_loss", num(l.val_loss)},
          {"val_accuracy", num(l.val_accuracy)}, {"lr", l.lr}, {"seconds", l.seconds}};
}

EpochLog from_json(const nlohmann::json& j) {
  auto num = [&](const char* k) {
    return j.at(k).is_null() ? std::numeric_limits<double>::quiet_NaN() : j.at(k).get<double>();
  };
  EpochLog l;
  l.epoch = j.at("epoch").get<std::int64_t>();
  l.train_loss = num("train_loss");
  l.val_loss = num("val_loss");
  l.val_accuracy = num("val_accuracy");
  l.lr = j.at("lr").get<double>();
  l.seconds = j.at("seconds").get<double>();
  return l;
}

nn::StateDict prefixed(const std::string& prefix, const nn::StateDict& d) {
  nn::StateDict out;
  for (auto& [k, v] : d) out[prefix + k] = v;
  return out;
}

nn::StateDict unprefixed(const std::string& prefix, const nn::StateDict& d) {
  nn::StateDict out;
  for (auto& [k, v] : d)
    if (k.compare(0, prefix.size(), prefix) == 0) out[k.substr(prefix.size())] = v;
  return out;
}

nn::StateDict cloned(const nn::StateDict& d) {
  nn::StateDict out;
  for (auto& [k, v] : d) out[k] = v.detach().clone();
  return out;
}

}  // namespace

Trainer::Trainer(nn::Module& model, optim::Optimizer& optimizer, LossFn loss, FitOptions options)
    : model_(model), optimizer_(optimizer), loss_(std::move(loss)), options_(std::move(options)) {
  XG_CHECK(options_.monitor == "val_loss" || options_.monitor == "val_accuracy" || options_.monitor == "train_loss",
           "Trainer", "monitor must be val_loss, val_accuracy or train_loss, got '", options_.monitor, "'");
  XG_CHECK(options_.max_epochs >= 1, "Trainer", "max_epochs must be >= 1, got ", options_.max_epochs);
  XG_CHECK(!options_.resume || !options_.out_dir.empty(), "Trainer", "resume needs out_dir (where the checkpoint is)");
}

std::string Trainer::checkpoint_path() const { return options_.out_dir + "/checkpoint.safetensors"; }
std::string Trainer::best_path() const { return options_.out_dir + "/best.safetensors"; }
std::string Trainer::metrics_path() const { return options_.out_dir + "/metrics.jsonl"; }
std::string Trainer::plot_path() const { return options_.out_dir + "/loss.svg"; }

EvalResult Trainer::evaluate(DataLoader& loader) {
  NoGradGuard no_grad;
  const bool was_training = model_.is_training();
  model_.eval();
  EvalResult r;
  double loss_sum = 0;
  std::int64_t correct = 0;
  bool classification = true;
  for (std::int64_t b = 0; b < loader.num_batches(); ++b) {
    const Example batch = loader.batch(b);
    const Tensor out = model_.forward(batch.input);
    const std::int64_t n = batch.input.size(0);
    loss_sum += loss_(out, batch.target).item() * static_cast<double>(n);
    r.count += n;
    classification = classification && out.dim() == 2 && batch.target.dtype() == Dtype::Int64 && batch.target.dim() == 1;
    if (classification) correct += static_cast<std::int64_t>(eq(argmax(out, 1).to(float32), batch.target.to(float32)).sum().item());
  }
  model_.train(was_training);
  r.loss = r.count ? loss_sum / static_cast<double>(r.count) : std::numeric_limits<double>::quiet_NaN();
  if (classification && r.count) r.accuracy = static_cast<double>(correct) / static_cast<double>(r.count);
  return r;
}

double Trainer::train_epoch(DataLoader& train, std::int64_t epoch) {
  ProgressPrinter progress(options_.log ? *options_.log : std::cout, options_.progress);
  progress.start_epoch(epoch, options_.max_epochs, train.num_batches());
  model_.train();
  double loss_sum = 0;
  std::int64_t seen = 0;
  for (std::int64_t b = 0; b < train.num_batches(); ++b) {
    const Example batch = train.batch(b);                // 1. sample a batch
    optimizer_.zero_grad();
    const Tensor output = model_.forward(batch.input);   // 2. forward
    const Tensor loss = loss_(output, batch.target);     // 3. loss
    loss.backward();                                     // 4. backward
    if (options_.after_backward) options_.after_backward();
    if (options_.clip_grad_norm > 0) optim::clip_grad_norm_(model_.parameters(), options_.clip_grad_norm);
    optimizer_.step();                                   // 5. update
    const double value = loss.item();
    XG_CHECK(std::isfinite(value), "fit", "the loss became ", value, " at epoch ", epoch, ", batch ", b + 1,
             "; lower the learning rate or clip gradients (the last checkpoint is intact)");
    const std::int64_t n = batch.input.size(0);
    loss_sum += value * static_cast<double>(n);
    seen += n;
    progress.batch(b + 1, loss_sum / static_cast<double>(seen));
  }
  return seen ? loss_sum / static_cast<double>(seen) : 0.0;
}

FitResult Trainer::fit(DataLoader& train, DataLoader* validation) {
  XG_CHECK(validation != nullptr || options_.monitor == "train_loss" || options_.patience < 0, "fit", "monitor '",
           options_.monitor, "' needs a validation loader (or monitor train_loss)");
  const bool maximise = options_.monitor == "val_accuracy";
  EarlyStopping stopper(std::max<std::int64_t>(options_.patience, 0), options_.min_delta,
                        maximise ? EarlyStopping::Mode::Max : EarlyStopping::Mode::Min);
  const bool writes = !options_.out_dir.empty() && options_.write_files;
  if (writes) std::filesystem::create_directories(options_.out_dir);
  FitResult result;
  std::int64_t first_epoch = 1;
  if (options_.resume && file_exists(checkpoint_path())) {
    result.resumed_from = load_checkpoint(stopper, result.history);
    first_epoch = result.resumed_from + 1;
  }
  nn::StateDict best_weights;
  if (options_.restore_best_weights && stopper.best_epoch() > 0 && file_exists(best_path()))
    best_weights = nn::load_safetensors(best_path());
  ProgressPrinter summary(options_.log ? *options_.log : std::cout, options_.progress);
  for (std::int64_t epoch = first_epoch; epoch <= options_.max_epochs; ++epoch) {
    const auto t0 = std::chrono::steady_clock::now();
    summary.start_epoch(epoch, options_.max_epochs, train.num_batches());
    EpochLog log;
    log.epoch = epoch;
    log.lr = optimizer_.lr(0);
    train.set_epoch(epoch - 1);
    log.train_loss = train_epoch(train, epoch);
    if (validation) {
      const EvalResult v = evaluate(*validation);
      log.val_loss = v.loss;
      log.val_accuracy = v.accuracy;
    }
    const double metric = monitored(log, options_.monitor);
    const bool stop = stopper.step(metric) && options_.patience >= 0;
    if (stopper.improved()) {
      if (options_.restore_best_weights) best_weights = cloned(model_.state_dict());
      if (writes) nn::save(model_, best_path());
    }
    if (scheduler_) scheduler_->step();
    if (plateau_) plateau_->step(metric);
    log.seconds = seconds_since(t0);
    result.history.push_back(log);
    if (writes) {
      save_checkpoint(epoch, stopper, result.history);
      write_metrics_jsonl(metrics_path(), result.history);
      write_loss_svg(plot_path(), result.history);
    }
    summary.end_epoch(log, stopper.improved());
    for (auto& cb : callbacks_) cb(log, *this);
    if (stop || stop_requested_) {
      result.stopped_early = true;
      break;
    }
  }
  result.best_epoch = stopper.best_epoch();
  result.best_metric = stopper.best();
  if (options_.restore_best_weights && !best_weights.empty()) model_.load_state_dict(best_weights);
  return result;
}

void Trainer::save_checkpoint(std::int64_t epoch, const EarlyStopping& stopper, const std::vector<EpochLog>& history) {
  nn::StateDict all = prefixed("model.", model_.state_dict());
  for (auto& [k, v] : prefixed("optimizer.", optimizer_.state_dict())) all[k] = v;
  if (scheduler_)
    for (auto& [k, v] : prefixed("scheduler.", scheduler_->state_dict())) all[k] = v;
  if (plateau_)
    for (auto& [k, v] : prefixed("plateau.", plateau_->state_dict())) all[k] = v;
  nlohmann::json h = nlohmann::json::array();
  for (const EpochLog& l : history) h.push_back(to_json(l));
  nlohmann::json stop = {{"best", stopper.best()}, {"best_epoch", stopper.best_epoch()},
                         {"bad_epochs", stopper.bad_epochs()}, {"epochs", stopper.epochs_seen()}};
  nn::save_safetensors(checkpoint_path(), all,
                       {{"epoch", std::to_string(epoch)}, {"rng_state", get_rng_state()}, {"history", h.dump()},
                        {"early_stopping", stop.dump()}, {"format", "xgrad-checkpoint-1"}});
}

std::int64_t Trainer::load_checkpoint(EarlyStopping& stopper, std::vector<EpochLog>& history) {
  nn::Metadata meta;
  const nn::StateDict all = nn::load_safetensors(checkpoint_path(), &meta);
  XG_CHECK(meta.count("epoch") && meta.count("rng_state") && meta.count("history"), "resume", checkpoint_path(),
           " is not an xgrad training checkpoint (no epoch, random state or history)");
  // Everything is read and checked by the loads below; model first, since a
  // mismatched architecture is the likeliest error.
  model_.load_state_dict(unprefixed("model.", all));
  optimizer_.load_state_dict(unprefixed("optimizer.", all));
  if (scheduler_) scheduler_->load_state_dict(unprefixed("scheduler.", all));
  if (plateau_) plateau_->load_state_dict(unprefixed("plateau.", all));
  set_rng_state(meta.at("rng_state"));
  history.clear();
  for (const auto& j : nlohmann::json::parse(meta.at("history"))) history.push_back(from_json(j));
  if (meta.count("early_stopping")) {
    const auto s = nlohmann::json::parse(meta.at("early_stopping"));
    const double best = s.at("best").is_null() ? (stopper.best()) : s.at("best").get<double>();
    stopper.restore(best, s.at("best_epoch").get<std::int64_t>(), s.at("bad_epochs").get<std::int64_t>(),
                    s.at("epochs").get<std::int64_t>());
  }
  return std::stoll(meta.at("epoch"));
}

}  // namespace xg::data
