#pragma once
// Readers for IDX files (MNIST, Fashion-MNIST; plain or gzip) and CSV.
// Bad files (wrong magic, truncated, count mismatch) raise xg::Error.
#include <string>

#include "xgrad/data/dataset.hpp"

namespace xg::data {

/// An IDX file of unsigned bytes as a tensor of that shape (float32 or int64 values 0..255).
Tensor read_idx(const std::string& path, Dtype dtype = Dtype::Float32);

/// Images [N, 1, 28, 28] scaled to [0, 1] and int64 labels [N] from the two
/// IDX files of an MNIST-style split; checks that their counts agree.
std::shared_ptr<TensorDataset> load_mnist(const std::string& images_path, const std::string& labels_path);

/// Numbers from a CSV file, one row per line, as float32 [rows, columns].
/// With has_header the first line is skipped. Empty lines are ignored.
Tensor read_csv(const std::string& path, bool has_header = false);

}  // namespace xg::data
