#!/usr/bin/env python3
"""Calibration statistics and `sd-opt --sd-quantize` on imported models.

A small residual CNN (PyTorch) and a Conv-Relu-MatMul graph (ONNX) are
imported; their float model writes calibration statistics
(`smartdeal.accel.calibration_stats`), which must hold exactly the largest
magnitudes the framework computes for the named tensors. `sd-decompose` and
`sd-quantize` then run in one sd-opt call: the report must put every layer
the accelerator has a form for on it (so the importers' names and the
statistics' names agree), and the quantized model run on the CPU quantized
mode must stay close to the float decomposed model (a wrong scale shows up
as a large error). Run with /usr/bin/python3; exits non-zero on failure.
"""

import json
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from smartdeal import import_onnx, import_torch  # noqa: E402
from smartdeal.accel import calibration_stats  # noqa: E402
from smartdeal.runtime import runner  # noqa: E402


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, padding=1)
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv2d(16, 16, 3, padding=1)
        self.fc = nn.Linear(16 * 8 * 8, 10)

    def forward(self, x):
        y = self.relu(self.conv1(x))
        z = self.conv2(y)
        y = self.relu(z + y)  # the second call of `relu`: "relu#1"
        return self.fc(torch.flatten(y, 1))


# 7 exponent levels: the published 4-bit Ce codes the default hardware holds.
DECOMPOSE = "--sd-decompose=min-size=64 min-exp=-4 max-exp=2"


def quantize(model_mlir: Path, stats: Path, tmp: Path, decompose: str = DECOMPOSE):
    out, report = tmp / "q.mlir", tmp / "q.json"
    subprocess.run([runner.find_sd_opt(), str(model_mlir), decompose,
                    f"--sd-quantize=stats={stats} report={report}", "--sd-partition",
                    "-o", str(out)], check=True, capture_output=True)
    float_out = tmp / "f.mlir"
    subprocess.run([runner.find_sd_opt(), str(model_mlir), decompose,
                    "-o", str(float_out)], check=True, capture_output=True)
    return out, float_out, json.loads(report.read_text())


def check_simulator(q: Path, report: dict, x: np.ndarray, yq: np.ndarray, tmp: Path):
    """The quantized module's one accelerator segment on sd-sim gives the CPU
    quantized mode's int8 outputs `yq` for input `x` (the host only
    dequantizes them, f32(q) * f32(s); printed with 6 digits,
    q = round(y / s) is recovered exactly)."""
    tools = Path(runner.find_sd_opt()).parent
    subprocess.run([tools / "sd-translate", "--sd-to-sdacc",
                    "--sdacc-function=main_acc0", q, "-o", tmp / "p.sdacc"],
                   check=True, capture_output=True)
    accel = [o for o in report["ops"] if o["target"] == "accelerator"]
    s_in, s_out = accel[0]["input_scale"], accel[-1]["output_scale"]
    t = x.astype(np.float64) / s_in
    xq = np.clip(np.trunc(t + np.copysign(0.5, t)), -127, 127).astype(np.int8)
    np.save(tmp / "xq.npy", xq)
    subprocess.run([tools / "sd-sim", tmp / "p.sdacc", "--input",
                    f"arg0={tmp / 'xq.npy'}", "--output-dir", tmp / "out"],
                   check=True, capture_output=True)
    (sim,) = [np.load(p) for p in sorted((tmp / "out").glob("*.npy"))]
    np.testing.assert_array_equal(sim.astype(np.int64), np.rint(yq / s_out).astype(np.int64))


def relative(a, b):
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


class QuantizePassTest(unittest.TestCase):
    def test_torch_residual_cnn(self):
        torch.manual_seed(0)
        model = Block().eval()
        rng = np.random.default_rng(0)
        calib = [(rng.standard_normal((1, 3, 8, 8)).astype(np.float32),) for _ in range(4)]
        stats = calibration_stats.torch_stats(model, calib)
        with torch.no_grad():
            xs = [torch.from_numpy(c[0]) for c in calib]
            y1 = [model.relu(model.conv1(x)) for x in xs]
            want = {"arg0": max(float(x.abs().max()) for x in xs),
                    "relu": max(float(y.abs().max()) for y in y1),
                    "conv2": max(float(model.conv2(y).abs().max()) for y in y1),
                    "relu#1": max(float(model.relu(model.conv2(y) + y).abs().max())
                                  for y in y1)}
        for k, v in want.items():
            self.assertAlmostEqual(stats[k], v, places=5, msg=k)
        with tempfile.TemporaryDirectory() as d:
            tmp = Path(d)
            calibration_stats.write_stats(tmp / "stats.json", stats, len(calib))
            doc = json.loads((tmp / "stats.json").read_text())
            self.assertEqual((doc["format"], doc["version"], doc["inputs"]),
                             ("sd-calibration-stats", 1, 4))
            import_torch(model, (xs[0],), output=str(tmp / "model.mlir"))
            q, f, report = quantize(tmp / "model.mlir", tmp / "stats.json", tmp)
            on_accel = sorted(o["op"] for o in report["ops"] if o["target"] == "accelerator")
            self.assertEqual(on_accel, ["linalg.generic", "sd.shift_add_conv2d",
                                        "sd.shift_add_conv2d", "sd.shift_add_matmul"],
                             report)
            x = calib[0][0]
            yq = runner.run_mlir(q, [x], pipeline="--sd-cpu-to-llvm").outputs[0]
            yf = runner.run_mlir(f, [x], pipeline="--sd-cpu-to-llvm").outputs[0]
            self.assertLess(relative(yq, yf), 0.1)
            # Everything after the input's quantization is one accelerator
            # segment: its program on sd-sim gives the CPU quantized mode's
            # int8 outputs (the host only dequantizes them, f32(q) * f32(s);
            # printed with 6 digits, q = round(y / s) is recovered exactly).
            text = q.read_text()
            self.assertIn("func.func private @main_acc0", text)
            self.assertNotIn("@main_acc1", text)
            check_simulator(q, report, x, yq, tmp)

    def test_every_kernel_shape(self):
        # 1x3, 3x1, 2x2, 5x5 and 7x7 convolutions (rows of 3 over the
        # flattened filter, docs/decomposition.md#kernel-shapes) through
        # every consumer: the CPU backend equals the reference path within
        # 1e-5, --sd-quantize puts the layer on the accelerator, the CPU
        # quantized mode stays near the float model, and sd-sim's int8
        # output equals the CPU quantized mode's.
        rng = np.random.default_rng(1)
        for kernel, pad in (((1, 3), (0, 1)), ((3, 1), (1, 0)), ((2, 2), 0),
                            ((5, 5), 2), ((7, 7), 3)):
            with self.subTest(kernel=kernel), tempfile.TemporaryDirectory() as d:
                tmp = Path(d)
                torch.manual_seed(0)
                model = nn.Sequential(nn.Conv2d(6, 8, kernel, padding=pad), nn.ReLU()).eval()
                calib = [(rng.standard_normal((1, 6, 10, 10)).astype(np.float32),)
                         for _ in range(4)]
                calibration_stats.write_stats(
                    tmp / "stats.json", calibration_stats.torch_stats(model, calib), 4)
                import_torch(model, (torch.from_numpy(calib[0][0]),),
                             output=str(tmp / "model.mlir"))
                q, f, report = quantize(tmp / "model.mlir", tmp / "stats.json", tmp)
                self.assertIn("!sd.se<8x6x" + "x".join(map(str, kernel)), f.read_text())
                on_accel = [o["op"] for o in report["ops"] if o["target"] == "accelerator"]
                self.assertIn("sd.shift_add_conv2d", on_accel, report)
                x = calib[0][0]
                ref = runner.run_mlir(f, [x], pipeline="--sd-reference-to-llvm").outputs[0]
                cpu = runner.run_mlir(f, [x], pipeline="--sd-cpu-to-llvm").outputs[0]
                self.assertLessEqual(runner.relative_error(cpu, ref), 1e-5)
                yq = runner.run_mlir(q, [x], pipeline="--sd-cpu-to-llvm").outputs[0]
                self.assertLess(relative(yq, cpu), 0.1)
                check_simulator(q, report, x, yq, tmp)

    def test_onnx_conv_relu_matmul(self):
        self.conv_relu_matmul(DECOMPOSE, ["sd.shift_add_conv2d", "sd.shift_add_matmul"])

    def test_dense_layers(self):
        # Layers the decomposition leaves dense (here: all, below min-size)
        # run on the accelerator in its dense format: the convolution with
        # its bias and ReLU, and the MatMul with its [K, N] constant read as
        # [N, K]; one segment, sd-sim bit for bit with the CPU quantized mode.
        self.conv_relu_matmul("--sd-decompose=min-size=1000000",
                              ["linalg.conv_2d_nchw_fchw", "linalg.matmul"])

    def conv_relu_matmul(self, decompose, ops):
        import onnx
        from onnx import TensorProto, helper, numpy_helper

        rng = np.random.default_rng(1)
        w = (rng.standard_normal((8, 4, 3, 3)) * 0.3).astype(np.float32)
        b = (rng.standard_normal(8) * 0.1).astype(np.float32)
        m = (rng.standard_normal((8 * 6 * 6, 5)) * 0.1).astype(np.float32)
        g = helper.make_graph(
            [helper.make_node("Conv", ["x", "w", "b"], ["c"], name="conv", pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c"], ["r"], name="relu"),
             helper.make_node("Flatten", ["r"], ["f"], name="flat"),
             helper.make_node("MatMul", ["f", "m"], ["y"], name="fc")],
            "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 6, 6])],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 5])],
            [numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b"),
             numpy_helper.from_array(m, "m")])
        model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
        calib = [(rng.standard_normal((1, 4, 6, 6)).astype(np.float32),) for _ in range(3)]
        stats = calibration_stats.onnx_stats(model, calib)
        relu = [np.maximum(torch.nn.functional.conv2d(
            torch.from_numpy(c[0]), torch.from_numpy(w), torch.from_numpy(b),
            padding=1).numpy(), 0) for c in calib]
        self.assertAlmostEqual(stats["relu"], max(float(np.abs(r).max()) for r in relu),
                               places=5)
        self.assertAlmostEqual(stats["fc"], max(float(np.abs(r.reshape(1, -1) @ m).max())
                                                for r in relu), places=4)
        # Per-channel ranges of the 4-D tensors (dimension 1), for the pass's
        # channel equalization; the 2-D ones have none.
        same, channels = calibration_stats.onnx_stats(model, calib, channels=True)
        self.assertEqual(same, stats)
        np.testing.assert_allclose(channels["relu"], np.max([np.abs(r).max(axis=(0, 2, 3))
                                                             for r in relu], axis=0),
                                   rtol=1e-6)
        self.assertNotIn("fc", channels)  # [1, 5]: 2-D
        with tempfile.TemporaryDirectory() as d:
            tmp = Path(d)
            onnx.save(model, str(tmp / "m.onnx"))
            calibration_stats.write_stats(tmp / "stats.json", stats, len(calib))
            import_onnx(str(tmp / "m.onnx"), output=str(tmp / "model.mlir"))
            q, f, report = quantize(tmp / "model.mlir", tmp / "stats.json", tmp, decompose)
            on_accel = [(o["name"], o["op"]) for o in report["ops"]
                        if o["target"] == "accelerator"]
            self.assertEqual(on_accel, list(zip(["conv", "fc"], ops)), report)
            x = calib[0][0]
            yq = runner.run_mlir(q, [x], pipeline="--sd-cpu-to-llvm").outputs[0]
            yf = runner.run_mlir(f, [x], pipeline="--sd-cpu-to-llvm").outputs[0]
            self.assertLess(relative(yq, yf), 0.1)
            text = q.read_text()
            self.assertIn("func.func private @main_acc0", text)
            self.assertNotIn("@main_acc1", text)
            check_simulator(q, report, x, yq, tmp)


if __name__ == "__main__":
    unittest.main()
