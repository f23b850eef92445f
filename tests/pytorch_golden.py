#!/usr/bin/python3
"""Golden values cited by tests/test_ops_nn.cpp, tests/test_ops_conv.cpp and
tests/test_gradcheck_ops.cpp, tests/test_views.cpp, tests/test_nn.cpp, tests/test_dtypes.cpp and tests/test_ops_attention.cpp, computed with PyTorch (python3-torch, 1.13) in
float64 on the same inputs. Run: /usr/bin/python3 tests/pytorch_golden.py [section]
Each section prints the numbers the test asserts, under the test's name."""
import io
import sys

import numpy as np
import torch
import torch.nn.functional as F

torch.set_printoptions(precision=17)
f64 = torch.float64


def x24():
    return torch.tensor([[1.0, -2.0, 0.5, 3.0], [0.1, 0.2, -0.3, 4.0]], dtype=f64)


def img():
    return torch.arange(100.0, dtype=f64).reshape(2, 2, 5, 5) / 10.0


def show(name, t):
    t = torch.as_tensor(t)
    print(f"  {name}: {t.flatten().tolist()}")


def activations():
    x = x24()
    show("gelu", F.gelu(x))
    show("gelu tanh", F.gelu(x, approximate="tanh"))
    show("elu", F.elu(x))
    show("softplus", F.softplus(x))
    show("silu", F.silu(x))
    show("logsumexp dim 1", torch.logsumexp(x, 1))


def losses():
    x, t = x24(), torch.tensor([3, 1])
    show("cross_entropy", F.cross_entropy(x, t))
    w = torch.tensor([1.0, 2.0, 0.5, 1.5], dtype=f64)
    show("cross_entropy weight + label_smoothing 0.1", F.cross_entropy(x, t, weight=w, label_smoothing=0.1))
    show("cross_entropy ignore_index none", F.cross_entropy(x, torch.tensor([3, -100]), reduction="none"))
    p = torch.tensor([0.2, 0.9, 0.5, 1.0], dtype=f64)
    y = torch.tensor([0.0, 1.0, 1.0, 0.0], dtype=f64)
    show("binary_cross_entropy", F.binary_cross_entropy(p, y))
    show("bce_with_logits pos_weight 2", F.binary_cross_entropy_with_logits(x[0], y, pos_weight=torch.full((4,), 2.0, dtype=f64)))
    show("smooth_l1 beta 0.5", F.smooth_l1_loss(x[0], x[1], beta=0.5))
    show("huber delta 0.5", F.huber_loss(x[0], x[1], delta=0.5))


def conv_and_pool():
    im = img()
    w2 = torch.linspace(-1, 1, 32, dtype=f64).reshape(4, 2, 2, 2)
    c = F.conv2d(im, w2, stride=2, padding=1)
    show("conv2d sum", c.sum())
    show("conv2d [1, 3]", c[1, 3])
    wg = torch.linspace(-1, 1, 16, dtype=f64).reshape(4, 1, 2, 2)
    cg = F.conv2d(im, wg, torch.tensor([1.0, 2, 3, 4], dtype=f64), dilation=2, groups=2)
    show("conv2d dilation 2 groups 2 [1, 2]", cg[1, 2])
    show("max_pool2d 2x2 pad 1 [0, 1]", F.max_pool2d(im, 2, padding=1)[0, 1])
    show("avg_pool2d 3x3/2 pad 1 [1, 0]", F.avg_pool2d(im, 3, 2, 1)[1, 0])
    show("adaptive_avg_pool2d (2, 3) [1, 1]", F.adaptive_avg_pool2d(im, (2, 3))[1, 1])


def normalisation():
    show("layer_norm [4]", F.layer_norm(x24(), (4,)))
    show("group_norm 2 groups [1, 1, 0]", F.group_norm(img(), 2)[1, 1, 0])


def conv_left_padding():
    # tests/test_ops_conv.cpp: a whole kernel column in the left padding, batch of 2.
    x = torch.tensor([1.0, 2.0], dtype=f64).reshape(2, 1, 1, 1)
    w = torch.tensor([10.0, 100.0, 1000.0], dtype=f64).reshape(1, 1, 1, 3).requires_grad_()
    y = F.conv2d(x, w, padding=(0, 2), dilation=(1, 2))
    y.sum().backward()
    show("output", y)
    show("weight gradient", w.grad)


def kinks():
    # tests/test_ops_nn.cpp: value, first and second derivative exactly at the kink.
    for name, f, at in [("elu alpha 1.5 at 0", lambda x: F.elu(x, 1.5), 0.0),
                        ("softplus beta 2 threshold 3 at 1.5", lambda x: F.softplus(x, 2.0, 3.0), 1.5)]:
        x = torch.tensor([at], dtype=f64, requires_grad=True)
        y = f(x)
        (g,) = torch.autograd.grad(y.sum(), x, create_graph=True)
        (h,) = torch.autograd.grad(g.sum(), x)
        print(f"  {name}: y {y.item()!r}, dy {g.item()!r}, d2y {h.item()!r}")


def degenerate():
    # tests/test_ops_nn.cpp: empty and degenerate inputs.
    x = torch.tensor([1.0, 2.0], dtype=f64)
    show("var([1, 2], correction 3)", torch.var(x, 0, correction=3))
    show("var([3, 3], correction 3)", torch.var(torch.tensor([3.0, 3.0], dtype=f64), 0, correction=3))
    show("std([])", torch.std(torch.tensor([], dtype=f64)))
    show("logsumexp(zeros(2, 0), 1)", torch.logsumexp(torch.zeros(2, 0), 1))
    print("  softmax(zeros(2, 0), 1).shape:", list(torch.softmax(torch.zeros(2, 0), 1).shape))
    logits = torch.zeros(0, 3, dtype=f64, requires_grad=True)
    show("cross_entropy N=0 mean", F.cross_entropy(logits, torch.zeros(0, dtype=torch.long)))
    show("cross_entropy N=0 sum", F.cross_entropy(logits, torch.zeros(0, dtype=torch.long), reduction="sum"))
    try:
        F.adaptive_avg_pool2d(torch.zeros(1, 1, 0, 0), (2, 2))
    except RuntimeError as e:
        print("  adaptive_avg_pool2d(0x0) raises:", str(e).splitlines()[0])


def nan_patterns():
    # tests/test_gradcheck_ops.cpp: NaN in, NaN out, and the deliberate exceptions.
    n = float("nan")
    x = torch.tensor([n, 1.0, -2.0], dtype=f64)
    for name, f in [("relu", torch.relu), ("leaky_relu", F.leaky_relu), ("elu", F.elu), ("softplus", F.softplus),
                    ("clamp(-0.8, 0.7)", lambda t: torch.clamp(t, -0.8, 0.7)), ("abs", torch.abs),
                    ("maximum(x, 0)", lambda t: torch.maximum(t, torch.zeros(3, dtype=f64))),
                    ("max", torch.max), ("softmax", lambda t: torch.softmax(t, 0)),
                    ("where(x > 0, x, 5)", lambda t: torch.where(t > 0, t, torch.full((3,), 5.0, dtype=f64)))]:
        show(name, f(x))
    im = torch.randn(1, 2, 5, 4, dtype=f64)
    im[0, 0, 0, 0] = n
    show("adaptive_avg_pool2d (2, 3), NaN at [0,0,0,0]: channel 0", F.adaptive_avg_pool2d(im, (2, 3))[0, 0])
    w = torch.ones(2, 1, 3, 3, dtype=f64)
    w[0, 0, 0, 0] = n
    show("conv2d padding 1, NaN weight in channel 0: channel 0", F.conv2d(torch.ones(1, 1, 4, 4, dtype=f64), w, padding=1)[0, 0])
    torch.manual_seed(3)
    print("  dropout of NaN, all NaN:", bool(F.dropout(torch.full((64,), n), 0.5, True).isnan().all()))
    try:
        F.binary_cross_entropy(x.abs().clamp(0, 1), torch.full((3,), 0.5, dtype=f64))
    except RuntimeError as e:
        print("  binary_cross_entropy with a NaN input raises:", str(e).splitlines()[0])
    show("binary_cross_entropy with a NaN target", F.binary_cross_entropy(torch.full((3,), 0.5, dtype=f64), x))


def views():
    """tests/test_views.cpp: layouts of views, writes through them, and the
    autograd cases xgrad allows (values) or refuses (where PyTorch records)."""
    x = torch.arange(24.0, dtype=f64).reshape(2, 3, 4)
    print("  permute(2, 0, 1) strides:", x.permute(2, 0, 1).stride())
    print("  narrow(2, 1, 2) offset:", x.narrow(2, 1, 2).storage_offset(), "strides:", x.narrow(2, 1, 2).stride())
    print("  select(1, 2) offset:", x.select(1, 2).storage_offset(), "strides:", x.select(1, 2).stride())
    print("  slice dim 2 step 2 from 1:", x[:, :, 1::2].storage_offset(), x[:, :, 1::2].stride(), x[:, :, 1::2].flatten().tolist())
    print("  expand [3, 1] -> [2, 3, 4] strides:", torch.zeros(3, 1).expand(2, 3, 4).stride())
    m = torch.arange(12.0, dtype=f64).reshape(3, 4)
    print("  diagonal:", m.diagonal().tolist(), m.diagonal().stride(), "offset 1:", m.diagonal(1).tolist(),
          m.diagonal(1).storage_offset(), "offset -1:", m.diagonal(-1).tolist())
    u = torch.arange(7.0, dtype=f64).unfold(0, 3, 2)
    print("  unfold(0, 3, 2):", u.flatten().tolist(), u.shape, u.stride())
    print("  as_strided([3, 3], [2, 1], 1):", torch.arange(8.0, dtype=f64).as_strided((3, 3), (2, 1), 1).flatten().tolist())
    print("  x.t() of [2, 3] reshaped to [6]:", torch.arange(6.0, dtype=f64).reshape(2, 3).t().reshape(6).tolist())
    z = torch.zeros(3, 4, dtype=f64)
    z.narrow(1, 3, 1).fill_(100)
    print("  narrow(1, 3, 1).fill_(100):", z.flatten().tolist())
    z = torch.zeros(3, 4, dtype=f64)
    z.select(0, 1).copy_(torch.tensor([1.0, 2, 3, 4], dtype=f64))
    print("  select(0, 1).copy_([1, 2, 3, 4]):", z.flatten().tolist())
    z = torch.zeros(2, 2, dtype=f64)
    z.t().add_(torch.tensor([[1.0, 2], [3, 4]], dtype=f64))
    print("  t().add_([[1, 2], [3, 4]]):", z.flatten().tolist())
    z = torch.arange(6.0, dtype=f64).reshape(2, 3)
    z[:, ::2].mul_(10)
    print("  slice step 2 .mul_(10):", z.flatten().tolist())
    # Allowed: a write through a view of a leaf under no_grad, then a gradient.
    w = torch.ones(2, 3, dtype=f64, requires_grad=True)
    with torch.no_grad():
        w.narrow(0, 0, 1).zero_()
    (w * torch.arange(6.0, dtype=f64).reshape(2, 3)).sum().backward()
    print("  no_grad narrow.zero_ on a leaf, then grad of sum(w * arange):", w.flatten().tolist(), w.grad.flatten().tolist())
    # Recorded (CopySlices) in-place ops on views.
    a = torch.ones(2, 3, dtype=f64, requires_grad=True)
    b = a * 2
    b.narrow(0, 0, 1).fill_(0)
    b.sum().backward()
    print("  b = 2a; b.narrow(0, 0, 1).fill_(0); b.sum() backward: a.grad =", a.grad.flatten().tolist())
    a = torch.ones(2, 3, dtype=f64, requires_grad=True)
    buf = torch.zeros(2, 3, dtype=f64)
    buf.select(0, 0).copy_(a.select(0, 1) * 3)
    (buf * torch.arange(6.0, dtype=f64).reshape(2, 3)).sum().backward()
    print("  buf.select(0, 0).copy_(3 a[1]); sum(buf * arange): buf =", buf.flatten().tolist(), "a.grad =",
          a.grad.flatten().tolist())
    a = torch.arange(6.0, dtype=f64).reshape(2, 3).requires_grad_()
    b = a * 2
    v = b.narrow(1, 1, 2)
    v.mul_(3)
    (b.sum() + (v * v).sum()).backward()
    print("  b = 2a; v = b.narrow(1, 1, 2); v.mul_(3); b.sum() + (v * v).sum(): b =", b.flatten().tolist(), "a.grad =",
          a.grad.flatten().tolist())
    a = torch.arange(6.0, dtype=f64).reshape(2, 3).requires_grad_()
    b = a * 1
    b.t().add_(torch.ones(3, 2, dtype=f64) * 5)
    (b * b).sum().backward()
    print("  b = a; b.t().add_(5); (b * b).sum(): a.grad =", a.grad.flatten().tolist())
    # A view made before a recorded in-place op on its base: PyTorch regenerates it.
    a = torch.ones(2, 3, dtype=f64, requires_grad=True)
    b = a * 2
    b.mul_(3)
    b.select(0, 0).sum().backward()
    print("  b = 2a; b.mul_(3); b.select(0, 0).sum() backward: a.grad =", a.grad.flatten().tolist())
    try:
        torch.arange(6.0).reshape(2, 3).t().view(6)
    except RuntimeError as e:
        print("  t().view(6) raises:", str(e).splitlines()[0])


def dtypes():
    """tests/test_dtypes.cpp: bool, int32 and int64 arithmetic, promotion and conversions."""
    a = torch.tensor([7, -7, 7, -7, 0, 5], dtype=torch.int64)
    b = torch.tensor([2, 2, -2, -2, 3, 5], dtype=torch.int64)
    print("  a + b, a - b, a * b:", (a + b).tolist(), (a - b).tolist(), (a * b).tolist())
    print("  floor_divide:", torch.div(a, b, rounding_mode="floor").tolist(), "remainder:", torch.remainder(a, b).tolist())
    print("  a / b (true division):", (a / b).dtype, (a / b).tolist())
    print("  a < b:", (a < b).tolist(), (a < b).dtype, "sum of a:", a.sum().item(), a.sum().dtype)
    print("  int64 * 2:", (a * 2).dtype, "int64 * 0.5:", (a * 0.5).dtype, (a * 0.5).tolist())
    i32 = torch.tensor([1, 2, 3], dtype=torch.int32)
    print("  int32 + int64:", (i32 + torch.tensor([1, 1, 1])).dtype, "int32 + 1:", (i32 + 1).dtype,
          "int32 + float32:", (i32 + torch.ones(3)).dtype, "bool + int32:", (torch.tensor([True, False, True]) + i32).dtype,
          "bool * 2:", (torch.tensor([True, False]) * 2).dtype, "int32 sum:", i32.sum().dtype, "bool sum:",
          torch.tensor([True, False, True]).sum().item())
    print("  bool + bool:", (torch.tensor([True, False, False]) + torch.tensor([True, True, False])).tolist(),
          "bool * bool:", (torch.tensor([True, False, True]) * torch.tensor([True, True, False])).tolist())
    f = torch.tensor([1.7, -1.7, 0.0, 2.5, -0.2])
    print("  float32 -> int64 / int32 / bool:", f.to(torch.int64).tolist(), f.to(torch.int32).tolist(), f.to(torch.bool).tolist())
    print("  -7.5 % 2 (float remainder):", torch.remainder(torch.tensor([-7.5, 7.5]), 2.0).tolist(),
          torch.remainder(torch.tensor([-7.5, 7.5]), -2.0).tolist())
    logits = torch.tensor([[0.1, 2.0, 0.3], [1.5, 0.2, 0.1], [0.0, 0.1, 3.0], [2.0, 1.0, 0.0]])
    target = torch.tensor([1, 0, 1, 0])
    correct = logits.argmax(1) == target
    print("  argmax(1) == target:", correct.tolist(), "sum:", correct.sum().item(), "accuracy:", correct.float().mean().item())
    m = torch.tensor([[True, False], [False, False]])
    print("  any/all:", m.any().item(), m.all().item(), m.any(1).tolist(), m.all(0).tolist(), "where:",
          torch.where(m, torch.tensor(1.0), torch.tensor(-1.0)).flatten().tolist(),
          "masked_fill:", torch.zeros(2, 2).masked_fill(m, 5.0).flatten().tolist())
    print("  logical_and/or/xor/not:", torch.logical_and(m, m.t()).flatten().tolist(), torch.logical_or(m, m.t()).flatten().tolist(),
          torch.logical_xor(torch.tensor([1, 0, 2]), torch.tensor([1, 1, 0])).tolist(), torch.logical_not(torch.tensor([0.0, 2.0])).tolist())


def attention():
    # tests/test_ops_attention.cpp: q, k, v = arange-based [1, 3, 2], [1, 4, 2], [1, 4, 2]; causal and a bool mask.
    q = (torch.arange(6.0, dtype=f64).reshape(1, 3, 2) / 5.0 - 0.4).requires_grad_(True)
    k = (torch.arange(8.0, dtype=f64).reshape(1, 4, 2).flip(1) / 7.0).requires_grad_(True)
    v = (torch.arange(8.0, dtype=f64).reshape(1, 4, 2) * 0.3 - 1.0).requires_grad_(True)
    keep = torch.tensor([[True, False, True, True], [True, True, False, False], [False, True, True, True]])
    for name, kwargs in [("causal", dict(is_causal=True)), ("bool mask", dict(attn_mask=keep))]:
        out, _ = F._scaled_dot_product_attention(q, k, v, need_attn_weights=False, **kwargs)
        show(f"sdpa {name}", out)
        dq, dk, dv = torch.autograd.grad((out * torch.arange(6.0, dtype=f64).reshape(1, 3, 2)).sum(), (q, k, v))
        show(f"sdpa {name} dq", dq)
        show(f"sdpa {name} dk", dk)
        show(f"sdpa {name} dv", dv)


def conv_transpose():
    # tests/test_ops_conv.cpp: arange-based x [2, 3, 3, 2], w [3, 2, 2, 3], bias; stride (2, 1),
    # padding (1, 0), output_padding (1, 0), dilation (1, 2).
    x = (torch.arange(36.0, dtype=f64).reshape(2, 3, 3, 2) / 7.0 - 1.0).requires_grad_(True)
    w = (torch.arange(36.0, dtype=f64).reshape(3, 2, 2, 3) / 11.0 - 0.5).requires_grad_(True)
    b = torch.tensor([0.25, -0.5], dtype=f64, requires_grad=True)
    y = F.conv_transpose2d(x, w, b, stride=(2, 1), padding=(1, 0), output_padding=(1, 0), dilation=(1, 2))
    print("  shape:", list(y.shape))
    show("first 12", y.flatten()[:12])
    print("  sum, sum of squares:", y.sum().item(), (y * y).sum().item())
    print("  gradient sums of sum(y^2) for x, w, b:", [t.sum().item() for t in torch.autograd.grad((y * y).sum(), (x, w, b))])


def pooling_options():
    # tests/test_ops_conv.cpp: x = sin(arange(2·2·7·6)) as [2, 2, 7, 6]; gradients of sum(y · arange).
    x = torch.sin(torch.arange(168.0, dtype=f64)).reshape(2, 2, 7, 6).requires_grad_(True)
    cases = {
        "max dilation 2, stride (2, 1), padding 1, ceil": lambda t: F.max_pool2d(t, (3, 2), (2, 1), 1, 2, ceil_mode=True),
        "avg 3x3 stride 2 padding 1 ceil, exclusive": lambda t: F.avg_pool2d(t, 3, 2, 1, ceil_mode=True, count_include_pad=False),
        "avg 3x3 stride 2 padding 1 ceil, inclusive": lambda t: F.avg_pool2d(t, 3, 2, 1, ceil_mode=True),
        "adaptive max (3, 4)": lambda t: F.adaptive_max_pool2d(t, (3, 4)),
    }
    for name, f in cases.items():
        y = f(x)
        wts = torch.arange(y.numel(), dtype=f64).reshape(y.shape)
        (g,) = torch.autograd.grad((y * wts).sum(), (x,))
        print(f"  {name}: shape {list(y.shape)} sum {y.sum().item()!r} sum of squares {(y * y).sum().item()!r} "
              f"grad sum of squares {(g * g).sum().item()!r}")


def group_norm():
    # tests/test_nn.cpp: nn::GroupNorm(2, 4) with weight 1 + 0.5·arange(4), bias 0.1·arange(4) on
    # x = cos(arange(2·4·3)) as [2, 4, 3]; gradients of sum(y · arange).
    x = torch.cos(torch.arange(24.0, dtype=f64)).reshape(2, 4, 3).requires_grad_(True)
    m = torch.nn.GroupNorm(2, 4).double()
    with torch.no_grad():
        m.weight.copy_(1 + 0.5 * torch.arange(4.0, dtype=f64))
        m.bias.copy_(0.1 * torch.arange(4.0, dtype=f64))
    y = m(x)
    gx, gw, gb = torch.autograd.grad((y * torch.arange(24.0, dtype=f64).reshape(2, 4, 3)).sum(), (x, m.weight, m.bias))
    show("y first 6", y.flatten()[:6])
    show("dweight", gw)
    show("dbias", gb)
    show("dx first 6", gx.flatten()[:6])


def weighted_grad(name, y, x):
    # tests/helpers.hpp check_golden: the value of y, and the gradient of sum(y · (1 + arange)) in y's shape.
    w = 1 + torch.arange(y.numel(), dtype=f64).reshape(y.shape)
    (g,) = torch.autograd.grad((y * w).sum(), x)
    show(name, y)
    show(f"d{name}", g)


def math_functions():
    # tests/test_ops_elementwise.cpp: trigonometric, hyperbolic and rounding functions on
    # x = 0.9·sin(arange(6) + 0.5) (inside (−1, 1) for asin/acos), values and gradients of sum(f(x)·(1 + arange)).
    x = (0.9 * torch.sin(torch.arange(6.0, dtype=f64) + 0.5)).requires_grad_(True)
    w = 1 + torch.arange(6.0, dtype=f64)
    for name in ["tan", "asin", "acos", "atan", "sinh", "cosh", "reciprocal"]:
        weighted_grad(name, getattr(torch, name)(x), x)
    b = torch.tensor([-1.5, 0.25, -0.0, 2.0, -3.0, 0.5], dtype=f64, requires_grad=True)
    y = torch.atan2(x, b)
    ga, gb = torch.autograd.grad((y * w).sum(), (x, b))
    show("atan2", y)
    show("datan2 a", ga)
    show("datan2 b", gb)
    r = torch.tensor([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, -1.7, 1.2], dtype=f64)
    for name in ["floor", "ceil", "round", "trunc"]:
        show(name, getattr(torch, name)(r))


def rearrange_and_sort():
    # tests/test_ops_shape.cpp: x = cos(arange(12)) as [3, 4]; gradients of sum(f(x) · (1 + arange)).
    x = torch.cos(torch.arange(12.0, dtype=f64)).reshape(3, 4).requires_grad_(True)
    weighted_grad("flip 0 1", torch.flip(x, [0, 1]), x)
    weighted_grad("roll 1 -1", torch.roll(x, (1, -1), (0, 1)), x)
    weighted_grad("roll flat 5", torch.roll(x, 5), x)
    weighted_grad("repeat 2 1 2", x.repeat(2, 1, 2), x)
    weighted_grad("tile 2", torch.tile(x, (2,)), x)
    v, i = torch.sort(x, 1, descending=True)
    weighted_grad("sort 1 descending", v, x)
    show("sort indices", i)
    v, i = torch.topk(x, 2, 0)
    weighted_grad("topk 2 dim 0", v, x)
    show("topk indices", i)
    show("argsort dim 0", torch.argsort(x, 0))


def reductions_extra():
    # tests/test_ops_reduce.cpp: the same x; norms, cumprod, cosine_similarity and kl_div.
    x = torch.cos(torch.arange(12.0, dtype=f64)).reshape(3, 4).requires_grad_(True)
    weighted_grad("norm", torch.norm(x), x)
    weighted_grad("norm 3 dim 1", torch.norm(x, 3, 1), x)
    weighted_grad("norm inf dim 0", torch.norm(x, float("inf"), 0), x)
    weighted_grad("norm 0.5 dim 1 keepdim", torch.norm(x, 0.5, 1, True), x)
    weighted_grad("cumprod 1", torch.cumprod(x, 1), x)
    z = torch.tensor([2.0, 0.0, 3.0, 0.0, 5.0], dtype=f64, requires_grad=True)
    (gz,) = torch.autograd.grad((torch.cumprod(z, 0) * torch.arange(1.0, 6.0, dtype=f64)).sum(), z)
    show("dcumprod with zeros", gz)
    y = torch.sin(torch.arange(12.0, dtype=f64)).reshape(3, 4)
    weighted_grad("cosine_similarity dim 1", F.cosine_similarity(x, y, 1), x)
    weighted_grad("kl_div batchmean", F.kl_div(F.log_softmax(x, 1), F.softmax(y, 1), reduction="batchmean"), x)
    weighted_grad("kl_div log_target sum", F.kl_div(F.log_softmax(x, 1), F.log_softmax(y, 1), reduction="sum", log_target=True), x)
    t = torch.tensor([[0.0, 0.5, 0.5, 0.0]] * 3, dtype=f64)
    weighted_grad("kl_div zero targets none", F.kl_div(F.log_softmax(x, 1), t, reduction="none"), x)


def spatial_losses():
    # tests/test_ops_loss.cpp: x = cos(arange(24)) as [N=2, C=3, T=4], class targets [2, 4].
    x = torch.cos(torch.arange(24.0, dtype=f64)).reshape(2, 3, 4).requires_grad_(True)
    t = torch.tensor([[2, 0, 1, 1], [2, 0, 2, 1]])
    w = torch.tensor([0.5, 2.0, 1.0], dtype=f64)
    weighted_grad("cross_entropy weighted ignore 0", F.cross_entropy(x, t, weight=w, ignore_index=0), x)
    weighted_grad("cross_entropy none smoothed", F.cross_entropy(x, t, reduction="none", label_smoothing=0.1), x)
    p = torch.softmax(torch.sin(torch.arange(24.0, dtype=f64)).reshape(2, 3, 4), 1)
    weighted_grad("cross_entropy soft targets", F.cross_entropy(x, p), x)
    weighted_grad("nll_loss sum", F.nll_loss(x, t, reduction="sum"), x)
    x4 = x.reshape(1, 3, 2, 4)
    weighted_grad("cross_entropy [1, 3, 2, 4]", F.cross_entropy(x4, t.reshape(1, 2, 4)), x)


def resizing():
    # tests/test_ops_interpolate.cpp: x = cos(arange(24)) as [1, 2, 3, 4] (reshaped for 1-d and 3-d modes).
    x = torch.cos(torch.arange(24.0, dtype=f64)).reshape(1, 2, 3, 4).requires_grad_(True)
    weighted_grad("nearest size 5 3", F.interpolate(x, size=(5, 3)), x)
    weighted_grad("nearest x2", F.interpolate(x, scale_factor=2), x)
    weighted_grad("bilinear x2", F.interpolate(x, scale_factor=2, mode="bilinear"), x)
    weighted_grad("bilinear size 4 7 align_corners", F.interpolate(x, size=(4, 7), mode="bilinear", align_corners=True), x)
    weighted_grad("bilinear scale 1.7 0.6", F.interpolate(x, scale_factor=(1.7, 0.6), mode="bilinear"), x)
    weighted_grad("linear size 7", F.interpolate(x.reshape(2, 3, 4), size=7, mode="linear"), x)
    weighted_grad("linear size 1 align_corners", F.interpolate(x.reshape(2, 3, 4), size=1, mode="linear", align_corners=True), x)
    weighted_grad("trilinear x1.5", F.interpolate(x.reshape(1, 1, 2, 3, 4), scale_factor=1.5, mode="trilinear"), x)
    # nearest in float32: the source index floor(j · in/out) computed in float, as torch does.
    r = torch.arange(10.0).reshape(1, 1, 10)
    for n in [3, 4, 7, 13, 17, 30]:
        show(f"nearest float32 10 to {n}", F.interpolate(r, size=n))
    show("nearest float32 10 x 0.35", F.interpolate(r, scale_factor=0.35))


def npy_files():
    # tests/test_xtensor_interop.cpp: the bytes numpy.save writes, which load_npy must read.
    arrays = {
        "float64 [2, 3]": np.arange(6.0).reshape(2, 3) / 4,
        "float32 [2, 3] fortran": np.asfortranarray(np.arange(6, dtype=np.float32).reshape(2, 3)),
        "int64 [3]": np.array([-1, 0, 2**40]),
        "bool [2, 2]": np.array([[True, False], [False, True]]),
        "int32 []": np.array(7, dtype=np.int32),
        "uint8 [4]": np.array([0, 1, 200, 255], dtype=np.uint8),
        "float64 [0, 2]": np.zeros((0, 2)),
    }
    for name, a in arrays.items():
        buf = io.BytesIO()
        np.save(buf, a)
        print(f"  {name}: {buf.getvalue().hex()}")


def recurrent_stacks():
    # tests/test_nn.cpp: GRU and LSTM stacks (2 layers, bidirectional, batch_first) on shared weights:
    # the k-th parameter in named_parameters order is 0.3·sin(0.37·arange + k); x = cos(arange(2·3·4)) as [N=2, T=3, 4].
    for kind in [torch.nn.GRU, torch.nn.LSTM]:
        m = kind(4, 5, num_layers=2, batch_first=True, bidirectional=True, dropout=0.5).double().eval()
        names = []
        with torch.no_grad():
            for k, (name, p) in enumerate(m.named_parameters()):
                p.copy_(0.3 * torch.sin(0.37 * torch.arange(p.numel(), dtype=f64) + k).reshape(p.shape))
                names.append(name)
        print(f"  {kind.__name__} parameters: {' '.join(names)}")
        x = torch.cos(torch.arange(24.0, dtype=f64)).reshape(2, 3, 4).requires_grad_(True)
        out, state = m(x)
        h = state[0] if kind is torch.nn.LSTM else state
        weighted_grad(f"{kind.__name__} output", out, x)
        show(f"{kind.__name__} h_n", h)
        w = 1 + torch.arange(out.numel(), dtype=f64).reshape(out.shape)
        (gw,) = torch.autograd.grad((m(x)[0] * w).sum(), m.weight_hh_l1_reverse)
        show(f"{kind.__name__} dweight_hh_l1_reverse first 8", gw.flatten()[:8])
        print(f"  {kind.__name__} repr: {m}")


def transformers():
    # tests/test_nn.cpp: torch.nn.Transformer (d_model 8, nhead 2, 2 + 2 layers, dim_feedforward 16, dropout 0,
    # batch_first) with post-norm + relu and pre-norm + gelu. The k-th parameter in named_parameters order is
    # 0.3·sin(0.37·arange + k) (LayerNorm weights 1 + that); src = sin(0.5·arange(2·5·8)) as [2, 5, 8],
    # tgt = cos(0.3·arange(2·4·8)) as [2, 4, 8]; tgt_mask causal; the last src position of sample 1 is padding
    # (src and memory key_padding_mask); the last tgt position of sample 0 is padding. Train mode, so torch
    # runs the composed path and not its eval-only fast path.
    for norm_first, activation in [(False, "relu"), (True, "gelu")]:
        m = torch.nn.Transformer(8, 2, 2, 2, 16, 0.0, activation, batch_first=True, norm_first=norm_first).double()
        names = []
        with torch.no_grad():
            for k, (name, p) in enumerate(m.named_parameters()):
                v = 0.3 * torch.sin(0.37 * torch.arange(p.numel(), dtype=f64) + k).reshape(p.shape)
                p.copy_(1 + v if "norm" in name and name.endswith("weight") else v)
                names.append(name)
        if not norm_first:
            print(f"  parameters: {' '.join(names)}")
        src = torch.sin(0.5 * torch.arange(80, dtype=f64)).reshape(2, 5, 8).requires_grad_(True)
        tgt = torch.cos(0.3 * torch.arange(64, dtype=f64)).reshape(2, 4, 8)
        src_pad = torch.zeros(2, 5, dtype=torch.bool)
        src_pad[1, 4] = True
        tgt_pad = torch.zeros(2, 4, dtype=torch.bool)
        tgt_pad[0, 3] = True
        out = m(src, tgt, tgt_mask=m.generate_square_subsequent_mask(4).double(), src_key_padding_mask=src_pad,
                tgt_key_padding_mask=tgt_pad, memory_key_padding_mask=src_pad)
        weighted_grad(f"transformer norm_first={norm_first} {activation}", out, src)
    layer = torch.nn.TransformerEncoderLayer(8, 2, 16, 0.0)
    print(f"  encoder layer repr: {layer}")


def einsums():
    # tests/test_ops_linalg.cpp: torch.einsum on operands cos(0.7·arange + k) (k = the operand's position) in
    # the given shapes, float64; the value and d(sum y·(1 + arange))/d(first operand).
    for eq, shapes in [("ij,jk->ik", [(2, 3), (3, 4)]), ("bhqd,bhkd->bhqk", [(2, 2, 3, 4), (2, 2, 2, 4)]),
                       ("ii", [(3, 3)]), ("ii,j->ij", [(3, 3), (2,)]), ("bn,anm,bm->ba", [(2, 3), (2, 3, 4), (2, 4)]),
                       ("...ij,...jk", [(2, 1, 2, 3), (3, 3, 2)]), ("i,i", [(4,), (4,)]), ("ijk->kj", [(2, 3, 2)]),
                       ("Ab,bA->", [(2, 3), (3, 2)])]:
        xs = [torch.cos(0.7 * torch.arange(float(torch.Size(s).numel()), dtype=f64) + k).reshape(s) for k, s in
              enumerate(shapes)]
        xs[0].requires_grad_(True)
        weighted_grad(f"einsum {eq}", torch.einsum(eq, *xs), xs[0])


SECTIONS = {f.__name__: f for f in [activations, losses, conv_and_pool, normalisation, conv_left_padding, kinks,
                                     degenerate, nan_patterns, views, dtypes, attention, conv_transpose, pooling_options,
                                     group_norm, math_functions, rearrange_and_sort, reductions_extra, spatial_losses,
                                     resizing, npy_files, recurrent_stacks, transformers, einsums]}

if __name__ == "__main__":
    print(f"PyTorch {torch.__version__}")
    for name in sys.argv[1:] or SECTIONS:
        print(name)
        SECTIONS[name]()
