// xgrad-gradcheck: gradcheck and gradgradcheck over every registered op (or
// a filter), in float64, with a repeatability check; prints a table and
// exits non-zero on any failure.
#include <CLI/CLI.hpp>
#include <xgrad/op_registry.hpp>

#include <cstdio>

int main(int argc, char** argv) {
  CLI::App app{"Check every xgrad op's first and second derivatives and its forward-mode tangents (check_jvp) against finite differences, and its batching rules (check_vmap) against a loop over examples."};
  xg::SweepOptions o;
  app.add_option("--filter", o.filter, "only ops whose name contains this text");
  app.add_flag("--fast", o.fast, "random-projection mode: compare u^T J v instead of whole Jacobians");
  bool first_only = false, markdown = false;
  app.add_flag("--markdown", markdown, "print the README's op table (one line per family) instead of one line per row");
  app.add_flag("--first-order-only", first_only, "skip gradgradcheck");
  bool no_jvp = false;
  app.add_flag("--no-jvp", no_jvp, "skip check_jvp (forward mode)");
  bool no_vmap = false;
  app.add_flag("--no-vmap", no_vmap, "skip check_vmap (batching rules against a loop over examples)");
  app.add_option("--seed", o.seed, "seed for the sample inputs")->capture_default_str();
  app.add_option("--atol", o.tolerances.atol, "absolute tolerance")->capture_default_str();
  app.add_option("--rtol", o.tolerances.rtol, "relative tolerance")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  o.second_order = !first_only;
  o.forward_mode = !no_jvp;
  o.vmap = !no_vmap;
  const auto rows = xg::gradcheck_sweep(xg::op_samples(), o);
  if (rows.empty()) {
    std::fprintf(stderr, "xgrad-gradcheck: --filter '%s' matches none of the %zu registered ops (names look like "
                         "'matmul 2d', 'softmax dim 1'; run without --filter to list them)\n",
                 o.filter.c_str(), xg::op_samples().size());
    return 2;
  }
  std::printf("%s", (markdown ? xg::family_table(rows) : xg::sweep_table(rows)).c_str());
  for (const auto& r : rows)
    if (!r.ok()) return 1;
  return 0;
}
