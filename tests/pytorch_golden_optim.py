#!/usr/bin/python3
"""Golden values cited by tests/test_optim.cpp ("first steps match PyTorch for
every optimizer", "learning-rate schedulers match PyTorch", "LBFGS matches
torch.optim.LBFGS"), computed with
PyTorch (python3-torch, 1.13) in float64. Run: /usr/bin/python3 tests/pytorch_golden_optim.py"""
import torch

f64 = torch.float64


def three_steps(make):
    """Three steps on L = sum w (p - t)^2 from p = [1, -2, 3], as the C++ test does."""
    p = torch.tensor([1.0, -2.0, 3.0], dtype=f64, requires_grad=True)
    t = torch.tensor([0.5, 0.5, -1.0], dtype=f64)
    w = torch.tensor([1.0, 2.0, 0.5], dtype=f64)
    opt = make([p])
    for _ in range(3):
        opt.zero_grad()
        ((p - t) ** 2 * w).sum().backward()
        opt.step()
    return p.detach().tolist()


def lrs(make, n):
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=0.1)
    sched = make(opt)
    out = [opt.param_groups[0]["lr"]]
    for _ in range(n):
        opt.step()
        sched.step()
        out.append(opt.param_groups[0]["lr"])
    return out


O = torch.optim
S = torch.optim.lr_scheduler
print(f"PyTorch {torch.__version__}\nfirst steps")
for name, make in [
    ("SGD lr 0.1", lambda p: O.SGD(p, lr=0.1)),
    ("SGD nesterov momentum 0.9 wd 0.01", lambda p: O.SGD(p, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01)),
    ("SGD momentum 0.8 dampening 0.3 lr 0.05", lambda p: O.SGD(p, lr=0.05, momentum=0.8, dampening=0.3)),
    ("Adam lr 0.1", lambda p: O.Adam(p, lr=0.1)),
    ("Adam amsgrad wd 0.1", lambda p: O.Adam(p, lr=0.1, amsgrad=True, weight_decay=0.1)),
    ("AdamW lr 0.1", lambda p: O.AdamW(p, lr=0.1)),
    ("RMSprop", lambda p: O.RMSprop(p)),
    ("RMSprop centered momentum 0.9 wd 0.1", lambda p: O.RMSprop(p, centered=True, momentum=0.9, weight_decay=0.1)),
    ("Adagrad lr 0.1 lr_decay 0.01 init 0.1", lambda p: O.Adagrad(p, lr=0.1, lr_decay=0.01, initial_accumulator_value=0.1)),
]:
    print(f"  {name}: {three_steps(make)}")

print("schedulers (lr 0.1)")
print("  StepLR(3, 0.5):", lrs(lambda o: S.StepLR(o, 3, 0.5), 8))
print("  MultiStepLR([2, 5], 0.1):", lrs(lambda o: S.MultiStepLR(o, [2, 5], 0.1), 8))
print("  ExponentialLR(0.9):", lrs(lambda o: S.ExponentialLR(o, 0.9), 4))
print("  CosineAnnealingLR(4, 0.01):", lrs(lambda o: S.CosineAnnealingLR(o, 4, 0.01), 4))
print("  LinearLR(0.25, 1.0, 4):", lrs(lambda o: S.LinearLR(o, 0.25, 1.0, 4), 6))
print("  OneCycleLR(1.0, 10):", lrs(lambda o: S.OneCycleLR(o, 1.0, total_steps=10), 9))
p = torch.zeros(1, requires_grad=True)
opt = O.SGD([p], lr=1.0)
plateau = S.ReduceLROnPlateau(opt, "min", 0.5, 2, 1e-4, cooldown=1)
seq = []
for m in [5, 4, 4, 4, 4, 4, 4, 4, 3, 3]:
    plateau.step(m)
    seq.append(opt.param_groups[0]["lr"])
print("  ReduceLROnPlateau(min, 0.5, patience 2, cooldown 1):", seq)

print("LBFGS on Rosenbrock")
# tests/test_optim.cpp: torch.optim.LBFGS on the Rosenbrock function from (-1.5, 2) in float64,
# with and without the strong-Wolfe line search; the parameters after each step(closure).
for line_search, lr, max_iter, history in [("strong_wolfe", 1.0, 20, 100), (None, 0.1, 5, 3), ("strong_wolfe", 1.0, 4, 2)]:
    x = torch.tensor([-1.5, 2.0], dtype=f64, requires_grad=True)
    opt = torch.optim.LBFGS([x], lr=lr, max_iter=max_iter, history_size=history, line_search_fn=line_search)

    def closure():
        opt.zero_grad()
        loss = (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2
        loss.backward()
        return loss

    print(f"  line_search={line_search} lr={lr} max_iter={max_iter} history_size={history}")
    for step in range(6):
        loss = opt.step(closure)
        state = opt.state[x]
        print(f"    step {step}: loss {loss.item():.17g} x {x[0].item():.17g} {x[1].item():.17g}"
              f" func_evals {state['func_evals']} n_iter {state['n_iter']}")
