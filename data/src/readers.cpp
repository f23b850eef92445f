#include <zlib.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "xgrad/data/readers.hpp"
#include "xgrad/ops.hpp"

namespace xg::data {
namespace {

/// The whole file, decompressed when it is gzip (zlib reads plain files as they are).
std::string slurp(const std::string& path, const char* op) {
  gzFile f = gzopen(path.c_str(), "rb");
  XG_CHECK(f != nullptr, op, "cannot open ", path);
  std::string out;
  char buf[1 << 16];
  int n;
  while ((n = gzread(f, buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
  // The reason is copied out before gzclose frees the stream that owns its text.
  std::string reason;
  if (n < 0) {
    int err = 0;
    const char* msg = gzerror(f, &err);
    reason = err == Z_ERRNO ? std::strerror(errno) : (msg && *msg ? msg : "zlib error");
    if (reason.rfind(path + ": ", 0) == 0) reason.erase(0, path.size() + 2);  // zlib prefixes the path
  }
  gzclose(f);
  XG_CHECK(n >= 0, op, path, " could not be read (", reason, "): the file is truncated or corrupt");
  return out;
}

std::uint32_t big_endian_u32(const std::string& s, std::size_t at) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data() + at);
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | p[3];
}

}  // namespace

Tensor read_idx(const std::string& path, Dtype dtype) {
  const char* op = "read_idx";
  const std::string bytes = slurp(path, op);
  XG_CHECK(bytes.size() >= 4, op, path, " is too short to be an IDX file (", bytes.size(), " bytes)");
  // Magic: two zero bytes, a type code (0x08 = unsigned byte), the number of dims.
  const auto* m = reinterpret_cast<const unsigned char*>(bytes.data());
  XG_CHECK(m[0] == 0 && m[1] == 0, op, path, " has a wrong magic number (not an IDX file)");
  XG_CHECK(m[2] == 0x08, op, path, " holds IDX type 0x", std::hex, int(m[2]), std::dec,
           "; only unsigned bytes (0x08) are supported");
  const std::size_t nd = m[3];
  XG_CHECK(nd >= 1 && bytes.size() >= 4 + 4 * nd, op, path, " is truncated in its header");
  Shape shape;
  for (std::size_t d = 0; d < nd; ++d) shape.push_back(big_endian_u32(bytes, 4 + 4 * d));
  // Dims are read as unsigned 32-bit numbers; their product is checked before it is trusted.
  const auto want = static_cast<std::size_t>(checked_numel(shape, op, dtype_size(dtype)));
  const std::size_t have = bytes.size() - 4 - 4 * nd;
  XG_CHECK(have == want, op, path, " should hold ", want, " values for shape ", shape, " but has ", have,
           have < want ? " (truncated)" : " (trailing data)");
  Tensor t = empty(shape, dtype);
  const auto* src = reinterpret_cast<const unsigned char*>(bytes.data() + 4 + 4 * nd);
  if (dtype == Dtype::Int64) {
    std::int64_t* dst = t.data<std::int64_t>();
    for (std::size_t i = 0; i < want; ++i) dst[i] = src[i];
  } else if (dtype == Dtype::Float64) {
    double* dst = t.data<double>();
    for (std::size_t i = 0; i < want; ++i) dst[i] = src[i];
  } else {
    float* dst = t.data<float>();
    for (std::size_t i = 0; i < want; ++i) dst[i] = src[i];
  }
  return t;
}

std::shared_ptr<TensorDataset> load_mnist(const std::string& images_path, const std::string& labels_path) {
  Tensor images = read_idx(images_path, Dtype::Float32);
  Tensor labels = read_idx(labels_path, Dtype::Int64);
  XG_CHECK(images.dim() == 3, "load_mnist", images_path, " should hold images [N, rows, cols], got ", images.shape());
  XG_CHECK(labels.dim() == 1, "load_mnist", labels_path, " should hold labels [N], got ", labels.shape());
  XG_CHECK(images.size(0) == labels.size(0), "load_mnist", images.size(0), " images but ", labels.size(0),
           " labels (", images_path, ", ", labels_path, ")");
  {
    float* p = images.data<float>();
    for (std::int64_t i = 0; i < images.numel(); ++i) p[i] *= 1.0f / 255.0f;
  }
  return std::make_shared<TensorDataset>(reshape(images, {images.size(0), 1, images.size(1), images.size(2)}), labels);
}

namespace {
/// A cell as printable text: control and non-ASCII bytes as \xNN, cut at 40 characters.
std::string escaped(const std::string& cell) {
  std::string out;
  for (unsigned char c : cell) {
    if (out.size() >= 40) return out + "...";
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out += static_cast<char>(c);
    } else {
      static const char* hex = "0123456789abcdef";
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}
}  // namespace

Tensor read_csv(const std::string& path, bool has_header) {
  std::ifstream in(path);
  XG_CHECK(in.good(), "read_csv", "cannot open ", path);
  std::vector<float> values;
  std::int64_t columns = -1, rows = 0, line_no = 0;
  std::string line;
  while (std::getline(in, line)) {
    ++line_no;
    if (has_header && line_no == 1) continue;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    std::int64_t count = 0;
    std::stringstream cells(line);
    std::string cell;
    while (std::getline(cells, cell, ',')) {
      char* end = nullptr;
      const float v = std::strtof(cell.c_str(), &end);
      while (end && (*end == ' ' || *end == '\t')) ++end;
      // The whole cell must be a number (strtof stops at an embedded NUL, so compare lengths too).
      XG_CHECK(end != cell.c_str() && end && *end == '\0' && cell.find('\0') == std::string::npos, "read_csv", path,
               ":", line_no, ": '", escaped(cell), "' is not a number");
      values.push_back(v);
      ++count;
    }
    if (!line.empty() && line.back() == ',') XG_CHECK(false, "read_csv", path, ":", line_no, ": empty last cell");
    XG_CHECK(columns < 0 || count == columns, "read_csv", path, ":", line_no, ": ", count, " columns, but earlier rows have ",
             columns);
    columns = count;
    ++rows;
  }
  XG_CHECK(rows > 0, "read_csv", path, " has no data rows");
  return from_vector(values, {rows, columns});
}

}  // namespace xg::data
