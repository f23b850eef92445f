// NumPy's .npy files through xtensor's xnpy (xgrad/io.hpp: save_npy, load_npy).
//
// xnpy trusts the header it reads: it allocates what the shape says and reads
// without checking the file holds that much. A file from elsewhere may lie,
// so load_npy checks the header against the file's size first and only then
// hands the bytes to xnpy.
#include <cstdint>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>
#include <xtensor/xnpy.hpp>

#include "xgrad/error.hpp"
#include "xgrad/io.hpp"
#include "xgrad/xtensor.hpp"

namespace xg {
namespace {

struct NpyHeader {
  std::string descr;  // '<f8', '|b1', ...
  bool fortran_order = false;
  std::vector<std::size_t> shape;
  std::size_t data_offset = 0;
};

/// The value after `'key':` in the header's dict, up to the next `,` at
/// depth 0 (a shape tuple keeps its commas).
std::string dict_value(const std::string& dict, const std::string& key, const std::string& path) {
  const std::string quoted = "'" + key + "'";
  const auto at = dict.find(quoted);
  XG_CHECK(at != std::string::npos, "load_npy", path, ": the header has no '", key, "' (", dict, ")");
  auto i = dict.find(':', at + quoted.size());
  XG_CHECK(i != std::string::npos, "load_npy", path, ": malformed header ", dict);
  ++i;
  while (i < dict.size() && dict[i] == ' ') ++i;
  std::size_t end = i;
  int depth = 0;
  for (; end < dict.size(); ++end) {
    const char c = dict[end];
    if (c == '(') ++depth;
    if (c == ')') --depth;
    if ((c == ',' || c == '}') && depth == 0) break;
  }
  return dict.substr(i, end - i);
}

NpyHeader parse_header(const std::string& bytes, const std::string& path) {
  const char magic[] = "\x93NUMPY";
  XG_CHECK(bytes.size() >= 10 && bytes.compare(0, 6, magic, 6) == 0, "load_npy", path,
           " is not a .npy file (no \\x93NUMPY magic)");
  const auto major = static_cast<unsigned char>(bytes[6]);
  XG_CHECK(major == 1 || major == 2, "load_npy", path, ": .npy format version ", int(major), ".",
           int(static_cast<unsigned char>(bytes[7])), " is not supported (1.0 and 2.0 are)");
  std::size_t header_len = 0, start = major == 1 ? 10 : 12;
  XG_CHECK(bytes.size() >= start, "load_npy", path, " is truncated inside its header");
  for (std::size_t b = 0; b < start - 8; ++b) header_len |= std::size_t(static_cast<unsigned char>(bytes[8 + b])) << (8 * b);
  XG_CHECK(header_len <= bytes.size() - start, "load_npy", path, " is truncated: its header claims ", header_len,
           " bytes, the file has ", bytes.size() - start, " after the preamble");
  const std::string dict = bytes.substr(start, header_len);
  NpyHeader h;
  h.data_offset = start + header_len;
  h.descr = dict_value(dict, "descr", path);
  XG_CHECK(h.descr.size() >= 4 && h.descr.front() == '\'' && h.descr.back() == '\'', "load_npy", path,
           ": descr ", h.descr, " is not a simple dtype");
  h.descr = h.descr.substr(1, h.descr.size() - 2);
  const std::string order = dict_value(dict, "fortran_order", path);
  XG_CHECK(order == "True" || order == "False", "load_npy", path, ": fortran_order is ", order);
  h.fortran_order = order == "True";
  const std::string shape = dict_value(dict, "shape", path);
  XG_CHECK(shape.size() >= 2 && shape.front() == '(' && shape.back() == ')', "load_npy", path, ": shape ", shape,
           " is not a tuple");
  std::istringstream dims(shape.substr(1, shape.size() - 2));
  std::string item;
  while (std::getline(dims, item, ',')) {
    const auto first = item.find_first_not_of(' ');
    if (first == std::string::npos) continue;  // the trailing comma of (3,)
    const std::string digits = item.substr(first, item.find_last_not_of(' ') - first + 1);
    XG_CHECK(!digits.empty() && digits.size() <= 18 && digits.find_first_not_of("0123456789") == std::string::npos,
             "load_npy", path, ": shape ", shape, " holds ", digits, ", not a size");
    h.shape.push_back(std::stoull(digits));
  }
  return h;
}

/// The data as xnpy reads it (T: the file's type), stored as U in an xgrad tensor.
template <class T, class U = T>
Tensor decode(const std::string& bytes, const NpyHeader& h, const std::string& path) {
  std::istringstream stream(bytes);
  xt::xarray<T> row_major;
  try {
    row_major = xt::load_npy<T>(stream);  // Fortran order arrives column-major; this copies it
  } catch (const std::exception& e) {  // what the checks above let through but xnpy's parser refuses
    detail::fail("load_npy", path, ": the header is malformed (", e.what(), ")");
  }
  Shape shape;
  for (std::size_t n : h.shape) shape.push_back(static_cast<std::int64_t>(n));
  return from_vector(std::vector<U>(row_major.begin(), row_major.end()), shape, dtype_of<U>::value);
}

}  // namespace

void save_npy(const std::string& path, const Tensor& t) {
  XG_CHECK(t.defined(), "save_npy", "cannot save an undefined tensor to ", path);
  std::string bytes;
  switch (t.dtype()) {
    case Dtype::Float32: bytes = xt::dump_npy(to_xarray<float>(t)); break;
    case Dtype::Float64: bytes = xt::dump_npy(to_xarray<double>(t)); break;
    case Dtype::Int64: bytes = xt::dump_npy(to_xarray<std::int64_t>(t)); break;
    case Dtype::Int32: bytes = xt::dump_npy(to_xarray<std::int32_t>(t)); break;
    case Dtype::Bool: bytes = xt::dump_npy(to_xarray<bool>(t)); break;
  }
  write_file_atomic(path, bytes, "save_npy");
}

Tensor load_npy(const std::string& path) {
  const std::string bytes = read_file(path, "load_npy");
  const NpyHeader h = parse_header(bytes, path);
  std::size_t item = 0;
  const std::string& d = h.descr;
  if (d == "<f4") item = 4;
  else if (d == "<f8" || d == "<i8") item = 8;
  else if (d == "<i4") item = 4;
  else if (d == "|b1" || d == "|u1") item = 1;
  XG_CHECK(item > 0, "load_npy", path, ": dtype '", d,
           "' is not supported (float32 <f4, float64 <f8, int64 <i8, int32 <i4, uint8 |u1, bool |b1, little-endian)");
  // The element count, guarded against overflow, must match the bytes present exactly.
  std::size_t count = 1;
  for (std::size_t n : h.shape) {
    XG_CHECK(n == 0 || count <= (bytes.size() / item) / n + 1, "load_npy", path, ": shape claims more elements than the ",
             bytes.size(), "-byte file holds");
    count *= n;
  }
  const std::size_t data = bytes.size() - h.data_offset;
  XG_CHECK(count * item == data, "load_npy", path, ": the header's shape and dtype '", d, "' need ", count * item,
           " bytes of data, the file has ", data);
  if (d == "<f4") return decode<float>(bytes, h, path);
  if (d == "<f8") return decode<double>(bytes, h, path);
  if (d == "<i8") return decode<std::int64_t>(bytes, h, path);
  if (d == "<i4") return decode<std::int32_t>(bytes, h, path);
  if (d == "|u1") return decode<std::uint8_t, std::int64_t>(bytes, h, path);
  return decode<bool>(bytes, h, path);
}

}  // namespace xg
