#pragma once
// Training-time augmentation of image batches, for DataLoader's `augment`
// option: torchvision's RandomCrop(size, padding) and RandomHorizontalFlip.
#include <cstdint>

#include "xgrad/data/loader.hpp"

namespace xg::data {

/// Each image of a batch [N, C, H, W] shifted by (dy, dx), each uniform in
/// [−padding, padding], the uncovered border zero (a random crop of the
/// zero-padded image), then, with `flip`, mirrored left-right with
/// probability 1/2. The draws come from `seed` and the image's index alone.
Tensor random_shift_flip(const Tensor& images, std::int64_t padding, bool flip, std::uint64_t seed);

/// The same as a loader augmentation.
Augment shift_and_flip(std::int64_t padding, bool flip = true);

}  // namespace xg::data
