#include "xgrad/data/loader.hpp"

#include <numeric>

namespace xg::data {

DataLoader::DataLoader(std::shared_ptr<const Dataset> dataset, LoaderOptions options)
    : dataset_(std::move(dataset)), options_(options) {
  XG_CHECK(dataset_ != nullptr, "DataLoader", "dataset is null");
  XG_CHECK(options.batch_size > 0, "DataLoader", "batch_size must be positive, got ", options.batch_size);
  XG_CHECK(options.num_replicas >= 1 && options.rank >= 0 && options.rank < options.num_replicas, "DataLoader",
           "rank ", options.rank, " is not in [0, num_replicas = ", options.num_replicas, ")");
}

std::int64_t DataLoader::num_examples() const {
  const std::int64_t n = dataset_->size(), r = options_.num_replicas;
  return (n + r - 1) / r;
}

std::int64_t DataLoader::num_batches() const {
  const std::int64_t n = num_examples(), b = options_.batch_size;
  return options_.drop_last ? n / b : (n + b - 1) / b;
}

DataLoader::Order DataLoader::order_for(std::int64_t epoch) const {
  if (cached_ && cached_epoch_ == epoch) return cached_;
  std::vector<std::int64_t> order;
  if (options_.shuffle) {
    // Seed and epoch together choose the order, so epoch k is the same
    // whether training ran straight through or was resumed at k.
    order = permutation(dataset_->size(), options_.seed * 1000003ULL + static_cast<std::uint64_t>(epoch));
  } else {
    order.resize(static_cast<std::size_t>(dataset_->size()));
    std::iota(order.begin(), order.end(), 0);
  }
  if (options_.num_replicas > 1) {
    const std::int64_t per = num_examples(), total = per * options_.num_replicas;
    const std::int64_t n = dataset_->size();
    for (std::int64_t i = n; i < total && n > 0; ++i) order.push_back(order[static_cast<std::size_t>((i - n) % n)]);
    std::vector<std::int64_t> shard;
    for (std::int64_t i = options_.rank; i < total; i += options_.num_replicas) shard.push_back(order[static_cast<std::size_t>(i)]);
    order = std::move(shard);
  }
  cached_ = std::make_shared<const std::vector<std::int64_t>>(std::move(order));
  cached_epoch_ = epoch;
  return cached_;
}

Example DataLoader::batch_of(const Order& order, std::int64_t epoch, std::int64_t b) const {
  XG_CHECK(b >= 0 && b < num_batches(), "DataLoader", "batch ", b, " is out of range for ", num_batches(), " batches");
  const std::int64_t start = b * options_.batch_size;
  const std::int64_t stop = std::min(start + options_.batch_size, num_examples());
  std::vector<std::int64_t> idx(order->begin() + start, order->begin() + stop);
  Example batch = dataset_->get_batch(idx);
  if (options_.augment) {
    // Distinct per (seed, epoch, batch) and per rank, fixed by them alone.
    const std::uint64_t seed = ((options_.seed * 1000003ULL + static_cast<std::uint64_t>(epoch)) * 1000033ULL +
                                static_cast<std::uint64_t>(b)) * 31ULL + static_cast<std::uint64_t>(options_.rank);
    batch.input = options_.augment(batch.input, seed);
  }
  return batch;
}

DataLoader::Iterator DataLoader::begin() {
  Iterator it(this, order_for(epoch_), epoch_, 0);
  ++epoch_;
  return it;
}

}  // namespace xg::data
