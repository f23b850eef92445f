// NumPy .npy files (autograd/src/npy.cpp): what numpy.save writes, what
// load_npy refuses, and save_npy's round trip.
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "helpers.hpp"

using namespace xg;
using namespace test;

namespace {

std::string from_hex(const std::string& hex) {
  std::string bytes;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) bytes.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return bytes;
}

std::string write_bytes(const std::string& name, const std::string& bytes) {
  const std::string path = "xgrad_test_" + name + ".npy";
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

}  // namespace

// numpy.save's bytes: /usr/bin/python3 tests/pytorch_golden.py npy_files.
TEST_CASE("load_npy reads what numpy.save writes: dtypes, C and Fortran order, 0-d and empty arrays") {
  const Tensor f64 = load_npy(write_bytes("f64", from_hex(
      "934e554d5059010076007b276465736372273a20273c6638272c2027666f727472616e5f6f72646572273a2046616c73652c"
      "20277368617065273a2028322c2033292c207d20202020202020202020202020202020202020202020202020202020202020"
      "2020202020202020202020202020202020202020202020202020200a0000000000000000000000000000d03f000000000000"
      "e03f000000000000e83f000000000000f03f000000000000f43f")));
  CHECK(f64.dtype() == float64);
  CHECK(f64.shape() == Shape{2, 3});
  CHECK(values(f64) == std::vector<double>{0.0, 0.25, 0.5, 0.75, 1.0, 1.25});
  const Tensor fortran = load_npy(write_bytes("f32", from_hex(
      "934e554d5059010076007b276465736372273a20273c6634272c2027666f727472616e5f6f72646572273a20547275652c20"
      "277368617065273a2028322c2033292c207d2020202020202020202020202020202020202020202020202020202020202020"
      "2020202020202020202020202020202020202020202020202020200a00000000000040400000803f00008040000000400000"
      "a040")));
  CHECK(fortran.dtype() == float32);
  CHECK(values(fortran) == std::vector<double>{0, 1, 2, 3, 4, 5});  // row-major again
  const Tensor i64 = load_npy(write_bytes("i64", from_hex(
      "934e554d5059010076007b276465736372273a20273c6938272c2027666f727472616e5f6f72646572273a2046616c73652c"
      "20277368617065273a2028332c292c207d202020202020202020202020202020202020202020202020202020202020202020"
      "2020202020202020202020202020202020202020202020202020200affffffffffffffff0000000000000000000000000001"
      "0000")));
  CHECK(i64.dtype() == int64);
  CHECK(i64.to_vector<std::int64_t>() == std::vector<std::int64_t>{-1, 0, std::int64_t{1} << 40});
  const Tensor b = load_npy(write_bytes("bool", from_hex(
      "934e554d5059010076007b276465736372273a20277c6231272c2027666f727472616e5f6f72646572273a2046616c73652c"
      "20277368617065273a2028322c2032292c207d20202020202020202020202020202020202020202020202020202020202020"
      "2020202020202020202020202020202020202020202020202020200a01000001")));
  CHECK(b.dtype() == boolean);
  CHECK(values(b) == std::vector<double>{1, 0, 0, 1});
  const Tensor scalar = load_npy(write_bytes("i32", from_hex(
      "934e554d5059010076007b276465736372273a20273c6934272c2027666f727472616e5f6f72646572273a2046616c73652c"
      "20277368617065273a2028292c207d2020202020202020202020202020202020202020202020202020202020202020202020"
      "2020202020202020202020202020202020202020202020202020200a07000000")));
  CHECK(scalar.dtype() == int32);
  CHECK(scalar.shape() == Shape{});
  CHECK(scalar.item() == 7.0);
  const Tensor u8 = load_npy(write_bytes("u8", from_hex(
      "934e554d5059010076007b276465736372273a20277c7531272c2027666f727472616e5f6f72646572273a2046616c73652c"
      "20277368617065273a2028342c292c207d202020202020202020202020202020202020202020202020202020202020202020"
      "2020202020202020202020202020202020202020202020202020200a0001c8ff")));
  CHECK(u8.dtype() == int64);
  CHECK(values(u8) == std::vector<double>{0, 1, 200, 255});
  const Tensor empty = load_npy(write_bytes("empty", from_hex(
      "934e554d5059010076007b276465736372273a20273c6638272c2027666f727472616e5f6f72646572273a2046616c73652c"
      "20277368617065273a2028302c2032292c207d20202020202020202020202020202020202020202020202020202020202020"
      "2020202020202020202020202020202020202020202020202020200a")));
  CHECK(empty.shape() == Shape{0, 2});
}

TEST_CASE("save_npy then load_npy gives back the same tensor, in every dtype") {
  const std::string path = "xgrad_test_roundtrip.npy";
  for (const Tensor& t : {sin(arange(12.0, float64)).reshape({3, 4}), sin(arange(6.0)).reshape({2, 3}).t(),
                          tensor({-3, 5}, int64), tensor({-3, 5}, int32), gt(arange(4.0), 1.5), full({}, 2.5, float64)}) {
    save_npy(path, t);
    const Tensor back = load_npy(path);
    CHECK(back.dtype() == t.dtype());
    CHECK(back.shape() == t.shape());
    CHECK(values(back) == values(t));
  }
  std::remove(path.c_str());
}

TEST_CASE("load_npy refuses files that lie, with the path and the reason") {
  const std::string good = from_hex(
      "934e554d5059010076007b276465736372273a20273c6638272c2027666f727472616e5f6f72646572273a2046616c73652c"
      "20277368617065273a2028322c2033292c207d20202020202020202020202020202020202020202020202020202020202020"
      "2020202020202020202020202020202020202020202020202020200a0000000000000000000000000000d03f000000000000"
      "e03f000000000000e83f000000000000f03f000000000000f43f");
  auto error = [](const std::string& name, const std::string& bytes) {
    return error_of([&] { load_npy(write_bytes(name, bytes)); });
  };
  CHECK(contains(error("truncated", good.substr(0, good.size() - 8)),
                 "xgrad_test_truncated.npy: the header's shape and dtype '<f8' need 48 bytes of data, the file has 40"));
  CHECK(contains(error("long", good + "junk"), "need 48 bytes of data, the file has 52"));
  CHECK(contains(error("magic", "PK" + good.substr(2)), "is not a .npy file"));
  CHECK(contains(error("tiny", good.substr(0, 7)), "is not a .npy file"));
  CHECK(contains(error("header", good.substr(0, 30)), "is truncated: its header claims 118 bytes"));
  std::string version = good;
  version[6] = 3;
  CHECK(contains(error("version", version), ".npy format version 3.0 is not supported"));
  auto with = [&](const std::string& from, const std::string& to) {
    std::string s = good;
    s.replace(s.find(from), from.size(), to);
    return s;
  };
  CHECK(contains(error("big_endian", with("<f8", ">f8")), "dtype '>f8' is not supported"));
  CHECK(contains(error("complex", with("'<f8'", "'<c8'")), "dtype '<c8' is not supported"));
  CHECK(contains(error("huge", with("(2, 3)", "(999999999999999, 999999)")), "shape claims more elements than"));
  CHECK(contains(error("negative", with("(2, 3)", "(-2, 3)")), "holds -2, not a size"));
  CHECK(contains(error("noshape", with("'shape'", "'shope'")), "the header has no 'shape'"));
  CHECK(contains(error("order", with("False", "Maybe")), "fortran_order is Maybe"));
  // Found by fuzz_npy: a stray byte in the header's padding, which xnpy's own parser refuses.
  CHECK(contains(error("padding", with("}  ", "} \xff")), "xgrad_test_padding.npy: the header is malformed"));
  CHECK(contains(error_of([] { load_npy("xgrad_test_does_not_exist.npy"); }), "load_npy"));
  CHECK(contains(error_of([] { save_npy("xgrad_test_x.npy", Tensor()); }), "save_npy: cannot save an undefined tensor"));
}
