#!/usr/bin/python3
"""Seconds per Fashion-MNIST epoch in PyTorch for the same models, batch size,
optimizer and thread count as xgrad-train, for the README's comparison.
Usage: /usr/bin/python3 bench/pytorch_epoch.py [mlp|cnn|resnet] [threads]"""
import gzip, sys, time
import numpy as np
import torch
import torch.nn as nn

model_name = sys.argv[1] if len(sys.argv) > 1 else "mlp"
threads = int(sys.argv[2]) if len(sys.argv) > 2 else 1
torch.set_num_threads(threads)
root = "/usr/share/datasets/fashion-mnist"

def idx(path):
    raw = gzip.open(path, "rb").read()
    dims = raw[3]
    shape = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)

x = torch.from_numpy(idx(f"{root}/train-images-idx3-ubyte.gz").astype(np.float32) / 255.0).reshape(-1, 1, 28, 28)[:55000]
y = torch.from_numpy(idx(f"{root}/train-labels-idx1-ubyte.gz").astype(np.int64))[:55000]
torch.manual_seed(0)


class BasicBlock(nn.Module):
    """He et al.'s basic block with a projection shortcut where the shape changes, as nn::BasicBlock."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        h = torch.relu(self.bn1(self.conv1(x)))
        h = self.bn2(self.conv2(h))
        return torch.relu(h + (self.downsample(x) if self.downsample is not None else x))


def resnet20(in_channels=1, num_classes=10):
    """nn::models::resnet20: 16/32/64 channels, three stages of three blocks, global average pool, linear."""
    layers = [nn.Conv2d(in_channels, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU()]
    cin = 16
    for stage, cout in enumerate([16, 32, 64]):
        for b in range(3):
            layers.append(BasicBlock(cin, cout, 2 if b == 0 and stage > 0 else 1))
            cin = cout
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, num_classes)]
    return nn.Sequential(*layers)


if model_name == "resnet":
    model = resnet20()
    lr = 1e-3
elif model_name == "cnn":
    model = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(8, 16, 3, padding=1),
                          nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(784, 10))
    lr = 3e-3
else:
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10))
    lr = 1e-3
opt = torch.optim.Adam(model.parameters(), lr=lr)
loss_fn = nn.CrossEntropyLoss()
times = []
for epoch in range(2):
    perm = torch.randperm(x.shape[0])
    t0 = time.perf_counter()
    for i in range(0, x.shape[0], 128):
        idx_b = perm[i:i + 128]
        opt.zero_grad()
        loss = loss_fn(model(x[idx_b]), y[idx_b])
        loss.backward()
        opt.step()
    times.append(time.perf_counter() - t0)
print(f"pytorch {torch.__version__} {model_name} threads={threads}: {min(times):.2f} s per epoch (training only, best of 2)")
