#pragma once
// Checkpoints in the safetensors format, so Python tools read our weights and
// we read theirs: 8-byte little-endian header length, a JSON header
// {name: {dtype, shape, data_offsets}}, then raw little-endian data.
// Writes are atomic (xg::write_file_atomic); a truncated,
// corrupt or mismatched file raises xg::Error and leaves the model untouched.
#include <map>
#include <string>

#include "xgrad/io.hpp"
#include "xgrad/nn/module.hpp"

namespace xg::nn {

using Metadata = std::map<std::string, std::string>;

void save_safetensors(const std::string& path, const StateDict& tensors, const Metadata& metadata = {});
StateDict load_safetensors(const std::string& path, Metadata* metadata = nullptr);

/// module.state_dict() to a .safetensors file.
void save(const Module& module, const std::string& path);
/// Reads and checks the whole file first, then loads it into the module.
LoadResult load(Module& module, const std::string& path, bool strict = true);

namespace detail {
/// Old homes of the file helpers, kept one release so existing code still compiles.
[[deprecated("moved to xg::write_file_atomic (xgrad/io.hpp)")]] inline void write_file_atomic(const std::string& path,
                                                                                            const std::string& bytes) {
  xg::write_file_atomic(path, bytes);
}
[[deprecated("moved to xg::read_file (xgrad/io.hpp)")]] inline std::string read_file(const std::string& path, const char* op) {
  return xg::read_file(path, op);
}
}  // namespace detail

}  // namespace xg::nn
