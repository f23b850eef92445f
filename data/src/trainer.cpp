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

namespace {
constexpr const char* kCheckpointFormat = "xgrad-checkpoint-1";
}  // namespace

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

bool Trainer::train_epoch(DataLoader& train, std::int64_t epoch, Partial& partial) {
  ProgressPrinter progress(options_.log ? *options_.log : std::cout, options_.progress);
  progress.start_epoch(epoch, options_.max_epochs, train.num_batches());
  model_.train();
  for (std::int64_t b = partial.batches; b < train.num_batches(); ++b) {
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
             "; lower the learning rate or clip gradients",
             !options_.out_dir.empty() && file_exists(checkpoint_path()) ? " (the last checkpoint, " + checkpoint_path() + ", is intact)" : std::string());
    const std::int64_t n = batch.input.size(0);
    partial.loss_sum += value * static_cast<double>(n);
    partial.seen += n;
    partial.batches = b + 1;
    progress.batch(b + 1, partial.loss_sum / static_cast<double>(partial.seen));
    if (interrupted() && b + 1 < train.num_batches()) return false;
  }
  return true;
}

FitResult Trainer::fit(DataLoader& train, DataLoader* validation) {
  XG_CHECK(train.num_batches() > 0, "fit", "the training loader has no batches (", train.num_examples(),
           " examples); there is nothing to train on");
  XG_CHECK(validation == nullptr || validation->num_batches() > 0, "fit", "the validation loader has no batches; ",
           "pass no validation loader instead of an empty one");
  XG_CHECK(validation != nullptr || options_.monitor == "train_loss" || options_.patience < 0, "fit", "monitor '",
           options_.monitor, "' needs a validation loader (or monitor train_loss)");
  const bool maximise = options_.monitor == "val_accuracy";
  EarlyStopping stopper(std::max<std::int64_t>(options_.patience, 0), options_.min_delta,
                        maximise ? EarlyStopping::Mode::Max : EarlyStopping::Mode::Min);
  const bool writes = !options_.out_dir.empty() && options_.write_files;
  if (writes) std::filesystem::create_directories(options_.out_dir);
  FitResult result;
  std::int64_t first_epoch = 1;
  Partial resume_at;
  batch_per_process_ = train.options().batch_size;
  processes_ = train.options().num_replicas;
  if (options_.resume && file_exists(checkpoint_path())) {
    result.resumed_from = load_checkpoint(stopper, result.history, resume_at);
    first_epoch = result.resumed_from + 1;
    // A run stopped mid-epoch continues at the same batch of the same order:
    // only with the same batching (same data, batch size, seed).
    XG_CHECK(resume_at.epoch == 0 || resume_at.of_batches == train.num_batches(), "resume", checkpoint_path(),
             ": key 'partial_epoch': the run was interrupted in an epoch of ", resume_at.of_batches,
             " batches but this training loader has ", train.num_batches(),
             " (a different batch size or data?); resume with the same settings");
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
    Partial partial = resume_at.epoch == epoch ? resume_at : Partial{epoch, 0, 0, 0.0, train.num_batches()};
    if (!train_epoch(train, epoch, partial)) {
      // Interrupted mid-epoch: the checkpoint records the finished epochs and how far this one got.
      if (writes) save_checkpoint(epoch - 1, stopper, result.history, &partial);
      result.interrupted = true;
      result.interrupted_epoch = epoch;
      result.interrupted_batch = partial.batches;
      break;
    }
    log.train_loss = partial.loss_sum / static_cast<double>(partial.seen);
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
    if (stop || stop_requested_ || interrupted()) {
      if (interrupted() && !stop && !stop_requested_) {  // the signal came as the epoch finished
        result.interrupted = true;
        result.interrupted_epoch = epoch;
        result.interrupted_batch = train.num_batches();
      }
      result.stopped_early = true;
      break;
    }
  }
  result.best_epoch = stopper.best_epoch();
  result.best_metric = stopper.best();
  if (options_.restore_best_weights && !best_weights.empty()) model_.load_state_dict(best_weights);
  return result;
}

void Trainer::save_checkpoint(std::int64_t epoch, const EarlyStopping& stopper, const std::vector<EpochLog>& history,
                              const Partial* partial) {
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
  nn::Metadata meta{{"epoch", std::to_string(epoch)}, {"rng_state", get_rng_state()}, {"history", h.dump()},
                    {"early_stopping", stop.dump()}, {"format", kCheckpointFormat},
                    {"seed", options_.seed ? std::to_string(*options_.seed) : std::string("none")},
                    {"global_batch", std::to_string(batch_per_process_ * processes_)},
                    {"processes", std::to_string(processes_)}};
  if (partial)
    meta["partial_epoch"] = nlohmann::json{{"epoch", partial->epoch}, {"batches", partial->batches},
                                           {"of_batches", partial->of_batches}, {"seen", partial->seen},
                                           {"loss_sum", partial->loss_sum}}.dump();
  nn::save_safetensors(checkpoint_path(), all, meta);
}

// Note [Validated resume]
// A checkpoint is trusted only after its values are checked, not just its
// structure: every number finite and in range, the epoch consistent with the
// history and the early-stopping record, the scheduler's count consistent with
// the epoch, the seed the same one that made the data split. Everything is
// loaded into copies first and applied only when all of it checked out, so a
// bad checkpoint leaves model, optimizer and scheduler as they were.
std::int64_t Trainer::load_checkpoint(EarlyStopping& stopper, std::vector<EpochLog>& history, Partial& partial) {
  const std::string path = checkpoint_path();
  nn::Metadata meta;
  const nn::StateDict all = nn::load_safetensors(path, &meta);
  XG_CHECK(meta.count("format") && meta.count("epoch") && meta.count("rng_state") && meta.count("history"), "resume",
           path, " is not an xgrad training checkpoint (no format, epoch, random state or history)");
  XG_CHECK(meta.at("format") == kCheckpointFormat, "resume", path, ": key 'format' is '", meta.at("format"),
           "', expected '", kCheckpointFormat, "'");
  auto bad = [&](const std::string& key, const std::string& why) { xg::detail::fail("resume", path, ": key '", key, "' ", why); };
  auto count = [&](const std::string& key, const std::string& text) -> std::int64_t {
    std::size_t used = 0;
    long long v = -1;
    try {
      v = std::stoll(text, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != text.size() || text.empty() || v < 0) bad(key, "must be a non-negative integer, got '" + text + "'");
    return v;
  };
  const std::int64_t epoch = count("epoch", meta.at("epoch"));
  // An interrupted first epoch leaves a checkpoint after epoch 0 with a partial epoch.
  const bool has_partial = meta.count("partial_epoch") > 0;
  XG_CHECK(epoch >= (has_partial ? 0 : 1) && epoch <= options_.max_epochs, "resume", path, ": key 'epoch' is ", epoch,
           ", outside ", has_partial ? 0 : 1, "..", options_.max_epochs, " (max_epochs)");
  Partial part;
  if (has_partial) {
    try {
      const auto j = nlohmann::json::parse(meta.at("partial_epoch"));
      part = Partial{j.at("epoch").get<std::int64_t>(), j.at("batches").get<std::int64_t>(), j.at("seen").get<std::int64_t>(),
                     j.at("loss_sum").get<double>(), j.at("of_batches").get<std::int64_t>()};
    } catch (const nlohmann::json::exception& e) {
      bad("partial_epoch", std::string("is malformed: ") + e.what());
    }
    if (part.epoch != epoch + 1 || part.batches < 1 || part.batches >= part.of_batches || part.seen < part.batches ||
        !std::isfinite(part.loss_sum))
      bad("partial_epoch", "is inconsistent with epoch " + std::to_string(epoch) + ": " + meta.at("partial_epoch"));
  }
  // Note [Elastic resume]: each step takes one global batch of the epoch's
  // order, split over the processes (process r takes positions r, r + P,
  // ...), and averages their gradients; so with the same global batch a run
  // continues on another number of processes with the same steps (to float
  // rounding; exactly the same examples when the training set divides into
  // whole global batches, since the last one is padded per process count).
  if (meta.count("global_batch")) {
    const std::int64_t saved = count("global_batch", meta.at("global_batch"));
    const std::int64_t saved_processes = meta.count("processes") ? count("processes", meta.at("processes")) : 1;
    const std::int64_t mine = batch_per_process_ * processes_;
    if (saved != mine) {
      std::string hint = saved % processes_ == 0 ? " (--batch-size " + std::to_string(saved / processes_) + " on " +
                                                       std::to_string(processes_) + " process(es))"
                                                 : "";
      bad("global_batch", "is " + std::to_string(saved) + " (" + std::to_string(saved_processes) + " process(es) × " +
                              std::to_string(saved_processes > 0 ? saved / saved_processes : 0) + ") but this run's is " +
                              std::to_string(mine) + " (" + std::to_string(processes_) + " × " +
                              std::to_string(batch_per_process_) + "); resume with the same global batch" + hint);
    }
  }
  if (options_.seed) {
    const std::string saved = meta.count("seed") ? meta.at("seed") : "none";
    XG_CHECK(saved == std::to_string(*options_.seed), "resume", path, ": key 'seed': the checkpoint was made with seed ",
             saved, " but this run uses seed ", *options_.seed,
             "; the train/validation split would differ (resume with --seed ", saved, ")");
  }
  std::vector<EpochLog> logs;
  nlohmann::json s;
  try {
    for (const auto& j : nlohmann::json::parse(meta.at("history"))) logs.push_back(from_json(j));
    if (meta.count("early_stopping")) s = nlohmann::json::parse(meta.at("early_stopping"));
  } catch (const nlohmann::json::exception& e) {
    bad("history", std::string("or 'early_stopping' is not valid: ") + e.what());
  }
  XG_CHECK(static_cast<std::int64_t>(logs.size()) == epoch, "resume", path, ": key 'history' has ", logs.size(),
           " epochs but key 'epoch' says ", epoch);
  for (std::size_t i = 0; i < logs.size(); ++i) {
    XG_CHECK(logs[i].epoch == static_cast<std::int64_t>(i) + 1 && std::isfinite(logs[i].lr) && logs[i].lr >= 0 &&
                 !std::isinf(logs[i].train_loss),
             "resume", path, ": key 'history' entry ", i, " is inconsistent (epoch ", logs[i].epoch, ", lr ", logs[i].lr,
             ", train_loss ", logs[i].train_loss, ")");
  }
  double best = stopper.best();
  std::int64_t best_epoch = 0, bad_epochs = 0, seen = epoch;
  if (!s.is_null()) {
    try {
      best = s.at("best").is_null() ? stopper.best() : s.at("best").get<double>();
      best_epoch = s.at("best_epoch").get<std::int64_t>();
      bad_epochs = s.at("bad_epochs").get<std::int64_t>();
      seen = s.at("epochs").get<std::int64_t>();
    } catch (const nlohmann::json::exception& e) {
      bad("early_stopping", std::string("is malformed: ") + e.what());
    }
    if (best_epoch < 0 || best_epoch > epoch || bad_epochs < 0 || bad_epochs > epoch || seen != epoch || std::isnan(best))
      bad("early_stopping", "is inconsistent with epoch " + std::to_string(epoch) + ": " + s.dump());
  }
  // Load into copies; the optimizer and scheduler check their own values (finite
  // learning rates and options, complete per-parameter state, step counts).
  const nn::StateDict model_before = cloned(model_.state_dict());
  const nn::StateDict optimizer_before = optimizer_.state_dict();
  const nn::StateDict scheduler_before = scheduler_ ? scheduler_->state_dict() : nn::StateDict{};
  const nn::StateDict plateau_before = plateau_ ? plateau_->state_dict() : nn::StateDict{};
  try {
    model_.load_state_dict(unprefixed("model.", all));
    optimizer_.load_state_dict(unprefixed("optimizer.", all));
    if (scheduler_) {
      scheduler_->load_state_dict(unprefixed("scheduler.", all));
      XG_CHECK(scheduler_->last_epoch() == epoch, "resume", path, ": key 'scheduler.last_epoch' is ",
               scheduler_->last_epoch(), " but the checkpoint is after epoch ", epoch,
               " (the scheduler steps once per epoch)");
    }
    if (plateau_) plateau_->load_state_dict(unprefixed("plateau.", all));
    set_rng_state(meta.at("rng_state"));
  } catch (const Error& e) {
    model_.load_state_dict(model_before);
    optimizer_.load_state_dict(optimizer_before);
    if (scheduler_) scheduler_->load_state_dict(scheduler_before);
    if (plateau_) plateau_->load_state_dict(plateau_before);
    xg::detail::fail("resume", path, ": ", e.what());
  }
  history = logs;
  if (!s.is_null()) stopper.restore(best, best_epoch, bad_epochs, seen);
  partial = part;
  return epoch;
}

}  // namespace xg::data
