#!/usr/bin/env python3
"""Whole partitioned models on the host CPU and sd-sim (smartdeal.runtime.hybrid).

A PyTorch residual CNN with a host-only sigmoid gate in the middle goes
through import -> decompose -> calibration statistics -> quantize ->
partition (two accelerator segments around the host code) -> hybrid
artifact (host library with --sd-offload + one program per segment). The
differential checks: the hybrid run's output equals the CPU quantized mode
(the same partitioned module compiled whole by the CPU backend) bit for
bit; the runtime's costs of the first segment equal sd-sim's report of the
same program on the same int8 input; asking for the dense baseline leaves
the output alone. A missing program is an error naming it. Run with
/usr/bin/python3; exits non-zero on failure.
"""

import json
import shutil
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from smartdeal import import_torch  # noqa: E402
from smartdeal.accel import calibration_stats  # noqa: E402
from smartdeal.runtime import aot, hybrid, runner  # noqa: E402
from test_quantize_pass import DECOMPOSE, quantize  # noqa: E402


class Gated(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, padding=1)
        self.conv2 = nn.Conv2d(16, 16, 3, padding=1)
        self.conv3 = nn.Conv2d(16, 16, 3, padding=1)
        self.relu = nn.ReLU()
        self.fc = nn.Linear(16 * 8 * 8, 10)

    def forward(self, x):
        y = self.relu(self.conv1(x))
        y = self.relu(self.conv2(y) + y)
        y = y * torch.sigmoid(y)  # host: no accelerator form
        y = self.relu(self.conv3(y))
        return self.fc(torch.flatten(y, 1))


def bits(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=np.float32).view(np.uint32)


class HybridRunTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        torch.manual_seed(0)
        model = Gated().eval()
        rng = np.random.default_rng(0)
        calib = [(rng.standard_normal((1, 3, 8, 8)).astype(np.float32),) for _ in range(4)]
        cls.tmpdir = tempfile.TemporaryDirectory()
        tmp = cls.tmp = Path(cls.tmpdir.name)
        calibration_stats.write_stats(tmp / "stats.json",
                                      calibration_stats.torch_stats(model, calib), 4)
        import_torch(model, (torch.from_numpy(calib[0][0]),), output=str(tmp / "model.mlir"))
        cls.q, _, cls.report = quantize(tmp / "model.mlir", tmp / "stats.json", tmp)
        cls.names = hybrid.build(cls.q, tmp / "artifact")
        hybrid.compile_library(cls.q, tmp / "cpu.so")
        cls.xs = [rng.standard_normal((1, 3, 8, 8)).astype(np.float32) for _ in range(3)]

    @classmethod
    def tearDownClass(cls):
        cls.tmpdir.cleanup()

    def test_segments(self):
        self.assertEqual(self.names, ["main_acc0", "main_acc1"])
        manifest = json.loads((self.tmp / "artifact" / "manifest.json").read_text())
        self.assertEqual(manifest["outputs"], [[1, 10]])

    def test_bit_exact_with_cpu_quantized_mode(self):
        for x in self.xs:
            want = aot.call(str(self.tmp / "cpu.so"), "main", [x], 2)
            got, report = hybrid.run(self.tmp / "artifact", [x], 2)
            np.testing.assert_array_equal(bits(got), bits(want))
            self.assertEqual([(s["name"], s["runs"]) for s in report["segments"]],
                             [("main_acc0", 1), ("main_acc1", 1)])
            self.assertGreater(report["total"]["cycles"], 0)

    def test_costs_equal_sd_sim(self):
        x = self.xs[0]
        _, report = hybrid.run(self.tmp / "artifact", [x], 2)
        accel = [o for o in self.report["ops"] if o["target"] == "accelerator"]
        t = x.astype(np.float64) / accel[0]["input_scale"]
        xq = np.clip(np.trunc(t + np.copysign(0.5, t)), -127, 127).astype(np.int8)
        np.save(self.tmp / "xq.npy", xq)
        subprocess.run([Path(runner.find_sd_opt()).parent / "sd-sim",
                        self.tmp / "artifact" / "main_acc0.sdacc",
                        "--input", f"arg0={self.tmp / 'xq.npy'}",
                        "--report", self.tmp / "sim.json"], check=True, capture_output=True)
        sim = json.loads((self.tmp / "sim.json").read_text())
        seg = report["segments"][0]
        self.assertEqual(seg["cycles"], sim["cycles"])
        self.assertEqual(seg["first_run"]["layers"], sim["layers"])

    def test_dense_baseline_leaves_outputs(self):
        x = self.xs[1]
        plain, _ = hybrid.run(self.tmp / "artifact", [x], 2)
        got, report = hybrid.run(self.tmp / "artifact", [x], 2, compare_dense=True)
        np.testing.assert_array_equal(bits(got), bits(plain))
        for seg in report["segments"]:
            self.assertGreater(seg["dense"]["energy_pj"], 0)
            self.assertGreaterEqual(seg["dense"]["macs"], seg["macs"])

    def test_missing_program(self):
        broken = self.tmp / "broken"
        shutil.copytree(self.tmp / "artifact", broken)
        (broken / "main_acc1.sdacc").unlink()
        with self.assertRaisesRegex(runner.RunError, "main_acc1.sdacc"):
            hybrid.run(broken, [self.xs[0]], 2)
        # The next run starts clean.
        hybrid.run(self.tmp / "artifact", [self.xs[0]], 2)

    def test_command_line(self):
        np.save(self.tmp / "x.npy", self.xs[2])
        subprocess.run([sys.executable, "-m", "smartdeal.runtime.hybrid", "run",
                        self.tmp / "artifact", "--input", self.tmp / "x.npy", "--output",
                        self.tmp / "y.npy", "--report", self.tmp / "r.json"],
                       check=True, capture_output=True,
                       cwd=Path(__file__).resolve().parents[1])
        want = aot.call(str(self.tmp / "cpu.so"), "main", [self.xs[2]], 2)
        np.testing.assert_array_equal(bits(np.load(self.tmp / "y.npy")), bits(want))
        report = json.loads((self.tmp / "r.json").read_text())
        self.assertEqual(len(report["segments"]), 2)


class Wide(nn.Module):
    """The OCR recognizer's widest depthwise layer: one output row of its
    480 channels (5 rows of 80) does not fit half the input buffer."""

    def __init__(self):
        super().__init__()
        self.expand = nn.Conv2d(8, 480, 1)
        self.dw = nn.Conv2d(480, 480, 5, padding=2, groups=480)
        self.project = nn.Conv2d(480, 8, 1)
        self.relu = nn.ReLU()

    def forward(self, x):
        return self.project(self.relu(self.dw(self.relu(self.expand(x)))))


class ScheduledTest(unittest.TestCase):
    def test_split_depthwise_runs_on_the_accelerator(self):
        # Without --sd-schedule the depthwise segment stays on the host (the
        # program builder refuses it); with it, every segment is a program
        # and the whole model is still bit for bit the CPU quantized mode.
        torch.manual_seed(0)
        model = Wide().eval()
        rng = np.random.default_rng(2)
        calib = [(rng.standard_normal((1, 8, 6, 80)).astype(np.float32),) for _ in range(2)]
        with tempfile.TemporaryDirectory() as d:
            tmp = Path(d)
            calibration_stats.write_stats(tmp / "stats.json",
                                          calibration_stats.torch_stats(model, calib), 2)
            import_torch(model, (torch.from_numpy(calib[0][0]),),
                         output=str(tmp / "model.mlir"))
            for schedule in (False, True):
                q = tmp / f"q{int(schedule)}.mlir"
                subprocess.run([runner.find_sd_opt(), tmp / "model.mlir", DECOMPOSE,
                                f"--sd-quantize=stats={tmp / 'stats.json'}",
                                *(["--sd-schedule"] if schedule else []),
                                "--sd-partition", "-o", q], check=True, capture_output=True)
                art = tmp / f"art{int(schedule)}"
                hybrid.build(q, art)
                manifest = json.loads((art / "manifest.json").read_text())
                refused = [r for r in manifest["host_segments"].values()
                           if "does not fit half" in r]
                self.assertEqual(len(refused), 0 if schedule else 1, manifest)
                if schedule:
                    self.assertEqual(manifest["host_segments"], {})
                    self.assertGreaterEqual(len(manifest["segments"]), 3)
                    hybrid.compile_library(q, tmp / "cpu.so")
                    x = rng.standard_normal((1, 8, 6, 80)).astype(np.float32)
                    want = aot.call(str(tmp / "cpu.so"), "main", [x], 4)
                    got, report = hybrid.run(art, [x], 4)
                    np.testing.assert_array_equal(bits(got), bits(want))
                    self.assertTrue(all(s["runs"] == 1 for s in report["segments"]))


if __name__ == "__main__":
    unittest.main()
