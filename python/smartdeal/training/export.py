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

from typing import List, Sequence

import numpy as np
import torch
import torch.nn as nn

from .layers import PermDiagLinear, SEConv2d, SELinear, _SEWeight


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
    from ..runner import run_mlir
    return run_mlir(text, [x.detach().numpy()], pipeline=pipeline).outputs[0]


# ---------------------------------------------------------------------------
# Quantized mode: the accelerator's integer chain (docs/QuantizedArithmetic.md)
# ---------------------------------------------------------------------------

def quantized_scales(model: nn.Module, calibration: torch.Tensor) -> List[float]:
    """Per-tensor scales max|v| / 127 of the input of every SELinear and of the
    model's output, over `calibration` (the rule of docs/QuantizedArithmetic.md)."""
    layers = [m for m in _leaves(model) if not isinstance(m, (nn.Identity, nn.Dropout))]
    scales = []
    with torch.no_grad():
        h = calibration
        for m in layers:
            if isinstance(m, SELinear):
                scales.append(max(float(h.abs().max()), 1e-12) / 127.0)
            h = m(h)
        scales.append(max(float(h.abs().max()), 1e-12) / 127.0)
    return scales


def export_quantized_mlir(model: nn.Module, batch: int, scales: Sequence[float],
                          name: str = "main") -> str:
    """`func.func @<name>(%x: tensor<batch x K x i8>) -> tensor<batch x N x i8>`:
    the model as a chain of `sd.quantized_matmul` with fused ReLU.

    The model must be `[Flatten], SELinear, [ReLU], SELinear, ...` (what
    `sd-translate --sd-to-sdacc` turns into one accelerator program); the
    flatten is the caller's (inputs arrive as [batch, K] int8 at scale
    `scales[0]`); `scales` come from `quantized_scales`. The codes and bases
    are the trained ones; the quantized lowering rounds B to int8 per layer.
    """
    layers = [m for m in _leaves(model)
              if not isinstance(m, (nn.Identity, nn.Dropout, nn.Flatten))]
    if not layers or not all(isinstance(m, (SELinear, nn.ReLU)) for m in layers) \
            or not isinstance(layers[0], SELinear):
        raise ValueError("export_quantized_mlir: a chain of SELinear layers with "
                         "ReLUs between them")
    lines, x, width, si = [], "%x", layers[0].in_features, 0
    first = width
    i = 0
    while i < len(layers):
        m = layers[i]
        if not isinstance(m, SELinear):
            raise ValueError("export_quantized_mlir: ReLU must follow an SELinear")
        relu = i + 1 < len(layers) and isinstance(layers[i + 1], nn.ReLU)
        wtype = m.se_type()
        out = m.out_features
        in_t, out_t = _tt((batch, width), "i8"), _tt((batch, out), "i8")
        lines.append(f"    %w{si} = sd.se_constant codes({_hex(m.codes(), 'i1', 'i8')}) "
                     f"basis({_hex(m.basis_array(), '<f4', 'f32')}) : {wtype}")
        bias = ""
        if m.bias is not None:
            lines.append(f"    %b{si} = arith.constant {_hex(m.bias.detach().numpy(), '<f4', 'f32')}")
            bias = f" bias(%b{si} : {_tt((out,))})"
        attrs = (f"input_scale = {scales[si]!r} : f64, output_scale = {scales[si + 1]!r} : f64"
                 + (", relu" if relu else ""))
        lines.append(f"    %y{si} = sd.quantized_matmul ins({x}, %w{si} : {in_t}, {wtype}){bias} "
                     f"{{{attrs}}} -> {out_t}")
        x, width = f"%y{si}", out
        si += 1
        i += 2 if relu else 1
    head = (f"  func.func @{name}(%x: {_tt((batch, first), 'i8')}) -> "
            f"{_tt((batch, width), 'i8')} {{")
    return head + "\n" + "\n".join(lines) + f"\n    return {x} : {_tt((batch, width), 'i8')}\n  }}\n"


def run_quantized_cpu(chain: str, xq: np.ndarray, out_features: int) -> np.ndarray:
    """Runs a chain from `export_quantized_mlir(..., name="chain")` on the CPU
    backend (--sd-cpu-to-llvm); int8 in, int8 out. The wrapper passes the
    integers through f32 because the runner's entry point prints f32."""
    from ..runner import run_mlir
    n, k = xq.shape
    f_in, i_in = _tt((n, k)), _tt((n, k), "i8")
    f_out, i_out = _tt((n, out_features)), _tt((n, out_features), "i8")
    wrapper = f"""  func.func @main(%a: {f_in}) -> {f_out} {{
    %q = arith.fptosi %a : {f_in} to {i_in}
    %y = func.call @chain(%q) : ({i_in}) -> {i_out}
    %f = arith.sitofp %y : {i_out} to {f_out}
    return %f : {f_out}
  }}
"""
    text = "module {\n" + chain + wrapper + "}\n"
    out = run_mlir(text, [xq.astype(np.float32)], pipeline="--sd-cpu-to-llvm").outputs[0]
    return np.rint(out).astype(np.int8)


def run_quantized_sim(chain: str, xq: np.ndarray, workdir: str,
                      sd_translate: str, sd_sim: str) -> np.ndarray:
    """Translates a chain from `export_quantized_mlir(..., name="main")` into an
    accelerator program (sd-translate --sd-to-sdacc) and runs it on sd-sim;
    int8 in, int8 out."""
    import os
    import subprocess
    src = os.path.join(workdir, "chain.mlir")
    prog = os.path.join(workdir, "chain.sdacc")
    out_dir = os.path.join(workdir, "sim-out")
    with open(src, "w") as f:
        f.write("module {\n" + chain + "}\n")
    for cmd in ([sd_translate, "--sd-to-sdacc", src, "-o", prog],
                [sd_sim, prog, "--input", f"arg0={os.path.join(workdir, 'x.npy')}",
                 "--output-dir", out_dir, "--report", os.path.join(workdir, "sim.json")]):
        if cmd[0] == sd_sim:
            np.save(os.path.join(workdir, "x.npy"), xq.astype(np.int8))
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"{os.path.basename(cmd[0])} failed: {proc.stderr.strip()}")
    outs = sorted(f for f in os.listdir(out_dir) if f.endswith(".npy"))
    if len(outs) != 1:
        raise RuntimeError(f"sd-sim wrote {outs}, expected one output")
    return np.load(os.path.join(out_dir, outs[0])).astype(np.int8)
