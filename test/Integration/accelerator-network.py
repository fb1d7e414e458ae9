# A whole ResNet-like network (3x3 stem, 3x3 s2 p1 max pooling, a basic
# block, a depthwise 3x3 convolution, a strided block with a 1x1 downsample
# and residual adds, global average pooling, a classifier) compiles to ONE accelerator program; the
# program round-trips through the text and binary forms and the sdacc
# dialect unchanged, and sd-sim's outputs equal the CPU quantized mode's bit
# for bit (both from the binary and from the text form).
#
# REQUIRES: torch
# RUN: %PYTHON %s %t

import filecmp
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from smartdeal.accel import network as accelnet

work = Path(sys.argv[1])
work.mkdir(parents=True, exist_ok=True)
rng = np.random.default_rng(5)
net, result, x = accelnet.tiny_resnet(rng)
model = net.mlir(result)
(work / "net.mlir").write_text(model)


def run(*cmd):
    subprocess.run([str(c) for c in cmd], check=True)


run("sd-translate", "--sd-to-sdacc", work / "net.mlir", "-o", work / "net.sdacc")
run("sd-translate", "--sd-to-sdacc-text", work / "net.mlir", "-o", work / "net.txt")
text = (work / "net.txt").read_text()
layers = [l for l in text.splitlines() if l.startswith("layerdef ")]
kinds = [l.split(" kind=")[1].split()[0] for l in layers]
print("layers:", " ".join(kinds))
assert kinds == ["conv", "maxpool", "conv", "conv", "add", "dwconv", "conv",
                 "conv", "conv", "add", "avgpool", "fc"], kinds
outputs = [l for l in text.splitlines() if l.startswith("tensor ") and "role=output" in l]
assert len(outputs) == 1, outputs

# Binary -> sdacc dialect -> text is the translator's own text; text ->
# dialect -> binary is the translator's own binary.
run("sd-translate", "--import-sdacc", work / "net.sdacc", "-o", work / "net-ir.mlir")
run("sd-translate", "--export-sdacc-text", work / "net-ir.mlir", "-o", work / "back.txt")
assert filecmp.cmp(work / "net.txt", work / "back.txt", shallow=False)
run("sd-translate", "--import-sdacc", work / "net.txt", "-o", work / "net-ir2.mlir")
run("sd-translate", "--export-sdacc", work / "net-ir2.mlir", "-o", work / "back.sdacc")
assert filecmp.cmp(work / "net.sdacc", work / "back.sdacc", shallow=False)

xq = accelnet.quantize_input(net, x)
out_shape = net.shapes[result]
cpu = accelnet.run_cpu(model, xq, out_shape, work)
sim, report = accelnet.run_sim(work / "net.sdacc", xq, work, compare=True)
sim_text, _ = accelnet.run_sim(work / "net.txt", xq, work)
assert sim.shape == cpu.shape, (sim.shape, cpu.shape)
diff = int((sim != cpu).sum())
print(f"outputs {cpu.reshape(-1).tolist()}")
print(f"{diff} of {cpu.size} outputs differ between the CPU and sd-sim")
assert diff == 0
assert np.array_equal(sim, sim_text)
assert len(set(cpu.reshape(-1).tolist())) > 3, "degenerate outputs"
names = [l["name"] for l in report["layers"]]
assert len(names) == 12, names
print(f"cycles {report['cycles']}, dense baseline {report['baseline']['cycles']}")
print("PASS")
