#!/usr/bin/env python3
"""End-to-end tests of the one-command driver (python3 -m smartdeal).

A small ONNX MLP goes through import, decomposition, export, CPU compilation
and the compiled-code check; bad inputs give one error, exit code 1 and no
output folder. Run with /usr/bin/python3; exits non-zero on failure.
"""

import json
import os
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

import numpy as np
import onnx
from onnx import helper, numpy_helper, TensorProto

HERE = Path(__file__).resolve().parent
PYTHON_DIR = HERE.parent
sys.path.insert(0, str(PYTHON_DIR))


def run_driver(*args, allow_broken=True):
    """The driver on `args`. The small random-weight models of these tests
    lose most of their output to weight-only SmartExchange, which the
    driver reports as broken (exit 3); tests of the plumbing allow that."""
    env = dict(os.environ, PYTHONPATH=str(PYTHON_DIR))
    flags = ["--allow-broken"] if allow_broken else []
    return subprocess.run([sys.executable, "-m", "smartdeal", *map(str, args), *flags],
                          capture_output=True, text=True, env=env)


def make_mlp(path: Path):
    rng = np.random.default_rng(0)
    w1 = (rng.standard_normal((48, 64)) * 0.2).astype(np.float32)  # MatMul [K, N]
    w2 = (rng.standard_normal((40, 64)) * 0.2).astype(np.float32)  # Gemm transB
    nodes = [
        helper.make_node("MatMul", ["x", "w1"], ["h"], name="fc1"),
        helper.make_node("Relu", ["h"], ["r"], name="relu"),
        helper.make_node("Gemm", ["r", "w2"], ["y"], name="fc2", transB=1),
    ]
    graph = helper.make_graph(
        nodes, "mlp",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 48])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 40])],
        [numpy_helper.from_array(w1, "w1"), numpy_helper.from_array(w2, "w2")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    onnx.save(model, str(path))
    return w1, w2


class DriverTest(unittest.TestCase):
    def test_onnx_mlp_end_to_end(self):
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            w1, w2 = make_mlp(tmp / "mlp.onnx")
            out = tmp / "out"
            proc = run_driver(tmp / "mlp.onnx", "-o", out, "--min-size", "0")
            self.assertEqual(proc.returncode, 0, proc.stderr)
            for name in ["model.mlir", "compressed.mlir", "compressed.onnx",
                         "libmodel.so", "layers.json", "layers.md", "layers.png",
                         "summary.md", "summary.json"]:
                self.assertTrue((out / name).exists(), name)
            summary = json.loads((out / "summary.json").read_text())
            self.assertEqual(summary["totals"]["compressed_layers"], 2)
            # The compiled code computes what the exported model computes.
            self.assertLess(summary["cpu"]["relative_error"], 1e-4)
            # Beside the ratio: the library's measured weight bytes (the same
            # count as benchmarks/cpu/weight_bytes.py) and both latencies.
            from smartdeal.runtime.artifact import weight_bytes
            art = summary["cpu"]["artifact"]
            self.assertEqual(art["weight_bytes"], weight_bytes(out / "libmodel.so"))
            self.assertEqual(art["report_bytes"],
                             summary["totals"]["whole_model"]["bits"] / 8)
            self.assertGreater(art["library_ms"], 0)
            text = (out / "summary.md").read_text()
            self.assertIn(f"libmodel.so stores {art['weight_bytes'] / 1e6:.3f} MB", text)
            self.assertIn("latency, batch as imported, 1 thread(s): libmodel.so", text)
            # The accelerator step goes through the passes: both layers are
            # quantized into one segment, which runs on sd-sim with the rest
            # of the (empty) host code, beside its dense 8-bit baseline.
            acc = summary["accelerator"]
            self.assertEqual((acc["ops_on_accelerator"], acc["segments"],
                              acc["host_segments"]), (2, ["main_acc0"], {}))
            self.assertTrue((out / "accelerator" / "artifact" / "main_acc0.sdacc").exists())
            self.assertGreater(acc["totals"]["dense"]["energy_pj"],
                               acc["totals"]["se"]["energy_pj"])
            self.assertIn("2 ops quantized to int8 in 1 segments on sd-sim", text)

            # The exported weights are the rebuilt ones, in ONNX layouts.
            exported = onnx.load(str(out / "compressed.onnx"))
            inits = {i.name: numpy_helper.to_array(i) for i in exported.graph.initializer}
            self.assertEqual(inits["w1"].shape, w1.shape)
            self.assertEqual(inits["w2"].shape, w2.shape)
            layers = {l["name"]: l for l in json.loads(
                (out / "layers.json").read_text())["layers"]}
            for name, orig, new in [("fc1", w1.T, inits["w1"].T), ("fc2", w2, inits["w2"])]:
                err = np.linalg.norm(orig - new) / np.linalg.norm(orig)
                self.assertAlmostEqual(err, layers[name]["relative_error"], places=4)

    def test_round_basis_stores_bases_in_8_bits(self):
        # --round-basis: the model computes with 8-bit bases (q * 2^e per
        # row), libmodel.so stores them as bytes, and it still computes what
        # the exported (rounded) model computes.
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            make_mlp(tmp / "mlp.onnx")
            sizes = {}
            for flag in ([], ["--round-basis"]):
                out = tmp / ("round" if flag else "plain")
                proc = run_driver(tmp / "mlp.onnx", "-o", out, "--min-size", "0",
                                  "--no-accelerator", *flag)
                self.assertEqual(proc.returncode, 0, proc.stderr)
                summary = json.loads((out / "summary.json").read_text())
                self.assertLess(summary["cpu"]["relative_error"], 1e-4)
                sizes[bool(flag)] = summary["cpu"]["artifact"]["weight_bytes"]
                if flag:
                    text = (out / "compressed.mlir").read_text()
                    from smartdeal.ir.resources import parse_resource_section
                    checked = 0
                    for key, blob in parse_resource_section(text).items():
                        if not key.endswith("_b"):
                            continue
                        b = np.frombuffer(blob, "<f4").reshape(-1, 9)
                        for row in b:
                            a = np.abs(row).max()
                            if a == 0:
                                continue
                            e = np.ceil(np.log2(a / 127))
                            q = row / 2.0 ** e
                            self.assertTrue(np.array_equal(q, np.round(q)), key)
                            self.assertLessEqual(np.abs(q).max(), 127)
                            checked += 1
                    self.assertGreater(checked, 0)
            # Bases shrink from 36 to 9 bytes per block plus 4 per row.
            self.assertLess(sizes[True], sizes[False])

    def test_conv_transpose_exports_in_its_own_layout(self):
        # The importer convolves with the ConvTranspose weight's channels
        # swapped and its kernel flipped; the exported model must hold the
        # rebuilt weight in ONNX's layout, so the compiled code agrees.
        rng = np.random.default_rng(1)
        w = (rng.standard_normal((8, 16, 2, 2)) * 0.3).astype(np.float32)
        node = helper.make_node("ConvTranspose", ["x", "w"], ["y"], name="up",
                                strides=[2, 2])
        graph = helper.make_graph(
            [node], "up",
            [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8, 4, 4])],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 16, 8, 8])],
            [numpy_helper.from_array(w, "w")])
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]),
                      str(tmp / "up.onnx"))
            out = tmp / "out"
            proc = run_driver(tmp / "up.onnx", "-o", out, "--min-size", "0",
                              "--no-accelerator")
            self.assertEqual(proc.returncode, 0, proc.stderr)
            summary = json.loads((out / "summary.json").read_text())
            self.assertEqual(summary["totals"]["compressed_layers"], 1)
            self.assertLess(summary["cpu"]["relative_error"], 1e-4)
            exported = numpy_helper.to_array(
                onnx.load(str(out / "compressed.onnx")).graph.initializer[0])
            layer = json.loads((out / "layers.json").read_text())["layers"][0]
            err = np.linalg.norm(exported - w) / np.linalg.norm(w)
            self.assertAlmostEqual(err, layer["relative_error"], places=4)

    def test_torch_mlir_file_end_to_end(self):
        # A LeNet as torch-mlir's FX path prints it: the driver runs the
        # original and the compressed module on the same input and checks
        # the compiled CPU code, as for ONNX models.
        from smartdeal.runtime import runner

        src = (HERE.parent.parent / "test" / "Dialect" / "SD" / "Transforms" /
               "torch-mlir-fx-lenet.mlir")
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "out"
            proc = run_driver(src, "-o", out, "--min-size", "64", "--no-accelerator")
            self.assertEqual(proc.returncode, 0, proc.stderr)
            summary = json.loads((out / "summary.json").read_text())
            self.assertEqual(summary["totals"]["compressed_layers"], 4)
            quality, cpu = summary["quality"], summary["cpu"]
            self.assertIn("output fidelity", quality["metric"])
            self.assertLess(cpu["relative_error"], 1e-5)
            # The fidelity is what the two modules compute on the driver's
            # input (seed 0), measured here independently.
            x = np.random.default_rng(0).standard_normal((1, 1, 16, 16)).astype(np.float32)
            dense = runner.run_mlir(src, [x], pipeline="--sd-tensor-to-llvm").outputs[0]
            ref = runner.run_mlir(out / "compressed.mlir", [x],
                                  pipeline="--sd-reference-to-llvm").outputs[0]
            expected = np.linalg.norm(ref - dense) / np.linalg.norm(dense)
            self.assertGreater(expected, 0.0)
            self.assertAlmostEqual(quality["output_relative_error"], expected, places=5)

    def test_broken_model_is_reported(self):
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            make_mlp(tmp / "mlp.onnx")
            out = tmp / "out"
            # Weight-only SE of random weights: output error far above 0.1.
            proc = run_driver(tmp / "mlp.onnx", "-o", out, "--min-size", "0",
                              "--no-accelerator", allow_broken=False)
            self.assertEqual(proc.returncode, 3, proc.stderr)
            summary = json.loads((out / "summary.json").read_text())
            self.assertTrue(summary["quality"]["broken"])
            self.assertGreater(summary["quality"]["output_relative_error"], 0.1)
            first = (out / "summary.md").read_text().splitlines()[0]
            self.assertRegex(first, r"^BROKEN: the compressed .*mlp.onnx does not keep the "
                             r"model working \(output relative error \d\.\d{3} > 0.1\)")
            self.assertIn(first, proc.stdout)
            # An error budget that keeps every layer dense leaves it working.
            proc = run_driver(tmp / "mlp.onnx", "-o", out, "--min-size", "0",
                              "--budget", "0.001", "--no-accelerator", allow_broken=False)
            self.assertEqual(proc.returncode, 0, proc.stderr)
            self.assertFalse(json.loads((out / "summary.json").read_text())
                             ["quality"]["broken"])

    def test_budget_leaves_damaging_layers_dense(self):
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            make_mlp(tmp / "mlp.onnx")
            out = tmp / "out"
            # An output error budget below what any one layer costs keeps
            # every layer dense; a generous one keeps them all compressed.
            proc = run_driver(tmp / "mlp.onnx", "-o", out, "--min-size", "0",
                              "--budget", "0.001", "--no-cpu-check")
            self.assertEqual(proc.returncode, 0, proc.stderr)
            plan = json.loads((out / "plan.json").read_text())
            self.assertEqual(sorted(plan["layers"]), ["fc1", "fc2"])
            self.assertEqual(json.loads((out / "summary.json").read_text())
                             ["totals"]["compressed_layers"], 0)
            proc = run_driver(tmp / "mlp.onnx", "-o", out, "--min-size", "0",
                              "--budget", "10", "--no-cpu-check")
            self.assertEqual(proc.returncode, 0, proc.stderr)
            self.assertEqual(json.loads((out / "summary.json").read_text())
                             ["totals"]["compressed_layers"], 2)

    def test_data_aware_bases_reduce_output_error(self):
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            make_mlp(tmp / "mlp.onnx")
            out = tmp / "out"
            proc = run_driver(tmp / "mlp.onnx", "-o", out, "--min-size", "0",
                              "--data-aware", "--no-accelerator")
            self.assertEqual(proc.returncode, 0, proc.stderr)
            refits = json.loads((out / "summary.json").read_text())["data_aware"]
            self.assertEqual([r["name"] for r in refits], ["fc1", "fc2"])
            for r in refits:
                self.assertLess(r["output_error_after"], r["output_error_before"])
            # The compiled code still computes what the exported model does.
            self.assertLess(json.loads((out / "summary.json").read_text())
                            ["cpu"]["relative_error"], 1e-4)

    def test_missing_model_is_one_clear_error(self):
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "out"
            proc = run_driver(Path(tmp) / "nope.onnx", "-o", out)
            self.assertEqual(proc.returncode, 1)
            self.assertIn("error: model file not found", proc.stderr)
            self.assertEqual(proc.stderr.count("error:"), 1)
            self.assertFalse(out.exists())

    def test_corrupt_model_leaves_nothing_behind(self):
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            (tmp / "bad.onnx").write_bytes(b"not a model")
            out = tmp / "out"
            proc = run_driver(tmp / "bad.onnx", "-o", out)
            self.assertEqual(proc.returncode, 1, proc.stderr)
            self.assertIn("error:", proc.stderr)
            self.assertFalse(out.exists())
            self.assertEqual([p.name for p in tmp.iterdir()], ["bad.onnx"])

    def test_unknown_model_name(self):
        proc = run_driver("no-such-model", "-o", "/nonexistent/x")
        self.assertEqual(proc.returncode, 1)
        self.assertIn("unknown model 'no-such-model'", proc.stderr)


if __name__ == "__main__":
    result = unittest.main(exit=False, verbosity=2).result
    failed = len(result.failures) + len(result.errors)
    print(f"{result.testsRun - failed} passed, {failed} failed")
    sys.exit(1 if failed else 0)
