// nn: modules, layers, initialisation, state dicts and safetensors checkpoints.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <atomic>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include <sys/stat.h>

#include "helpers.hpp"

using namespace xg;
using test::check_values;
using test::contains;
using test::error_of;

namespace {

struct Mlp : nn::Module {
  Mlp() : nn::Module("Mlp") {
    fc1 = register_module("fc1", std::make_shared<nn::Linear>(4, 8));
    bn = register_module("bn", std::make_shared<nn::BatchNorm1d>(8));
    fc2 = register_module("fc2", std::make_shared<nn::Linear>(8, 3));
  }
  Tensor forward(const Tensor& x) override { return fc2->forward(relu(bn->forward(fc1->forward(x)))); }
  std::shared_ptr<nn::Linear> fc1, fc2;
  std::shared_ptr<nn::BatchNorm1d> bn;
};

std::string temp_path(const std::string& name) { return "xgrad_test_" + name; }

/// A few plain SGD steps on a classification loss.
void train_steps(nn::Module& m, const Tensor& x, const Tensor& y, int steps, double lr = 0.05) {
  for (int i = 0; i < steps; ++i) {
    m.zero_grad();
    cross_entropy(m.forward(x), y).backward();
    NoGradGuard no_grad;
    for (Tensor& p : m.parameters()) p.sub_(p.grad(), lr);
  }
}

/// Save, load into a fresh model of the same kind, and compare outputs exactly.
template <class Make>
void check_roundtrip(Make make, const Tensor& x, const Tensor& y, const std::string& name) {
  manual_seed(5);
  auto model = make();
  train_steps(*model, x, y, 3);
  model->eval();
  const Tensor before = model->forward(x);
  nn::save(*model, temp_path(name));
  manual_seed(999);  // a different init, to be sure the weights come from the file
  auto fresh = make();
  fresh->eval();
  CHECK(fresh->forward(x).template to_vector<float>() != before.to_vector<float>());
  nn::load(*fresh, temp_path(name));
  CHECK(fresh->forward(x).template to_vector<float>() == before.to_vector<float>());
  std::remove(temp_path(name).c_str());
}

}  // namespace

TEST_CASE("Module: dotted names, buffers, children, train/eval, zero_grad, printing") {
  Mlp m;
  std::vector<std::string> names;
  for (auto& [n, p] : m.named_parameters()) names.push_back(n);
  CHECK(names == std::vector<std::string>{"fc1.weight", "fc1.bias", "bn.weight", "bn.bias", "fc2.weight", "fc2.bias"});
  CHECK(m.parameters().size() == 6);
  CHECK(m.named_buffers().size() == 3);  // running_mean, running_var, num_batches_tracked (as torch.nn.BatchNorm1d)
  CHECK(m.named_buffers()[0].first == "bn.running_mean");
  CHECK(m.named_buffers()[2].first == "bn.num_batches_tracked");
  CHECK(m.children().size() == 3);
  CHECK(m.num_parameters() == 4 * 8 + 8 + 8 + 8 + 8 * 3 + 3);
  m.eval();
  CHECK_FALSE(m.bn->is_training());
  m.train();
  CHECK(m.bn->is_training());
  m.forward(randn({5, 4})).sum().backward();
  CHECK(m.fc1->weight.grad().defined());
  m.zero_grad();
  CHECK_FALSE(m.fc1->weight.grad().defined());
  const std::string s = m.str();
  CHECK(contains(s, "Mlp()  # 83 params"));
  CHECK(contains(s, "(fc1): Linear(in_features=4, out_features=8, bias=true)  # 40 params"));
  CHECK(contains(error_of([&] { m.register_parameter("fc1.weight", ones({1})); }), "invalid name 'fc1.weight'"));
  CHECK(contains(error_of([&] { m.fc1->forward(ones({2, 5})); }), "Linear: expects inputs with last dim 4, got shape [2, 5]"));
}

TEST_CASE("Module::to converts parameters and buffers in place") {
  Mlp m;
  Tensor w = m.fc1->weight;
  m.to(float64);
  CHECK(w.dtype() == float64);  // the same handle sees the conversion
  CHECK(m.bn->running_var.dtype() == float64);
  CHECK(m.forward(randn({3, 4}, float64)).dtype() == float64);
}

TEST_CASE("default initialisation matches libtorch's bounds and is seeded") {
  manual_seed(1);
  nn::Linear a(100, 50);
  manual_seed(1);
  nn::Linear b(100, 50);
  CHECK(a.weight.to_vector<float>() == b.weight.to_vector<float>());
  const double bound = 1.0 / std::sqrt(100.0);
  CHECK(max(abs(a.weight)).item() <= bound);
  CHECK(max(abs(a.weight)).item() > 0.9 * bound);
  CHECK(max(abs(a.bias)).item() <= bound);
  Tensor w = empty({200, 300});
  nn::init::xavier_uniform_(w);
  CHECK(max(abs(w)).item() <= std::sqrt(6.0 / 500));
  nn::init::kaiming_normal_(w, 0.0, nn::init::FanMode::FanIn, nn::init::Nonlinearity::ReLU);
  CHECK(xg::std_dev(w).item() == doctest::Approx(std::sqrt(2.0 / 300)).epsilon(0.05));
  nn::init::normal_(w);
  CHECK(xg::std_dev(w).item() == doctest::Approx(0.01).epsilon(0.05));
  nn::init::constant_(w, 0.5);
  CHECK(w.mean().item() == 0.5);
  CHECK(nn::init::calculate_gain(nn::init::Nonlinearity::Tanh) == doctest::Approx(5.0 / 3));
}

TEST_CASE("random initialisation breaks symmetry, equal initial weights never do") {
  manual_seed(2);
  const Tensor x = randn({16, 3}), y = randint(0, 2, {16});
  auto hidden_units_identical = [&](bool random_init) {
    nn::Sequential net({std::make_shared<nn::Linear>(3, 4), std::make_shared<nn::Tanh>(), std::make_shared<nn::Linear>(4, 2)});
    if (!random_init)
      for (Tensor& p : net.parameters()) nn::init::constant_(p, 0.3);
    train_steps(net, x, y, 20, 0.5);
    const auto w = net.at<nn::Linear>(0)->weight.to_vector<float>();  // [4, 3]: one row per hidden unit
    for (int unit = 1; unit < 4; ++unit)
      for (int k = 0; k < 3; ++k)
        if (w[static_cast<std::size_t>(unit * 3 + k)] != w[static_cast<std::size_t>(k)]) return false;
    return true;
  };
  CHECK(hidden_units_identical(false));
  CHECK_FALSE(hidden_units_identical(true));
}

TEST_CASE("state_dict and load_state_dict: strict, non-strict, mismatches leave the model untouched") {
  Mlp a, b;
  auto sd = a.state_dict();
  CHECK(sd.size() == 9);
  CHECK(sd.count("bn.running_var"));
  // num_batches_tracked counts training forwards, and a checkpoint without it (older xgrad) still loads.
  a.forward(randn({5, 4}));
  a.forward(randn({5, 4}));
  CHECK(a.bn->num_batches_tracked.item<std::int64_t>() == 2);
  CHECK(a.bn->num_batches_tracked.dtype() == int64);
  auto old = a.state_dict();
  old.erase("bn.num_batches_tracked");
  Mlp fresh;
  fresh.load_state_dict(old);
  CHECK(fresh.bn->running_mean.to_vector<float>() == a.bn->running_mean.to_vector<float>());
  CHECK(fresh.bn->num_batches_tracked.item<std::int64_t>() == 0);
  b.load_state_dict(sd);
  CHECK(b.fc2->weight.to_vector<float>() == a.fc2->weight.to_vector<float>());
  auto partial = sd;
  partial.erase("fc2.bias");
  partial["extra.weight"] = ones({1});
  const std::string err = error_of([&] { b.load_state_dict(partial); });
  CHECK(contains(err, "Missing: fc2.bias."));
  CHECK(contains(err, "Unexpected: extra.weight."));
  const nn::LoadResult r = b.load_state_dict(partial, false);
  CHECK(r.missing_keys == std::vector<std::string>{"fc2.bias"});
  CHECK(r.unexpected_keys == std::vector<std::string>{"extra.weight"});
  Mlp c;
  const auto before = c.fc1->weight.to_vector<float>();
  auto bad = sd;
  bad["fc2.weight"] = ones({2, 2});
  CHECK(contains(error_of([&] { c.load_state_dict(bad); }),
                 "'fc2.weight' is float32[2, 2] in the state dict but float32[3, 8] in the module"));
  CHECK(c.fc1->weight.to_vector<float>() == before);  // nothing was copied
}

TEST_CASE("safetensors: round trip, and clear errors for truncated or corrupt files") {
  const std::string path = temp_path("rt.safetensors");
  nn::StateDict d{{"a", randn({2, 3})}, {"b", arange(4.0, float64)}, {"idx", arange(3.0, int64)}};
  nn::save_safetensors(path, d, {{"epoch", "3"}});
  nn::Metadata meta;
  const nn::StateDict back = nn::load_safetensors(path, &meta);
  CHECK(meta.at("epoch") == "3");
  REQUIRE(back.size() == 3);
  CHECK(back.at("a").to_vector<float>() == d.at("a").to_vector<float>());
  CHECK(back.at("b").dtype() == float64);
  CHECK(back.at("idx").to_vector<std::int64_t>() == std::vector<std::int64_t>{0, 1, 2});
  // Truncate the file: loading must fail with a message, and a model stays as it was.
  std::string bytes;
  {
    std::ifstream in(path, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  const std::string cut = temp_path("cut.safetensors");
  std::ofstream(cut, std::ios::binary) << bytes.substr(0, bytes.size() - 5);
  CHECK(contains(error_of([&] { nn::load_safetensors(cut); }), "points outside the data"));
  std::ofstream(cut, std::ios::binary) << bytes.substr(0, 6);
  CHECK(contains(error_of([&] { nn::load_safetensors(cut); }), "too short to be a safetensors file"));
  std::string corrupt = bytes;
  corrupt[8] = '#';
  std::ofstream(cut, std::ios::binary) << corrupt;
  CHECK(contains(error_of([&] { nn::load_safetensors(cut); }), "corrupt JSON header"));
  CHECK(contains(error_of([&] { nn::load_safetensors("/nonexistent/x.safetensors"); }), "cannot open"));
  Mlp m;
  const auto w = m.fc1->weight.to_vector<float>();
  CHECK(contains(error_of([&] { nn::load(m, path); }), "keys do not match"));
  CHECK(m.fc1->weight.to_vector<float>() == w);
  std::remove(path.c_str());
  std::remove(cut.c_str());
}

TEST_CASE("safetensors files round-trip through Python (numpy), exactly") {
  if (std::system("/usr/bin/python3 -c 'import numpy' >/dev/null 2>&1") != 0) {
    MESSAGE("skipped: /usr/bin/python3 with numpy is not installed");
    return;
  }
  const std::string a = temp_path("py_in.safetensors"), b = temp_path("py_out.safetensors");
  manual_seed(8);
  nn::StateDict d{{"w", randn({3, 5})}, {"v", randn({4}, float64)}, {"i", randint(-9, 9, {6})}};
  nn::save_safetensors(a, d);
  const std::string cmd = "/usr/bin/python3 " XGRAD_TEST_DIR "/safetensors_roundtrip.py " + a + " " + b + " >/dev/null";
  REQUIRE(std::system(cmd.c_str()) == 0);
  const nn::StateDict back = nn::load_safetensors(b);
  CHECK(back.at("w").to_vector<float>() == (d.at("w") * 2.0).to_vector<float>());
  CHECK(back.at("v").to_vector<double>() == (d.at("v") * 2.0).to_vector<double>());
  std::vector<std::int64_t> doubled;
  for (auto v : d.at("i").to_vector<std::int64_t>()) doubled.push_back(2 * v);
  CHECK(back.at("i").to_vector<std::int64_t>() == doubled);
  std::remove(a.c_str());
  std::remove(b.c_str());
}

TEST_CASE("an MLP, a CNN, an LSTM and a transformer block train, save, load and match") {
  manual_seed(3);
  const Tensor y = randint(0, 3, {6});
  check_roundtrip([] { return std::make_shared<Mlp>(); }, randn({6, 4}), y, "mlp");

  auto make_cnn = [] {
    auto cnn = std::make_shared<nn::Sequential>();
    cnn->push_back(std::make_shared<nn::Conv2d>(1, 4, 3, Conv2dOptions{{1, 1}, {1, 1}}));
    cnn->push_back(std::make_shared<nn::BatchNorm2d>(4));
    cnn->push_back(std::make_shared<nn::ReLU>());
    cnn->push_back(std::make_shared<nn::MaxPool2d>(2));
    cnn->push_back(std::make_shared<nn::Conv2d>(4, 6, 3));
    cnn->push_back(std::make_shared<nn::AdaptiveAvgPool2d>(nn::IntPair{1, 1}));
    cnn->push_back(std::make_shared<nn::Flatten>());
    cnn->push_back(std::make_shared<nn::Dropout>(0.2));
    cnn->push_back(std::make_shared<nn::Linear>(6, 3));
    return cnn;
  };
  check_roundtrip(make_cnn, randn({6, 1, 8, 8}), y, "cnn");

  struct LstmClassifier : nn::Module {
    LstmClassifier() : nn::Module("LstmClassifier") {
      emb = register_module("emb", std::make_shared<nn::Embedding>(10, 5));
      lstm = register_module("lstm", std::make_shared<nn::LSTM>(5, 7, 2, true));
      head = register_module("head", std::make_shared<nn::Linear>(7, 3));
    }
    Tensor forward(const Tensor& tokens) override {
      auto [out, h, c] = lstm->forward_sequence(emb->forward(tokens));
      return head->forward(select(h, 0, -1));
    }
    std::shared_ptr<nn::Embedding> emb;
    std::shared_ptr<nn::LSTM> lstm;
    std::shared_ptr<nn::Linear> head;
  };
  check_roundtrip([] { return std::make_shared<LstmClassifier>(); }, randint(0, 10, {6, 4}), y, "lstm");

  struct TransformerBlock : nn::Module {
    TransformerBlock() : nn::Module("TransformerBlock") {
      attn = register_module("attn", std::make_shared<nn::MultiheadAttention>(8, 2, true, true));
      ln1 = register_module("ln1", std::make_shared<nn::LayerNorm>(Shape{8}));
      ff = register_module("ff", std::make_shared<nn::Sequential>(std::initializer_list<std::shared_ptr<nn::Module>>{
                                     std::make_shared<nn::Linear>(8, 16), std::make_shared<nn::GELU>(),
                                     std::make_shared<nn::Linear>(16, 8)}));
      ln2 = register_module("ln2", std::make_shared<nn::LayerNorm>(Shape{8}));
      head = register_module("head", std::make_shared<nn::Linear>(8, 3));
    }
    Tensor forward(const Tensor& x) override {
      Tensor h = ln1->forward(x + attn->forward(x, x, x, {}, /*is_causal=*/true).first);
      h = ln2->forward(h + ff->forward(h));
      return head->forward(mean(h, {1}));
    }
    std::shared_ptr<nn::MultiheadAttention> attn;
    std::shared_ptr<nn::LayerNorm> ln1, ln2;
    std::shared_ptr<nn::Sequential> ff;
    std::shared_ptr<nn::Linear> head;
  };
  check_roundtrip([] { return std::make_shared<TransformerBlock>(); }, randn({6, 5, 8}), y, "transformer");
}

TEST_CASE("recurrent cells and attention: shapes, causality, gradients") {
  manual_seed(4);
  nn::LSTMCell cell(3, 5);
  auto [h, c] = cell.forward(randn({2, 3}), zeros({2, 5}), zeros({2, 5}));
  CHECK(h.shape() == Shape{2, 5});
  nn::GRUCell gru(3, 4);
  CHECK(gru.forward(randn({2, 3})).shape() == Shape{2, 4});
  nn::RNNCell rnn(3, 4);
  CHECK(rnn.forward(randn({2, 3})).shape() == Shape{2, 4});
  nn::LSTM lstm(3, 4, 2);
  auto [out, hn, cn] = lstm.forward_sequence(randn({6, 2, 3}));
  CHECK(out.shape() == Shape{6, 2, 4});
  CHECK(hn.shape() == Shape{2, 2, 4});
  CHECK(lstm.named_parameters()[0].first == "weight_ih_l0");
  // Causal attention: the first position's output ignores later positions.
  nn::MultiheadAttention mha(4, 2);
  Tensor x = randn({3, 1, 4});
  auto [o1, w1] = mha.forward(x, x, x, {}, true);
  CHECK(w1.shape() == Shape{1, 3, 3});
  CHECK(w1.to_vector<float>()[1] == 0.f);
  Tensor x2 = cat({x.narrow(0, 0, 1), randn({2, 1, 4})}, 0);
  auto [o2, w2] = mha.forward(x2, x2, x2, {}, true);
  check_values(o2.select(0, 0), o1.select(0, 0).to_vector<double>(), 1e-6);
  // Gradients of an LSTM cell in float64 check against finite differences.
  nn::LSTMCell small(2, 3);
  small.to(float64);
  auto f = [&](const TensorList& in) { return small.forward(in[0], in[1], in[2]).first; };
  TensorList inputs{randn({2, 2}, TensorOptions(float64).requires_grad(true)),
                    randn({2, 3}, TensorOptions(float64).requires_grad(true)),
                    randn({2, 3}, TensorOptions(float64).requires_grad(true))};
  const GradcheckResult r = gradcheck(f, inputs);
  CHECK_MESSAGE(r.ok, r.report);
}

namespace {
struct Box : nn::Module {
  Box() : nn::Module("Box") {}
  void add(const std::string& name, std::shared_ptr<nn::Module> m) { register_module(name, std::move(m)); }
};
}  // namespace

TEST_CASE("a module cannot contain itself: self-registration and cycles are refused") {
  auto a = std::make_shared<Box>(), b = std::make_shared<Box>(), c = std::make_shared<Box>();
  CHECK(test::contains(test::error_of([&] { a->add("me", a); }),
                       "register_module: registering Box as 'me' in Box would make the module its own child"));
  b->add("c", c);
  a->add("b", b);
  CHECK(test::contains(test::error_of([&] { c->add("a", a); }), "would make a cycle (it already contains this module)"));
  CHECK(a->named_children().size() == 1);
  CHECK(c->named_children().empty());
  // Sharing one submodule in two places is not a cycle.
  auto shared = std::make_shared<nn::Linear>(2, 2);
  a->add("l1", shared);
  b->add("l2", shared);
  CHECK(a->parameters().size() == 2);  // tied: listed once
}

namespace {
/// A safetensors file from a hand-written JSON header and raw data bytes.
void write_safetensors_raw(const std::string& path, const std::string& header, const std::string& data) {
  std::string out(8, '\0');
  const std::uint64_t n = header.size();
  std::memcpy(out.data(), &n, 8);
  std::ofstream(path, std::ios::binary) << out << header << data;
}
}  // namespace

TEST_CASE("safetensors headers are validated: shapes, offsets, reserved names, header size") {
  const std::string p = temp_path("crafted.safetensors");
  const std::string eight(8, '\0');
  auto load_error = [&](const std::string& header, const std::string& data) {
    write_safetensors_raw(p, header, data);
    return error_of([&] { nn::load_safetensors(p); });
  };
  CHECK(load_error(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", eight).empty());
  CHECK(contains(load_error(R"({"a":{"dtype":"F32","shape":[2.5],"data_offsets":[0,8]}})", eight),
                 "tensor 'a' has shape [2.5]; each entry must be a non-negative integer"));
  CHECK(contains(load_error(R"({"a":{"dtype":"F32","shape":[18446744073709551615],"data_offsets":[0,8]}})", eight),
                 "each entry must be a non-negative integer that fits int64"));
  CHECK(contains(load_error(R"({"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", eight),
                 "must be a non-negative integer"));
  CHECK(contains(load_error(R"({"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}})", eight),
                 "storage size calculation overflowed"));
  CHECK(contains(load_error(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", eight),
                 "(overlapping data_offsets)"));
  CHECK(contains(load_error(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", eight), "(a gap in data_offsets)"));
  CHECK(contains(load_error(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", eight), "4 bytes after the last tensor's data"));
  // Out of order in the header but tiling the data is fine, as the format allows.
  CHECK(load_error(R"({"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", eight).empty());
  {
    std::string huge(8, '\0');
    const std::uint64_t n = std::uint64_t{1} << 40;
    std::memcpy(huge.data(), &n, 8);
    std::ofstream(p, std::ios::binary) << huge << "{}";
    CHECK(contains(error_of([&] { nn::load_safetensors(p); }), "over the format's 100 MB limit"));
  }
  CHECK(contains(error_of([&] { nn::save_safetensors(p, {{"__metadata__", zeros({1})}}); }),
                 "a tensor cannot be named '__metadata__'"));
  std::remove(p.c_str());
}

TEST_CASE("atomic save: symlinks are followed, special files refused, concurrent savers never share a temporary") {
  const std::string dir = temp_path("atomic_dir");
  std::filesystem::remove_all(dir);
  std::filesystem::create_directory(dir);
  const nn::StateDict d{{"w", arange(5.0)}};
  // A symlink stays a symlink; its target gets the new contents.
  nn::save_safetensors(dir + "/real.safetensors", {{"w", zeros({1})}});
  std::filesystem::create_symlink("real.safetensors", dir + "/link.safetensors");
  nn::save_safetensors(dir + "/link.safetensors", d);
  CHECK(std::filesystem::is_symlink(dir + "/link.safetensors"));
  CHECK(nn::load_safetensors(dir + "/real.safetensors").at("w").numel() == 5);
  // A replaced file keeps its permissions; a new one gets 0666 minus the umask, as open(2) gives.
  ::chmod((dir + "/real.safetensors").c_str(), 0600);
  nn::save_safetensors(dir + "/link.safetensors", d);
  CHECK((std::filesystem::status(dir + "/real.safetensors").permissions() & std::filesystem::perms::all) ==
        (std::filesystem::perms::owner_read | std::filesystem::perms::owner_write));
  const mode_t old_mask = ::umask(027);
  nn::save_safetensors(dir + "/new.safetensors", d);
  ::umask(old_mask);
  CHECK((std::filesystem::status(dir + "/new.safetensors").permissions() & std::filesystem::perms::all) ==
        (std::filesystem::perms::owner_read | std::filesystem::perms::owner_write | std::filesystem::perms::group_read));
  std::filesystem::remove(dir + "/new.safetensors");
  // A FIFO (like /dev/full, a special file) is refused, not replaced.
  const std::string fifo = dir + "/fifo";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  CHECK(contains(error_of([&] { nn::save_safetensors(fifo, d); }), "refusing to replace " + fifo + ": it is not a regular file"));
  CHECK(std::filesystem::is_fifo(fifo));
  CHECK(contains(error_of([&] { nn::save_safetensors("/dev/full", d); }), "refusing to replace /dev/full"));
  CHECK(contains(error_of([&] { nn::save_safetensors(dir, d); }), "it is not a regular file"));
  // Two threads saving to one path: every load sees a whole file, no temporaries are left.
  const std::string shared = dir + "/shared.safetensors";
  std::atomic<int> failures{0};
  auto saver = [&](double v) {
    for (int i = 0; i < 50; ++i) {
      try {
        nn::save_safetensors(shared, {{"w", full({64}, v)}});
        const auto w = nn::load_safetensors(shared).at("w").to_vector<float>();
        if (w.size() != 64 || (w[0] != 1.0f && w[0] != 2.0f) || w[63] != w[0]) ++failures;
      } catch (const std::exception&) {
        ++failures;
      }
    }
  };
  std::thread t1(saver, 1.0), t2(saver, 2.0);
  t1.join();
  t2.join();
  CHECK(failures == 0);
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) files += e.path().filename().string().find(".tmp") == std::string::npos ? 1 : 100;
  CHECK(files == 4);  // real, link, fifo, shared: no temporaries
  std::filesystem::remove_all(dir);
}

TEST_CASE("RMSNorm module: a weight parameter of the normalized shape, forward is rms_norm") {
  nn::RMSNorm norm({4});
  REQUIRE(norm.named_parameters().size() == 1);
  CHECK(norm.weight.shape() == Shape{4});
  const Tensor x = tensor({1.0, 2.0, 3.0, 4.0, -1.0, 0.0, 1.0, 2.0}, {2, 4});
  test::check_values(norm.forward(x), test::values(rms_norm(x, {4}, norm.weight)), 1e-7);
  nn::RMSNorm plain({4}, 1e-3, false);
  CHECK(plain.named_parameters().empty());
  test::check_values(plain.forward(x), test::values(x / sqrt(mean(x * x, {1}, true) + 1e-3)), 1e-6);
}

// PyTorch 1.13, torch.nn.GroupNorm in float64 on the same inputs:
// /usr/bin/python3 tests/pytorch_golden.py group_norm.
TEST_CASE("GroupNorm module matches torch.nn.GroupNorm: values and the gradients of x, weight and bias") {
  nn::GroupNorm norm(2, 4);
  norm.to(float64);
  REQUIRE(norm.named_parameters().size() == 2);
  {
    NoGradGuard no_grad;
    norm.weight.copy_(arange(4.0, float64) * 0.5 + 1.0);
    norm.bias.copy_(arange(4.0, float64) * 0.1);
  }
  const Tensor x = cos(arange(24.0, float64)).reshape({2, 4, 3}).requires_grad_(true);
  const Tensor y = norm.forward(x);
  const TensorList g = grad({(y * arange(24.0, float64).reshape({2, 4, 3})).sum()}, {x, norm.weight, norm.bias});
  test::check_values(y.reshape({-1}).narrow(0, 0, 6), {1.4837863738847905, 0.8274877544737463, -0.5380101797490257,
                                                       -1.935912388063207, -1.2156173802643802, 0.7916338454133203}, 1e-12);
  test::check_values(g[1], {33.736382958637904, -47.63704184141538, 68.52516360082656, -84.64973763955557}, 1e-10);
  test::check_values(g[2], {42.0, 60.0, 78.0, 96.0}, 1e-12);
  test::check_values(g[0].reshape({-1}).narrow(0, 0, 6), {-2.115684303464191, -1.9623927321526713, -3.1862050985683315,
                                                          -1.2078451515198165, 1.8660992500950355, 6.606028035609978}, 1e-10);
  CHECK(test::contains(test::error_of([] { nn::GroupNorm(3, 4); }), "divisible by num_groups 3"));
}

TEST_CASE("ResNet family: torchvision's parameter names and shapes, and a torchvision resnet18's weights give PyTorch's logits") {
  manual_seed(4);
  auto r18 = nn::models::resnet18(10);
  const nn::StateDict sd = r18->state_dict();
  CHECK(sd.count("layer2.0.downsample.0.weight"));
  CHECK(sd.at("layer4.1.bn2.running_var").shape() == Shape{512});
  CHECK(sd.at("conv1.weight").shape() == Shape{64, 3, 7, 7});
  CHECK(r18->num_parameters() == 11181642);  // torchvision resnet18(num_classes=10)
  CHECK(nn::models::resnet34()->num_parameters() == 21797672);  // torchvision resnet34()
  auto r20 = nn::models::resnet20(10, 1);
  // By hand: stem 144 + 32; stage 1 3 x 4672; stage 2 14528 + 2 x 18560; stage 3 57728 + 2 x 73984; fc 650.
  CHECK(r20->num_parameters() == 272186);
  CHECK(r20->forward(randn({2, 1, 28, 28})).shape() == Shape{2, 10});
  CHECK(nn::models::resnet18(10, /*cifar_stem=*/true)->forward(randn({1, 3, 32, 32})).shape() == Shape{1, 10});

  if (std::system("/usr/bin/python3 -c 'import torchvision' >/dev/null 2>&1") != 0) {
    MESSAGE("skipped the torchvision comparison: /usr/bin/python3 with torchvision is not installed");
    return;
  }
  const std::string path = temp_path("torchvision_resnet18.safetensors");
  const std::string cmd = "/usr/bin/python3 " XGRAD_TEST_DIR "/torchvision_resnet.py " + path + " >/dev/null";
  REQUIRE(std::system(cmd.c_str()) == 0);
  nn::StateDict dict = nn::load_safetensors(path);
  const Tensor input = dict.at("input"), expected = dict.at("logits");
  dict.erase("input");
  dict.erase("logits");
  r18->load_state_dict(dict);  // strict: every name and shape matches torchvision's
  CHECK(r18->bn1->num_batches_tracked.item<std::int64_t>() == 7);
  r18->eval();
  NoGradGuard no_grad;
  const Tensor logits = r18->forward(input);
  REQUIRE(logits.shape() == expected.shape());
  const auto got = logits.to_vector<float>(), want = expected.to_vector<float>();
  for (std::size_t i = 0; i < got.size(); ++i) CHECK(got[i] == doctest::Approx(want[i]).epsilon(1e-4).scale(1.0));
  std::remove(path.c_str());
}

// PyTorch 1.13 on the same weights: /usr/bin/python3 tests/pytorch_golden.py recurrent_stacks.
TEST_CASE("GRU and LSTM stacks (2 layers, bidirectional, batch_first) match torch.nn on shared weights") {
  auto check = [](auto& m, const std::string& kind, const std::string& names, const std::vector<double>& output,
                  const std::vector<double>& dx, const std::vector<double>& h_n, const std::vector<double>& dweight,
                  const std::string& repr) {
    INFO(kind);
    m.to(float64);
    m.eval();  // no dropout between the layers, as torch's eval()
    std::string listed;
    double k = 0;
    for (auto& [name, p] : m.named_parameters()) {
      listed += (listed.empty() ? "" : " ") + name;
      NoGradGuard no_grad;
      p.copy_((sin(arange(static_cast<double>(p.numel()), float64) * 0.37 + k) * 0.3).reshape(p.shape()));
      k += 1;
    }
    CHECK(listed == names);
    const Tensor x = cos(arange(24.0, float64)).reshape({2, 3, 4}).requires_grad_(true);
    const Tensor out = m.forward(x);
    check_values(out, output, 1e-12);
    const Tensor w = (arange(static_cast<double>(out.numel()), float64) + 1.0).reshape(out.shape());
    Tensor weight;
    for (auto& [name, p] : m.named_parameters())
      if (name == "weight_hh_l1_reverse") weight = p;
    const TensorList g = grad({(out * w).sum()}, {x, weight});
    check_values(g[0], dx, 1e-11);
    check_values(g[1].flatten().narrow(0, 0, 8), dweight, 1e-11);
    check_values(std::get<1>(m.forward_sequence(x)), h_n, 1e-12);
    CHECK(m.str() == repr + "  # " + std::to_string(m.num_parameters()) + " params\n");
  };
  nn::GRU gru(4, 5, 2, true, true, 0.5, true);
  CHECK(gru.num_parameters() == 840);  // torch: sum(p.numel() for p in m.parameters())
  check(gru, "GRU", "weight_ih_l0 weight_hh_l0 bias_ih_l0 bias_hh_l0 weight_ih_l0_reverse weight_hh_l0_reverse bias_ih_l0_reverse bias_hh_l0_reverse weight_ih_l1 weight_hh_l1 bias_ih_l1 bias_hh_l1 weight_ih_l1_reverse weight_hh_l1_reverse bias_ih_l1_reverse bias_hh_l1_reverse",
        {0.26676737087128405, -0.045291086181958734, 0.22106853826499817, -0.004704883199897953, 0.04377622690736835, -0.5332953162267461, -0.0018615228260212627, -0.08073357499994033, 0.028296506209081373, 0.41223872793074373, 0.41972619950294165, -0.010716187830448313, 0.3335837074445373, 0.08178256866964939, 0.015950186830931423, -0.41173460373869697, -0.06314387217141987, -0.005352242757612797, -0.018325114591635806, 0.3456141575367172, 0.476996681949248, 0.027288383385940772, 0.3950683884534104, 0.14075618366954118, 0.01998783961753932, -0.28918789853396293, -0.01846156062860896, -0.033217015815115325, 0.011172646320346388, 0.22486941386227363, 0.2678564393422135, -0.03442978588385591, 0.2187059004314278, 0.007656586024034507, 0.034810888635290006, -0.5209311979964756, -0.0130463116886965, -0.06931732552775575, 0.023992430778834187, 0.40855861445741515, 0.4116250514690827, 0.006239649546422921, 0.3301803381254655, 0.08486505024380513, 0.02228171503135887, -0.4108624559754869, -0.056685761362053506, -0.018991215476300855, 0.005250000700617406, 0.33713016524977124, 0.4848765430666007, 0.01782143987242888, 0.40182932120190645, 0.13983830747191262, 0.019269319467758613, -0.3079870929048488, -0.00836856504486921, -0.029539477792209893, -0.0068687450694304465, 0.23919078058413829},
        {-0.31845179381573807, -0.16450001928679958, 0.011716061148133394, 0.1863464276691938, -0.4604741304493287, -0.2109802666315914, 0.06706878652156095, 0.33604039405291825, -0.33369583932484304, -0.28516056860360783, -0.1980301526705744, -0.08409728457502122, -0.4455479847768318, 0.4165993779245931, 1.222361969179962, 1.8626836022660427, -1.2692543240569443, -0.7403126380839585, -0.11117310950988613, 0.5330131778997123, -1.0006035233885295, -0.9007747162696339, -0.6790302770288599, -0.36538227526726336},
        {-0.16598294547704456, 0.14761249636550822, 0.23552606575659155, 0.1746623901731103, 0.08561377974959243, -0.04977192713422929, 0.15235100549895064, 0.21028145125263098, 0.10704017955261008, 0.16864266568365882, -0.1856178385025336, -0.2767611802502406, -0.27566176417240784, -0.3365224642361116, -0.4168370952322166, -0.12995172996123572, -0.23840496008017148, -0.3416256033154989, -0.3985291970600108, -0.4019853741345406, 0.476996681949248, 0.027288383385940772, 0.3950683884534104, 0.14075618366954118, 0.01998783961753932, 0.4848765430666007, 0.01782143987242888, 0.40182932120190645, 0.13983830747191262, 0.019269319467758613, -0.5332953162267461, -0.0018615228260212627, -0.08073357499994033, 0.028296506209081373, 0.41223872793074373, -0.5209311979964756, -0.0130463116886965, -0.06931732552775575, 0.023992430778834187, 0.40855861445741515},
        {-0.09397708114960882, -0.010389944768585737, -0.005450045877055024, 8.47210611937294e-05, 0.0761343762808373, 0.381683411340651, 0.03607224475998655, 0.02543434247896802},
        "GRU(4, 5, num_layers=2, batch_first=True, dropout=0.5, bidirectional=True)");
  nn::LSTM lstm(4, 5, 2, true, true, 0.5, true);
  check(lstm, "LSTM", "weight_ih_l0 weight_hh_l0 bias_ih_l0 bias_hh_l0 weight_ih_l0_reverse weight_hh_l0_reverse bias_ih_l0_reverse bias_hh_l0_reverse weight_ih_l1 weight_hh_l1 bias_ih_l1 bias_hh_l1 weight_ih_l1_reverse weight_hh_l1_reverse bias_ih_l1_reverse bias_hh_l1_reverse",
        {0.14441084892656283, 0.015228823624488352, 0.11466110667784095, -0.0014742160348220023, 0.00912173585296179, -0.20865959949038848, 0.013710837766782833, -0.03988104607029883, 0.09543527695710473, 0.2552067001776056, 0.19713326422893251, 0.02816776786867123, 0.1525195075855974, 0.02018912853690907, -0.0013717359580937803, -0.19491775091076535, -0.021734556461106908, -0.004384560586162945, 0.0744606613086485, 0.20889048739629615, 0.21234260976450592, 0.03925714172315107, 0.16311086458122162, 0.04292445681059633, -0.01290833352982936, -0.15202630985333884, -0.014253914033393201, 0.009607245290890425, 0.04408432044047231, 0.1425086531918153, 0.1407890472159768, 0.017674664646101006, 0.11026954879454201, 0.0002719001123932689, 0.008439409127631055, -0.2083272762689183, 0.006397582156348462, -0.0372152006559157, 0.09665934813602516, 0.25045125040264293, 0.19319140932353715, 0.030814420848349174, 0.1493139125382866, 0.021291765562185924, -0.0011358224123843295, -0.1955230477393063, -0.02115534676430846, -0.005085191714693214, 0.07528997351727672, 0.20874498721279194, 0.21845542480388058, 0.03628829688122112, 0.1668634168060957, 0.04231884716407487, -0.013793646680297898, -0.15578861489778212, -0.008990667914248964, 0.010200247733694786, 0.039018224734641074, 0.15101708385363546},
        {-0.0252785001683694, -0.103556604810045, -0.16781880879667493, -0.20936752428629685, 0.05180052000577855, -0.23966268627278334, -0.4986886722728097, -0.6902194859350304, 0.6736523206187766, 0.5450098003918892, 0.34260276043851323, 0.09382604408198883, -0.41230666399105886, -0.8597618975877876, -1.1908523916713976, -1.360766601083399, 0.7387639019616016, -0.09478315511983432, -0.9155017568036798, -1.612311490517041, 1.3906614205391306, 1.2238021027745831, 0.8913069115146912, 0.4381775110910252},
        {-0.0562792999504923, 0.10685309718494045, 0.16230308277106884, 0.07897608262910459, 0.09374628427074856, -0.0037663232270510904, 0.13145174214410424, 0.13412877919376215, 0.07088455617259037, 0.11434500690924163, -0.12595731704843938, -0.2831674002454461, -0.27175841725715816, -0.18390742949315886, -0.2770903508807774, -0.10820676839541132, -0.27730892759704956, -0.2657765226026719, -0.21082483436796692, -0.26888583198526567, 0.21234260976450592, 0.03925714172315107, 0.16311086458122162, 0.04292445681059633, -0.01290833352982936, 0.21845542480388058, 0.03628829688122112, 0.1668634168060957, 0.04231884716407487, -0.013793646680297898, -0.20865959949038848, 0.013710837766782833, -0.03988104607029883, 0.09543527695710473, 0.2552067001776056, -0.2083272762689183, 0.006397582156348462, -0.0372152006559157, 0.09665934813602516, 0.25045125040264293},
        {1.077883042664173, 0.09055940291654693, -0.029008448270544128, -0.33653422538918204, -1.0850074786168245, 0.03237064110220622, -0.0005543718008469579, -0.00764837084156073},
        "LSTM(4, 5, num_layers=2, batch_first=True, dropout=0.5, bidirectional=True)");
  // In training, dropout acts between the layers: the output changes, and not on a one-layer stack.
  const Tensor x = cos(arange(24.0, float64)).reshape({2, 3, 4});
  const std::vector<double> evaluated = test::values(gru.forward(x));
  gru.train();
  CHECK(test::values(gru.forward(x)) != evaluated);
  nn::GRU single(4, 5, 1, true, true, 0.5);
  single.to(float64);
  const std::vector<double> trained = test::values(single.forward(x));
  single.eval();
  CHECK(test::values(single.forward(x)) == trained);
  CHECK(contains(error_of([] { nn::GRU(4, 5, 1, false, true, 1.5); }), "GRU: dropout must be in [0, 1], got 1.5"));
  CHECK(contains(error_of([&] { gru.forward_sequence(x, zeros({2, 2, 5}, float64)); }),
                 "GRU: initial state must be [4, 2, 5], got [2, 2, 5]"));
}

TEST_CASE("forward hooks and pre-hooks: capture activations, replace input and output, removable, fire inside containers") {
  manual_seed(3);
  auto fc1 = std::make_shared<nn::Linear>(3, 4);
  auto act = std::make_shared<nn::ReLU>();
  auto fc2 = std::make_shared<nn::Linear>(4, 2);
  nn::Sequential net(fc1, act, fc2);
  const Tensor x = randn({5, 3});

  // Capture the hidden activation and, through a tensor hook, its gradient (Grad-CAM's two ingredients).
  Tensor activation, activation_grad;
  std::vector<std::string> order;
  HookHandle pre = act->register_forward_pre_hook([&](nn::Module& m, const Tensor&) {
    order.push_back("pre " + m.type_name());
    return Tensor();
  });
  HookHandle post = act->register_forward_hook([&](nn::Module& m, const Tensor&, const Tensor& out) {
    order.push_back("post " + m.type_name());
    activation = out;
    activation.register_hook([&](const Tensor& g) {
      activation_grad = g;
      return Tensor();
    });
    return Tensor();
  });
  const Tensor y = net(x);
  y.sum().backward();
  CHECK(order == std::vector<std::string>{"pre ReLU", "post ReLU"});
  check_values(activation, relu(fc1->forward(x)).to_vector<double>());
  // d(sum y)/d(hidden) is every row of fc2's weight summed over outputs.
  const Tensor expected_grad = fc2->weight.detach().sum(0, true).expand({5, 4});
  check_values(activation_grad, expected_grad.to_vector<double>());

  // A pre-hook replaces the input, a forward hook the output.
  HookHandle zero_input = fc1->register_forward_pre_hook([](nn::Module&, const Tensor& in) { return zeros_like(in); });
  HookHandle doubled = fc2->register_forward_hook([](nn::Module&, const Tensor&, const Tensor& out) { return out * 2.0; });
  const Tensor bias_path = fc2->forward(relu(fc1->bias.detach().expand({5, 4})));
  check_values(net(x), (bias_path * 2.0).to_vector<double>());

  // Removed hooks no longer run; removing twice, or after the module is gone, does nothing.
  zero_input.remove();
  doubled.remove();
  pre.remove();
  post.remove();
  post.remove();
  order.clear();
  check_values(net(x), net.forward(x).to_vector<double>());
  check_values(net(x), y.detach().to_vector<double>());
  CHECK(order.empty());
  HookHandle dangling;
  {
    nn::Linear temp(2, 2);
    dangling = temp.register_forward_hook([](nn::Module&, const Tensor&, const Tensor&) { return Tensor(); });
  }
  dangling.remove();

  // A hook that removes itself while hooks run.
  int calls = 0;
  HookHandle once;
  once = fc2->register_forward_hook([&](nn::Module&, const Tensor&, const Tensor&) {
    ++calls;
    once.remove();
    return Tensor();
  });
  net(x);
  net(x);
  CHECK(calls == 1);
  CHECK(contains(error_of([&] { fc2->register_forward_hook(nn::ForwardHook()); }), "register_forward_hook"));
}
