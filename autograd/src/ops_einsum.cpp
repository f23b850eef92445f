// einsum: the contraction an equation names, as torch.einsum reads it, built
// from diagonal, sum, permute, expand, reshape and one batched matmul per pair
// of operands, so its gradients of every order are theirs.
#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "internal.hpp"
#include "op_samples.hpp"
#include "vmap.hpp"

namespace xg {
namespace {

/// A tensor whose dims are named, one character a dim.
struct Term {
  Tensor t;
  std::string labels;
};

bool is_letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

/// Subscripts with "..." replaced by names for the ellipsis dims. Those are
/// right-aligned across operands (they broadcast), named '0', '1', ... so no
/// letter can collide with them; `ellipsis` is the widest operand's count.
std::string expand_ellipsis(const std::string& spec, std::int64_t ellipsis_dims, std::int64_t ellipsis) {
  const auto at = spec.find("...");
  if (at == std::string::npos) return spec;
  std::string names;
  for (std::int64_t k = ellipsis - ellipsis_dims; k < ellipsis; ++k) names += static_cast<char>('0' + k);
  return spec.substr(0, at) + names + spec.substr(at + 3);
}

/// Checks one side's subscripts: letters, at most one "...".
std::int64_t count_letters(const std::string& spec, const std::string& eq) {
  const auto at = spec.find("...");
  XG_CHECK(at == std::string::npos || spec.find("...", at + 3) == std::string::npos, "einsum", "'", eq,
           "': more than one ellipsis in '", spec, "'");
  std::int64_t letters = 0;
  for (std::size_t i = 0; i < spec.size(); ++i) {
    if (at != std::string::npos && i >= at && i < at + 3) continue;
    XG_CHECK(is_letter(spec[i]), "einsum", "'", eq, "': subscripts are letters a-z, A-Z or '...', got '", spec[i], "'");
    ++letters;
  }
  return letters;
}

/// Takes the diagonal of dims that share a label ("ii->i"), until every label is once.
void take_diagonals(Term& term) {
  for (std::size_t p = 0; p < term.labels.size(); ++p) {
    const auto q = term.labels.find(term.labels[p], p + 1);
    if (q == std::string::npos) continue;
    const char label = term.labels[p];
    XG_CHECK(term.t.size(static_cast<std::int64_t>(p)) == term.t.size(static_cast<std::int64_t>(q)), "einsum",
             "subscript '", label, "' is repeated in one operand over dims of sizes ", term.t.size(static_cast<std::int64_t>(p)),
             " and ", term.t.size(static_cast<std::int64_t>(q)), " (shape ", term.t.shape(), ")");
    term.t = diagonal(term.t, 0, static_cast<std::int64_t>(p), static_cast<std::int64_t>(q));  // the diagonal moves last
    term.labels.erase(q, 1);
    term.labels.erase(p, 1);
    term.labels += label;
    p = static_cast<std::size_t>(-1);  // start over: positions moved
  }
}

/// Sums out the labels of `term` that `keep` does not hold.
void sum_out(Term& term, const std::string& keep) {
  Dims dims;
  std::string left;
  for (std::size_t i = 0; i < term.labels.size(); ++i) {
    if (keep.find(term.labels[i]) == std::string::npos) dims.push_back(static_cast<std::int64_t>(i));
    else left += term.labels[i];
  }
  if (dims.empty()) return;
  term.t = sum(term.t, dims);
  term.labels = left;
}

/// The term's dims in the order of `order` (a permutation of its labels).
Tensor arranged(const Term& term, const std::string& order) {
  Dims perm;
  for (char c : order) perm.push_back(static_cast<std::int64_t>(term.labels.find(c)));
  return permute(term.t, perm);
}

std::int64_t product(const Term& term, const std::string& labels) {
  std::int64_t p = 1;
  for (char c : labels) p *= term.t.size(static_cast<std::int64_t>(term.labels.find(c)));
  return p;
}

/// a ⊗ b summed over their shared labels that `needed` does not hold: one batched matmul.
Term contract(const Term& a, const Term& b, const std::string& needed) {
  std::string batch, contracted, only_a, only_b;
  for (char c : a.labels) {
    if (b.labels.find(c) == std::string::npos) only_a += c;
    else (needed.find(c) != std::string::npos ? batch : contracted) += c;
  }
  for (char c : b.labels)
    if (a.labels.find(c) == std::string::npos) only_b += c;
  const std::int64_t nb = product(a, batch), na = product(a, only_a), nc = product(a, contracted), nbb = product(b, only_b);
  const Tensor a3 = reshape(arranged(a, batch + only_a + contracted), {nb, na, nc});
  const Tensor b3 = reshape(arranged(b, batch + contracted + only_b), {nb, nc, nbb});
  Shape shape;
  for (char c : batch + only_a) shape.push_back(a.t.size(static_cast<std::int64_t>(a.labels.find(c))));
  for (char c : only_b) shape.push_back(b.t.size(static_cast<std::int64_t>(b.labels.find(c))));
  return {reshape(matmul(a3, b3), shape), batch + only_a + only_b};
}

}  // namespace

namespace {
/// einsum of a batch: each batched operand's spec and the output's gain a
/// letter the equation does not use, for the examples' dim. An equation
/// without "->" (implicit output) runs per example.
Tensor batched_einsum(const std::string& equation, const detail::BatchArgs& a) {
  const auto arrow = equation.find("->");
  if (arrow == std::string::npos)
    return detail::per_example([&](const TensorList& e) { return einsum(equation, e); })(a);
  char batch = 0;
  for (const char c : std::string("zyxwvutsrqponmlkjihgfedcbaZYXWVUTSRQPONMLKJIHGFEDCBA"))
    if (equation.find(c) == std::string::npos) {
      batch = c;
      break;
    }
  if (batch == 0) return detail::per_example([&](const TensorList& e) { return einsum(equation, e); })(a);
  std::string rewritten;
  std::size_t operand = 0;
  bool at_spec_start = true;
  for (std::size_t i = 0; i < arrow; ++i) {
    const char c = equation[i];
    if (c == ' ') continue;
    if (at_spec_start && operand < a.batched.size() && a.batched[operand]) rewritten += batch;
    at_spec_start = c == ',';
    if (c == ',') ++operand;
    rewritten += c;
  }
  if (at_spec_start && operand < a.batched.size() && a.batched[operand]) rewritten += batch;  // an empty last spec
  rewritten += "->";
  rewritten += batch;
  rewritten += equation.substr(arrow + 2);
  return einsum(rewritten, a.x);
}
}  // namespace

Tensor einsum(const std::string& equation, const TensorList& operands) {
  if (detail::vmapping())
    if (auto r = detail::batch_rule("einsum", operands, [&](const detail::BatchArgs& a) { return batched_einsum(equation, a); }))
      return *r;
  std::string eq;
  for (char c : equation)
    if (c != ' ') eq += c;
  const auto arrow = eq.find("->");
  const bool explicit_output = arrow != std::string::npos;
  const std::string lhs = eq.substr(0, arrow);
  std::vector<std::string> specs;
  for (std::size_t start = 0;;) {
    const auto comma = lhs.find(',', start);
    specs.push_back(lhs.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  XG_CHECK(!operands.empty() && specs.size() == operands.size(), "einsum", "'", equation, "' names ", specs.size(),
           " operand(s), got ", operands.size());
  for (std::size_t i = 0; i < operands.size(); ++i) {
    XG_CHECK(operands[i].defined(), "einsum", "operand ", i, " is undefined");
    detail::check_float(operands[i], "einsum");
    detail::check_same_dtype(operands[0], operands[i], "einsum");
  }

  // Name every dim; ellipsis dims right-aligned across operands.
  std::vector<std::int64_t> ellipsis_dims(operands.size(), 0);
  std::int64_t ellipsis = 0;
  for (std::size_t i = 0; i < operands.size(); ++i) {
    const std::int64_t letters = count_letters(specs[i], equation);
    const bool has = specs[i].find("...") != std::string::npos;
    XG_CHECK(has ? operands[i].dim() >= letters : operands[i].dim() == letters, "einsum", "'", equation, "': operand ", i,
             " has shape ", operands[i].shape(), " (", operands[i].dim(), " dims) but its subscripts '", specs[i],
             "' name ", letters);
    if (has) ellipsis_dims[i] = operands[i].dim() - letters;
    ellipsis = std::max(ellipsis, ellipsis_dims[i]);
  }
  XG_CHECK(ellipsis <= 10, "einsum", "'", equation, "': at most 10 dims under an ellipsis");
  std::vector<Term> terms;
  for (std::size_t i = 0; i < operands.size(); ++i)
    terms.push_back({operands[i], expand_ellipsis(specs[i], ellipsis_dims[i], ellipsis)});

  // The output's labels: given, or (as torch) the ellipsis then every letter used once, sorted.
  std::string all;
  for (const Term& t : terms) all += t.labels;
  std::string out;
  if (explicit_output) {
    const std::string spec = eq.substr(arrow + 2);
    count_letters(spec, equation);
    XG_CHECK(spec.find("...") == std::string::npos || lhs.find("...") != std::string::npos, "einsum", "'", equation,
             "': the output has an ellipsis the operands do not");
    out = expand_ellipsis(spec, ellipsis, ellipsis);
    for (std::size_t i = 0; i < out.size(); ++i) {
      XG_CHECK(all.find(out[i]) != std::string::npos, "einsum", "'", equation, "': output subscript '", out[i],
               "' is in no operand");
      XG_CHECK(out.find(out[i], i + 1) == std::string::npos, "einsum", "'", equation, "': output subscript '", out[i],
               "' appears twice");
    }
  } else {
    for (std::int64_t k = 0; k < ellipsis; ++k) out += static_cast<char>('0' + k);
    std::string once;
    for (char c : all)
      if (is_letter(c) && std::count(all.begin(), all.end(), c) == 1) once += c;
    std::sort(once.begin(), once.end());
    out += once;
  }

  // One size per label; size-1 dims broadcast.
  std::map<char, std::int64_t> size;
  for (Term& term : terms) take_diagonals(term);
  for (const Term& term : terms)
    for (std::size_t d = 0; d < term.labels.size(); ++d) {
      const std::int64_t n = term.t.size(static_cast<std::int64_t>(d));
      auto [it, fresh] = size.emplace(term.labels[d], n);
      if (!fresh && it->second != n) {
        XG_CHECK(it->second == 1 || n == 1, "einsum", "'", equation, "': subscript '", term.labels[d],
                 "' has size ", it->second, " in one operand and ", n, " in another");
        it->second = std::max(it->second, n);
      }
    }
  for (Term& term : terms) {
    Shape target;
    for (char c : term.labels) target.push_back(size[c]);
    if (target != term.t.shape()) term.t = term.t.expand(target);
  }

  // Contract left to right; a label is summed out as soon as neither the
  // output nor a later operand needs it.
  auto needed_after = [&](std::size_t i) {
    std::string labels = out;
    for (std::size_t j = i + 1; j < terms.size(); ++j) labels += terms[j].labels;
    return labels;
  };
  Term acc = terms[0];
  sum_out(acc, needed_after(0));
  for (std::size_t i = 1; i < terms.size(); ++i) {
    Term next = terms[i];
    sum_out(next, needed_after(i) + acc.labels);
    acc = contract(acc, next, needed_after(i));
  }
  sum_out(acc, out);
  return arranged(acc, out);
}

// ---------------------------------------------------------------- gradient-check samples
namespace detail {
std::vector<OpSample> samples_einsum() {
  using L = const TensorList&;
  std::vector<OpSample> c;
  auto row = [&](const char* name, const char* eq, std::vector<Shape> shapes) {
    c.push_back({name, [eq](L x) { return einsum(eq, x); }, std::move(shapes)});
  };
  row("einsum matrix product ij,jk->ik", "ij,jk->ik", {{2, 3}, {3, 4}});
  row("einsum attention scores bhqd,bhkd->bhqk", "bhqd,bhkd->bhqk", {{2, 2, 3, 4}, {2, 2, 2, 4}});
  row("einsum transpose and sum ij->j", "ij->j", {{2, 3}});
  row("einsum trace ii", "ii", {{3, 3}});
  row("einsum diagonal and outer ii,j->ij", "ii,j->ij", {{3, 3}, {2}});
  row("einsum bilinear bn,anm,bm->ba", "bn,anm,bm->ba", {{2, 3}, {2, 3, 4}, {2, 4}});
  row("einsum ellipsis broadcast ...ij,...jk", "...ij,...jk", {{2, 1, 2, 3}, {3, 3, 2}});
  row("einsum implicit output and dot i,i", "i,i", {{4}, {4}});
  return c;
}
}  // namespace detail

}  // namespace xg
