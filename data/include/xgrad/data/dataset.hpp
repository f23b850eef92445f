#pragma once
// Datasets: anything with a size and an example per index. The loader asks
// for whole batches, so in-memory datasets hand out a batch with one gather
// instead of stacking examples one by one.
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "xgrad/tensor.hpp"

namespace xg::data {

struct Example {
  Tensor input;
  Tensor target;
};

class Dataset {
 public:
  virtual ~Dataset() = default;
  virtual std::int64_t size() const = 0;
  virtual Example get(std::int64_t index) const = 0;
  /// The examples at `indices`, stacked along a new first dim. The default
  /// stacks get(i); in-memory datasets override it with one gather.
  virtual Example get_batch(const std::vector<std::int64_t>& indices) const;
};

/// Examples are rows of an input tensor and a target tensor of equal length.
class TensorDataset : public Dataset {
 public:
  TensorDataset(Tensor inputs, Tensor targets);
  std::int64_t size() const override { return inputs_.size(0); }
  Example get(std::int64_t index) const override;
  Example get_batch(const std::vector<std::int64_t>& indices) const override;
  const Tensor& inputs() const { return inputs_; }
  const Tensor& targets() const { return targets_; }

 private:
  Tensor inputs_, targets_;
};

/// A view of some examples of another dataset.
class Subset : public Dataset {
 public:
  Subset(std::shared_ptr<const Dataset> base, std::vector<std::int64_t> indices);
  std::int64_t size() const override { return static_cast<std::int64_t>(indices_.size()); }
  Example get(std::int64_t index) const override;
  Example get_batch(const std::vector<std::int64_t>& indices) const override;

 private:
  std::shared_ptr<const Dataset> base_;
  std::vector<std::int64_t> indices_;
};

/// Splits into disjoint random subsets of the given lengths (summing to the
/// size), shuffled by `seed` alone: the same seed gives the same split.
std::vector<std::shared_ptr<Subset>> random_split(std::shared_ptr<const Dataset> dataset,
                                                  const std::vector<std::int64_t>& lengths, std::uint64_t seed);

/// A permutation of 0..n-1 from a seed (Fisher–Yates on a 64-bit Mersenne twister).
std::vector<std::int64_t> permutation(std::int64_t n, std::uint64_t seed);

}  // namespace xg::data
