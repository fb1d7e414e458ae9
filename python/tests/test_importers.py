"""Tests of the PyTorch and ONNX importers: emitted text, sd-opt verification, numerics.

Run: /usr/bin/python3 python/tests/test_importers.py  (exits non-zero on failure)

Every emitted module is parsed and verified by sd-opt, then run on the CPU
through sd-opt --sd-tensor-to-llvm and mlir-runner and compared with the
framework (PyTorch's forward, or the ONNX->PyTorch reference executor for
ONNX files) within 1e-4 relative error (max |diff| / max |reference|).
The lowering runs scalar loops, so the default models are small; set
SD_HEAVY_TESTS=1 for ResNet-50, VGG-16 and the OCR recognizer at its full
48x320 input. The real ONNX models are used when scripts/fetch-models.sh has
cached them (SD_FETCH_MODELS=1 fetches them first).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import unittest
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import onnx  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torchvision  # noqa: E402
from onnx import helper, numpy_helper  # noqa: E402

import smartdeal  # noqa: E402
from smartdeal import models  # noqa: E402
from smartdeal.importers import UnsupportedError  # noqa: E402
from smartdeal.ir.emitter import _reshape_groups, format_f32  # noqa: E402
from smartdeal.importers.onnx_reference import OnnxReference  # noqa: E402
from smartdeal.ir.resources import (  # noqa: E402
    decode_resource_hex,
    identifier_safe,
    parse_resource_section,
    resource_hex,
)
from smartdeal.runtime.runner import find_sd_opt, relative_error, run_mlir  # noqa: E402

TOLERANCE = 1e-4
HEAVY = os.environ.get("SD_HEAVY_TESTS") == "1"
PYTHON_DIR = Path(__file__).resolve().parents[1]
ERRORS: dict = {}  # model -> max relative error, printed at the end


def sd_opt_verify(testcase: unittest.TestCase, text: str) -> None:
    """sd-opt must parse and verify the module exactly as emitted."""
    with tempfile.NamedTemporaryFile("w", suffix=".mlir", delete=False) as f:
        f.write(text)
        path = f.name
    try:
        proc = subprocess.run(
            [find_sd_opt(), path, "-o", os.devnull], capture_output=True, text=True
        )
    finally:
        os.unlink(path)
    testcase.assertEqual(
        proc.returncode, 0, f"sd-opt rejected the module:\n{proc.stderr}"
    )


def check_numerics(testcase, name: str, text: str, inputs, expected) -> None:
    """Run @main on the CPU and compare every output with the reference."""
    sd_opt_verify(testcase, text)
    t0 = time.time()
    res = run_mlir(text, [np.asarray(x, np.float32) for x in inputs])
    worst = 0.0
    testcase.assertEqual(len(res.outputs), len(expected))
    for got, want in zip(res.outputs, expected):
        testcase.assertEqual(got.shape, tuple(want.shape))
        worst = max(worst, relative_error(got, want))
    ERRORS[name] = (worst, time.time() - t0)
    testcase.assertLess(worst, TOLERANCE, f"{name}: relative error {worst:.3e}")


def torch_check(testcase, name: str, module: nn.Module, *inputs, **kwargs) -> str:
    module.eval()
    text = smartdeal.import_torch(module, inputs, **kwargs)
    with torch.no_grad():
        out = module(*inputs)
    outs = out if isinstance(out, (tuple, list)) else (out,)
    check_numerics(
        testcase, name, text, [x.numpy() for x in inputs], [o.numpy() for o in outs]
    )
    return text


def onnx_check(
    testcase, name: str, path, input_shapes=None, seed=0, torch_module=None, **kwargs
) -> str:
    """Import an ONNX file and compare it with the reference executor.

    When the file was exported from `torch_module`, the reference executor
    itself is checked against that module first.
    """
    text = smartdeal.import_onnx(path, input_shapes=input_shapes, **kwargs)
    ref = OnnxReference(str(path))
    rng = np.random.default_rng(seed)
    shapes = [
        input_shapes[i.name]
        if input_shapes and i.name in input_shapes
        else [d.dim_value for d in i.type.tensor_type.shape.dim]
        for i in ref.model.graph.input
        if i.name in ref.input_names
    ]
    inputs = [rng.uniform(-1, 1, s).astype(np.float32) for s in shapes]
    expected = ref.run(inputs)
    if torch_module is not None:
        with torch.no_grad():
            want = torch_module(*[torch.from_numpy(x) for x in inputs]).numpy()
        testcase.assertLess(
            relative_error(expected[0], want),
            1e-5,
            "the ONNX reference executor disagrees with PyTorch",
        )
    check_numerics(testcase, name, text, inputs, expected)
    return text


# ------------------------------------------------------------------ models
class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(12, 32)
        self.fc2 = nn.Linear(32, 10)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x)))


class TinyCNN(nn.Module):
    """Every conv flavour, BatchNorm, activations and pooling variants."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(8)
        self.dw = nn.Conv2d(8, 8, 3, stride=2, padding=1, groups=8, bias=False)
        self.bn2 = nn.BatchNorm2d(8)
        self.grouped = nn.Conv2d(8, 12, 1, groups=4)
        self.pool = nn.MaxPool2d(2, ceil_mode=True)
        self.avg = nn.AvgPool2d(3, 1, 1, count_include_pad=False)
        self.fc = nn.Linear(12 * 3 * 3, 5)

    def forward(self, x):
        x = torch.relu(self.bn1(self.conv1(x)))
        x = nn.functional.hardswish(self.bn2(self.dw(x)))
        x = torch.sigmoid(self.grouped(x)) * x.mean(1, keepdim=True) + 1.0
        x = self.avg(self.pool(x))
        return self.fc(torch.flatten(x, 1)).softmax(-1)


class TinyDecoder(nn.Module):
    """Transposed convolutions and nearest upsampling (detector-style heads)."""

    def __init__(self):
        super().__init__()
        self.up1 = nn.ConvTranspose2d(4, 3, 3, stride=2, padding=1, output_padding=1)
        self.up2 = nn.ConvTranspose2d(3, 2, 2, stride=2)
        self.nearest = nn.Upsample(scale_factor=2)

    def forward(self, x):
        y = self.up2(self.up1(x))
        z = nn.functional.interpolate(self.nearest(x), scale_factor=2)
        return torch.cat([y, z[:, :2]], 1)


def randomize_batchnorm(module: nn.Module, seed: int = 0) -> None:
    """Fresh BatchNorms are the identity; make folding actually do something."""
    g = torch.Generator().manual_seed(seed)
    for m in module.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.copy_(torch.rand(m.num_features, generator=g) - 0.5)
            m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.weight.data.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.bias.data.copy_(torch.rand(m.num_features, generator=g) - 0.5)


def export_onnx(module: nn.Module, x: torch.Tensor, path: str, opset: int = 13) -> None:
    module.eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module,
            (x,),
            path,
            opset_version=opset,
            input_names=["x"],
            output_names=["y"],
            do_constant_folding=False,
        )


def initializers_to_constants(path: str) -> None:
    """Rewrite an ONNX file so its weights are Constant nodes (like PaddleOCR's)."""
    model = onnx.load(path)
    consts = [
        helper.make_node("Constant", [], [t.name], name=f"const_{t.name}", value=t)
        for t in model.graph.initializer
    ]
    del model.graph.initializer[:]
    nodes = consts + list(model.graph.node)
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    onnx.save(model, path)


# ------------------------------------------------------------------- tests
class ResourceTests(unittest.TestCase):
    def test_blob_round_trip(self):
        a = np.arange(12, dtype=np.float32).reshape(3, 4) - 5.5
        blob = resource_hex(a)
        self.assertTrue(blob.startswith("0x04000000"))
        np.testing.assert_array_equal(decode_resource_hex(blob, a.shape), a)

    def test_identifier_safe(self):
        self.assertEqual(
            identifier_safe("fc1.weight", "torch_tensor_"), "torch_tensor_fc1_weight"
        )
        self.assertEqual(identifier_safe("conv2d_10.w_0"), "conv2d_10_w_0")
        self.assertEqual(identifier_safe("0::x"), "_0__x")

    def test_float_literals_round_trip(self):
        for v in [0.0, 1.0, -6.0, 1e-5, 1.0 / 3.0, 3.4e38, np.float32(0.1666667)]:
            self.assertEqual(np.float32(float(format_f32(v))), np.float32(v))
        self.assertEqual(format_f32(float("-inf")), "0xFF800000")

    def test_reshape_groups(self):
        self.assertEqual(
            _reshape_groups((1, 40, 360), (1, 40, 3, 8, 15)),
            [([0], [0]), ([1], [1]), ([2], [2, 3, 4])],
        )
        self.assertEqual(
            _reshape_groups((2, 3, 4), (6, 4)), [([0, 1], [0]), ([2], [1])]
        )
        self.assertEqual(_reshape_groups((40, 1), (40,)), [([0, 1], [0])])


class TorchContractTests(unittest.TestCase):
    """The text itself: the op patterns the compressor matches."""

    def setUp(self):
        torch.manual_seed(0)

    def test_fx_linear_contract(self):
        m = MLP()
        text = smartdeal.import_torch(m, torch.randn(2, 12))
        self.assertIn(
            "func.func @main(%arg0: tensor<2x12xf32>) -> tensor<2x10xf32>", text
        )
        self.assertIn(
            "arith.constant dense_resource<torch_tensor_fc1_weight> : "
            "tensor<32x12xf32>",
            text,
        )
        self.assertRegex(
            text,
            r"linalg\.transpose ins\(%\w+ : tensor<32x12xf32>\) outs"
            r"\(%\w+ : tensor<12x32xf32>\) permutation = \[1, 0\]",
        )
        self.assertRegex(
            text,
            r"linalg\.matmul ins\(%arg0, %\w+ : tensor<2x12xf32>, "
            r"tensor<12x32xf32>\).*loc\(\"fc1\"\)",
        )
        self.assertIn("linalg.fill", text)
        blobs = parse_resource_section(text)
        self.assertIn("torch_tensor_fc1_weight", blobs)
        w = np.frombuffer(blobs["torch_tensor_fc1_weight"], "<f4").reshape(32, 12)
        np.testing.assert_array_equal(w, m.fc1.weight.detach().numpy())
        self.assertRegex(text, r'torch_tensor_fc1_weight: "0x04000000[0-9A-F]+"')
        sd_opt_verify(self, text)

    def test_torchscript_flavour(self):
        text = smartdeal.import_torch(MLP(), torch.randn(2, 12), flavour="torchscript")
        self.assertNotIn("dense_resource", text)
        self.assertNotIn("dialect_resources", text)
        self.assertNotIn("linalg.transpose", text)
        self.assertRegex(
            text, r'arith\.constant dense<"0x[0-9A-F]+"> : tensor<32x12xf32>'
        )
        self.assertIn("affine_map<(d0, d1) -> (d1, d0)>", text)
        sd_opt_verify(self, text)

    def test_3d_linear_uses_batch_matmul(self):
        text = smartdeal.import_torch(nn.Linear(8, 4), torch.randn(2, 5, 8))
        self.assertRegex(
            text,
            r"linalg\.broadcast ins\(%\w+ : tensor<8x4xf32>\) outs\(%\w+ "
            r": tensor<2x8x4xf32>\) dimensions = \[0\]",
        )
        self.assertIn("linalg.batch_matmul", text)

    def test_conv_contract(self):
        m = TinyCNN()
        text = smartdeal.import_torch(m, torch.randn(1, 3, 11, 11))
        self.assertIn("tensor.pad", text)
        self.assertIn("tensor.yield", text)
        self.assertRegex(
            text,
            r"linalg\.conv_2d_nchw_fchw \{dilations = dense<1> : "
            r"tensor<2xi64>, strides = dense<1> : tensor<2xi64>\} "
            r"ins\(%\w+, %\w+ : tensor<1x3x13x13xf32>, "
            r"tensor<8x3x3x3xf32>\).*loc\(\"conv1\"\)",
        )
        self.assertRegex(
            text, r"linalg\.depthwise_conv_2d_nchw_chw .*tensor<8x3x3xf32>"
        )
        self.assertIn("linalg.conv_2d_ngchw_gfchw", text)
        self.assertIn("linalg.pooling_nchw_max", text)
        self.assertIn("linalg.pooling_nchw_sum", text)
        # BatchNorm is folded: no BN parameter is stored.
        self.assertNotIn("running_mean", text)
        unfolded = smartdeal.import_torch(
            m, torch.randn(1, 3, 11, 11), fold_batchnorm=False
        )
        self.assertIn("torch_tensor_bn1_running_mean", unfolded)

    def test_unsupported_op_names_it(self):
        class Bad(nn.Module):
            def forward(self, x):
                return torch.cumsum(x, 1)

        with self.assertRaises(UnsupportedError) as ctx:
            smartdeal.import_torch(Bad(), torch.randn(2, 3))
        self.assertIn("cumsum", str(ctx.exception))
        self.assertIn("node 'cumsum'", str(ctx.exception))

    def test_failed_import_leaves_no_file(self):
        class Bad(nn.Module):
            def forward(self, x):
                return torch.cumsum(x, 1)

        with tempfile.TemporaryDirectory() as d:
            out = os.path.join(d, "out.mlir")
            with self.assertRaises(UnsupportedError):
                smartdeal.import_torch(Bad(), torch.randn(2, 3), output=out)
            self.assertEqual(os.listdir(d), [])

    def test_writes_file(self):
        with tempfile.TemporaryDirectory() as d:
            out = os.path.join(d, "mlp.mlir")
            text = smartdeal.import_torch(MLP(), torch.randn(1, 12), output=out)
            self.assertEqual(Path(out).read_text(), text)


class TorchNumericTests(unittest.TestCase):
    def setUp(self):
        torch.manual_seed(0)

    def test_mlp(self):
        torch_check(self, "torch mlp (fx)", MLP(), torch.randn(4, 12))

    def test_mlp_torchscript_flavour(self):
        torch_check(
            self,
            "torch mlp (torchscript)",
            MLP(),
            torch.randn(4, 12),
            flavour="torchscript",
        )

    def test_tiny_cnn(self):
        m = TinyCNN()
        randomize_batchnorm(m)
        torch_check(self, "torch tiny cnn (BN folded)", m, torch.randn(1, 3, 11, 11))
        torch_check(
            self,
            "torch tiny cnn (BN generic)",
            m,
            torch.randn(1, 3, 11, 11),
            fold_batchnorm=False,
        )

    def test_transposed_conv_and_upsampling(self):
        torch_check(
            self,
            "torch conv-transpose + upsample",
            TinyDecoder(),
            torch.randn(1, 4, 5, 6),
        )

    def test_transformer_encoder_layer(self):
        m = nn.TransformerEncoderLayer(32, 4, 64, batch_first=True)
        torch_check(self, "torch transformer layer (relu)", m, torch.randn(2, 6, 32))

    def test_transformer_encoder_gelu_norm_first(self):
        layer = nn.TransformerEncoderLayer(
            32, 4, 64, batch_first=True, activation="gelu", norm_first=True
        )

        class Model(nn.Module):
            def __init__(self):
                super().__init__()
                self.embed = nn.Linear(10, 32)
                self.encoder = nn.TransformerEncoder(layer, 2)
                self.head = nn.Linear(32, 3)

            def forward(self, x):
                return self.head(self.encoder(self.embed(x)).mean(1))

        text = torch_check(
            self, "torch transformer encoder (gelu)", Model(), torch.randn(2, 6, 10)
        )
        self.assertIn("math.erf", text)
        self.assertIn('loc("encoder.layers.1.self_attn.in_proj")', text)

    def test_resnet18(self):
        m = torchvision.models.resnet18(weights=None)
        randomize_batchnorm(m)
        torch_check(
            self, "torchvision resnet18 1x3x32x32", m, torch.randn(1, 3, 32, 32)
        )

    def test_mobilenet_v2(self):
        m = torchvision.models.mobilenet_v2(weights=None)
        randomize_batchnorm(m)
        torch_check(
            self, "torchvision mobilenet_v2 1x3x32x32", m, torch.randn(1, 3, 32, 32)
        )

    @unittest.skipUnless(HEAVY, "SD_HEAVY_TESTS=1")
    def test_resnet50(self):
        m = torchvision.models.resnet50(weights=None)
        randomize_batchnorm(m)
        torch_check(
            self, "torchvision resnet50 1x3x32x32", m, torch.randn(1, 3, 32, 32)
        )

    @unittest.skipUnless(HEAVY, "SD_HEAVY_TESTS=1")
    def test_vgg16(self):
        torch_check(
            self,
            "torchvision vgg16 1x3x32x32",
            torchvision.models.vgg16(weights=None),
            torch.randn(1, 3, 32, 32),
        )


class OnnxTests(unittest.TestCase):
    def setUp(self):
        torch.manual_seed(0)
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name

    def tearDown(self):
        self.tmp.cleanup()

    def test_exported_mlp_initializers(self):
        path = os.path.join(self.dir, "mlp.onnx")
        m = MLP()
        x = torch.randn(3, 12)
        export_onnx(m, x, path)
        text = onnx_check(self, "onnx mlp (initializers)", path, torch_module=m)
        self.assertIn("dense_resource<fc1_weight>", text)

    def test_exported_cnn_constant_nodes(self):
        path = os.path.join(self.dir, "cnn.onnx")
        m = TinyCNN()
        randomize_batchnorm(m)
        export_onnx(m, torch.randn(1, 3, 11, 11), path, opset=11)
        initializers_to_constants(path)
        self.assertEqual(len(onnx.load(path).graph.initializer), 0)
        text = onnx_check(self, "onnx tiny cnn (Constant nodes)", path, torch_module=m)
        self.assertIn("linalg.conv_2d_nchw_fchw", text)
        onnx_check(self, "onnx tiny cnn (BN generic)", path, fold_batchnorm=False)

    def test_exported_transformer(self):
        path = os.path.join(self.dir, "tf.onnx")
        m = nn.TransformerEncoderLayer(16, 2, 32, batch_first=True).eval()
        x = torch.randn(1, 5, 16)
        # With grad enabled PyTorch skips its fused fast path, which has no
        # ONNX export, and exports MatMul / Softmax / LayerNorm arithmetic.
        with torch.enable_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(m, (x,), path, opset_version=13, input_names=["x"])
        onnx_check(self, "onnx transformer layer", path, torch_module=m)

    def _bad_model(self, dynamic=False) -> str:
        dims = ["N", 4] if dynamic else [1, 4]
        x = helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, dims)
        y = helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1, 4])
        w = numpy_helper.from_array(np.eye(4, dtype=np.float32), "w")
        nodes = [
            helper.make_node("MatMul", ["x", "w"], ["h"], name="mm"),
            helper.make_node("Cumsum", ["h", "axis"], ["y"], name="my_cumsum"),
        ]
        axis = numpy_helper.from_array(np.array(1, dtype=np.int64), "axis")
        graph = helper.make_graph(nodes, "bad", [x], [y], [w, axis])
        path = os.path.join(self.dir, "bad.onnx")
        onnx.save(
            helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), path
        )
        return path

    def test_unsupported_op_error_and_cli(self):
        path = self._bad_model()
        with self.assertRaises(UnsupportedError) as ctx:
            smartdeal.import_onnx(path)
        self.assertEqual(
            str(ctx.exception), "unsupported ONNX op 'Cumsum' (node 'my_cumsum')"
        )
        out = os.path.join(self.dir, "out.mlir")
        proc = subprocess.run(
            [sys.executable, "-m", "smartdeal.importers", "onnx", path, "-o", out],
            capture_output=True,
            text=True,
            cwd=PYTHON_DIR,
        )
        self.assertNotEqual(proc.returncode, 0)
        self.assertEqual(
            proc.stderr.strip().splitlines(),
            ["error: unsupported ONNX op 'Cumsum' (node 'my_cumsum')"],
        )
        self.assertFalse(os.path.exists(out))
        self.assertEqual([f for f in os.listdir(self.dir) if f.startswith(".")], [])

    def test_dynamic_shape_needs_input_shapes(self):
        path = self._bad_model(dynamic=True)
        with self.assertRaises(UnsupportedError) as ctx:
            smartdeal.import_onnx(path)
        self.assertIn("graph input 'x': dynamic shape [N, 4]", str(ctx.exception))


def real_model(name: str):
    path = models.model_path(name, download=os.environ.get("SD_FETCH_MODELS") == "1")
    if path is None:
        raise unittest.SkipTest(f"{name} not cached: run scripts/fetch-models.sh")
    return path


class RealOnnxModelTests(unittest.TestCase):
    def test_wakeword_hello(self):
        onnx_check(self, "openWakeWord hello (ONNX)", real_model("wakeword-hello"))

    def test_ocr_classifier(self):
        onnx_check(
            self,
            "PP-OCR cls 1x3x48x192 (ONNX)",
            real_model("ocr-cls"),
            models.MODELS["ocr-cls"].input_shapes,
        )

    def test_ocr_recognizer_small(self):
        text = onnx_check(
            self,
            "PP-OCRv4 rec 1x3x48x80 (ONNX)",
            real_model("ocr-rec"),
            {"x": [1, 3, 48, 80]},
        )
        # Weights come from Constant nodes and keep their Paddle names.
        self.assertIn("dense_resource<linear_85_w_0> : tensor<120x6625xf32>", text)
        self.assertIn('loc("p2o.MatMul.24")', text)

    @unittest.skipUnless(HEAVY, "SD_HEAVY_TESTS=1")
    def test_ocr_recognizer_full_width(self):
        onnx_check(
            self,
            "PP-OCRv4 rec 1x3x48x320 (ONNX)",
            real_model("ocr-rec"),
            models.MODELS["ocr-rec"].input_shapes,
        )

    def test_ocr_detector_small(self):
        text = onnx_check(
            self,
            "PP-OCRv4 det 1x3x64x64 (ONNX)",
            real_model("ocr-det"),
            {"x": [1, 3, 64, 64]},
        )
        self.assertIn("floordiv 8", text)  # Resize x8, nearest
        self.assertIn("tensor.insert_slice", text)  # ConvTranspose

    def test_silero_vad(self):
        info = models.MODELS["silero-vad"]
        text = smartdeal.import_onnx(
            real_model("silero-vad"),
            input_shapes=info.input_shapes,
            constant_inputs=info.constant_inputs,
        )
        # Two results (speech probability, LSTM state); If folded away.
        self.assertIn("-> (tensor<1x1xf32>, tensor<2x1x128xf32>)", text)
        self.assertIn("dense_resource<model_decoder_rnn_weight_ih>", text)
        rng = np.random.default_rng(0)
        audio = (rng.standard_normal((1, 512)) * 0.3).astype(np.float32)
        state = (rng.standard_normal((2, 1, 128)) * 0.5).astype(np.float32)
        ref = OnnxReference(str(info.path)).run(
            {"input": audio, "state": state, "sr": np.array(16000, dtype=np.int64)}
        )
        check_numerics(
            self, "Silero VAD 16 kHz, 512 samples (ONNX)", text, [audio, state], ref
        )

    def test_silero_vad_needs_constant_sample_rate(self):
        info = models.MODELS["silero-vad"]
        with self.assertRaises(UnsupportedError) as ctx:
            smartdeal.import_onnx(
                real_model("silero-vad"), input_shapes=info.input_shapes
            )
        self.assertEqual(
            str(ctx.exception),
            "unsupported ONNX graph input 'sr': element type INT64; only FLOAT",
        )


def main() -> int:
    t0 = time.time()
    suite = unittest.defaultTestLoader.loadTestsFromModule(sys.modules[__name__])
    result = unittest.TextTestRunner(verbosity=2).run(suite)
    print("\nmax relative error per model (tolerance %.0e):" % TOLERANCE)
    for name, (err, secs) in ERRORS.items():
        print(f"  {name:42s} {err:.2e}  ({secs:.1f}s)")
    run = result.testsRun - len(result.skipped)
    failed = len(result.failures) + len(result.errors)
    print(
        f"\n{run - failed} passed, {failed} failed, {len(result.skipped)} skipped "
        f"in {time.time() - t0:.0f}s"
    )
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
