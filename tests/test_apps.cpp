// The programs, run as a user runs them: xgrad-train's argument checks, its
// answer to Ctrl-C (a real SIGINT), --validation 0, a malformed test set, and
// xgrad-gradcheck's --filter. Data is a small synthetic Fashion-MNIST-shaped
// set written here, so these tests do not need the dataset package.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "helpers.hpp"

using test::contains;
namespace fs = std::filesystem;

namespace {

struct Run {
  int exit_code = -1;
  std::string output;  // stdout and stderr
};

/// Runs `exe args...`; when `interrupt_on` is non-empty, sends `signals`
/// SIGINTs once that text has appeared in the output.
Run run(const std::string& exe, const std::vector<std::string>& args, const std::string& interrupt_on = "",
        int signals = 1) {
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::dup2(fds[1], 1);
    ::dup2(fds[1], 2);
    ::close(fds[0]);
    std::vector<char*> argv{const_cast<char*>(exe.c_str())};
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(exe.c_str(), argv.data());
    ::_exit(127);
  }
  ::close(fds[1]);
  Run r;
  bool sent = interrupt_on.empty();
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fds[0], buf, sizeof buf)) > 0) {
    r.output.append(buf, static_cast<std::size_t>(n));
    if (!sent && contains(r.output, interrupt_on)) {
      sent = true;  // the handler is installed before the data is read; the Trainer looks after each batch
      for (int i = 0; i < signals; ++i) ::kill(pid, SIGINT);
    }
  }
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

void write_idx_gz(const std::string& path, const std::vector<std::uint32_t>& dims, const std::vector<unsigned char>& v) {
  std::string s{'\0', '\0', '\x08', static_cast<char>(dims.size())};
  for (std::uint32_t d : dims)
    for (int k = 3; k >= 0; --k) s += static_cast<char>((d >> (8 * k)) & 0xff);
  s.append(v.begin(), v.end());
  gzFile f = gzopen(path.c_str(), "wb1");
  gzwrite(f, s.data(), static_cast<unsigned>(s.size()));
  gzclose(f);
}

/// Four IDX files shaped like Fashion-MNIST: n train and m test images whose
/// label is mostly their brightest quarter (learnable), or test images of `test_dims`.
fs::path fake_fashion_mnist(const std::string& name, std::uint32_t n, std::uint32_t m,
                            std::vector<std::uint32_t> test_dims = {}) {
  const fs::path dir = fs::temp_directory_path() / ("xgrad_test_" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::mt19937 gen(1);
  auto make = [&](std::uint32_t count, std::vector<unsigned char>& img, std::vector<unsigned char>& lab) {
    for (std::uint32_t i = 0; i < count; ++i) {
      const int label = static_cast<int>(gen() % 4);
      // A quarter of the labels are noise, so the loss stays well above 0 (as on real data).
      lab.push_back(static_cast<unsigned char>(gen() % 4 == 0 ? gen() % 4 : static_cast<unsigned>(label)));
      for (int p = 0; p < 784; ++p) img.push_back(static_cast<unsigned char>((p / 196 == label ? 128 : 0) + gen() % 100));
    }
  };
  std::vector<unsigned char> ti, tl, vi, vl;
  make(n, ti, tl);
  make(m, vi, vl);
  write_idx_gz((dir / "train-images-idx3-ubyte.gz").string(), {n, 28, 28}, ti);
  write_idx_gz((dir / "train-labels-idx1-ubyte.gz").string(), {n}, tl);
  write_idx_gz((dir / "t10k-images-idx3-ubyte.gz").string(), test_dims.empty() ? std::vector<std::uint32_t>{m, 28, 28} : test_dims, vi);
  write_idx_gz((dir / "t10k-labels-idx1-ubyte.gz").string(), {m}, vl);
  return dir;
}

const std::string train_exe = XGRAD_TRAIN_EXE;

}  // namespace

TEST_CASE("xgrad-train: every bad number is refused with a message saying what is allowed") {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--lr", "-1"}, "xgrad-train: --lr must be a positive number, got '-1'"},
      {{"--lr", "0"}, "xgrad-train: --lr must be a positive number, got '0'"},
      {{"--lr", "nan"}, "xgrad-train: --lr must be a positive number, got 'nan'"},
      {{"--limit", "-5"}, "xgrad-train: --limit must not be negative, got -5"},
      {{"--epochs", "99999999999999999999"}, "xgrad-train: --epochs must be at most 1000000, got 99999999999999999999"},
      {{"--epochs", "2.5"}, "xgrad-train: --epochs must be a whole number, got '2.5'"},
      {{"--seed", "-1"}, "xgrad-train: --seed must not be negative, got -1"},
      {{"--batch-size", "0"}, "xgrad-train: --batch-size must be at least 1, got 0"},
      {{"--validation", "-1"}, "xgrad-train: --validation must not be negative, got -1"},
      {{"--threads", "0"}, "xgrad-train: --threads must be at least 1, got 0"},
  };
  for (const auto& [args, message] : cases) {
    CAPTURE(message);
    const Run r = run(train_exe, args);
    CHECK(r.exit_code == 2);
    CHECK(contains(r.output, message));
    CHECK_FALSE(contains(r.output, "xgrad-train: xgrad-train:"));
    CHECK(r.output.size() < 200);  // one line, never a 310-digit bound
  }
  const Run help = run(train_exe, {"--help"});
  CHECK(help.exit_code == 0);
  for (const char* d : {"--epochs INT=20", "--batch-size INT=128", "--lr FLOAT=1e-3 for mlp and resnet, 3e-3 for cnn",
                        "--patience INT=3", "--seed INT=0", "--threads INT=1", "--validation INT=5000", "--limit INT=0",
                        "--resume=off", "--model TEXT:{mlp,cnn,resnet}=mlp", "--schedule TEXT:{cosine,none}=cosine", "--out TEXT=runs/fashion-mnist"})
    CHECK_MESSAGE(contains(help.output, d), d);
}

TEST_CASE("xgrad-train: --validation bigger than the data, --validation 0, a test set of the wrong shape") {
  const fs::path data = fake_fashion_mnist("apps_small", 300, 50);
  const fs::path out = fs::temp_directory_path() / "xgrad_test_apps_out";
  fs::remove_all(out);
  const Run big = run(train_exe, {"--data", data.string(), "--validation", "300", "--out", out.string()});
  CHECK(big.exit_code == 2);
  CHECK(contains(big.output, "xgrad-train: --validation 300 must be smaller than the 300 training examples"));
  const Run none = run(train_exe, {"--data", data.string(), "--validation", "0", "--epochs", "2", "--out", out.string()});
  CHECK(none.exit_code == 0);
  CHECK(contains(none.output, "no validation set: the last epoch's weights are kept"));
  CHECK_FALSE(contains(none.output, "weights restored"));
  CHECK_FALSE(contains(none.output, "best weights:"));
  // The ResNet-20 trains end to end on the same data (one short epoch).
  const Run resnet = run(train_exe, {"--data", data.string(), "--model", "resnet", "--validation", "50", "--epochs", "1",
                                     "--batch-size", "50", "--out", out.string()});
  CHECK(resnet.exit_code == 0);
  CHECK(contains(resnet.output, "(layer3): Sequential"));
  CHECK(contains(resnet.output, "test accuracy:"));
  // Right element count (50·784), wrong shape: an error, not a silent reshape.
  const fs::path odd = fake_fashion_mnist("apps_odd", 300, 50, {50, 14, 56});
  const Run bad = run(train_exe, {"--data", odd.string(), "--validation", "50", "--out", out.string()});
  CHECK(bad.exit_code == 1);
  CHECK(contains(bad.output, "load_mnist: test images [50, 1, 14, 56] are not shaped like the training images [300, 1, 28, 28]"));
  fs::remove_all(data);
  fs::remove_all(odd);
  fs::remove_all(out);
}

TEST_CASE("xgrad-train: Ctrl-C finishes the batch, writes a checkpoint, says how to resume, resuming matches an uninterrupted run") {
  const fs::path data = fake_fashion_mnist("apps_sigint", 6000, 100);
  const fs::path out = fs::temp_directory_path() / "xgrad_test_apps_sigint_out", straight = out.string() + "_straight";
  fs::remove_all(out);
  fs::remove_all(straight);
  const std::vector<std::string> args = {"--data", data.string(), "--validation", "500", "--epochs", "2", "--batch-size", "32"};
  auto with = [&](const fs::path& dir, std::vector<std::string> extra) {
    std::vector<std::string> a = args;
    a.push_back("--out");
    a.push_back(dir.string());
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  };
  const Run stopped = run(train_exe, with(out, {}), "data:");
  CAPTURE(stopped.output);
  CHECK(stopped.exit_code == 130);
  CHECK(contains(stopped.output, "interrupted after epoch 1, batch 1:"));
  CHECK(contains(stopped.output, "checkpoint written to " + (out / "checkpoint.safetensors").string()));
  CHECK(contains(stopped.output, "resume with: " + train_exe));
  CHECK(contains(stopped.output, "--resume"));
  CHECK(fs::exists(out / "checkpoint.safetensors"));
  // Resuming with another (global) batch size would continue on different batches: refused.
  std::vector<std::string> other = with(out, {"--resume"});
  other[7] = "16";  // --batch-size
  const Run mismatch = run(train_exe, other);
  CHECK(mismatch.exit_code == 1);
  CHECK(contains(mismatch.output, "key 'global_batch' is 32 (1 process(es) × 32) but this run's is 16 (1 × 16); resume "
                                  "with the same global batch (--batch-size 32 on 1 process(es))"));
  const Run resumed = run(train_exe, with(out, {"--resume"}));
  CHECK(resumed.exit_code == 0);
  const Run whole = run(train_exe, with(straight, {}));
  CHECK(whole.exit_code == 0);
  auto accuracy = [](const std::string& s) { return s.substr(s.find("test accuracy:"), 40); };
  CHECK(accuracy(resumed.output) == accuracy(whole.output));
  // A second Ctrl-C stops at once.
  fs::remove_all(out);
  const Run twice = run(train_exe, with(out, {}), "data:", 2);
  CHECK(twice.exit_code == 130);
  CHECK_FALSE(contains(twice.output, "test accuracy"));
  fs::remove_all(data);
  fs::remove_all(out);
  fs::remove_all(straight);
}

#ifdef XGRAD_MPIEXEC
namespace {
/// The validation loss of the last epoch in <out>/metrics.jsonl.
double last_val_loss(const fs::path& out) {
  std::ifstream in(out / "metrics.jsonl");
  std::string line, last;
  while (std::getline(in, line))
    if (!line.empty()) last = line;
  const std::size_t at = last.find("\"val_loss\":");
  REQUIRE(at != std::string::npos);
  return std::stod(last.substr(at + 11));
}
}  // namespace

TEST_CASE("xgrad-train --distributed: a run checkpointed on 2 processes resumes on 1, and one on 1 resumes on 2") {
  // 2048 training examples: 32 global batches of 64 (32 per process on two).
  const fs::path data = fake_fashion_mnist("apps_elastic", 2304, 100);
  const fs::path base = fs::temp_directory_path() / "xgrad_test_apps_elastic_out";
  fs::remove_all(base);
  auto train = [&](int processes, int batch, int epochs, const std::string& out, bool resume) {
    std::vector<std::string> a = {"--allow-run-as-root", "--oversubscribe", "-np", std::to_string(processes), train_exe,
                                  "--distributed", "--data", data.string(), "--validation", "256", "--threads", "1",
                                  "--schedule", "none", "--batch-size", std::to_string(batch), "--epochs",
                                  std::to_string(epochs), "--out", (base / out).string()};
    if (resume) a.push_back("--resume");
    const Run r = run(XGRAD_MPIEXEC, a);
    CAPTURE(r.output);
    CHECK(r.exit_code == 0);
    return r;
  };
  train(2, 32, 2, "straight_2", false);
  train(1, 64, 2, "straight_1", false);
  train(2, 32, 1, "two_then_one", false);
  train(1, 64, 2, "two_then_one", true);
  train(1, 64, 1, "one_then_two", false);
  const Run resumed_on_two = train(2, 32, 2, "one_then_two", true);
  CHECK(contains(resumed_on_two.output, "resumed after epoch 1"));
  // The same steps on the same examples: equal to float rounding (the mean
  // over two half-batches sums in another order than over one batch).
  const double straight = last_val_loss(base / "straight_2");
  MESSAGE("validation loss after 2 epochs: straight on 2 processes ", straight, ", on 1 ", last_val_loss(base / "straight_1"),
          ", 2 then 1 ", last_val_loss(base / "two_then_one"), ", 1 then 2 ", last_val_loss(base / "one_then_two"));
  CHECK(last_val_loss(base / "straight_1") == doctest::Approx(straight).epsilon(1e-5));
  CHECK(last_val_loss(base / "two_then_one") == doctest::Approx(straight).epsilon(1e-5));
  CHECK(last_val_loss(base / "one_then_two") == doctest::Approx(straight).epsilon(1e-5));
  // Another global batch would train on other batches: refused, saying what would match.
  const Run other = run(XGRAD_MPIEXEC, {"--allow-run-as-root", "-np", "1", train_exe, "--distributed", "--data",
                                        data.string(), "--validation", "256", "--threads", "1", "--schedule", "none",
                                        "--batch-size", "32", "--epochs", "2", "--out", (base / "one_then_two").string(),
                                        "--resume"});
  CHECK(other.exit_code != 0);
  CHECK(contains(other.output, "key 'global_batch' is 64 (2 process(es) × 32) but this run's is 32 (1 × 32); resume "
                               "with the same global batch (--batch-size 64 on 1 process(es))"));
  fs::remove_all(data);
  fs::remove_all(base);
}
#endif

TEST_CASE("xgrad-gradcheck --filter that matches nothing fails and says so") {
  const Run r = run(XGRAD_GRADCHECK_EXE, {"--filter", "no_such_op", "--fast"});
  CHECK(r.exit_code == 2);
  CHECK(contains(r.output, "xgrad-gradcheck: --filter 'no_such_op' matches none of the"));
  const Run ok = run(XGRAD_GRADCHECK_EXE, {"--filter", "matmul dot", "--fast"});
  CHECK(ok.exit_code == 0);
  CHECK(contains(ok.output, "| matmul dot | ok | ok | ok |"));
}
