"""Whole networks in the accelerator's integer format, as one sd function.

A `Network` is built layer by layer on a float input (convolutions and fully
connected layers with SmartExchange weights, max and global average pooling,
residual adds, flatten); every layer also runs in float (PyTorch), so each
tensor gets its scale max|x| / 127 from that one calibration input. `mlir()`
writes the quantized network: `sd.quantized_conv2d` / `sd.quantized_matmul`
/ `sd.quantized_add` / `sd.quantized_max_pool2d` / `sd.quantized_avg_pool2d`
on int8 tensors, zero `tensor.pad` before padded convolutions and
`tensor.collapse_shape` before the classifier, with the weights as
`dense_resource` blobs. `sd-translate --sd-to-sdacc` turns it into ONE
program; `run_cpu` and `run_sim` compute it on the CPU quantized mode and on
sd-sim, for bit-for-bit comparison.

Networks: `tiny_resnet` (random codes, seconds) and `from_module` (a model
trained in compressed form, with its trained codes, bases, offsets and
values). Imported models (torchvision, ONNX) go through the compiler's
passes instead (`--sd-compress`, `--sd-to-accelerator`,
smartdeal.runtime.hybrid).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional

import numpy as np

from ..ir.emitter import (blob_hex, dense_resource, func_module,
                          permdiag_constant, permdiag_type, sd_op, se_constant,
                          se_type, tensor_collapse, tensor_pad,
                          tensor_type)
from ..runtime.compressed import rebuild, rebuild_permdiag

__all__ = [
    "Network",
    "PermDiagWeight",
    "SEWeight",
    "from_module",
    "quantize_input",
    "random_se",
    "run_cpu",
    "run_sim",
    "tiny_resnet",
]

try:  # the float calibration pass; the lit test's machine has PyTorch
    import torch
    import torch.nn.functional as F
except ImportError:  # pragma: no cover
    torch = None


@dataclass
class SEWeight:
    """A SmartExchange weight: codes [O, nb, rows, 3] and bases [O, nb, 3, 3]."""
    shape: tuple
    codes: np.ndarray
    basis: np.ndarray
    lo: int
    hi: int

    def dense(self) -> np.ndarray:
        """The float weight Ce.B the codes and bases stand for."""
        return rebuild(self.codes, self.basis, self.shape, self.lo)

    def type(self) -> str:
        _, nb, rows, _ = self.codes.shape
        return se_type(self.shape, nb, rows, self.lo, self.hi)


@dataclass
class PermDiagWeight:
    """A PermDNN weight: offsets [rb, cb] and values [rb, cb, p] (the sd
    dialect's convention; rows and columns padded to multiples of p)."""
    shape: tuple
    offsets: np.ndarray
    values: np.ndarray

    def dense(self) -> np.ndarray:
        return rebuild_permdiag(self.offsets, self.values, self.shape)

    def type(self) -> str:
        return permdiag_type(self.shape, self.values.shape[2])


def random_se(shape, rng, lo=-4, hi=2, zero_rows=0.25) -> SEWeight:
    """Random codes in the canonical layout; a fraction of whole rows zero."""
    length = int(np.prod(shape[1:]))
    m0 = -(-length // 3)
    nb = -(-m0 // 192)
    rows = -(-m0 // nb)
    levels = hi - lo + 1
    codes = rng.integers(1, levels + 1, size=(shape[0], nb, rows, 3))
    codes = codes * rng.choice([-1, 1], size=codes.shape)
    codes[rng.random(codes.shape) < 0.2] = 0
    codes[rng.random(codes.shape[:3]) < zero_rows] = 0
    # Rows past the weight (padding) hold nothing.
    flat = codes.reshape(shape[0], nb * rows, 3)
    flat[:, m0:, :] = 0
    pad = nb * rows * 3 - length
    if pad:
        last = flat[:, m0 - 1, :]
        last[:, 3 - (m0 * 3 - length):] = 0
    basis = (rng.standard_normal((shape[0], nb, 3, 3)) * 0.5).astype(np.float32)
    return SEWeight(tuple(shape), codes.astype(np.int8), basis, lo, hi)


class Network:
    """A quantized network under construction (see the module docstring)."""

    def __init__(self, x: np.ndarray, batch: Optional[int] = None):
        """`x` calibrates the scales; the function takes `batch` samples
        (default: as many as `x` has)."""
        if torch is None:
            raise RuntimeError("the float calibration needs PyTorch")
        self.lines: List[str] = []
        self.blobs = {}
        self.shapes = {}
        self.scales = {}
        self.values = {}
        self.counter = 0
        self.layers = 0
        self.batch = batch or x.shape[0]
        self._def("%arg0", torch.from_numpy(x.astype(np.float32)))
        self.x = "%arg0"

    def shape(self, name) -> tuple:
        """The shape of value `name` in the emitted function."""
        return (self.batch,) + tuple(self.shapes[name][1:])

    def _act(self, name) -> str:
        return tensor_type(self.shape(name), "i8")

    def _def(self, name, value):
        self.values[name] = value
        self.shapes[name] = tuple(value.shape)
        m = float(value.abs().max())
        self.scales[name] = (m if m > 0 else 1.0) / 127.0

    def _new(self, prefix="%t"):
        self.counter += 1
        return f"{prefix}{self.counter}"

    def _blob(self, array: np.ndarray, elem: str) -> str:
        """A dense_resource attribute over a new blob holding `array`."""
        key = f"r{len(self.blobs)}"
        self.blobs[key] = blob_hex(array)
        return dense_resource(key, array.shape, elem)

    def _weight(self, weight, bias: np.ndarray):
        w, b = self._new("%w"), self._new("%b")
        if isinstance(weight, PermDiagWeight):
            self.lines.append(f"{w} = " + permdiag_constant(
                self._blob(weight.offsets.astype("<i4"), "i32"),
                self._blob(weight.values.astype("<f4"), "f32"), weight.type()))
        else:
            self.lines.append(f"{w} = " + se_constant(
                self._blob(weight.codes.astype(np.int8), "i8"),
                self._blob(weight.basis.astype("<f4"), "f32"), weight.type()))
        self.lines.append(f"{b} = arith.constant "
                          + self._blob(bias.astype("<f4"), "f32"))
        return w, b

    def _scales(self, x, out, relu, **extra):
        """The attributes of a layer requantizing `x`'s scale to `out`'s."""
        return {"input_scale": self.scales[x], "output_scale": self.scales[out],
                "relu": relu, **extra}

    def conv(self, x, se: SEWeight, bias, stride=1, pad=0, relu=True):
        self.layers += 1
        w, b = self._weight(se, bias)
        src = self._pad(x, pad)
        y = F.conv2d(self.values[x], torch.from_numpy(se.dense()),
                     torch.from_numpy(bias.astype(np.float32)), stride, pad)
        if relu:
            y = F.relu(y)
        out = self._new()
        self._def(out, y)
        self.lines.append(f"{out} = " + sd_op(
            "quantized_conv2d", [(src, self._act(src)), (w, se.type())],
            self._act(out), bias=(b, tensor_type([se.shape[0]], "f32")),
            attrs=self._scales(x, out, relu, strides=(stride, stride))))
        return out

    def _pad(self, x, pad):
        if not pad:
            return x
        n, c, h, wd = self.shapes[x]
        src = self._new("%p")
        self.shapes[src] = (n, c, h + 2 * pad, wd + 2 * pad)
        self.lines.append(f"{src} = " + tensor_pad(
            x, [0, 0, pad, pad], [0, 0, pad, pad], "%zero", "i8", self._act(x),
            self._act(src)))
        return src

    def depthwise(self, x, weight: np.ndarray, bias, stride=1, pad=1, relu=True):
        """A depthwise convolution with raw (int8-quantized) weights."""
        self.layers += 1
        c = weight.shape[0]
        w, b = self._new("%w"), self._new("%b")
        self.lines.append(f"{w} = arith.constant "
                          + self._blob(weight.astype("<f4"), "f32"))
        self.lines.append(f"{b} = arith.constant "
                          + self._blob(bias.astype("<f4"), "f32"))
        src = self._pad(x, pad)
        y = F.conv2d(self.values[x], torch.from_numpy(weight.astype(np.float32)),
                     torch.from_numpy(bias.astype(np.float32)), stride, pad,
                     groups=c)
        if relu:
            y = F.relu(y)
        out = self._new()
        self._def(out, y)
        self.lines.append(f"{out} = " + sd_op(
            "quantized_depthwise_conv2d",
            [(src, self._act(src)), (w, tensor_type(weight.shape, "f32"))],
            self._act(out), bias=(b, tensor_type([c], "f32")),
            attrs=self._scales(x, out, relu, strides=(stride, stride))))
        return out

    def linear(self, x, se, bias, relu=False):
        """A fully connected layer on an SEWeight or a PermDiagWeight."""
        self.layers += 1
        w, b = self._weight(se, bias)
        y = F.linear(self.values[x], torch.from_numpy(se.dense()),
                     torch.from_numpy(bias.astype(np.float32)))
        if relu:
            y = F.relu(y)
        out = self._new()
        self._def(out, y)
        self.lines.append(f"{out} = " + sd_op(
            "quantized_matmul", [(x, self._act(x)), (w, se.type())],
            self._act(out), bias=(b, tensor_type([se.shape[0]], "f32")),
            attrs=self._scales(x, out, relu)))
        return out

    def maxpool(self, x, k, stride, pad=0):
        self.layers += 1
        y = F.max_pool2d(self.values[x], k, stride, pad)
        out = self._new()
        self._def(out, y)
        self.scales[out] = self.scales[x]  # max pooling keeps the scale
        self.lines.append(f"{out} = " + sd_op(
            "quantized_max_pool2d", [(x, self._act(x))], self._act(out),
            attrs={"kernel": (k, k), "strides": (stride, stride),
                   "padding": (pad,) * 4}))
        return out

    def global_avgpool(self, x):
        self.layers += 1
        n, c, h, w = self.shapes[x]
        y = F.avg_pool2d(self.values[x], (h, w))
        out = self._new()
        self._def(out, y)
        self.lines.append(f"{out} = " + sd_op(
            "quantized_avg_pool2d", [(x, self._act(x))], self._act(out),
            attrs=self._scales(x, out, False, kernel=(h, w))))
        return out

    def add(self, a, b, relu=True):
        self.layers += 1
        y = self.values[a] + self.values[b]
        if relu:
            y = F.relu(y)
        out = self._new()
        self._def(out, y)
        t = self._act(a)
        self.lines.append(f"{out} = " + sd_op(
            "quantized_add", [(a, t), (b, t)], t,
            attrs={"lhs_scale": self.scales[a], "rhs_scale": self.scales[b],
                   "output_scale": self.scales[out], "relu": relu}))
        return out

    def flatten(self, x):
        n = self.shapes[x][0]
        rest = int(np.prod(self.shapes[x][1:]))
        out = self._new()
        self.values[out] = self.values[x].reshape(n, rest)
        self.shapes[out] = (n, rest)
        self.scales[out] = self.scales[x]
        self.lines.append(f"{out} = " + tensor_collapse(
            x, [[0], list(range(1, len(self.shapes[x])))], self._act(x),
            self._act(out)))
        return out

    def mlir(self, result: str) -> str:
        return func_module([("%arg0", self._act("%arg0"))],
                           (result, self._act(result)),
                           ["%zero = arith.constant 0 : i8"] + self.lines,
                           self.blobs)


#===------------------------------------------------------------------------===#
# Networks
#===------------------------------------------------------------------------===#

def _bias(rng, n):
    return (rng.standard_normal(n) * 0.1).astype(np.float32)


def tiny_resnet(rng, size=16):
    """A ResNet-like network with every whole-network layer, in seconds:
    stem 3x3, max pool 3x3 s2 p1, a basic block, a depthwise 3x3, a strided
    block with a 1x1 downsample, global average pooling and a classifier."""
    x = rng.standard_normal((1, 3, size, size)).astype(np.float32)
    net = Network(x)
    se = lambda shape: random_se(shape, rng)
    y = net.conv(net.x, se((8, 3, 3, 3)), _bias(rng, 8), 1, 1)
    y = net.maxpool(y, 3, 2, 1)
    z = net.conv(y, se((8, 8, 3, 3)), _bias(rng, 8), 1, 1)
    z = net.conv(z, se((8, 8, 3, 3)), _bias(rng, 8), 1, 1, relu=False)
    y = net.add(z, y)
    y = net.depthwise(y, rng.standard_normal((8, 1, 3, 3)).astype(np.float32),
                      _bias(rng, 8), 1, 1)
    z = net.conv(y, se((16, 8, 3, 3)), _bias(rng, 16), 2, 1)
    z = net.conv(z, se((16, 16, 3, 3)), _bias(rng, 16), 1, 1, relu=False)
    d = net.conv(y, se((16, 8, 1, 1)), _bias(rng, 16), 2, 0, relu=False)
    y = net.add(z, d)
    y = net.global_avgpool(y)
    y = net.flatten(y)
    y = net.linear(y, se((10, 16)), _bias(rng, 10))
    return net, y, x


#===------------------------------------------------------------------------===#
# Running
#===------------------------------------------------------------------------===#

def quantize_input(net: Network, x: np.ndarray) -> np.ndarray:
    """The int8 network input at the calibrated scale."""
    q = np.round(x / net.scales["%arg0"])
    return np.clip(q, -127, 127).astype(np.int8)


def run_cpu(model: str, xq: np.ndarray, out_shape, work: Path, sd_opt="sd-opt",
            runner=shutil.which("mlir-runner") or "/usr/lib/llvm-22/bin/mlir-runner",
            runtime="/usr/lib/llvm-22/lib/libmlir_runner_utils.so") -> np.ndarray:
    """The CPU quantized mode (sd-opt --sd-cpu-to-llvm, JIT) on `xq`."""
    t_in = tensor_type(xq.shape, "i8")
    t_out = tensor_type(out_shape, "i8")
    t_f = tensor_type(out_shape, "f32")
    entry = f"""
func.func private @printMemrefF32(tensor<*xf32>)
func.func @entry() {{
  %x = arith.constant dense_resource<xin> : {t_in}
  %y = call @main(%x) : ({t_in}) -> {t_out}
  %f = arith.sitofp %y : {t_out} to {t_f}
  %u = tensor.cast %f : {t_f} to tensor<*xf32>
  call @printMemrefF32(%u) : (tensor<*xf32>) -> ()
  return
}}
"""
    text = model.replace("    builtin: {\n",
                         f'    builtin: {{\n      xin: "0x01000000{xq.tobytes().hex().upper()}",\n', 1)
    path = work / "cpu.mlir"
    path.write_text(text + entry)
    llvm = subprocess.run([sd_opt, str(path), "--sd-cpu-to-llvm"], check=True,
                          capture_output=True, text=True).stdout
    out = subprocess.run([runner, "-e", "entry", "-entry-point-result=void", "-O2",
                          f"-shared-libs={runtime}"], input=llvm, check=True,
                         capture_output=True, text=True).stdout
    data = out.split("data =", 1)[1]
    values = [float(v) for v in re.findall(r"-?\d+(?:\.\d+)?", data)]
    return np.array(values).astype(np.int8).reshape(out_shape)


def run_sim(program: Path, xq: np.ndarray, work: Path, sd_sim="sd-sim",
            config: Optional[str] = None, compare: bool = False):
    """sd-sim on `program`; returns (the single output, the report)."""
    np.save(work / "x.npy", xq)
    out = work / "sim-out"
    for stale in out.glob("*.npy"):  # an earlier run's outputs
        stale.unlink()
    report = work / "report.json"
    cmd = [sd_sim, str(program), "--input", f"arg0={work / 'x.npy'}",
           "--output-dir", str(out), "--report", str(report)]
    if config:
        cmd += ["--config", config]
    if compare:
        cmd += ["--compare", "dense"]
    subprocess.run(cmd, check=True, capture_output=True)
    outs = sorted(out.glob("*.npy"))
    if len(outs) != 1:
        raise RuntimeError(f"expected one network output, got {outs}")
    return np.load(outs[0]), json.loads(report.read_text())


#===------------------------------------------------------------------------===#
# Trained models
#===------------------------------------------------------------------------===#

def from_module(model, x: np.ndarray, batch: Optional[int] = None):
    """A model trained in compressed form (`smartdeal.training`) as a quantized
    Network, calibrated on `x`, taking `batch` samples (default: as many as
    `x`): returns (network, result value).

    The model is an `nn.Sequential` (nested ones are flattened) of SELinear,
    SEConv2d, PermDiagLinear, ReLU (fused into the layer before it),
    MaxPool2d, Flatten, Dropout and Identity. The trained codes, bases,
    offsets and values go in as they are, so the program computes the model
    PyTorch fine-tuned, in the integer arithmetic of QuantizedArithmetic.md.
    """
    # The training layers need PyTorch, which this module does not require.
    import torch.nn as nn

    from ..training import PermDiagLinear, SEConv2d, SELinear

    def leaves(m):
        if isinstance(m, nn.Sequential):
            return [leaf for child in m for leaf in leaves(child)]
        return [m]

    def bias_of(m, n):
        if m.bias is None:
            return np.zeros(n, np.float32)
        return m.bias.detach().numpy().astype(np.float32)

    def se_weight(m):
        return SEWeight(m.weight_shape, m.codes(), m.basis_array(), m.lo, m.hi)

    layers = [m for m in leaves(model) if not isinstance(m, (nn.Identity, nn.Dropout))]
    net = Network(x, batch)
    value = net.x
    i = 0
    while i < len(layers):
        m = layers[i]
        relu = i + 1 < len(layers) and isinstance(layers[i + 1], nn.ReLU)
        if isinstance(m, SELinear):
            value = net.linear(value, se_weight(m), bias_of(m, m.out_features), relu)
        elif isinstance(m, PermDiagLinear):
            w = PermDiagWeight((m.out_features, m.in_features), m.offsets.numpy(),
                               m.values.detach().numpy())
            value = net.linear(value, w, bias_of(m, m.out_features), relu)
        elif isinstance(m, SEConv2d):
            if m.stride[0] != m.stride[1] or m.padding[0] != m.padding[1] \
                    or m.dilation != (1, 1):
                raise ValueError(f"layer {i} ({m}): the accelerator takes square "
                                 "strides and padding and no dilation")
            value = net.conv(value, se_weight(m), bias_of(m, m.out_channels),
                             m.stride[0], m.padding[0], relu)
        elif isinstance(m, nn.MaxPool2d):
            k, s, p = (v if isinstance(v, int) else v[0]
                       for v in (m.kernel_size, m.stride, m.padding))
            value, relu = net.maxpool(value, k, s, p), False
        elif isinstance(m, nn.Flatten):
            value, relu = net.flatten(value), False
        elif isinstance(m, nn.ReLU):
            raise ValueError(f"layer {i}: a ReLU must follow a linear or "
                             "convolution layer, into which it is fused")
        else:
            raise ValueError(f"layer {i} ({type(m).__name__}) has no quantized "
                             "accelerator form; expected SELinear, SEConv2d, "
                             "PermDiagLinear, ReLU, MaxPool2d or Flatten")
        i += 2 if relu else 1
    return net, value
