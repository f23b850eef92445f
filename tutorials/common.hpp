#pragma once
// Shared by the tutorials: quick mode (CI) and a loud check.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <xgrad/xgrad.hpp>

namespace tutorial {

/// XGRAD_QUICK=1 or --quick shrinks data and epochs so CI runs every tutorial.
inline bool quick(int argc, char** argv) {
  for (int i = 1; i < argc; ++i)
    if (std::strcmp(argv[i], "--quick") == 0) return true;
  const char* env = std::getenv("XGRAD_QUICK");
  return env && std::string(env) == "1";
}

/// Fails the program (and so its CI test) with a message.
inline void expect(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "tutorial check failed: %s\n", what);
    std::exit(1);
  }
}

inline std::string fashion_dir() {
  const char* env = std::getenv("XGRAD_FASHION_MNIST");
  return env ? env : "/usr/share/datasets/fashion-mnist";
}

/// Fashion-MNIST as loaders: `used` training examples (all when 0), of
/// which `val` are held out for validation, and the 10,000 test images.
struct FashionLoaders {
  xg::data::DataLoader train, validation, test;
};

inline FashionLoaders fashion_mnist(std::int64_t used, std::int64_t val, std::int64_t batch) {
  const std::string dir = fashion_dir();
  auto train_all = xg::data::load_mnist(dir + "/train-images-idx3-ubyte.gz", dir + "/train-labels-idx1-ubyte.gz");
  auto test = xg::data::load_mnist(dir + "/t10k-images-idx3-ubyte.gz", dir + "/t10k-labels-idx1-ubyte.gz");
  if (used <= 0) used = train_all->size();
  auto pool = xg::data::random_split(train_all, {used, train_all->size() - used}, 0)[0];
  auto parts = xg::data::random_split(pool, {used - val, val}, 1);
  return {xg::data::DataLoader(parts[0], {batch, /*shuffle=*/true, /*seed=*/0}), xg::data::DataLoader(parts[1], {1000}),
          xg::data::DataLoader(test, {1000})};
}

}  // namespace tutorial
