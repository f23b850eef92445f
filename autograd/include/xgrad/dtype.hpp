#pragma once
// Element types. float32 trains, float64 checks gradients, int64 holds
// indices and counts, int32 compact integers, bool masks and comparisons.
#include <cstddef>
#include <cstdint>
#include <iosfwd>

namespace xg {

enum class Dtype : std::uint8_t { Float32, Float64, Int64, Int32, Bool };

inline constexpr Dtype float32 = Dtype::Float32;
inline constexpr Dtype float64 = Dtype::Float64;
inline constexpr Dtype int64 = Dtype::Int64;
inline constexpr Dtype int32 = Dtype::Int32;
inline constexpr Dtype boolean = Dtype::Bool;  ///< `bool` is a keyword; prints as "bool"

const char* dtype_name(Dtype d);
std::size_t dtype_size(Dtype d);
inline bool is_floating(Dtype d) { return d == Dtype::Float32 || d == Dtype::Float64; }
/// The dtype of `a op b`, as in libtorch: bool < int32 < int64 < float32 <
/// float64, the larger one wins (so an integer meets a float in the float).
/// float32 with float64 is not promoted: callers report it (Note [Type promotion]).
Dtype promote_types(Dtype a, Dtype b);
std::ostream& operator<<(std::ostream& os, Dtype d);

template <class T> struct dtype_of {
  // A readable compile-time error instead of an incomplete type (or a link error).
  static_assert(sizeof(T) == 0, "xgrad tensors hold float, double, int64_t, int32_t or bool: convert the values first");
};
template <> struct dtype_of<float> { static constexpr Dtype value = Dtype::Float32; };
template <> struct dtype_of<double> { static constexpr Dtype value = Dtype::Float64; };
template <> struct dtype_of<std::int64_t> { static constexpr Dtype value = Dtype::Int64; };
template <> struct dtype_of<std::int32_t> { static constexpr Dtype value = Dtype::Int32; };
template <> struct dtype_of<bool> { static constexpr Dtype value = Dtype::Bool; };

}  // namespace xg
