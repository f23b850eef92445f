// Tutorial 8: a tiny character-level language model. An embedding, a
// two-layer LSTM and a linear head learn to predict the next character of a
// text file shipped with the tutorials, then sample new text from it.
#include <xgrad/xgrad.hpp>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>

#include "common.hpp"

namespace {

struct CharModel : xg::nn::Module {
  CharModel(std::int64_t vocab, std::int64_t hidden) : xg::nn::Module("CharModel") {
    embed = register_module("embed", std::make_shared<xg::nn::Embedding>(vocab, 32));
    lstm = register_module("lstm", std::make_shared<xg::nn::LSTM>(32, hidden, 2, /*batch_first=*/true));
    head = register_module("head", std::make_shared<xg::nn::Linear>(hidden, vocab));
  }
  /// tokens [N, T] -> logits [N, T, vocab], and the final LSTM state.
  std::tuple<xg::Tensor, xg::Tensor, xg::Tensor> step(const xg::Tensor& tokens, const xg::Tensor& h = {},
                                                      const xg::Tensor& c = {}) {
    auto [out, hn, cn] = lstm->forward_sequence(embed->forward(tokens), h, c);
    return {head->forward(out), hn, cn};
  }
  std::shared_ptr<xg::nn::Embedding> embed;
  std::shared_ptr<xg::nn::LSTM> lstm;
  std::shared_ptr<xg::nn::Linear> head;
};

}  // namespace

int main(int argc, char** argv) {
  const bool quick = tutorial::quick(argc, argv);
  std::ifstream in(std::string(XGRAD_TUTORIAL_DATA) + "/autodiff.txt");
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str();
  tutorial::expect(text.size() > 1000, "the text file is there");
  std::map<char, std::int64_t> index;
  std::string alphabet;
  for (char ch : text)
    if (!index.count(ch)) {
      index[ch] = static_cast<std::int64_t>(alphabet.size());
      alphabet += ch;
    }
  std::vector<std::int64_t> ids;
  for (char ch : text) ids.push_back(index[ch]);
  const auto vocab = static_cast<std::int64_t>(alphabet.size());
  std::printf("%zu characters, %lld distinct\n", text.size(), static_cast<long long>(vocab));

  xg::manual_seed(0);
  CharModel model(vocab, quick ? 64 : 128);
  xg::optim::AdamOptions adam;
  adam.lr = 3e-3;
  xg::optim::Adam optimizer(model.parameters(), adam);
  const std::int64_t batch = 16, seq = 48, steps = quick ? 40 : 2000;
  double first = 0, last = 0;
  for (std::int64_t s = 1; s <= steps; ++s) {
    // A batch of random windows; the target is the window shifted by one.
    std::vector<std::int64_t> x, y;
    for (std::int64_t b = 0; b < batch; ++b) {
      const auto start = static_cast<std::size_t>(xg::random_u64() % (ids.size() - seq - 1));
      x.insert(x.end(), ids.begin() + start, ids.begin() + start + seq);
      y.insert(y.end(), ids.begin() + start + 1, ids.begin() + start + seq + 1);
    }
    const xg::Tensor tokens = xg::from_vector(x, {batch, seq}), targets = xg::from_vector(y, {batch * seq});
    optimizer.zero_grad();
    auto [logits, h, c] = model.step(tokens);
    const xg::Tensor loss = xg::cross_entropy(logits.reshape({batch * seq, vocab}), targets);
    loss.backward();
    xg::optim::clip_grad_norm_(model.parameters(), 1.0);
    optimizer.step();
    if (s == 1) first = loss.item();
    last = loss.item();
    if (s == 1 || s % (steps / 10) == 0) std::printf("step %5lld  loss %.3f\n", static_cast<long long>(s), loss.item());
  }
  tutorial::expect(last < first - (quick ? 0.5 : 2.0), "the loss falls");

  // Sample: feed a prompt, then one character at a time, drawing from the
  // softmax of the logits at temperature 0.7.
  xg::NoGradGuard no_grad;
  model.eval();
  std::string out = "The gradient";
  std::vector<std::int64_t> prompt;
  for (char ch : out) prompt.push_back(index.count(ch) ? index[ch] : 0);
  auto [logits, h, c] = model.step(xg::from_vector(prompt, {1, static_cast<std::int64_t>(prompt.size())}));
  xg::Tensor next_logits = logits.select(1, -1).select(0, 0);
  for (int i = 0; i < (quick ? 40 : 300); ++i) {
    const auto p = xg::softmax(next_logits / 0.7, 0).to_vector<float>();
    double u = xg::random_uniform(), acc = 0;
    std::int64_t pick = vocab - 1;
    for (std::int64_t k = 0; k < vocab; ++k)
      if ((acc += p[static_cast<std::size_t>(k)]) > u) {
        pick = k;
        break;
      }
    out += alphabet[static_cast<std::size_t>(pick)];
    std::tie(logits, h, c) = model.step(xg::from_vector(std::vector<std::int64_t>{pick}, {1, 1}), h, c);
    next_logits = logits.select(1, 0).select(0, 0);
  }
  std::printf("sample:\n%s\n", out.c_str());
  return 0;
}
