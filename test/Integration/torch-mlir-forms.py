# Models as torch-mlir prints them (TorchScript path: ResNet-style and a BERT
# encoder layer; FX path: LeNet with 5x5 convolutions and a SwiGLU block;
# test/Dialect/SD/Transforms/torch-mlir-*.mlir) go the whole way: the
# original module runs (ml_program global and all), sd-decompose takes every
# layer with a constant weight, and the compressed module gives the same
# outputs on the CPU backend's kernels as on the reference (dense rebuild)
# path, within 1e-5; its output stays near the original's.
#
# RUN: %PYTHON %s %t

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from smartdeal.runtime import runner

work = Path(sys.argv[1])
work.mkdir(parents=True, exist_ok=True)
src = Path(os.environ.get("SD_SRC_ROOT", Path(__file__).resolve().parents[2]))
inputs = src / "test" / "Dialect" / "SD" / "Transforms"
sd_opt = runner.find_sd_opt()

# name -> layers that must decompose (the BERT file's two attention products
# multiply activations and stay dense).
expected = {
    "torch-mlir-torchscript-resnet.mlir": 4,
    "torch-mlir-torchscript-bert.mlir": 6,
    "torch-mlir-fx-lenet.mlir": 4,
    "torch-mlir-fx-swiglu.mlir": 3,
    # fc2 reads a mutable global: dense.
    "torch-mlir-fx-globals.mlir": 2,
}
rng = np.random.default_rng(0)
failed = False
for name, count in expected.items():
    path = inputs / name
    text = path.read_text()
    compressed = work / name.replace(".mlir", ".sd.mlir")
    report = work / name.replace(".mlir", ".json")
    subprocess.run([sd_opt, str(path), f"--sd-decompose=min-size=64 report={report}",
                    "-o", str(compressed)], check=True, capture_output=True)
    layers = json.loads(report.read_text())["layers"]
    se = [l["name"] for l in layers if l["form"] == "se"]
    shapes, _ = runner.main_signature(text)
    xs = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    dense = runner.run_mlir(text, xs, sd_opt=sd_opt, pipeline="--sd-tensor-to-llvm")
    ref = runner.run_mlir(compressed, xs, sd_opt=sd_opt, pipeline="--sd-reference-to-llvm")
    cpu = runner.run_mlir(compressed, xs, sd_opt=sd_opt, pipeline="--sd-cpu-to-llvm")
    cpu_err = runner.relative_error(cpu.outputs[0], ref.outputs[0])
    fidelity = runner.relative_error(ref.outputs[0], dense.outputs[0])
    ok = len(se) == count and cpu_err <= 1e-5 and fidelity < 0.5
    failed |= not ok
    print(f"{name}: {len(se)}/{len(layers)} layers decomposed (expected {count}), "
          f"CPU vs reference {cpu_err:.2e}, compressed vs original {fidelity:.3f}"
          f"{'' if ok else '  FAILED'}")
sys.exit(1 if failed else 0)
