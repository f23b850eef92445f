#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include <algorithm>
#include <climits>
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
    case Dtype::Int32: return "I32";
    case Dtype::Bool: return "BOOL";
  }
  return "?";
}

Dtype from_st_dtype(const std::string& s, const std::string& name, const std::string& path) {
  if (s == "F32") return Dtype::Float32;
  if (s == "F64") return Dtype::Float64;
  if (s == "I64") return Dtype::Int64;
  if (s == "I32") return Dtype::Int32;
  if (s == "BOOL") return Dtype::Bool;
  xg::detail::fail("load_safetensors", path, ": tensor '", name, "' has dtype ", s,
                   ", which xgrad does not read (F32, F64, I64, I32 and BOOL are supported)");
}

bool little_endian() {
  const std::uint16_t one = 1;
  unsigned char first;
  std::memcpy(&first, &one, 1);
  return first == 1;
}

}  // namespace


void save_safetensors(const std::string& path, const StateDict& tensors, const Metadata& metadata) {
  XG_CHECK(little_endian(), "save_safetensors", "safetensors is little-endian; big-endian hosts are not supported");
  nlohmann::json header = nlohmann::json::object();
  std::uint64_t offset = 0;
  for (const auto& [name, t] : tensors) {
    XG_CHECK(t.defined(), "save_safetensors", "tensor '", name, "' is undefined");
    XG_CHECK(name != "__metadata__", "save_safetensors", "a tensor cannot be named '__metadata__': the format reserves ",
             "that key for the metadata, so the tensor would be lost on load");
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
  for (const auto& [name, t] : tensors) {
    const Tensor flat = t.contiguous();  // a view is saved as its elements, row-major
    out.append(static_cast<const char*>(flat.data_ptr()), flat.nbytes());
  }
  write_file_atomic(path, out, "save_safetensors");
}

StateDict load_safetensors(const std::string& path, Metadata* metadata) {
  const char* op = "load_safetensors";
  XG_CHECK(little_endian(), op, "safetensors is little-endian; big-endian hosts are not supported");
  const std::string bytes = read_file(path, op);
  XG_CHECK(bytes.size() >= 8, op, path, " is too short to be a safetensors file (", bytes.size(), " bytes)");
  std::uint64_t head_len;
  std::memcpy(&head_len, bytes.data(), 8);
  // The format caps the header at 100 MB; checked before anything is parsed.
  constexpr std::uint64_t kMaxHeader = 100'000'000;
  XG_CHECK(head_len <= kMaxHeader, op, path, " claims a ", head_len, "-byte header, over the format's 100 MB limit: ",
           "the file is corrupt or not safetensors");
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
  // An integer that fits int64 (shapes) or uint64 (offsets); 2.5, -1 or 2^64 are errors, not truncated.
  auto integers = [&](const nlohmann::json& list, const std::string& name, const char* what, bool offsets) {
    XG_CHECK(list.is_array(), op, path, ": tensor '", name, "' has a ", what, " that is not a list: ", list.dump());
    std::vector<std::uint64_t> out;
    for (const auto& v : list) {
      const bool ok = v.is_number_unsigned() ||
                      (v.is_number_integer() && v.get<std::int64_t>() >= 0);  // non-negative either way
      XG_CHECK(ok && (offsets || v.get<std::uint64_t>() <= static_cast<std::uint64_t>(INT64_MAX)), op, path,
               ": tensor '", name, "' has ", what, " ", list.dump(), "; each entry must be a non-negative integer",
               offsets ? "" : " that fits int64");
      out.push_back(v.get<std::uint64_t>());
    }
    return out;
  };
  struct Span {
    std::uint64_t begin, end;
    std::string name;
  };
  std::vector<Span> spans;
  StateDict out;
  try {
    for (auto it = header.begin(); it != header.end(); ++it) {
      if (it.key() == "__metadata__") {
        XG_CHECK(it.value().is_object(), op, path, ": __metadata__ must be an object of strings");
        if (metadata)
          for (auto m = it.value().begin(); m != it.value().end(); ++m) (*metadata)[m.key()] = m.value().get<std::string>();
        continue;
      }
      const auto& entry = it.value();
      XG_CHECK(entry.is_object(), op, path, ": tensor '", it.key(), "' is not described by an object");
      const Dtype dtype = from_st_dtype(entry.at("dtype").get<std::string>(), it.key(), path);
      Shape shape;
      for (std::uint64_t d : integers(entry.at("shape"), it.key(), "shape", false)) shape.push_back(static_cast<std::int64_t>(d));
      const auto offsets = integers(entry.at("data_offsets"), it.key(), "data_offsets", true);
      XG_CHECK(offsets.size() == 2 && offsets[0] <= offsets[1] && offsets[1] <= data_len, op, path, ": tensor '",
               it.key(), "' points outside the data (offsets [", offsets.size() ? offsets[0] : 0, ", ",
               offsets.size() > 1 ? offsets[1] : 0, "], ", data_len, " data bytes): the file is truncated or corrupt");
      const std::string what = std::string(op) + ": " + path + ": tensor '" + it.key() + "'";
      const auto numel = static_cast<std::uint64_t>(checked_numel(shape, what.c_str(), dtype_size(dtype)));
      const std::uint64_t want = numel * dtype_size(dtype);
      XG_CHECK(offsets[1] - offsets[0] == want, op, path, ": tensor '", it.key(), "' has ", offsets[1] - offsets[0],
               " bytes of data but ", dtype, shape, " needs ", want);
      spans.push_back({offsets[0], offsets[1], it.key()});
      const char* src = bytes.data() + data_start + offsets[0];
      if (dtype == Dtype::Bool)  // any other byte would be an invalid bool
        for (std::uint64_t i = 0; i < want; ++i)
          XG_CHECK(src[i] == 0 || src[i] == 1, op, path, ": tensor '", it.key(), "' is BOOL but byte ", i, " is ",
                   static_cast<int>(static_cast<unsigned char>(src[i])), " (only 0 and 1 are booleans)");
      Tensor t = empty(shape, dtype);
      std::memcpy(t.mutable_data_ptr(), src, static_cast<std::size_t>(want));
      out[it.key()] = t;
    }
  } catch (const nlohmann::json::exception& e) {
    xg::detail::fail(op, path, " has a malformed header entry: ", e.what());
  }
  // The tensors tile the data exactly, in offset order: no overlap, no gap, nothing after.
  std::sort(spans.begin(), spans.end(), [](const Span& a, const Span& b) { return a.begin < b.begin || (a.begin == b.begin && a.end < b.end); });
  std::uint64_t at = 0;
  for (const Span& sp : spans) {
    XG_CHECK(sp.begin == at, op, path, ": tensor '", sp.name, "' starts at data byte ", sp.begin, " but ",
             sp.begin < at ? "the previous tensor ends at " : "the data before it ends at ", at,
             sp.begin < at ? " (overlapping data_offsets)" : " (a gap in data_offsets)", ": the file is corrupt");
    at = sp.end;
  }
  XG_CHECK(at == data_len, op, path, ": ", data_len - at, " bytes after the last tensor's data: the file is corrupt");
  return out;
}

void save(const Module& module, const std::string& path) { save_safetensors(path, module.state_dict()); }

LoadResult load(Module& module, const std::string& path, bool strict) {
  return module.load_state_dict(load_safetensors(path), strict);
}

}  // namespace xg::nn
