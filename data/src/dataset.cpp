#include "xgrad/data/dataset.hpp"

#include <numeric>
#include <random>

#include "xgrad/ops.hpp"
#include "xgrad/ops_nn.hpp"

namespace xg::data {

Example Dataset::get_batch(const std::vector<std::int64_t>& indices) const {
  TensorList inputs, targets;
  for (std::int64_t i : indices) {
    Example e = get(i);
    inputs.push_back(e.input);
    targets.push_back(e.target);
  }
  return {stack(inputs), stack(targets)};
}

TensorDataset::TensorDataset(Tensor inputs, Tensor targets) : inputs_(std::move(inputs)), targets_(std::move(targets)) {
  XG_CHECK(inputs_.defined() && targets_.defined() && inputs_.dim() >= 1 && targets_.dim() >= 1 &&
               inputs_.size(0) == targets_.size(0),
           "TensorDataset", "inputs and targets need the same first dim, got ",
           inputs_.defined() ? inputs_.shape().str() : "undefined", " and ",
           targets_.defined() ? targets_.shape().str() : "undefined");
}

Example TensorDataset::get(std::int64_t i) const {
  XG_CHECK(i >= 0 && i < size(), "TensorDataset", "index ", i, " is out of range for ", size(), " examples");
  return {select(inputs_, 0, i), select(targets_, 0, i)};
}

Example TensorDataset::get_batch(const std::vector<std::int64_t>& indices) const {
  const Tensor idx = from_vector(indices, Shape{static_cast<std::int64_t>(indices.size())});
  return {index_select(inputs_, 0, idx), index_select(targets_, 0, idx)};
}

Subset::Subset(std::shared_ptr<const Dataset> base, std::vector<std::int64_t> indices)
    : base_(std::move(base)), indices_(std::move(indices)) {
  for (std::int64_t i : indices_)
    XG_CHECK(i >= 0 && i < base_->size(), "Subset", "index ", i, " is out of range for ", base_->size(), " examples");
}

Example Subset::get(std::int64_t i) const {
  XG_CHECK(i >= 0 && i < size(), "Subset", "index ", i, " is out of range for ", size(), " examples");
  return base_->get(indices_[static_cast<std::size_t>(i)]);
}

Example Subset::get_batch(const std::vector<std::int64_t>& indices) const {
  std::vector<std::int64_t> mapped;
  mapped.reserve(indices.size());
  for (std::int64_t i : indices) {
    XG_CHECK(i >= 0 && i < size(), "Subset", "index ", i, " is out of range for ", size(), " examples");
    mapped.push_back(indices_[static_cast<std::size_t>(i)]);
  }
  return base_->get_batch(mapped);
}

std::vector<std::int64_t> permutation(std::int64_t n, std::uint64_t seed) {
  std::vector<std::int64_t> p(static_cast<std::size_t>(n));
  std::iota(p.begin(), p.end(), 0);
  std::mt19937_64 gen(seed);
  for (std::int64_t i = n - 1; i > 0; --i) {
    const auto j = static_cast<std::int64_t>(gen() % static_cast<std::uint64_t>(i + 1));
    std::swap(p[static_cast<std::size_t>(i)], p[static_cast<std::size_t>(j)]);
  }
  return p;
}

std::vector<std::shared_ptr<Subset>> random_split(std::shared_ptr<const Dataset> dataset,
                                                  const std::vector<std::int64_t>& lengths, std::uint64_t seed) {
  std::int64_t total = 0;
  for (std::int64_t l : lengths) {
    XG_CHECK(l >= 0, "random_split", "negative length ", l);
    total += l;
  }
  XG_CHECK(total == dataset->size(), "random_split", "lengths add up to ", total, " but the dataset has ",
           dataset->size(), " examples");
  const auto order = permutation(total, seed);
  std::vector<std::shared_ptr<Subset>> parts;
  std::size_t at = 0;
  for (std::int64_t l : lengths) {
    std::vector<std::int64_t> idx(order.begin() + static_cast<std::ptrdiff_t>(at),
                                  order.begin() + static_cast<std::ptrdiff_t>(at + static_cast<std::size_t>(l)));
    parts.push_back(std::make_shared<Subset>(dataset, std::move(idx)));
    at += static_cast<std::size_t>(l);
  }
  return parts;
}

}  // namespace xg::data
