#pragma once
// Shape: a small vector of extents (also used for lists of dims). Up to six
// entries live inline, so building a tensor's shape does not allocate.
#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <iosfwd>
#include <string>
#include <vector>

namespace xg {

class Shape {
 public:
  static constexpr std::size_t kInline = 6;

  Shape() = default;
  Shape(std::initializer_list<std::int64_t> dims) { assign(dims.begin(), dims.end()); }
  Shape(const std::vector<std::int64_t>& dims) { assign(dims.begin(), dims.end()); }  // NOLINT: implicit on purpose
  template <class It>
  Shape(It first, It last) { assign(first, last); }
  explicit Shape(std::size_t n, std::int64_t value = 0) { resize(n, value); }

  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  std::int64_t* data() { return size_ <= kInline ? inline_ : heap_.data(); }
  const std::int64_t* data() const { return size_ <= kInline ? inline_ : heap_.data(); }
  std::int64_t* begin() { return data(); }
  std::int64_t* end() { return data() + size_; }
  const std::int64_t* begin() const { return data(); }
  const std::int64_t* end() const { return data() + size_; }
  std::int64_t& operator[](std::size_t i) { return data()[i]; }
  std::int64_t operator[](std::size_t i) const { return data()[i]; }
  std::int64_t back() const { return data()[size_ - 1]; }

  void resize(std::size_t n, std::int64_t value = 0) {
    if (n <= kInline && size_ <= kInline) {  // stays inline: no allocation
      for (std::size_t i = size_; i < n; ++i) inline_[i] = value;
      size_ = n;
      return;
    }
    std::vector<std::int64_t> v(begin(), end());
    v.resize(n, value);
    assign(v.begin(), v.end());
  }
  void push_back(std::int64_t v) {
    if (size_ < kInline) {
      inline_[size_++] = v;
    } else {
      resize(size_ + 1, v);
    }
  }
  void insert(std::size_t pos, std::int64_t v) {
    std::vector<std::int64_t> tmp(begin(), end());
    tmp.insert(tmp.begin() + static_cast<std::ptrdiff_t>(pos), v);
    assign(tmp.begin(), tmp.end());
  }
  void erase(std::size_t pos) {
    std::vector<std::int64_t> tmp(begin(), end());
    tmp.erase(tmp.begin() + static_cast<std::ptrdiff_t>(pos));
    assign(tmp.begin(), tmp.end());
  }

  std::int64_t numel() const {
    std::int64_t n = 1;
    for (std::int64_t d : *this) n *= d;
    return n;
  }
  std::vector<std::int64_t> vec() const { return {begin(), end()}; }
  std::string str() const;  // "[2, 3]"

  friend bool operator==(const Shape& a, const Shape& b) {
    return a.size_ == b.size_ && std::equal(a.begin(), a.end(), b.begin());
  }
  friend bool operator!=(const Shape& a, const Shape& b) { return !(a == b); }

 private:
  template <class It>
  void assign(It first, It last) {
    const auto n = static_cast<std::size_t>(std::distance(first, last));
    heap_.clear();
    if (n <= kInline) {
      std::copy(first, last, inline_);
    } else {
      heap_.assign(first, last);
    }
    size_ = n;
  }

  std::size_t size_ = 0;
  std::int64_t inline_[kInline] = {};
  std::vector<std::int64_t> heap_;
};

using Dims = Shape;

std::ostream& operator<<(std::ostream& os, const Shape& s);

/// The element count of `shape`, checked: throws xg::Error naming `op` when an
/// extent is negative or when the count, or the count times `item_size`
/// bytes, overflows int64 ("storage size calculation overflowed"). Every
/// allocation and every shape read from a file goes through it.
std::int64_t checked_numel(const Shape& shape, const char* op, std::size_t item_size = 1);

}  // namespace xg
