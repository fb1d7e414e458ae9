"""Export a trained model straight into sd IR (no re-decomposition).

`export_mlir(model, example_input)` writes `func.func @main(x) -> y` in the
linalg-on-tensors contract of the importers, through the one MLIR writer
(`smartdeal.ir.emitter`), with

* `SELinear`       -> `sd.se_constant` + `sd.shift_add_matmul` (bias fused)
* `SEConv2d`       -> `tensor.pad` + `sd.se_constant` + `sd.shift_add_conv2d`
* `PermDiagLinear` -> `sd.permdiag_constant` + `sd.permdiag_matmul`
* `nn.Linear` / `nn.Conv2d` (dense) -> linalg.matmul / linalg.conv_2d_nchw_fchw
* `nn.ReLU`, `nn.MaxPool2d`, `nn.Flatten` -> linalg.generic / linalg.pooling_nchw_max /
  tensor.collapse_shape

The codes are the layers' current quantized Ce (`layer.codes()`), the bases,
offsets and values their current parameters, written as hex `dense<"0x…">`
literals (bit-exact); dense weights and biases are f32 `dense_resource` blobs.
The model must be an `nn.Sequential` (nested ones are flattened) of the
modules above; the example input fixes the batch shape.
"""

from __future__ import annotations

from typing import List

import numpy as np
import torch
import torch.nn as nn

from ..ir.emitter import (FX, ModuleWriter, dense_hex, permdiag_constant,
                          se_constant)
from ..runtime.runner import run_mlir
from .layers import PermDiagLinear, SEConv2d, SELinear

__all__ = ["export_mlir", "run_exported"]


def _leaves(model: nn.Module) -> List[nn.Module]:
    if isinstance(model, nn.Sequential):
        out = []
        for m in model:
            out += _leaves(m)
        return out
    return [model]


def _pair(v) -> tuple:
    return (v, v) if isinstance(v, int) else tuple(v)


def export_mlir(model: nn.Module, example_input: torch.Tensor) -> str:
    """MLIR text of `model` (sd ops for SE / PermDiag layers) for inputs shaped like example_input."""
    layers = _leaves(model)
    shapes = []
    with torch.no_grad():
        h = example_input
        for m in layers:
            h = m(h)
            shapes.append(tuple(h.shape))
    w = ModuleWriter(FX)
    x = w.argument(example_input.shape)
    for i, (m, out_shape) in enumerate(zip(layers, shapes)):
        name = f"layer{i}"
        bias = None
        if getattr(m, "bias", None) is not None:
            bias = w.constant(m.bias.detach().cpu().numpy(), f"{name}.bias")
        if isinstance(m, SELinear):
            wt = m.se_type()
            wn = w.sd_weight(se_constant(dense_hex(m.codes(), "i1", "i8"),
                                         dense_hex(m.basis_array(), "<f4", "f32"), wt))
            x = w.sd_compute("shift_add_matmul", x, wn, wt, out_shape, bias)
        elif isinstance(m, PermDiagLinear):
            wt = m.permdiag_type()
            wn = w.sd_weight(permdiag_constant(
                dense_hex(m.offsets.cpu().numpy(), "<i4", "i32"),
                dense_hex(m.values.detach().cpu().numpy(), "<f4", "f32"), wt))
            x = w.sd_compute("permdiag_matmul", x, wn, wt, out_shape, bias)
        elif isinstance(m, nn.Linear):
            wv = w.constant(m.weight.detach().cpu().numpy().T, f"{name}.weight")
            x = w.matmul(x, wv)
            if bias is not None:
                x = w.elementwise([x, bias], lambda b, a, c: b.add(a, c))
        elif isinstance(m, (SEConv2d, nn.Conv2d)):
            if isinstance(m, nn.Conv2d) and (m.groups != 1 or isinstance(m.padding, str)):
                raise ValueError("export: only groups=1 convolutions with numeric padding")
            ph, pw = _pair(m.padding)
            x = w.pad(x, [0, 0, ph, pw], [0, 0, ph, pw])
            strides, dil = _pair(m.stride), _pair(m.dilation)
            if isinstance(m, SEConv2d):
                wt = m.se_type()
                wn = w.sd_weight(se_constant(dense_hex(m.codes(), "i1", "i8"),
                                             dense_hex(m.basis_array(), "<f4", "f32"), wt))
                attrs = {"dilations": dil if dil != (1, 1) else None,
                         "strides": strides if strides != (1, 1) else None}
                x = w.sd_compute("shift_add_conv2d", x, wn, wt, out_shape, bias, attrs)
            else:
                wv = w.constant(m.weight.detach().cpu().numpy(), f"{name}.weight")
                x = w.conv2d_nchw_fchw(x, wv, strides, dil)
                if bias is not None:
                    x = w.elementwise([x, bias], lambda b, a, c: b.add(a, c),
                                      dims=[None, [1]])
        elif isinstance(m, nn.ReLU):
            x = w.elementwise([x], lambda b, a: b.max(a, b.const(0.0)))
        elif isinstance(m, nn.MaxPool2d):
            if (m.padding not in (0, (0, 0))) or m.ceil_mode or m.dilation not in (1, (1, 1)):
                raise ValueError("export: MaxPool2d without padding, dilation or ceil_mode only")
            x = w.pooling_nchw(x, "max", _pair(m.kernel_size), _pair(m.stride))
        elif isinstance(m, nn.Flatten):
            if m.start_dim != 1 or m.end_dim != -1:
                raise ValueError("export: Flatten(start_dim=1) only")
            x = w.reshape(x, out_shape)
        elif isinstance(m, (nn.Identity, nn.Dropout)):
            pass
        else:
            raise ValueError(f"export: unsupported module {type(m).__name__}")
        if x.shape != tuple(out_shape):
            raise ValueError(f"export: layer {i} ({type(m).__name__}) gives {x.shape}, "
                             f"the model {tuple(out_shape)}")
    w.ret(x)
    return w.text("main")


def run_exported(text: str, x: torch.Tensor, pipeline: str = "--sd-cpu-to-llvm") -> np.ndarray:
    """Run an exported module on the CPU path (one JIT compile per call)."""
    return run_mlir(text, [x.detach().numpy()], pipeline=pipeline).outputs[0]
