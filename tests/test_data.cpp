// data: datasets, loaders, IDX and CSV readers, and the training loop.
#include <zlib.h>

#include <cmath>
#include <cstdio>
#include <functional>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "helpers.hpp"

using namespace xg;
using test::check_values;
using test::contains;
using test::error_of;
namespace fs = std::filesystem;

namespace {

std::string idx_bytes(const std::vector<std::uint32_t>& dims, const std::vector<unsigned char>& values) {
  std::string s{'\0', '\0', '\x08', static_cast<char>(dims.size())};
  for (std::uint32_t d : dims)
    for (int k = 3; k >= 0; --k) s += static_cast<char>((d >> (8 * k)) & 0xff);
  s.append(values.begin(), values.end());
  return s;
}

void write_plain(const std::string& path, const std::string& bytes) { std::ofstream(path, std::ios::binary) << bytes; }

void write_gzip(const std::string& path, const std::string& bytes) {
  gzFile f = gzopen(path.c_str(), "wb");
  gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size()));
  gzclose(f);
}

fs::path scratch(const std::string& name) {
  fs::path p = fs::temp_directory_path() / ("xgrad_test_" + name);
  fs::remove_all(p);
  fs::create_directories(p);
  return p;
}

}  // namespace

TEST_CASE("IDX reader: plain and gzip files, and clear errors for bad ones") {
  const fs::path dir = scratch("idx");
  std::vector<unsigned char> pixels;
  for (int i = 0; i < 2 * 2 * 3; ++i) pixels.push_back(static_cast<unsigned char>(i * 20));
  write_gzip((dir / "img.gz").string(), idx_bytes({2, 2, 3}, pixels));
  write_plain((dir / "lab").string(), idx_bytes({2}, {7, 1}));
  const Tensor raw = data::read_idx((dir / "img.gz").string());
  CHECK(raw.shape() == Shape{2, 2, 3});
  CHECK(raw.to_vector<float>()[11] == 220.f);
  auto ds = data::load_mnist((dir / "img.gz").string(), (dir / "lab").string());
  CHECK(ds->size() == 2);
  CHECK(ds->inputs().shape() == Shape{2, 1, 2, 3});
  CHECK(ds->inputs().to_vector<float>()[1] == doctest::Approx(20.0 / 255));
  CHECK(ds->targets().to_vector<std::int64_t>() == std::vector<std::int64_t>{7, 1});

  std::string bad = idx_bytes({2}, {1, 2});
  bad[2] = 0x0d;  // floats, not bytes
  write_plain((dir / "type").string(), bad);
  CHECK(contains(error_of([&] { data::read_idx((dir / "type").string()); }), "only unsigned bytes (0x08) are supported"));
  bad[0] = 1;
  write_plain((dir / "magic").string(), bad);
  CHECK(contains(error_of([&] { data::read_idx((dir / "magic").string()); }), "wrong magic number"));
  write_plain((dir / "short").string(), idx_bytes({2, 2, 3}, {1, 2, 3}));
  CHECK(contains(error_of([&] { data::read_idx((dir / "short").string()); }), "should hold 12 values for shape [2, 2, 3] but has 3 (truncated)"));
  write_plain((dir / "lab3").string(), idx_bytes({3}, {1, 2, 3}));
  CHECK(contains(error_of([&] { data::load_mnist((dir / "img.gz").string(), (dir / "lab3").string()); }),
                 "2 images but 3 labels"));
  CHECK(contains(error_of([&] { data::read_idx((dir / "missing").string()); }), "cannot open"));
  fs::remove_all(dir);
}

TEST_CASE("CSV reader") {
  const fs::path dir = scratch("csv");
  std::ofstream((dir / "ok.csv").string()) << "a,b,c\n1,2,3\n4.5, -6 ,7e1\n\n";
  const Tensor t = data::read_csv((dir / "ok.csv").string(), true);
  CHECK(t.shape() == Shape{2, 3});
  check_values(t, {1, 2, 3, 4.5, -6, 70});
  std::ofstream((dir / "ragged.csv").string()) << "1,2\n3\n";
  CHECK(contains(error_of([&] { data::read_csv((dir / "ragged.csv").string()); }), "ragged.csv:2: 1 columns, but earlier rows have 2"));
  std::ofstream((dir / "text.csv").string()) << "1,x\n";
  CHECK(contains(error_of([&] { data::read_csv((dir / "text.csv").string()); }), "text.csv:1: 'x' is not a number"));
  fs::remove_all(dir);
}

TEST_CASE("datasets, random_split and the DataLoader") {
  auto ds = std::make_shared<data::TensorDataset>(arange(10.0).reshape({10, 1}), arange(10.0, int64));
  CHECK(ds->get(3).input.item() == 3);
  auto parts = data::random_split(ds, {7, 3}, 42);
  auto again = data::random_split(ds, {7, 3}, 42);
  CHECK(parts[0]->size() == 7);
  std::vector<std::int64_t> seen;
  for (auto& p : parts)
    for (std::int64_t i = 0; i < p->size(); ++i) seen.push_back(static_cast<std::int64_t>(p->get(i).input.item()));
  std::sort(seen.begin(), seen.end());
  CHECK(seen == std::vector<std::int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
  CHECK(parts[1]->get(0).input.item() == again[1]->get(0).input.item());
  CHECK(contains(error_of([&] { data::random_split(ds, {5, 3}, 1); }), "lengths add up to 8 but the dataset has 10"));

  data::DataLoader plain(ds, {4, false, 0, false});
  CHECK(plain.num_batches() == 3);
  std::vector<float> order;
  for (const data::Example& b : plain) {
    CHECK(b.target.dtype() == int64);
    for (float v : b.input.to_vector<float>()) order.push_back(v);
  }
  CHECK(order == std::vector<float>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
  data::DataLoader dropping(ds, {4, false, 0, true});
  CHECK(dropping.num_batches() == 2);

  data::DataLoader shuffled(ds, {10, true, 7, false});
  auto epoch_order = [&](std::int64_t e) {
    shuffled.set_epoch(e);
    return shuffled.batch(0).input.to_vector<float>();
  };
  const auto e0 = epoch_order(0), e1 = epoch_order(1);
  CHECK(e0 != e1);
  CHECK(epoch_order(0) == e0);  // an epoch's order depends on seed and epoch only
  shuffled.set_epoch(0);
  std::vector<std::vector<float>> loops;
  for (int k = 0; k < 2; ++k)
    for (const data::Example& b : shuffled) loops.push_back(b.input.to_vector<float>());
  CHECK(loops[0] == e0);
  CHECK(loops[1] == e1);  // consecutive loops move on to the next epoch
  auto sorted = e0;
  std::sort(sorted.begin(), sorted.end());
  CHECK(sorted == std::vector<float>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
}

TEST_CASE("EarlyStopping fires at the right epoch on a scripted validation curve") {
  data::EarlyStopping stop(2, 0.02);
  const std::vector<double> curve{1.0, 0.8, 0.79, 0.85, 0.9, 0.95};
  std::int64_t fired = 0;
  for (std::size_t i = 0; i < curve.size() && !fired; ++i)
    if (stop.step(curve[i])) fired = static_cast<std::int64_t>(i) + 1;
  CHECK(fired == 4);  // 0.79 is not 0.02 better than 0.8: bad epochs 3 and 4
  CHECK(stop.best_epoch() == 2);
  CHECK(stop.best() == 0.8);
  data::EarlyStopping up(1, 0.0, data::EarlyStopping::Mode::Max);
  CHECK_FALSE(up.step(0.5));
  CHECK_FALSE(up.step(0.6));
  CHECK(up.step(0.6));
}

namespace {

struct Problem {
  std::shared_ptr<data::TensorDataset> train, val;
};

Problem blobs() {
  manual_seed(12);
  const Tensor x = randn({96, 2});
  const Tensor y = gt(x.select(1, 0) + x.select(1, 1) * 0.5, 0.0).to(int64);
  auto all = std::make_shared<data::TensorDataset>(x, y);
  return {std::make_shared<data::TensorDataset>(x.narrow(0, 0, 64), y.narrow(0, 0, 64)),
          std::make_shared<data::TensorDataset>(x.narrow(0, 64, 32), y.narrow(0, 64, 32))};
}

std::shared_ptr<nn::Sequential> small_net() {
  return std::make_shared<nn::Sequential>(std::initializer_list<std::shared_ptr<nn::Module>>{
      std::make_shared<nn::Linear>(2, 8), std::make_shared<nn::Tanh>(), std::make_shared<nn::Dropout>(0.2),
      std::make_shared<nn::Linear>(8, 2)});
}

data::LossFn ce() {
  return [](const Tensor& out, const Tensor& y) { return cross_entropy(out, y); };
}

}  // namespace

TEST_CASE("fit: learns, stops early on a scripted validation curve, restores the best weights") {
  const Problem p = blobs();
  manual_seed(1);
  auto net = small_net();
  optim::AdamOptions ao;
  ao.lr = 0.05;
  optim::Adam opt(net->parameters(), ao);
  // Validation runs without grad mode: there the loss follows a script.
  const std::vector<double> script{0.9, 0.7, 0.6, 0.65, 0.66, 0.5};
  std::size_t call = 0;
  std::int64_t val_batches = 0;
  data::LossFn scripted = [&](const Tensor& out, const Tensor& y) {
    if (GradMode::is_enabled()) return cross_entropy(out, y);
    ++val_batches;
    return scalar_tensor(script[call++]);
  };
  std::ostringstream log;
  data::FitOptions fo;
  fo.max_epochs = 6;
  fo.patience = 2;
  fo.progress = data::Progress::Lines;
  fo.log = &log;
  std::vector<std::int64_t> callback_epochs;
  data::Trainer trainer(*net, opt, scripted, fo);
  trainer.add_callback([&](const data::EpochLog& l, data::Trainer&) { callback_epochs.push_back(l.epoch); });
  data::DataLoader train(p.train, {16, true, 3, false});
  data::DataLoader val(p.val, {32, false, 0, false});
  const data::FitResult r = trainer.fit(train, &val);
  CHECK(r.stopped_early);
  CHECK(r.history.size() == 5);  // epochs 4 and 5 are worse than epoch 3
  CHECK(r.best_epoch == 3);
  CHECK(r.best_metric == doctest::Approx(0.6));
  CHECK(callback_epochs == std::vector<std::int64_t>{1, 2, 3, 4, 5});
  CHECK(r.history[0].train_loss > r.history[4].train_loss);  // it does learn
  // Output without a terminal: one plain line per epoch, no carriage returns.
  const std::string out = log.str();
  CHECK(out.find('\r') == std::string::npos);
  CHECK(contains(out, "epoch 1/6  train_loss "));
  CHECK(contains(out, "val_loss 0.6000"));
  CHECK(std::count(out.begin(), out.end(), '\n') == 5);
}

TEST_CASE("fit: checkpoints, metrics and plot, a resumed run matches an uninterrupted one exactly") {
  const Problem p = blobs();
  const fs::path straight_dir = scratch("fit_straight"), resumed_dir = scratch("fit_resumed");
  auto run = [&](const fs::path& dir, std::int64_t epochs, bool resume, std::uint64_t init_seed) {
    manual_seed(init_seed);
    auto net = small_net();
    optim::SGDOptions so;
    so.lr = 0.1;
    so.momentum = 0.9;
    optim::SGD opt(net->parameters(), so);
    optim::StepLR sched(opt, 2, 0.5);
    data::FitOptions fo;
    fo.max_epochs = epochs;
    fo.out_dir = dir.string();
    fo.resume = resume;
    fo.restore_best_weights = false;
    fo.progress = data::Progress::Off;
    data::Trainer trainer(*net, opt, ce(), fo);
    trainer.set_scheduler(&sched);
    data::DataLoader train(p.train, {16, true, 5, false});
    data::DataLoader val(p.val, {32, false, 0, false});
    const data::FitResult r = trainer.fit(train, &val);
    return std::make_pair(net, r);
  };
  auto [straight, rs] = run(straight_dir, 5, false, 1);
  run(resumed_dir, 2, false, 1);                                  // interrupted after epoch 2
  auto [resumed, rr] = run(resumed_dir, 5, true, 99);             // new process, other init: resumes
  CHECK(rr.resumed_from == 2);
  CHECK(rr.history.size() == 5);
  const auto a = straight->parameters(), b = resumed->parameters();
  for (std::size_t i = 0; i < a.size(); ++i) CHECK(a[i].to_vector<float>() == b[i].to_vector<float>());
  CHECK(rr.history[4].train_loss == rs.history[4].train_loss);
  CHECK(rr.history[4].lr == rs.history[4].lr);
  // The metrics file has a line per epoch, and the picture has both curves.
  std::ifstream metrics((straight_dir / "metrics.jsonl").string());
  std::string line;
  int lines = 0;
  while (std::getline(metrics, line)) {
    ++lines;
    CHECK(contains(line, "\"val_accuracy\": "));
  }
  CHECK(lines == 5);
  std::ifstream svg((straight_dir / "loss.svg").string());
  const std::string pic((std::istreambuf_iterator<char>(svg)), {});
  CHECK(std::count(pic.begin(), pic.end(), 'p') > 0);
  CHECK(contains(pic, "training loss"));
  CHECK(contains(pic, "validation loss"));
  CHECK(std::count(pic.begin(), pic.end(), '\n') > 10);
  CHECK(fs::exists(straight_dir / "best.safetensors"));
  fs::remove_all(straight_dir);
  fs::remove_all(resumed_dir);
}

TEST_CASE("DataLoader shards: disjoint, covering, padded when the size does not divide") {
  auto ds = std::make_shared<data::TensorDataset>(arange(5.0).reshape({5, 1}), arange(5.0, int64));
  std::vector<float> seen;
  for (std::int64_t r = 0; r < 2; ++r) {
    data::DataLoader shard(ds, {10, true, 3, false, 2, r});
    CHECK(shard.num_examples() == 3);
    for (float v : shard.batch(0).input.to_vector<float>()) seen.push_back(v);
  }
  CHECK(seen.size() == 6);  // 5 examples, one repeated to even the shards
  std::sort(seen.begin(), seen.end());
  CHECK(std::unique(seen.begin(), seen.end()) - seen.begin() == 5);
  data::DataLoader many(ds, {4, false, 0, false, 12, 11});  // more replicas than examples
  CHECK(many.num_examples() == 1);
  CHECK(many.batch(0).input.numel() == 1);
  CHECK(contains(error_of([&] { data::DataLoader(ds, {4, false, 0, false, 2, 2}); }), "rank 2 is not in [0, num_replicas = 2)"));
}

TEST_CASE("resume checks the checkpoint's values, names the file and key, and leaves the model as it was") {
  const Problem p = blobs();
  const fs::path dir = scratch("fit_validate");
  const std::string ckpt = (dir / "checkpoint.safetensors").string();
  auto run = [&](std::int64_t epochs, bool resume, std::uint64_t seed) {
    manual_seed(3);
    auto net = small_net();
    optim::Adam opt(net->parameters(), {0.01});
    optim::StepLR sched(opt, 2, 0.5);
    data::FitOptions fo;
    fo.max_epochs = epochs;
    fo.out_dir = dir.string();
    fo.resume = resume;
    fo.seed = seed;
    fo.progress = data::Progress::Off;
    data::Trainer trainer(*net, opt, ce(), fo);
    trainer.set_scheduler(&sched);
    data::DataLoader train(p.train, {16, true, seed, false});
    data::DataLoader val(p.val, {32, false, 0, false});
    const auto before = net->parameters()[0].to_vector<float>();
    const std::string err = error_of([&] { trainer.fit(train, &val); });
    if (!err.empty()) CHECK(net->parameters()[0].to_vector<float>() == before);  // a failed resume changes nothing
    return err;
  };
  REQUIRE(run(2, false, 5).empty());
  nn::Metadata meta;
  const nn::StateDict good = nn::load_safetensors(ckpt, &meta);
  auto tampered = [&](const std::function<void(nn::StateDict&, nn::Metadata&)>& edit, std::uint64_t seed = 5) {
    nn::StateDict d = good;
    nn::Metadata m = meta;
    edit(d, m);
    nn::save_safetensors(ckpt, d, m);
    return run(4, true, seed);
  };
  CHECK(tampered([](nn::StateDict&, nn::Metadata&) {}).empty());  // untouched, it resumes
  const std::string where = "resume: " + ckpt + ": key '";
  CHECK(contains(tampered([](nn::StateDict&, nn::Metadata& m) { m["epoch"] = "-1"; }), where + "epoch' must be a non-negative integer, got '-1'"));
  CHECK(contains(tampered([](nn::StateDict&, nn::Metadata& m) { m["epoch"] = "2x"; }), where + "epoch' must be a non-negative integer"));
  CHECK(contains(tampered([](nn::StateDict&, nn::Metadata& m) { m["epoch"] = "3"; }), where + "history' has 2 epochs but key 'epoch' says 3"));
  CHECK(contains(tampered([](nn::StateDict&, nn::Metadata& m) { m["epoch"] = "9"; }), where + "epoch' is 9, outside 1..4"));
  CHECK(contains(tampered([](nn::StateDict&, nn::Metadata& m) { m["format"] = "xgrad-checkpoint-0"; }), where + "format' is 'xgrad-checkpoint-0'"));
  CHECK(contains(tampered([](nn::StateDict&, nn::Metadata& m) { m["early_stopping"] = R"({"best":1,"best_epoch":7,"bad_epochs":0,"epochs":2})"; }),
                 where + "early_stopping' is inconsistent with epoch 2"));
  CHECK(contains(tampered([](nn::StateDict& d, nn::Metadata&) { d["optimizer.param_groups.0.lr"] = scalar_tensor(NAN, float64); }),
                 "Adam: 'param_groups.0.lr' must be finite, got nan"));
  CHECK(contains(tampered([](nn::StateDict& d, nn::Metadata&) { d["optimizer.param_groups.0.lr"] = scalar_tensor(-1, float64); }),
                 "Adam: invalid learning rate: -1"));
  CHECK(contains(tampered([](nn::StateDict& d, nn::Metadata&) { d.erase("optimizer.state.0.exp_avg_sq"); }),
                 "Adam: the state dict has 'state.0.step' but no 'state.0.exp_avg_sq': the optimizer state is incomplete"));
  CHECK(contains(tampered([](nn::StateDict& d, nn::Metadata&) { d["optimizer.state.1.step"] = scalar_tensor(-3, float64); }),
                 "Adam: 'state.1.step' must be a non-negative whole number, got -3"));
  CHECK(contains(tampered([](nn::StateDict& d, nn::Metadata&) { d["scheduler.last_epoch"] = scalar_tensor(7, float64); }),
                 where + "scheduler.last_epoch' is 7 but the checkpoint is after epoch 2"));
  CHECK(contains(tampered([](nn::StateDict& d, nn::Metadata&) { d["scheduler.last_epoch"] = scalar_tensor(INFINITY, float64); }),
                 "LRScheduler: 'last_epoch' must be a non-negative whole number, got inf"));
  CHECK(contains(tampered([](nn::StateDict&, nn::Metadata&) {}, 6),
                 where + "seed': the checkpoint was made with seed 5 but this run uses seed 6"));
  fs::remove_all(dir);
}

TEST_CASE("IDX reader: corrupt gzip, directories and overflowing headers are clean errors") {
  const fs::path dir = scratch("idx_bad");
  std::vector<unsigned char> pixels(2 * 4 * 4, 7);
  write_gzip((dir / "ok.gz").string(), idx_bytes({2, 4, 4}, pixels));
  std::string gz;
  {
    std::ifstream in((dir / "ok.gz").string(), std::ios::binary);
    gz.assign(std::istreambuf_iterator<char>(in), {});
  }
  gz[gz.size() - 8] = static_cast<char>(gz[gz.size() - 8] ^ 0x01);  // one flipped CRC byte
  write_plain((dir / "crc.gz").string(), gz);
  const std::string crc = error_of([&] { data::read_idx((dir / "crc.gz").string()); });
  CHECK(contains(crc, "could not be read (incorrect data check): the file is truncated or corrupt"));
  const std::string isdir = error_of([&] { data::read_idx(dir.string()); });
  CHECK(contains(isdir, "could not be read (Is a directory)"));
  for (const std::string& e : {crc, isdir})
    for (char c : e) CHECK((c >= 0x20 && c < 0x7f));  // clean text, no bytes from freed memory
  // Dims whose product overflows (4 × 2^21... wraps to 0 in 64 bits): refused before anything is trusted.
  write_plain((dir / "wrap").string(), idx_bytes({1u << 16, 1u << 16, 1u << 16, 1u << 16}, {}));
  CHECK(contains(error_of([&] { data::read_idx((dir / "wrap").string()); }), "read_idx: shape [65536, 65536, 65536, 65536] is too large"));
  write_plain((dir / "big").string(), idx_bytes({0xffffffffu, 0xffffffffu, 0xffffffffu}, {}));
  CHECK(contains(error_of([&] { data::read_idx((dir / "big").string()); }), "storage size calculation overflowed"));
  fs::remove_all(dir);
}

TEST_CASE("read_csv quotes a binary file's bytes escaped, fit refuses an empty training loader") {
  const fs::path dir = scratch("csv_bin");
  std::ofstream((dir / "bin.csv").string(), std::ios::binary) << std::string("1,\x01\x7f\xff", 5) << std::string("\0zz", 3) << "\n";
  const std::string e = error_of([&] { data::read_csv((dir / "bin.csv").string()); });
  CHECK(contains(e, "bin.csv:1: '\\x01\\x7f\\xff\\x00zz' is not a number"));
  for (char c : e) CHECK((c >= 0x20 && c < 0x7f));
  fs::remove_all(dir);

  const Problem p = blobs();
  auto net = small_net();
  optim::SGD opt(net->parameters(), {0.1});
  data::FitOptions fo;
  fo.progress = data::Progress::Off;
  fo.monitor = "train_loss";
  data::Trainer trainer(*net, opt, ce(), fo);
  auto none = data::random_split(p.train, {0, p.train->size()}, 0)[0];
  data::DataLoader empty_loader(none, {16, true, 0, false});
  CHECK(contains(error_of([&] { trainer.fit(empty_loader, nullptr); }), "fit: the training loader has no batches (0 examples)"));
}

TEST_CASE("a NaN loss stops fit with a message that mentions a checkpoint only when one exists") {
  const Problem p = blobs();
  int calls = 0;
  auto nan_after = [&](int n) {
    return [&calls, n](const Tensor& out, const Tensor& y) {
      const Tensor l = cross_entropy(out, y);
      return ++calls > n ? l * NAN : l;
    };
  };
  auto fit = [&](const fs::path& dir, int n) {
    calls = 0;
    auto net = small_net();
    optim::SGD opt(net->parameters(), {0.1});
    data::FitOptions fo;
    fo.max_epochs = 3;
    fo.out_dir = dir.string();
    fo.progress = data::Progress::Off;
    fo.monitor = "train_loss";
    data::Trainer trainer(*net, opt, nan_after(n), fo);
    data::DataLoader train(p.train, {16, true, 5, false});
    return error_of([&] { trainer.fit(train, nullptr); });
  };
  const std::string first = fit("", 2);  // no files written: nothing to mention
  CHECK(contains(first, "fit: the loss became nan at epoch 1, batch 3; lower the learning rate or clip gradients"));
  CHECK_FALSE(contains(first, "checkpoint"));
  const fs::path dir = scratch("fit_nan");
  data::DataLoader probe(p.train, {16, true, 5, false});
  const std::string later = fit(dir, static_cast<int>(probe.num_batches()) + 1);  // epoch 1 finished and saved
  CHECK(contains(later, "at epoch 2, batch 2"));
  CHECK(contains(later, "(the last checkpoint, " + (dir / "checkpoint.safetensors").string() + ", is intact)"));
  fs::remove_all(dir);
}

TEST_CASE("random_shift_flip: every image is its own zero-filled shift, maybe mirrored, drawn from the seed alone") {
  const std::int64_t n = 64, c = 2, h = 5, w = 4, pad = 2;
  const Tensor x = arange(static_cast<double>(n * c * h * w), float32).reshape({n, c, h, w}) + 1.0;  // no zeros inside
  const Tensor y = data::random_shift_flip(x, pad, true, 42);
  CHECK(y.shape() == x.shape());
  CHECK(data::random_shift_flip(x, pad, true, 42).to_vector<float>() == y.to_vector<float>());
  CHECK(data::random_shift_flip(x, pad, true, 43).to_vector<float>() != y.to_vector<float>());
  CHECK(data::random_shift_flip(x, 0, false, 42).to_vector<float>() == x.to_vector<float>());
  const std::vector<float> in = x.to_vector<float>(), out = y.to_vector<float>();
  int mirrored = 0, shifted = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    // The one (dy, dx, mirror) that reproduces image i exactly.
    int matches = 0;
    for (std::int64_t dy = -pad; dy <= pad; ++dy)
      for (std::int64_t dx = -pad; dx <= pad; ++dx)
        for (bool mirror : {false, true}) {
          bool same = true;
          for (std::int64_t ch = 0; ch < c && same; ++ch)
            for (std::int64_t yy = 0; yy < h && same; ++yy)
              for (std::int64_t xx = 0; xx < w && same; ++xx) {
                const std::int64_t col = mirror ? w - 1 - xx : xx, sy = yy + dy, sx = col + dx;
                const float want = sy >= 0 && sy < h && sx >= 0 && sx < w ? in[static_cast<std::size_t>(((i * c + ch) * h + sy) * w + sx)] : 0.f;
                same = out[static_cast<std::size_t>(((i * c + ch) * h + yy) * w + xx)] == want;
              }
          if (same) {
            ++matches;
            mirrored += mirror;
            shifted += dy != 0 || dx != 0;
          }
        }
    CAPTURE(i);
    CHECK(matches == 1);
  }
  // 64 fair coins and 25 shifts: both kinds show up.
  CHECK(mirrored > 10);
  CHECK(mirrored < 54);
  CHECK(shifted > 40);
  CHECK(contains(error_of([&] { data::random_shift_flip(ones({3, 4}), 1, true, 0); }), "random_shift_flip"));
  CHECK(contains(error_of([&] { data::random_shift_flip(x, -1, true, 0); }), "padding -1"));
  CHECK(contains(error_of([&] { data::shift_and_flip(-2); }), "shift_and_flip"));
}

TEST_CASE("DataLoader augment: the same batch for the same seed, epoch and index, another for another epoch, targets untouched") {
  const Tensor x = randn({40, 1, 6, 6}), t = arange(40.0, int64);
  auto ds = std::make_shared<data::TensorDataset>(x, t);
  data::LoaderOptions o{8, true, 7, false};
  o.augment = data::shift_and_flip(2);
  data::DataLoader a(ds, o), b(ds, o);
  a.set_epoch(3);
  b.set_epoch(3);
  const data::Example ea = a.batch(2), eb = b.batch(2);
  CHECK(ea.input.to_vector<float>() == eb.input.to_vector<float>());
  CHECK(ea.target.to_vector<std::int64_t>() == eb.target.to_vector<std::int64_t>());
  b.set_epoch(4);
  CHECK(b.batch(2).input.to_vector<float>() != ea.input.to_vector<float>());
  // Iterating epoch 3 gives the batches batch() gives for it.
  data::DataLoader c(ds, o);
  c.set_epoch(3);
  std::int64_t k = 0;
  for (const data::Example& e : c) {
    if (k == 2) CHECK(e.input.to_vector<float>() == ea.input.to_vector<float>());
    ++k;
  }
  CHECK(k == 5);
}
