# Full torchvision ResNet-18 at 224x224 (7x7 stem, max pooling, eight basic
# blocks with residual adds and 1x1 downsamples, the 1000-way classifier;
# random weights, calibrated on one random input) through the passes, no
# hand-written IR: import -> --sd-compress (plan: 4-bit Ce codes over
# [-6, 0], a quarter of the Ce rows zero per group of 32 filters) ->
# --sd-to-accelerator (quantize; schedule: every convolution tiled to the
# buffers - row bands, weight tiles - and the block convolutions whose
# tensors fit the input buffer cascaded; partition) -> hybrid artifact. Its
# convolutions, pooling and adds are ONE program (the global average
# pooling and the classifier a second one), which round-trips through its
# text form and the sdacc dialect byte for byte; the artifact's 1000
# outputs equal the CPU quantized mode's bit for bit. A few minutes.
#
# REQUIRES: torch, torchvision
# RUN: %PYTHON %s %t

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch
import torchvision

from smartdeal import import_torch
from smartdeal.accel import calibration_stats
from smartdeal.runtime import aot, hybrid, runner

work = Path(sys.argv[1])
work.mkdir(parents=True, exist_ok=True)
sd_opt = runner.find_sd_opt()
tools = Path(sd_opt).parent

torch.manual_seed(0)
model = torchvision.models.resnet18(weights=None).eval()
x = np.random.default_rng(0).standard_normal((1, 3, 224, 224)).astype(np.float32)
calibration_stats.write_stats(work / "stats.json",
                              calibration_stats.torch_stats(model, [(x,)]), 1)
import_torch(model, (torch.from_numpy(x),), output=str(work / "model.mlir"))
(work / "plan.json").write_text(json.dumps({"defaults": {
    "min-size": 64, "min-exp": -6, "max-exp": 0, "structured-fraction": 0.25}}))
subprocess.run([sd_opt, work / "model.mlir",
                f"--sd-compress=plan={work / 'plan.json'}",
                f"--sd-to-accelerator=stats={work / 'stats.json'}",
                "-o", work / "q.mlir"], check=True, capture_output=True)
q = (work / "q.mlir").read_text()
names = hybrid.build(work / "q.mlir", work / "artifact")
assert names == ["main_acc0", "main_acc1"], names

# The tiling of every convolution and the cascades are on the IR, and the
# program follows them.
assert q.count("sd.tiling = ") == 21, q.count("sd.tiling = ")
cascades = q.count("sd.cascade")
assert cascades >= 2, cascades
program = work / "artifact" / "main_acc0.sdacc"
text = work / "program.txt"
subprocess.run([tools / "sd-translate", "--sd-to-sdacc-text", "--sdacc-function=main_acc0",
                work / "q.mlir", "-o", text], check=True)
moves = [l for l in text.read_text().splitlines() if l.split()[:1] == ["move"]]
assert moves, "no cascade in the program"
subprocess.run([tools / "sd-translate", "--import-sdacc", text, "-o",
                work / "program.mlir"], check=True)
subprocess.run([tools / "sd-translate", "--export-sdacc", work / "program.mlir",
                "-o", work / "back.sdacc"], check=True)
assert (work / "back.sdacc").read_bytes() == program.read_bytes()

got, run = hybrid.run(work / "artifact", [x], 2)
hybrid.compile_library(work / "q.mlir", work / "cpu.so")
want = aot.call(str(work / "cpu.so"), "main", [x], 2)
assert want.shape == (1, 1000), want.shape
same = np.array_equal(np.ascontiguousarray(got, np.float32).view(np.uint32),
                      np.ascontiguousarray(want, np.float32).view(np.uint32))
assert same, "hybrid != CPU quantized mode"
assert len(set(want.reshape(-1).tolist())) > 20, "degenerate outputs"
print(f"{cascades} cascades, {run['total']['cycles']} cycles; "
      f"1000 outputs bit-exact with the CPU quantized mode")
print("PASS")
