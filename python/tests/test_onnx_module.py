"""Tests of smartdeal.training.onnx_module (a differentiable ONNX graph).

    PYTHONPATH=python /usr/bin/python3 python/tests/test_onnx_module.py

A small graph built here (Conv + BatchNormalization + HardSwish, depthwise
Conv, MatMul + Add, Softmax; weights as Constant nodes and initializers):
the dense module equals OnnxReference, gradients reach SE Ce latents and
bases and int-k latents, and the SE / int-k weights are what they claim.
When the PP-OCRv4 recognizer is cached, its dense module equals
OnnxReference too. Prints 'N passed, M failed'.
"""

import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import numpy as np  # noqa: E402
import onnx  # noqa: E402
import torch  # noqa: E402
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from smartdeal.plan.menus import int_quantize  # noqa: E402
from smartdeal.importers.onnx_reference import OnnxReference  # noqa: E402
from smartdeal.training.decompose import decompose_weight  # noqa: E402
from smartdeal.training.layers import codes_to_values  # noqa: E402
from smartdeal.training.onnx_module import IntWeight, OnnxModule, SEWeight  # noqa: E402


def small_model():
    rng = np.random.default_rng(0)

    def const(name, arr):
        return helper.make_node("Constant", [], [name], value=numpy_helper.from_array(
            np.asarray(arr, np.float32), name))

    nodes = [
        const("w1", rng.normal(0, 0.3, (8, 3, 3, 3))),
        const("b1", rng.normal(0, 0.1, 8)),
        helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], name="conv1", pads=[1, 1, 1, 1]),
        helper.make_node("BatchNormalization", ["c1", "g", "beta", "mean", "var"], ["n1"],
                         name="bn"),
        helper.make_node("HardSwish", ["n1"], ["h1"]),
        const("wd", rng.normal(0, 0.3, (8, 1, 3, 3))),
        helper.make_node("Conv", ["h1", "wd"], ["c2"], name="dw", group=8, pads=[1, 1, 1, 1]),
        helper.make_node("ReduceMean", ["c2"], ["r"], axes=[2], keepdims=0),
        helper.make_node("Transpose", ["r"], ["t"], perm=[0, 2, 1]),
        helper.make_node("MatMul", ["t", "wm"], ["m"], name="fc"),
        const("bm", rng.normal(0, 0.1, 5)),
        helper.make_node("Add", ["m", "bm"], ["a"]),
        helper.make_node("Softmax", ["a"], ["y"], axis=-1),
    ]
    inits = [numpy_helper.from_array(np.asarray(v, np.float32), n) for n, v in [
        ("g", rng.uniform(0.5, 1.5, 8)), ("beta", rng.normal(0, 0.1, 8)),
        ("mean", rng.normal(0, 0.1, 8)), ("var", rng.uniform(0.5, 1.5, 8)),
        ("wm", rng.normal(0, 0.3, (8, 5)))]]
    graph = helper.make_graph(
        nodes, "small", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3, 6, 10])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])


class OnnxModuleTest(unittest.TestCase):
    def setUp(self):
        self.model = small_model()
        self.x = np.random.default_rng(1).normal(0, 1, (2, 3, 6, 10)).astype(np.float32)

    def test_dense_equals_reference(self):
        module = OnnxModule(self.model)
        self.assertEqual(sorted(module.layer_nodes), ["conv1", "dw", "fc"])
        self.assertEqual(module.layer("fc").weight_shape, (5, 8))  # canonical [O, I]
        want = OnnxReference(self.model).run({"x": self.x})[0]
        with torch.no_grad():
            got = module(torch.from_numpy(self.x))[0].numpy()
        np.testing.assert_array_equal(got, want)

    def test_gradients_reach_se_and_int(self):
        module = OnnxModule(self.model)
        w = module.layer("conv1").weight().detach().numpy()
        codes, basis, _ = decompose_weight(w, 1e-3, (-5, 2))
        module.set_se("conv1", codes, basis, -5, 2)
        module.set_int("dw", 4)
        se, q = module.layer("conv1"), module.layer("dw")
        self.assertIsInstance(se, SEWeight)
        self.assertIsInstance(q, IntWeight)
        # The SE weight is Ce @ B per block; int-k is budget's per-channel rule.
        ce = codes_to_values(np.asarray(codes).reshape(se.ce.shape), -5)
        rows = np.einsum("obrk,obkj->obrj", ce, np.asarray(basis, np.float64))
        want = rows.reshape(8, -1)[:, :27].reshape(w.shape)
        np.testing.assert_allclose(se.weight().detach().numpy(), want, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(q.weight().detach().numpy(),
                                   int_quantize(q.w.detach().numpy(), 4), rtol=1e-5, atol=1e-7)
        self.assertLess(module.storage_bits(), module.dense_bits())
        y = module(torch.from_numpy(self.x))[0]
        (y[..., 0].log().mean()).backward()
        for name, p in [("ce", se.ce), ("basis", se.basis), ("int latent", q.w),
                        ("fc", module.layer("fc").w)]:
            self.assertIsNotNone(p.grad, name)
            self.assertGreater(float(p.grad.abs().sum()), 0.0, name)
        # Masked-out Ce entries get gradient but never change the weight.
        self.assertTrue(bool(((se.quantized_ce() != 0) <= (se.mask != 0)).all()))
        extras = list(module.extras.values())
        self.assertTrue(any(p.grad is not None and float(p.grad.abs().sum()) > 0
                            for p in extras))
        # Batch-norm statistics are not parameters.
        self.assertEqual(sum(p.numel() for p in extras), 8 + 8 + 8 + 5)

    def test_real_model_if_cached(self):
        try:
            from smartdeal import models
            from smartdeal.data import ocr_rec
            path = models.MODELS["ocr-rec"].path
        except Exception:  # noqa: BLE001
            self.skipTest("smartdeal.models unavailable")
        if not os.path.exists(str(path)):
            self.skipTest("PP-OCRv4 recognizer not cached")
        x = ocr_rec.render_clean("recognizer")
        want = OnnxReference(str(path)).run({"x": x})[0]
        with torch.no_grad():
            got = OnnxModule(str(path))(torch.from_numpy(x))[0].numpy()
        np.testing.assert_array_equal(got, want)


if __name__ == "__main__":
    torch.set_num_threads(2)
    suite = unittest.defaultTestLoader.loadTestsFromModule(sys.modules[__name__])
    result = unittest.TextTestRunner(verbosity=2).run(suite)
    failed = len(result.failures) + len(result.errors)
    print(f"{result.testsRun - failed} passed, {failed} failed")
    sys.exit(1 if failed else 0)
