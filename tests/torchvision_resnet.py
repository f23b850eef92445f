# Writes a randomly initialised torchvision resnet18 (10 classes; batch-norm
# statistics and affine parameters randomised too, so they matter), a fixed
# input and the model's eval-mode logits to one safetensors file, with numpy
# alone for the file. tests/test_nn.cpp loads it into xgrad's resnet18 and
# compares logits. Usage: torchvision_resnet.py OUT
import json, struct, sys

import numpy as np
import torch
import torchvision

torch.manual_seed(0)
model = torchvision.models.resnet18(num_classes=10)
with torch.no_grad():
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn_like(m.running_mean) * 0.1)
            m.running_var.copy_(torch.rand_like(m.running_var) + 0.5)
            m.weight.copy_(torch.rand_like(m.weight) + 0.5)
            m.bias.copy_(torch.randn_like(m.bias) * 0.1)
            m.num_batches_tracked.fill_(7)
model.eval()
x = torch.randn(2, 3, 64, 64)
with torch.no_grad():
    logits = model(x)
tensors = {k: v.detach().numpy() for k, v in model.state_dict().items()}
tensors["input"] = x.numpy()
tensors["logits"] = logits.numpy()
names = {np.dtype(np.float32): "F32", np.dtype(np.int64): "I64"}
header, blobs, offset = {}, [], 0
for name, arr in tensors.items():
    b = np.ascontiguousarray(arr).tobytes()
    header[name] = {"dtype": names[arr.dtype], "shape": list(arr.shape), "data_offsets": [offset, offset + len(b)]}
    blobs.append(b)
    offset += len(b)
h = json.dumps(header).encode()
open(sys.argv[1], "wb").write(struct.pack("<Q", len(h)) + h + b"".join(blobs))
print("ok", len(tensors))
