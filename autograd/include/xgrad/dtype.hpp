#pragma once
// Element types. float32 trains, float64 checks gradients, int64 holds indices.
#include <cstddef>
#include <cstdint>
#include <iosfwd>

namespace xg {

enum class Dtype : std::uint8_t { Float32, Float64, Int64 };

inline constexpr Dtype float32 = Dtype::Float32;
inline constexpr Dtype float64 = Dtype::Float64;
inline constexpr Dtype int64 = Dtype::Int64;

const char* dtype_name(Dtype d);
std::size_t dtype_size(Dtype d);
inline bool is_floating(Dtype d) { return d != Dtype::Int64; }
std::ostream& operator<<(std::ostream& os, Dtype d);

template <class T> struct dtype_of;
template <> struct dtype_of<float> { static constexpr Dtype value = Dtype::Float32; };
template <> struct dtype_of<double> { static constexpr Dtype value = Dtype::Float64; };
template <> struct dtype_of<std::int64_t> { static constexpr Dtype value = Dtype::Int64; };

}  // namespace xg
