#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "xgrad/nn/serialize.hpp"

namespace xg::nn {
namespace {

const char* st_dtype(Dtype d) {
  switch (d) {
    case Dtype::Float32: return "F32";
    case Dtype::Float64: return "F64";
    case Dtype::Int64: return "I64";
  }
  return "?";
}

Dtype from_st_dtype(const std::string& s, const std::string& name, const std::string& path) {
  if (s == "F32") return Dtype::Float32;
  if (s == "F64") return Dtype::Float64;
  if (s == "I64") return Dtype::Int64;
  xg::detail::fail("load_safetensors", path, ": tensor '", name, "' has dtype ", s,
                   ", which xgrad does not read (F32, F64 and I64 are supported)");
}

bool little_endian() {
  const std::uint16_t one = 1;
  unsigned char first;
  std::memcpy(&first, &one, 1);
  return first == 1;
}

}  // namespace

namespace detail {

void write_file_atomic(const std::string& path, const std::string& bytes) {
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  XG_CHECK(fd >= 0, "save", "cannot open ", tmp, " for writing: ", std::strerror(errno));
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      std::remove(tmp.c_str());
      xg::detail::fail("save", "writing ", tmp, " failed: ", std::strerror(err));
    }
    done += static_cast<std::size_t>(n);
  }
  const bool synced = ::fsync(fd) == 0;
  const bool closed = ::close(fd) == 0;
  if (!synced || !closed || std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    std::remove(tmp.c_str());
    xg::detail::fail("save", "could not finish writing ", path, ": ", std::strerror(err));
  }
}

std::string read_file(const std::string& path, const char* op) {
  std::ifstream in(path, std::ios::binary);
  XG_CHECK(in.good(), op, "cannot open ", path);
  std::ostringstream os;
  os << in.rdbuf();
  return os.str();
}

}  // namespace detail

void save_safetensors(const std::string& path, const StateDict& tensors, const Metadata& metadata) {
  XG_CHECK(little_endian(), "save_safetensors", "safetensors is little-endian; big-endian hosts are not supported");
  nlohmann::json header = nlohmann::json::object();
  std::uint64_t offset = 0;
  for (const auto& [name, t] : tensors) {
    XG_CHECK(t.defined(), "save_safetensors", "tensor '", name, "' is undefined");
    const std::uint64_t bytes = static_cast<std::uint64_t>(t.numel()) * dtype_size(t.dtype());
    header[name] = {{"dtype", st_dtype(t.dtype())}, {"shape", t.shape().vec()}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::string head = header.dump();
  while ((head.size() + 8) % 8 != 0) head += ' ';  // keep the data 8-byte aligned, as the format recommends
  std::string out(8, '\0');
  const std::uint64_t n = head.size();
  std::memcpy(out.data(), &n, 8);
  out += head;
  out.reserve(out.size() + offset);
  for (const auto& [name, t] : tensors)
    out.append(static_cast<const char*>(t.impl()->storage->data), static_cast<std::size_t>(t.numel()) * dtype_size(t.dtype()));
  detail::write_file_atomic(path, out);
}

StateDict load_safetensors(const std::string& path, Metadata* metadata) {
  const char* op = "load_safetensors";
  XG_CHECK(little_endian(), op, "safetensors is little-endian; big-endian hosts are not supported");
  const std::string bytes = detail::read_file(path, op);
  XG_CHECK(bytes.size() >= 8, op, path, " is too short to be a safetensors file (", bytes.size(), " bytes)");
  std::uint64_t head_len;
  std::memcpy(&head_len, bytes.data(), 8);
  XG_CHECK(head_len <= bytes.size() - 8, op, path, " is truncated or corrupt: its header claims ", head_len,
           " bytes but the file has ", bytes.size() - 8, " after the length");
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(bytes.begin() + 8, bytes.begin() + 8 + static_cast<std::ptrdiff_t>(head_len));
  } catch (const nlohmann::json::exception& e) {
    xg::detail::fail(op, path, " has a corrupt JSON header: ", e.what());
  }
  XG_CHECK(header.is_object(), op, path, ": the header is not a JSON object");
  const std::size_t data_start = 8 + head_len, data_len = bytes.size() - data_start;
  StateDict out;
  try {
    for (auto it = header.begin(); it != header.end(); ++it) {
      if (it.key() == "__metadata__") {
        if (metadata)
          for (auto m = it.value().begin(); m != it.value().end(); ++m) (*metadata)[m.key()] = m.value().get<std::string>();
        continue;
      }
      const auto& entry = it.value();
      const Dtype dtype = from_st_dtype(entry.at("dtype").get<std::string>(), it.key(), path);
      const Shape shape(entry.at("shape").get<std::vector<std::int64_t>>());
      const auto offsets = entry.at("data_offsets").get<std::vector<std::uint64_t>>();
      XG_CHECK(offsets.size() == 2 && offsets[0] <= offsets[1] && offsets[1] <= data_len, op, path, ": tensor '",
               it.key(), "' points outside the data (offsets [", offsets.size() ? offsets[0] : 0, ", ",
               offsets.size() > 1 ? offsets[1] : 0, "], ", data_len, " data bytes): the file is truncated or corrupt");
      for (std::int64_t d : shape) XG_CHECK(d >= 0, op, path, ": tensor '", it.key(), "' has a negative extent");
      const std::uint64_t want = static_cast<std::uint64_t>(shape.numel()) * dtype_size(dtype);
      XG_CHECK(offsets[1] - offsets[0] == want, op, path, ": tensor '", it.key(), "' has ", offsets[1] - offsets[0],
               " bytes of data but ", dtype, shape, " needs ", want);
      Tensor t = empty(shape, dtype);
      std::memcpy(t.impl()->storage->data, bytes.data() + data_start + offsets[0], static_cast<std::size_t>(want));
      out[it.key()] = t;
    }
  } catch (const nlohmann::json::exception& e) {
    xg::detail::fail(op, path, " has a malformed header entry: ", e.what());
  }
  return out;
}

void save(const Module& module, const std::string& path) { save_safetensors(path, module.state_dict()); }

LoadResult load(Module& module, const std::string& path, bool strict) {
  return module.load_state_dict(load_safetensors(path), strict);
}

}  // namespace xg::nn
