#pragma once
// DataLoader: batches of a dataset, optionally shuffled with a seed per epoch
// (seed + epoch), so every epoch's order is reproducible on its own.
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "xgrad/data/dataset.hpp"

namespace xg::data {

/// Training-time augmentation: a batch's inputs in, the augmented inputs out.
/// `seed` mixes the loader's seed, the epoch and the batch's index, so a run
/// resumed at any epoch draws what an uninterrupted one did.
using Augment = std::function<Tensor(const Tensor& inputs, std::uint64_t seed)>;

struct LoaderOptions {
  std::int64_t batch_size = 64;
  bool shuffle = false;
  std::uint64_t seed = 0;
  bool drop_last = false;
  /// Distributed training: this loader yields only shard `rank` of
  /// `num_replicas` of each epoch's order (examples rank, rank + R, ...;
  /// the order is padded by repeating its start so every shard is as long).
  std::int64_t num_replicas = 1;
  std::int64_t rank = 0;
  /// Applied to every batch's inputs when set (see augment.hpp).
  Augment augment{};
};

class DataLoader {
 public:
  DataLoader(std::shared_ptr<const Dataset> dataset, LoaderOptions options);

  using Order = std::shared_ptr<const std::vector<std::int64_t>>;

  /// Which epoch's order the next begin() (and batch()) uses.
  void set_epoch(std::int64_t epoch) { epoch_ = epoch; }
  std::int64_t epoch() const { return epoch_; }
  std::int64_t num_batches() const;
  std::int64_t num_examples() const;  ///< in this loader's shard
  const Dataset& dataset() const { return *dataset_; }
  const LoaderOptions& options() const { return options_; }
  /// Batch b of the current epoch.
  Example batch(std::int64_t b) const { return batch_of(order_for(epoch_), epoch_, b); }

  class Iterator {
   public:
    Iterator(const DataLoader* loader, Order order, std::int64_t epoch, std::int64_t b)
        : loader_(loader), order_(std::move(order)), epoch_(epoch), b_(b) {}
    // Loaded on first use and kept, so `for (auto& batch : loader)` binds to it.
    Example& operator*() {
      if (!loaded_) current_ = loader_->batch_of(order_, epoch_, b_);
      loaded_ = true;
      return current_;
    }
    Example* operator->() { return &**this; }
    Iterator& operator++() {
      ++b_;
      loaded_ = false;
      return *this;
    }
    bool operator!=(const Iterator& o) const { return b_ != o.b_; }

   private:
    const DataLoader* loader_;
    Order order_;
    std::int64_t epoch_, b_;
    Example current_;
    bool loaded_ = false;
  };
  /// Iterates the current epoch's batches and moves on to the next epoch,
  /// so consecutive loops see differently shuffled orders, like torch.
  Iterator begin();
  Iterator end() const { return Iterator(this, nullptr, 0, num_batches()); }

 private:
  Order order_for(std::int64_t epoch) const;
  Example batch_of(const Order& order, std::int64_t epoch, std::int64_t b) const;

  std::shared_ptr<const Dataset> dataset_;
  LoaderOptions options_;
  std::int64_t epoch_ = 0;
  mutable std::int64_t cached_epoch_ = -1;
  mutable Order cached_;
};

}  // namespace xg::data
