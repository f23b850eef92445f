#pragma once
// Files, for every layer: named tensors and the writer that never leaves a
// half-written file (Note [Atomic writes] in autograd/src/io.cpp).
#include <map>
#include <string>

#include "xgrad/tensor.hpp"

namespace xg {

/// Tensors by dotted name ("encoder.0.weight"), sorted: what modules,
/// optimizers and schedulers save and load.
using StateDict = std::map<std::string, Tensor>;

/// Replaces `path` with `bytes` atomically: a unique temporary beside the
/// target, fsync, rename, fsync of the directory. A symlink is followed (the
/// link stays); anything but a regular file or a new path is refused. Errors
/// name `op`.
void write_file_atomic(const std::string& path, const std::string& bytes, const char* op = "save");
/// The whole file; an error naming `op` when it cannot be read.
std::string read_file(const std::string& path, const char* op);

/// NumPy's .npy format (numpy.save / numpy.load), through xtensor's xnpy:
/// float32, float64, int64, int32 and bool tensors, written atomically.
void save_npy(const std::string& path, const Tensor& t);
/// A C- or Fortran-order .npy of float32, float64, int64, int32, bool, or
/// uint8 (read as int64). A header that disagrees with the file's size, an
/// unsupported dtype or a big-endian file is an error naming the path.
Tensor load_npy(const std::string& path);

}  // namespace xg
