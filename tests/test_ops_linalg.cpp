// Matrix products (ops_linalg.cpp).
#include <cmath>
#include <functional>

#include "helpers.hpp"

using namespace xg;
using namespace test;

TEST_CASE("matmul in 1-d, 2-d and batched 3-d forms") {
  Tensor a = tensor({1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor b = tensor({1, 0, 0, 1, 1, 1}, {3, 2});
  check_values(matmul(a, b), {4, 5, 10, 11});
  check_values(matmul(tensor({1, 2, 3}), tensor({4, 5, 6})), {32});
  check_values(matmul(a, tensor({1, 1, 1})), {6, 15});
  check_values(matmul(tensor({1, 1}), a), {5, 7, 9});
  check_values(matmul_transposed(a, a, false, true), {14, 32, 32, 77});
  check_values(matmul_transposed(a, a, true, false), {17, 22, 27, 22, 29, 36, 27, 36, 45});
  Tensor batch = stack({a, a * 2.0});
  Tensor c = matmul(batch, b);
  CHECK(c.shape() == Shape{2, 2, 2});
  check_values(c, {4, 5, 10, 11, 8, 10, 20, 22});
  Tensor d = matmul(batch, stack({b, b}));
  check_values(d, {4, 5, 10, 11, 8, 10, 20, 22});
  check_values(matmul(eye(2), stack({a, a})), {1, 2, 3, 4, 5, 6, 1, 2, 3, 4, 5, 6});
  check_values(outer(tensor({1, 2}), tensor({3, 4, 5})), {3, 4, 5, 6, 8, 10});
}

TEST_CASE("matmul of one expanded matrix with a batch of vectors, and products over one term") {
  // The shared-matrix GEMM (kernels_shape.cpp) and the outer-product form
  // (ops_linalg.cpp) give what a product per batch member gives.
  manual_seed(11);
  for (const Dtype dtype : {float32, float64}) {
    const Tensor w = randn({40, 30}, dtype), v = randn({9, 30, 1}, dtype);
    const double tol = dtype == float32 ? 1e-4 : 1e-12;
    const Tensor shared = matmul(w.unsqueeze(0).expand({9, 40, 30}), v);
    const Tensor shared_t = matmul_transposed(w.t().unsqueeze(0).expand({9, 30, 40}), v, true, false);
    for (std::int64_t b = 0; b < 9; ++b) {
      const Tensor one = matmul(w, v.select(0, b));
      CHECK(max(abs(shared.select(0, b) - one)).item<double>() < tol);
      CHECK(max(abs(shared_t.select(0, b) - one)).item<double>() < tol);
    }
    const Tensor col = randn({5, 7, 1}, dtype), row = randn({5, 1, 3}, dtype);
    const Tensor outer_products = matmul(col, row);
    CHECK(outer_products.shape() == Shape{5, 7, 3});
    CHECK(max(abs(outer_products - col * row)).item<double>() == 0.0);
  }
}

TEST_CASE("matmul on N-d operands broadcasts the batch dims as torch.matmul does") {
  // Every [i, j] slice of the product is the 2-d product of the broadcast slices.
  const Tensor q = sin(arange(48.0, float64)).reshape({2, 2, 3, 4});
  const Tensor k = cos(arange(48.0, float64)).reshape({2, 2, 3, 4});
  const Tensor scores = matmul(q, k.transpose(-2, -1));
  CHECK(scores.shape() == Shape{2, 2, 3, 3});
  for (std::int64_t i = 0; i < 2; ++i)
    for (std::int64_t j = 0; j < 2; ++j)
      CHECK(values(scores[i][j]) == values(matmul(q[i][j], k[i][j].t())));
  const Tensor w = cos(arange(24.0, float64)).reshape({3, 4, 2});
  const Tensor broadcast = matmul(q.narrow(1, 0, 1), w);  // [2, 1, 3, 4] @ [3, 4, 2] -> [2, 3, 3, 2]
  CHECK(broadcast.shape() == Shape{2, 3, 3, 2});
  for (std::int64_t i = 0; i < 2; ++i)
    for (std::int64_t j = 0; j < 3; ++j) check_values(broadcast[i][j], values(matmul(q[i][0], w[j])), 1e-15);
  CHECK(matmul(q, w[0]).shape() == Shape{2, 2, 3, 2});
  CHECK(matmul(tensor({1.0, 2.0, 3.0}, float64), q).shape() == Shape{2, 2, 4});
  CHECK(matmul(q, tensor({1.0, 2.0, 3.0, 4.0}, float64)).shape() == Shape{2, 2, 3});
}

TEST_CASE("einsum matches torch.einsum: products, attention, trace, diagonal, three operands, ellipsis, implicit output") {
  // tests/pytorch_golden.py einsums: operand k is cos(0.7·arange + k) in its shape; the value and the
  // gradient of sum(y·(1 + arange)) with respect to the first operand.
  struct Case {
    const char* equation;
    std::vector<Shape> shapes;
    std::vector<double> value, gradient;
  };
  const std::vector<Case> cases = {
      {"ij,jk->ik", {{2, 3}, {3, 4}},
       {0.09684514976199182, -0.20065412202922614, -0.40378262492295636, -0.4170058500378655,
        -0.41735373073174786, -0.22898565659785186, 0.0670779498335971, 0.33159374833642585},
       {-5.926108430439764, 3.902904426101295, -1.4286990570946951, -11.226392647407403, 5.479830788898156,
        0.8999546626397956}},
      {"bhqd,bhkd->bhqk", {{2, 2, 3, 4}, {2, 2, 2, 4}},
       {0.8208333865927063, -1.340794665060895, -0.21326343061823508, 0.885959416565966, -0.4189502490404228,
        -0.3287468453675517, -0.5006338513439766, 1.209870970769237, -0.09503869483715266, -0.6517698301838669,
        0.6797290143510882, 0.018353219176878155, 0.02282354052386551, -0.6601939034700695, 0.6713049410648895,
        -0.0836343160847638, -1.2878605662690554, 0.8177981455932857, 0.9909076701806742, -0.409849638982302,
        -1.6140758891665914, 1.1129301466824977, 2.050729054434111, -1.6874056566334932},
       {-1.041633117960694, -0.550436093157084, 0.19963962705950722, 0.8558217112147917, -1.542963930053248,
        -1.2297166806096926, -0.3381144614222311, 0.7125082721563039, -2.044294742145802, -1.9089972680623015,
        -0.8758685499039691, 0.569194833097816, -1.345916192571945, -2.5620028196857327, -2.573139488302987,
        -1.3740884491577439, -1.4448370927252991, -3.07098414526189, -3.252799368830887, -1.9047722228465291,
        -1.5437579928786516, -3.5799654708380464, -3.9324592493587875, -2.4354559965353157, 1.5016065929467857,
        -1.7163756108125607, -4.127119545698067, -4.596814670219983, 1.8494980553784188, -1.8265921211915188,
        -4.643607481875912, -5.276661685465654, 2.197389517810052, -1.9368086315704787, -5.160095418053757,
        -5.956508700711325, 5.887507752485213, 2.440685068045532, -2.1540299406521974, -5.735671010614896,
        6.526054148012577, 2.778706064224913, -2.275510900047731, -6.259519532189264, 7.1646005435399385,
        3.116727060404294, -2.396991859443265, -6.7833680537636365}},
      {"ii", {{3, 3}},
       {0.8333435378415915},
       {1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0}},
      {"ii,j->ij", {{3, 3}, {2}},
       {0.5403023058681398, -0.12884449429552464, -0.5090849033037519, 0.12140016099739878, 0.4190400325117374,
        -0.09992739340951741},
       {0.2826133172770905, 0.0, 0.0, 0.0, 1.1055289404223207, 0.0, 0.0, 0.0, 1.9284445635675511}},
      {"bn,anm,bm->ba", {{2, 3}, {2, 3, 4}, {2, 4}},
       {0.7711852596158593, 0.12544327179074388, 0.13854210360304053, 0.7386305434277517},
       {3.2424207384186268, -3.7549196837311465, 3.8335176884373325, -6.541892631900726, 7.530529616641703,
        -7.648973851832873}},
      {"...ij,...jk", {{2, 1, 2, 3}, {3, 3, 2}},
       {-0.15812603853669668, -0.9288535677879777, 1.1627263214811356, 1.203855237008818, 1.1705644203246084,
        1.2025993784249545, -0.9956047137597852, -0.2628407049739896, -0.9896377097443894, -0.2503211502328883,
        -0.18651435208404554, -0.9461342372041855, -1.015869669694249, -0.28666968602410176,
        -0.1370106304285651, -0.9144070884165537, -0.16531009739884162, -0.9372111663521567, 1.162517031205441,
        1.2091355180147394, 1.177959797947583, 1.2056255183950695, -1.0028624786540985, -0.27117645593168316},
       {-8.612851921765511, 8.256042477423506, 11.419363824866913, -8.558468538940236, 8.313554669069063,
        11.384530807833492, -8.286551624813868, 8.601115627296856, 11.210365722666392, -8.232168241988592,
        8.658627818942417, 11.175532705632971}},
      {"i,i", {{4}, {4}},
       {0.8208333865927063},
       {0.5403023058681398, -0.12884449429552464, -0.7373937155412454, -0.9991351502732795}},
      {"ijk->kj", {{2, 3, 2}},
       {0.5097391786592997, 0.9455330214104907, -0.18832008632535346, 0.9513545567070634, 0.495012531783558,
        -0.7830828252529312},
       {1.0, 4.0, 2.0, 5.0, 3.0, 6.0, 1.0, 4.0, 2.0, 5.0, 3.0, 6.0}},
      {"Ab,bA->", {{2, 3}, {3, 2}},
       {1.0457291984721213},
       {0.5403023058681398, -0.7373937155412454, -0.7909677119144168, -0.12884449429552464,
        -0.9991351502732795, -0.2107957994307797}}};
  for (const Case& c : cases) {
    auto operand = [&](std::size_t k) {
      return (0.7 * arange(static_cast<double>(c.shapes[k].numel()), float64) + static_cast<double>(k)).cos().reshape(c.shapes[k]);
    };
    const Tensor first = operand(0).requires_grad_(true);
    test::check_golden(first, {{c.equation, [&](const Tensor& x) {
                                   TensorList xs{x};
                                   for (std::size_t k = 1; k < c.shapes.size(); ++k) xs.push_back(operand(k));
                                   return einsum(c.equation, xs);
                                 }, c.value, c.gradient}}, 1e-12, 1e-12);
  }
  // Errors name einsum, the equation and what is wrong.
  const Tensor a = randn({2, 3}, float64), b = randn({4, 5}, float64);
  CHECK(contains(error_of([&] { einsum("ij,jk->ik", {a, b}); }), "subscript 'j' has size 3 in one operand and 4 in another"));
  CHECK(contains(error_of([&] { einsum("ij,jk", {a}); }), "names 2 operand(s), got 1"));
  CHECK(contains(error_of([&] { einsum("ijk->i", {a}); }), "has shape [2, 3] (2 dims) but its subscripts 'ijk' name 3"));
  CHECK(contains(error_of([&] { einsum("ij->iz", {a}); }), "output subscript 'z' is in no operand"));
  CHECK(contains(error_of([&] { einsum("ij->ii", {a}); }), "output subscript 'i' appears twice"));
  CHECK(contains(error_of([&] { einsum("i1->i", {a}); }), "subscripts are letters"));
  CHECK(contains(error_of([&] { einsum("ii->i", {a}); }), "repeated in one operand over dims of sizes 2 and 3"));
}
