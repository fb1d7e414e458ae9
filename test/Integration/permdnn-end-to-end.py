# A model with permuted-diagonal layers goes the whole way (issue #8's "done
# means"): a dense MLP trained on real Fashion-MNIST images is projected to
# PermDNN form (p = 4), fine-tuned with the structure kept, exported into sd
# IR and run on the CPU backend (same outputs as PyTorch), then compiled in
# the integer format to ONE accelerator program whose sd-sim outputs equal
# the CPU quantized mode bit for bit, with a SmartExchange layer in the same
# model (exponents [-6, 0]: the 7 levels 4-bit codes hold).
#
# REQUIRES: torch, fashion-mnist
# RUN: env SD_DECOMPOSE_DRIVER=%sd_obj_root/bin/sd-decompose-ref-driver %PYTHON %s %t

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch
from torch import nn

from smartdeal.accel import network as accelnet
from smartdeal.training import (PermDiagLinear, SELinear, convert_model, evaluate,
                                export_mlir, finetune, run_exported)
from smartdeal.training.experiment import batches, load_fashion_mnist


work = Path(sys.argv[1])
work.mkdir(parents=True, exist_ok=True)
torch.manual_seed(0)
torch.set_num_threads(1)

xtr, ytr = load_fashion_mnist("train")
xte, yte = load_fashion_mnist("test")
xtr, ytr, xte, yte = xtr[:4000], ytr[:4000], xte[:1000], yte[:1000]
train = batches(xtr, ytr, 64, shuffle=True)
test = batches(xte, yte, 500, shuffle=False)

model = nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(),
                      nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 10))
finetune(model, train, epochs=2, lr=2e-3)
dense = evaluate(model, test)

# The two large layers become PermDNN; the small classifier SmartExchange.
convert_model(model, "permdiag", p=4, select=lambda name, m: name in ("1", "3"))
convert_model(model, "se", threshold=1e-3, exponents=(-6, 0),
              select=lambda name, m: name == "5")
assert [type(m).__name__ for m in model] == [
    "Flatten", "PermDiagLinear", "ReLU", "PermDiagLinear", "ReLU", "SELinear"]
offsets = [model[i].offsets.clone() for i in (1, 3)]
projected = evaluate(model, test)
finetune(model, train, epochs=2, lr=1e-3)
tuned = evaluate(model, test)
print(f"dense {dense:.3f}, projected p=4 {projected:.3f}, fine-tuned {tuned:.3f}")
assert dense > 0.75, dense
assert tuned > projected, (tuned, projected)
for i, before in zip((1, 3), offsets):
    assert torch.equal(model[i].offsets, before), "fine-tuning moved an offset"
    w = model[i].weight().detach()
    p = model[i].p
    rows, cols = torch.nonzero(w, as_tuple=True)
    k = model[i].offsets[rows // p, cols // p]
    assert torch.equal((rows % p + k) % p, cols % p), "a weight left its diagonal"

# Float sd IR on the CPU backend equals PyTorch.
x = xte[:64]
text = export_mlir(model, x)
assert "sd.permdiag_matmul" in text and "sd.shift_add_matmul" in text
with torch.no_grad():
    ref = model(x).numpy()
cpu_float = run_exported(text, x)
err = float(np.abs(cpu_float - ref).max() / np.abs(ref).max())
print(f"exported model on the CPU vs PyTorch: max relative difference {err:.2e}")
assert err < 1e-5, err

# The integer model: one program, CPU quantized mode == sd-sim, bit for bit.
net, result = accelnet.from_module(model, x.numpy())
(work / "net.mlir").write_text(net.mlir(result))
subprocess.run(["sd-translate", "--sd-to-sdacc", str(work / "net.mlir"), "-o",
                str(work / "net.sdacc")], check=True)
xq = accelnet.quantize_input(net, x.numpy())
cpu = accelnet.run_cpu(net.mlir(result), xq, net.shape(result), work)
sim, report = accelnet.run_sim(work / "net.sdacc", xq, work, compare=True)
diff = int((sim != cpu).sum())
print(f"{diff} of {cpu.size} int8 outputs differ between the CPU and sd-sim")
assert diff == 0
kinds = [layer["name"] for layer in report["layers"]]
assert len(kinds) == 3, kinds
agree = float((cpu.argmax(1) == ref.argmax(1)).mean())
print(f"int8 model agrees with PyTorch on {agree:.0%} of the 64 predictions")
assert agree >= 0.9, agree
print(f"cycles {report['cycles']}, dense baseline {report['baseline']['cycles']}")
print("PASS")
