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

TEST_CASE("Transformer (post-norm relu, pre-norm gelu) matches torch.nn.Transformer on shared weights, with causal and padding masks") {
  // tests/pytorch_golden.py transformers: the same weights, inputs and masks; values and d(sum out·w)/d src.
  struct Case {
    const char* name;
    bool norm_first;
    const char* activation;
    std::vector<double> value, gradient;
  };
  const std::vector<Case> cases = {
      {"norm_first=false relu", false, "relu",
       {0.33345508364229703, -0.06225986128443198, 1.3016603812119343, -0.39004335379522953, 
       1.6482418224623692, -1.1228722934572626, 1.5160947192045753, -1.996520960958576, 
       0.5584893595166732, -0.6571719996989386, 0.6008416567257238, -1.2448047443415218, 
       1.2749922105673763, -0.9508791073530128, 2.4004565687229378, -0.17866022116390554, 
       -0.9182825049224245, -0.21516666202004958, 0.535458524314841, 0.0018594333212289549, 
       1.8885836801067666, -0.25487436564353516, 2.4606704722510138, -1.2372956020559889, 
       0.7690984567314658, 0.029066442507482047, 1.164989329488264, -0.7380154726771693, 
       1.2939041160259614, -1.386123834334597, 1.5418050246464967, -1.6253309025659985, 
       -0.251019350045222, -0.7860811580338477, 0.5337173061045313, -0.8013257691928405, 
       1.6920671155787455, -0.5109317495923547, 2.694725216606003, -0.2855368805574499, 
       -0.22312998008614116, -0.30601868897449747, 1.0895111940654283, -0.2867047479017485, 
       1.9257759842473423, -0.7605725423357013, 2.016922734961379, -1.7260344591227577, 
       0.9425412018075461, -0.5201809286535456, 0.8665124326356823, -1.2450956860140552, 
       1.1090611097713872, -1.1812367522694478, 1.8787797135901276, -0.43464311664148814, 
       -0.7752465318899772, -0.7332628838809804, 0.44294320071361487, -0.3804715912797267, 
       1.8045924367900632, -0.13403836226057392, 2.645725065970736, -0.3379943794573221},
       {0.7155878517773417, 0.057597835310317966, 0.253264192063416, -0.45041842859719267, 
       -0.09578636555129078, -0.4251473992732537, 0.13134804482593726, 0.024531970669533245, 
       -3.369095957228391, -0.14529098854740205, -0.422496118319331, 1.392058760831397, 
       0.08394572352192567, 1.2632966607217213, -0.47611426131746193, 0.3925457381852904, 
       0.05658372841151223, 0.17387967053870784, -0.08762876878746789, 0.16074771840530433, 
       -0.1630436134754454, 0.010872136431098297, -0.19184885221123826, 0.18510926302927475, 
       0.0511939388207413, -0.3417621330598365, 0.1189123181963824, -0.4610089088859083, 
       0.007085728989103292, -0.18817057458728634, 0.45929444315058476, 0.6186451999900987, 
       1.8290386637174296, 1.1983650590584074, 0.48713409893052073, -0.3358088320606343, 
       -0.513475326916342, -0.960705999974274, -0.4664867078167091, -0.6985672738803311, 
       0.3812100014220423, 0.2224464040910289, -0.40798749483481256, -0.035660858538357945, 
       -0.32268545340956517, -0.0058201509209518595, -0.12479293779383242, 0.3509907140746731, 
       -1.1918763733734228, 0.37342047862088895, -1.6067315636371167, 0.7141050920906331, 
       -0.7069906048429044, 1.275087423625466, -0.23131268496392315, 1.39830680347265, 
       -0.3400796040160343, 1.379166707417024, 0.9997544469221371, 0.6561409870301658, 
       0.21378351066146795, -0.3331536555747538, -0.14185312534586542, -0.6263097641995722, 
       0.11765927724359174, 0.10075867893409018, -0.11674610736343075, 0.07132542461236044, 
       -0.030236528101492077, 0.05800383473081312, -0.03641990903076755, 0.053331324045248284, 0.0, 0.0, 
       0.0, 0.0, 0.0, 0.0, 0.0, 0.0}},
      {"norm_first=true gelu", true, "gelu",
       {0.6013856859684404, 0.18698130043190353, 1.3036245374978035, -0.16784230343639447, 
       1.5034049208585418, -1.1438828740221492, 0.9231340606186645, -2.3099045734598147, 
       0.4144163624781348, -0.19254253158125165, 0.9844243711176944, -0.738161871142422, 
       1.5863215304020648, -1.2799000853816245, 2.0556243461890786, -1.4072991422931624, 
       -0.4320022347393148, -0.4356896178582435, 0.9383539957140639, -0.14520434360276116, 
       2.0444177317705683, -0.5157077789798653, 2.0928945354505175, -1.611320618913827, 
       0.7318865933101355, 0.09619959244497923, 1.2637406378431881, -0.40214367682252594, 
       1.4445131771223065, -1.2698271556140457, 1.1053489758040955, -2.0456854463403222, 
       -0.39958328254655945, -0.6882050223769105, 0.2901012955817095, -0.7955188343630737, 
       1.504584527813874, -0.4896029754554397, 2.8935044734231927, 0.1175289765404969, 0.3810999257685482, 
       -0.07721711358695392, 1.3093403895854054, -0.21627229782925458, 1.7393864432117254, 
       -1.0160582227431065, 1.2234711353877203, -2.1890412052317125, 0.6378363827733892, 
       -0.17961400830984564, 1.175771514825212, -0.6560596022493711, 1.5537731903106402, -1.269314956702, 
       1.573256257220434, -1.644255417337091, -1.014405386763617, -0.6433356004548558, 
       -0.01297345012665458, -0.2871283815370934, 1.4563464426111232, 0.17797063889702164, 
       2.774020320150788, 0.3525091221445234},
       {0.09844604486589971, 0.024631810778919537, 0.04795096004077496, -0.07629755386922552, 
       -0.01863276209142555, -0.11289713215007494, 0.032080624346280576, 0.004718008078851345, 
       -0.04605236523898321, -0.06181069746456817, -0.27500820007073096, -0.010389723429819607, 
       -0.3115739255491132, 0.2214827452569267, -0.12290617451647172, 0.6062583410127602, 
       -0.08078875630877838, -0.02270939133304098, 0.050570769233612416, 0.05398506583761458, 
       0.06907079893397321, 0.015323424799009808, -0.007108953711847081, -0.07834295745054363, 
       0.10468728484990376, -0.0023814160725552213, 0.03734158554723438, -0.13741995021578823, 
       0.005469530602082866, -0.15858649606775055, 0.1282219999097585, 0.022667461447114536, 
       -0.5203132028071638, -0.2948132754859369, -0.3046607759160883, 0.10880884235642567, 
       -0.10572008857226718, 0.40941793718633307, 0.04768363739311229, 0.6595969258455848, 
       -0.3957258220135531, 0.13735065696582582, -0.14866771768586334, 0.5689192535631693, 
       0.05440975254188472, 0.5024150280786581, -0.4191421192796566, -0.2995590321704644, 
       -0.8779642080592767, -0.5492591074265236, -1.1056584504631548, -0.07498970910803432, 
       -0.7244639586853954, 0.9077591870685604, 0.23436748704987811, 2.190208759623944, 
       -1.0671607917695312, 1.617376229472463, 1.4425827020588413, 3.459242552830089, 1.300362843356779, 
       1.215174682212651, -3.1745639065442783, -4.793014311617015, -0.4040970059169265, 
       0.023026294491188357, -0.14462265277980296, 0.4267856221410304, 0.10007423685988631, 
       0.44859869754252646, -0.23433533888818617, -0.21542985344971577, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 
       0.0}}};
  const std::string torch_names =
      "encoder.layers.0.self_attn.in_proj_weight encoder.layers.0.self_attn.in_proj_bias "
      "encoder.layers.0.self_attn.out_proj.weight encoder.layers.0.self_attn.out_proj.bias "
      "encoder.layers.0.linear1.weight encoder.layers.0.linear1.bias "
      "encoder.layers.0.linear2.weight encoder.layers.0.linear2.bias "
      "encoder.layers.0.norm1.weight encoder.layers.0.norm1.bias encoder.layers.0.norm2.weight "
      "encoder.layers.0.norm2.bias encoder.layers.1.self_attn.in_proj_weight "
      "encoder.layers.1.self_attn.in_proj_bias encoder.layers.1.self_attn.out_proj.weight "
      "encoder.layers.1.self_attn.out_proj.bias encoder.layers.1.linear1.weight "
      "encoder.layers.1.linear1.bias encoder.layers.1.linear2.weight "
      "encoder.layers.1.linear2.bias encoder.layers.1.norm1.weight encoder.layers.1.norm1.bias "
      "encoder.layers.1.norm2.weight encoder.layers.1.norm2.bias encoder.norm.weight "
      "encoder.norm.bias decoder.layers.0.self_attn.in_proj_weight "
      "decoder.layers.0.self_attn.in_proj_bias decoder.layers.0.self_attn.out_proj.weight "
      "decoder.layers.0.self_attn.out_proj.bias decoder.layers.0.multihead_attn.in_proj_weight "
      "decoder.layers.0.multihead_attn.in_proj_bias "
      "decoder.layers.0.multihead_attn.out_proj.weight "
      "decoder.layers.0.multihead_attn.out_proj.bias decoder.layers.0.linear1.weight "
      "decoder.layers.0.linear1.bias decoder.layers.0.linear2.weight "
      "decoder.layers.0.linear2.bias decoder.layers.0.norm1.weight decoder.layers.0.norm1.bias "
      "decoder.layers.0.norm2.weight decoder.layers.0.norm2.bias decoder.layers.0.norm3.weight "
      "decoder.layers.0.norm3.bias decoder.layers.1.self_attn.in_proj_weight "
      "decoder.layers.1.self_attn.in_proj_bias decoder.layers.1.self_attn.out_proj.weight "
      "decoder.layers.1.self_attn.out_proj.bias decoder.layers.1.multihead_attn.in_proj_weight "
      "decoder.layers.1.multihead_attn.in_proj_bias "
      "decoder.layers.1.multihead_attn.out_proj.weight "
      "decoder.layers.1.multihead_attn.out_proj.bias decoder.layers.1.linear1.weight "
      "decoder.layers.1.linear1.bias decoder.layers.1.linear2.weight "
      "decoder.layers.1.linear2.bias decoder.layers.1.norm1.weight decoder.layers.1.norm1.bias "
      "decoder.layers.1.norm2.weight decoder.layers.1.norm2.bias decoder.layers.1.norm3.weight "
      "decoder.layers.1.norm3.bias decoder.norm.weight decoder.norm.bias";
  for (const Case& c : cases) {
    INFO(c.name);
    nn::TransformerLayerOptions o(8, 2);
    o.dim_feedforward = 16, o.dropout = 0.0, o.activation = c.activation, o.batch_first = true, o.norm_first = c.norm_first;
    nn::Transformer m(o, 2, 2);
    m.to(float64);
    std::string names;
    std::int64_t k = 0;
    for (auto& [name, p] : m.named_parameters()) {
      names += (names.empty() ? "" : " ") + name;
      Tensor v = 0.3 * sin(0.37 * arange(static_cast<double>(p.numel()), float64) + static_cast<double>(k++));
      const bool norm_weight = name.find("norm") != std::string::npos && name.size() >= 6 &&
                               name.compare(name.size() - 6, 6, "weight") == 0;
      NoGradGuard no_grad;
      p.copy_((norm_weight ? v + 1.0 : v).reshape(p.shape()));
    }
    CHECK(names == torch_names);
    const Tensor src = sin(0.5 * arange(80.0, float64)).reshape({2, 5, 8}).requires_grad_(true);
    const Tensor tgt = cos(0.3 * arange(64.0, float64)).reshape({2, 4, 8});
    const Tensor src_pad = eq(arange(10.0, float64).reshape({2, 5}), 9.0);  // sample 1, position 4
    const Tensor tgt_pad = eq(arange(8.0, float64).reshape({2, 4}), 3.0);   // sample 0, position 3
    const Tensor out = m.forward(src, tgt, {}, nn::Transformer::generate_square_subsequent_mask(4, float64), {}, src_pad,
                                 tgt_pad, src_pad);
    CHECK(out.shape() == Shape{2, 4, 8});
    check_values(out, c.value, 1e-10);
    const Tensor w = (arange(static_cast<double>(out.numel()), float64) + 1.0).reshape(out.shape());
    check_values(grad({(out * w).sum()}, {src})[0], c.gradient, 1e-9);
  }
}

TEST_CASE("transformer layers: sequence-first layout, dropout only in training, safetensors round trip, argument errors") {
  manual_seed(11);
  nn::TransformerLayerOptions o(8, 2);
  o.dim_feedforward = 16;  // dropout 0.1, sequence-first [T, N, E], as torch's defaults
  auto encoder = std::make_shared<nn::TransformerEncoder>(o, 2, true);
  const Tensor src = randn({5, 3, 8});  // [T, N, E]

  // Sequence-first gives what batch-first gives on the transposed input.
  nn::TransformerLayerOptions bf = o;
  bf.batch_first = true;
  nn::TransformerEncoder encoder_bf(bf, 2, true);
  encoder_bf.load_state_dict(encoder->state_dict());
  encoder->eval(), encoder_bf.eval();
  const Tensor out = encoder->forward(src, {}, {}, true);
  check_values(out.transpose(0, 1), encoder_bf.forward(src.transpose(0, 1), {}, {}, true).to_vector<double>(), 1e-5);
  // Causal: changing the last position leaves the earlier outputs as they were.
  const Tensor changed = cat({narrow(src, 0, 0, 4), randn({1, 3, 8})}, 0);
  check_values(narrow(encoder->forward(changed, {}, {}, true), 0, 0, 4), narrow(out, 0, 0, 4).to_vector<double>(), 1e-5);

  // Dropout (on activations and attention weights) acts only in training.
  CHECK(encoder->forward(src).to_vector<double>() == encoder->forward(src).to_vector<double>());
  encoder->train();
  CHECK(encoder->forward(src).to_vector<double>() != encoder->forward(src).to_vector<double>());
  encoder->eval();

  // Weights round-trip through a safetensors file under torch's names.
  const std::string path = "xgrad_test_transformer.safetensors";
  nn::save(*encoder, path);
  nn::TransformerEncoder reloaded(o, 2, true);
  nn::load(reloaded, path);
  reloaded.eval();
  std::remove(path.c_str());
  CHECK(reloaded.forward(src).to_vector<double>() == encoder->forward(src).to_vector<double>());

  // Errors name the module, the shapes and the arguments.
  CHECK(contains(error_of([&] { encoder->forward(randn({5, 3, 6})); }), "TransformerEncoderLayer"));
  CHECK(contains(error_of([&] { encoder->forward(src, {}, zeros({3, 4}, Dtype::Bool)); }), "key_padding_mask must be [N, S] = [3, 5]"));
  CHECK(contains(error_of([&] { encoder->forward(src, zeros({4, 4})); }), "attn_mask must be [L, S]"));
  nn::TransformerLayerOptions bad(8, 3);
  CHECK(contains(error_of([&] { nn::TransformerEncoderLayer layer(bad); }), "multiple of nhead 3"));
  bad = o;
  bad.activation = "swish";
  CHECK(contains(error_of([&] { nn::TransformerDecoderLayer layer(bad); }), "\"swish\""));
  nn::TransformerDecoderLayer decoder(o);
  CHECK(contains(error_of([&] { decoder.forward(randn({4, 2, 8}), src); }), "same batch size"));
  nn::Transformer model(o, 1, 1);
  CHECK(contains(error_of([&] { model.forward(src, randn({4, 2, 8})); }), "Transformer"));
  CHECK(nn::Transformer::generate_square_subsequent_mask(2).to_vector<double>() == std::vector<double>{0, -INFINITY, 0, 0});
}
