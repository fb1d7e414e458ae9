"""Export a trained model straight into sd IR (no re-decomposition).

`export_mlir(model, example_input)` writes `func.func @main(x) -> y` in the
linalg-on-tensors contract of the importers, with

* `SELinear`       -> `sd.se_constant` + `sd.shift_add_matmul` (bias fused)
* `SEConv2d`       -> `tensor.pad` + `sd.se_constant` + `sd.shift_add_conv2d`
* `PermDiagLinear` -> `sd.permdiag_constant` + `sd.permdiag_matmul`
* `nn.Linear` / `nn.Conv2d` (dense) -> linalg.matmul / linalg.conv_2d_nchw_fchw
* `nn.ReLU`, `nn.MaxPool2d`, `nn.Flatten` -> linalg.generic / linalg.pooling_nchw_max /
  tensor.collapse_shape

The codes are the layers' current quantized Ce (`layer.codes()`), the bases,
offsets and values their current parameters, all written as hex `dense<"0x…">`
literals (bit-exact). The model must be an `nn.Sequential` (nested ones are
flattened) of the modules above; the example input fixes the batch shape.
"""

from __future__ import annotations

from typing import List

import numpy as np
import torch
import torch.nn as nn

from ..runtime.runner import run_mlir
from .layers import PermDiagLinear, SEConv2d, SELinear

__all__ = ["export_mlir", "run_exported"]


def _tt(shape, elem="f32") -> str:
    return "tensor<" + "".join(f"{d}x" for d in shape) + elem + ">"


def _hex(a: np.ndarray, dtype: str, elem: str) -> str:
    a = np.ascontiguousarray(a, dtype=dtype)
    return f'dense<"0x{a.tobytes().hex().upper()}"> : {_tt(a.shape, elem)}'


def _leaves(model: nn.Module) -> List[nn.Module]:
    if isinstance(model, nn.Sequential):
        out = []
        for m in model:
            out += _leaves(m)
        return out
    return [model]


def _ident(rank: int) -> str:
    d = ", ".join(f"d{i}" for i in range(rank))
    return f"affine_map<({d}) -> ({d})>"


class _Emitter:
    def __init__(self):
        self.lines: List[str] = []
        self.n = 0

    def val(self, prefix="v") -> str:
        self.n += 1
        return f"%{prefix}{self.n}"

    def emit(self, line: str):
        self.lines.append("    " + line)

    def zeros(self, shape, fill="0.000000e+00") -> str:
        e, c, z = self.val("e"), self.val("c"), self.val("z")
        self.emit(f"{e} = tensor.empty() : {_tt(shape)}")
        self.emit(f"{c} = arith.constant {fill} : f32")
        self.emit(f"{z} = linalg.fill ins({c} : f32) outs({e} : {_tt(shape)}) -> {_tt(shape)}")
        return z

    def bias_add(self, x, shape, bias: np.ndarray, channel_dim: int) -> str:
        b = self.val("b")
        self.emit(f"{b} = arith.constant {_hex(bias, '<f4', 'f32')}")
        rank = len(shape)
        dims = ", ".join(f"d{i}" for i in range(rank))
        bmap = f"affine_map<({dims}) -> (d{channel_dim})>"
        e, y = self.val("e"), self.val("y")
        self.emit(f"{e} = tensor.empty() : {_tt(shape)}")
        par = ", ".join(['"parallel"'] * rank)
        self.emit(f"{y} = linalg.generic {{indexing_maps = [{_ident(rank)}, {bmap}, {_ident(rank)}], "
                  f"iterator_types = [{par}]}} ins({x}, {b} : {_tt(shape)}, {_tt(bias.shape)}) "
                  f"outs({e} : {_tt(shape)}) {{")
        self.emit("^bb0(%a: f32, %bb: f32, %o: f32):")
        self.emit("  %s = arith.addf %a, %bb : f32")
        self.emit("  linalg.yield %s : f32")
        self.emit(f"}} -> {_tt(shape)}")
        return y

    def pad(self, x, shape, padding) -> tuple:
        ph, pw = padding
        if ph == 0 and pw == 0:
            return x, shape
        out = (shape[0], shape[1], shape[2] + 2 * ph, shape[3] + 2 * pw)
        c, y = self.val("c"), self.val("p")
        self.emit(f"{c} = arith.constant 0.000000e+00 : f32")
        self.emit(f"{y} = tensor.pad {x} low[0, 0, {ph}, {pw}] high[0, 0, {ph}, {pw}] {{")
        self.emit("^bb0(%i0: index, %i1: index, %i2: index, %i3: index):")
        self.emit(f"  tensor.yield {c} : f32")
        self.emit(f"}} : {_tt(shape)} to {_tt(out)}")
        return y, out


def export_mlir(model: nn.Module, example_input: torch.Tensor) -> str:
    """MLIR text of `model` (sd ops for SE / PermDiag layers) for inputs shaped like example_input."""
    layers = _leaves(model)
    shapes = []
    with torch.no_grad():
        h = example_input
        for m in layers:
            h = m(h)
            shapes.append(tuple(h.shape))
    em = _Emitter()
    x, shape = "%arg0", tuple(example_input.shape)
    for m, out_shape in zip(layers, shapes):
        if isinstance(m, (SELinear, PermDiagLinear, nn.Linear)):
            w = em.val("w")
            if isinstance(m, SELinear):
                wtype = m.se_type()
                em.emit(f"{w} = sd.se_constant codes({_hex(m.codes(), 'i1', 'i8')}) "
                        f"basis({_hex(m.basis_array(), '<f4', 'f32')}) : {wtype}")
                op = "sd.shift_add_matmul"
            elif isinstance(m, PermDiagLinear):
                wtype = m.permdiag_type()
                em.emit(f"{w} = sd.permdiag_constant offsets({_hex(m.offsets.cpu().numpy(), '<i4', 'i32')}) "
                        f"values({_hex(m.values.detach().cpu().numpy(), '<f4', 'f32')}) : {wtype}")
                op = "sd.permdiag_matmul"
            else:
                op = None
            init = em.zeros(out_shape)
            y = em.val("y")
            if op:
                bias = ""
                if m.bias is not None:
                    b = em.val("b")
                    em.emit(f"{b} = arith.constant {_hex(m.bias.detach().numpy(), '<f4', 'f32')}")
                    bias = f" bias({b} : {_tt(m.bias.shape)})"
                em.emit(f"{y} = {op} ins({x}, {w} : {_tt(shape)}, {wtype}){bias} "
                        f"outs({init} : {_tt(out_shape)}) -> {_tt(out_shape)}")
            else:
                wt = m.weight.detach().numpy().T
                em.emit(f"{w} = arith.constant {_hex(wt, '<f4', 'f32')}")
                em.emit(f"{y} = linalg.matmul ins({x}, {w} : {_tt(shape)}, {_tt(wt.shape)}) "
                        f"outs({init} : {_tt(out_shape)}) -> {_tt(out_shape)}")
                if m.bias is not None:
                    y = em.bias_add(y, out_shape, m.bias.detach().numpy(), len(out_shape) - 1)
            x = y
        elif isinstance(m, (SEConv2d, nn.Conv2d)):
            if isinstance(m, nn.Conv2d) and (m.groups != 1 or isinstance(m.padding, str)):
                raise ValueError("export: only groups=1 convolutions with numeric padding")
            x, shape = em.pad(x, shape, tuple(m.padding))
            strides = tuple(m.stride)
            dil = tuple(m.dilation)
            init = em.zeros(out_shape)
            w, y = em.val("w"), em.val("y")
            if isinstance(m, SEConv2d):
                wtype = m.se_type()
                em.emit(f"{w} = sd.se_constant codes({_hex(m.codes(), 'i1', 'i8')}) "
                        f"basis({_hex(m.basis_array(), '<f4', 'f32')}) : {wtype}")
                attrs = []
                if dil != (1, 1):
                    attrs.append(f"dilations = array<i64: {dil[0]}, {dil[1]}>")
                if strides != (1, 1):
                    attrs.append(f"strides = array<i64: {strides[0]}, {strides[1]}>")
                attr = (" {" + ", ".join(attrs) + "}") if attrs else ""
                bias = ""
                if m.bias is not None:
                    b = em.val("b")
                    em.emit(f"{b} = arith.constant {_hex(m.bias.detach().numpy(), '<f4', 'f32')}")
                    bias = f" bias({b} : {_tt(m.bias.shape)})"
                em.emit(f"{y} = sd.shift_add_conv2d{attr} ins({x}, {w} : {_tt(shape)}, {wtype}){bias} "
                        f"outs({init} : {_tt(out_shape)}) -> {_tt(out_shape)}")
            else:
                wd = m.weight.detach().numpy()
                em.emit(f"{w} = arith.constant {_hex(wd, '<f4', 'f32')}")
                em.emit(f"{y} = linalg.conv_2d_nchw_fchw {{dilations = dense<[{dil[0]}, {dil[1]}]> : tensor<2xi64>, "
                        f"strides = dense<[{strides[0]}, {strides[1]}]> : tensor<2xi64>}} "
                        f"ins({x}, {w} : {_tt(shape)}, {_tt(wd.shape)}) "
                        f"outs({init} : {_tt(out_shape)}) -> {_tt(out_shape)}")
                if m.bias is not None:
                    y = em.bias_add(y, out_shape, m.bias.detach().numpy(), 1)
            x = y
        elif isinstance(m, nn.ReLU):
            rank = len(shape)
            e, y = em.val("e"), em.val("y")
            em.emit(f"{e} = tensor.empty() : {_tt(shape)}")
            par = ", ".join(['"parallel"'] * rank)
            em.emit(f"{y} = linalg.generic {{indexing_maps = [{_ident(rank)}, {_ident(rank)}], "
                    f"iterator_types = [{par}]}} ins({x} : {_tt(shape)}) outs({e} : {_tt(shape)}) {{")
            em.emit("^bb0(%a: f32, %o: f32):")
            em.emit("  %zero = arith.constant 0.000000e+00 : f32")
            em.emit("  %r = arith.maximumf %a, %zero : f32")
            em.emit("  linalg.yield %r : f32")
            em.emit(f"}} -> {_tt(shape)}")
            x = y
        elif isinstance(m, nn.MaxPool2d):
            k = (m.kernel_size,) * 2 if isinstance(m.kernel_size, int) else tuple(m.kernel_size)
            s = (m.stride,) * 2 if isinstance(m.stride, int) else tuple(m.stride)
            if (m.padding not in (0, (0, 0))) or m.ceil_mode or m.dilation not in (1, (1, 1)):
                raise ValueError("export: MaxPool2d without padding, dilation or ceil_mode only")
            init = em.zeros(out_shape, "0xFF800000")
            win, y = em.val("k"), em.val("y")
            em.emit(f"{win} = tensor.empty() : {_tt(k)}")
            em.emit(f"{y} = linalg.pooling_nchw_max {{dilations = dense<1> : tensor<2xi64>, "
                    f"strides = dense<[{s[0]}, {s[1]}]> : tensor<2xi64>}} ins({x}, {win} : {_tt(shape)}, {_tt(k)}) "
                    f"outs({init} : {_tt(out_shape)}) -> {_tt(out_shape)}")
            x = y
        elif isinstance(m, nn.Flatten):
            if m.start_dim != 1 or m.end_dim != -1:
                raise ValueError("export: Flatten(start_dim=1) only")
            if len(shape) > 2:
                y = em.val("f")
                rest = ", ".join(str(i) for i in range(1, len(shape)))
                em.emit(f"{y} = tensor.collapse_shape {x} [[0], [{rest}]] : {_tt(shape)} into {_tt(out_shape)}")
                x = y
        elif isinstance(m, (nn.Identity, nn.Dropout)):
            pass
        else:
            raise ValueError(f"export: unsupported module {type(m).__name__}")
        shape = out_shape
    head = f"  func.func @main(%arg0: {_tt(example_input.shape)}) -> {_tt(shape)} {{"
    return "module {\n" + head + "\n" + "\n".join(em.lines) + \
        f"\n    return {x} : {_tt(shape)}\n  }}\n}}\n"


def run_exported(text: str, x: torch.Tensor, pipeline: str = "--sd-cpu-to-llvm") -> np.ndarray:
    """Run an exported module on the CPU path (one JIT compile per call)."""
    return run_mlir(text, [x.detach().numpy()], pipeline=pipeline).outputs[0]
