#!/usr/bin/env python3
"""Whole models through the CPU backend agree with the rebuild oracle.

An MLP and torchvision's ResNet-18 (random weights, 32x32 input) are
imported, decomposed by sd-decompose, and run twice through sd-opt and
mlir-runner: with the CPU backend's compressed kernels (--sd-cpu-to-llvm)
and with the dense-rebuild oracle (--sd-reference-to-llvm), and once more
compiled ahead of time to a shared library (scripts/sd-compile.sh) called
through its C entry point. Outputs must agree within 1e-5 relative
(max |diff| / max |oracle|).
Run with /usr/bin/python3; exits non-zero on failure.
"""

import os
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from smartdeal import import_torch  # noqa: E402
from smartdeal.runtime import aot, runner  # noqa: E402

REPO = Path(__file__).resolve().parents[2]


def decompose(text: str, tmp: Path) -> str:
    src, out = tmp / "model.mlir", tmp / "compressed.mlir"
    src.write_text(text)
    subprocess.run([runner.find_sd_opt(), str(src), "--sd-decompose=min-size=256",
                    "-o", str(out)], check=True, capture_output=True)
    return out.read_text()


class WholeModelTest(unittest.TestCase):
    def check(self, module: torch.nn.Module, x: torch.Tensor, min_layers: int):
        with tempfile.TemporaryDirectory() as tmp:
            compressed = decompose(import_torch(module.eval(), (x,)), Path(tmp))
            layers = compressed.count("sd.se_constant")
            self.assertGreaterEqual(layers, min_layers)
            cpu = runner.run_mlir(compressed, [x.numpy()],
                                  pipeline="--sd-cpu-to-llvm").outputs[0]
            ref = runner.run_mlir(compressed, [x.numpy()],
                                  pipeline="--sd-reference-to-llvm").outputs[0]
            err = runner.relative_error(cpu, ref)
            # The same kernels as a shared library with a C entry point.
            so = Path(tmp) / "libmodel.so"
            (Path(tmp) / "c.mlir").write_text(compressed)
            subprocess.run([str(REPO / "scripts" / "sd-compile.sh"),
                            str(Path(tmp) / "c.mlir"), str(so)], check=True,
                           env=dict(os.environ, SD_OPT=runner.find_sd_opt()))
            lib = aot.call(str(so), "main", [x.numpy()], ref.ndim)
            lib_err = runner.relative_error(lib, ref)
            print(f"  {type(module).__name__}: {layers} decomposed layers, "
                  f"CPU (JIT) vs oracle {err:.2e}, shared library vs oracle "
                  f"{lib_err:.2e}")
            self.assertLess(err, 1e-5)
            self.assertLess(lib_err, 1e-5)

    def test_mlp(self):
        torch.manual_seed(0)
        mlp = torch.nn.Sequential(torch.nn.Linear(64, 128), torch.nn.ReLU(),
                                  torch.nn.Linear(128, 96), torch.nn.ReLU(),
                                  torch.nn.Linear(96, 10))
        self.check(mlp, torch.randn(4, 64), 3)

    def test_resnet18(self):
        import torchvision

        torch.manual_seed(0)
        model = torchvision.models.resnet18(weights=None)
        self.check(model, torch.randn(1, 3, 32, 32), 15)


if __name__ == "__main__":
    result = unittest.main(exit=False, verbosity=2).result
    failed = len(result.failures) + len(result.errors)
    print(f"{result.testsRun - failed} passed, {failed} failed")
    sys.exit(1 if failed else 0)
