// libFuzzer targets for the file readers: safetensors (the checkpoint loader),
// IDX (raw and gzip), CSV and NumPy's .npy. Built four times with
// XGRAD_FUZZ_READER set to 1, 2, 3 or 4. Every input must end in a value or a clean xg::Error: a crash, a
// sanitizer report, a hang or any other exception stops the fuzzer.
#include <unistd.h>
#include <xgrad/xgrad.hpp>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

namespace {

/// The readers take paths, so each input goes through a per-process scratch file.
const std::string& scratch() {
  static const std::string path = "/tmp/xgrad_fuzz_reader_" + std::to_string(::getpid());
  return path;
}

void write(const std::uint8_t* data, std::size_t size) {
  std::ofstream(scratch(), std::ios::binary | std::ios::trunc).write(reinterpret_cast<const char*>(data),
                                                                    static_cast<std::streamsize>(size));
}

[[noreturn]] void unexpected(const char* what) {
  std::fprintf(stderr, "fuzz_readers: unexpected exception: %s\n", what);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  write(data, size);
  try {
#if XGRAD_FUZZ_READER == 1
    const xg::nn::StateDict d = xg::nn::load_safetensors(scratch());
    // What loaded must be usable: every tensor's values can be read.
    for (const auto& [name, t] : d) (void)t.to_vector<double>();
#elif XGRAD_FUZZ_READER == 2
    const xg::Tensor t = xg::data::read_idx(scratch(), size % 2 ? xg::int64 : xg::float32);
    if (t.numel() > 0) (void)t.sum().item();
#elif XGRAD_FUZZ_READER == 3
    const xg::Tensor t = xg::data::read_csv(scratch(), size % 2 == 1);
    (void)t.sum().item();
#else
    const xg::Tensor t = xg::load_npy(scratch());
    (void)t.to_vector<double>();
#endif
  } catch (const xg::Error&) {
    // a clean, named error: what bad files must give
  } catch (const std::exception& e) {
    unexpected(e.what());
  }
  return 0;
}
