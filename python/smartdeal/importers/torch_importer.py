"""Import a PyTorch nn.Module into linalg-on-tensors MLIR through torch.fx.

torch-mlir is used when it is importable (it is not packaged for Debian);
otherwise the module is traced with torch.fx, shapes are propagated with the
example inputs, and every graph node is lowered by `lowering.py` into the
same op patterns torch-mlir's FX importer produces. The module is imported
for inference: it is put in eval mode (BatchNorm uses running statistics,
dropout is the identity) for the duration of the import.
"""

from __future__ import annotations

import math
import operator
import os
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.fx as fx
import torch.nn as nn
import torch.nn.functional as F
from torch.fx.passes.shape_prop import ShapeProp

from . import lowering as L
from .errors import UnsupportedError
from ..ir.emitter import FX, ModuleWriter, Value
from .atomic_write import write_atomically

# Modules whose forward cannot be traced by torch.fx (data-dependent fast
# paths) are kept whole and lowered by hand from their parameters.
_LEAVES = (nn.MultiheadAttention, nn.TransformerEncoderLayer, nn.TransformerEncoder)

_PASSTHROUGH_MODULES = (
    nn.Dropout,
    nn.Dropout1d if hasattr(nn, "Dropout1d") else nn.Dropout,
    nn.Dropout2d,
    nn.Identity,
)


@dataclass
class Param:
    """A module tensor reached through get_attr, not yet emitted.

    Kept symbolic so F.linear / F.conv2d can lower it as a weight with its
    own name; any other use materializes it as a constant.
    """

    array: np.ndarray
    target: str

    @property
    def owner(self) -> str:
        return self.target.rpartition(".")[0]


_LOWERING_ERRORS = (ValueError, KeyError, IndexError, TypeError, NotImplementedError)


class _Tracer(fx.Tracer):
    def is_leaf_module(self, m: nn.Module, qualname: str) -> bool:
        return isinstance(m, _LEAVES) or super().is_leaf_module(m, qualname)


def _param_name(qual: str, attr: str) -> str:
    return "torch_tensor_" + (f"{qual}.{attr}" if qual else attr)


def _np(t: Optional[torch.Tensor]) -> Optional[np.ndarray]:
    return None if t is None else t.detach().cpu().to(torch.float32).numpy()


def _pair(v: Union[int, Sequence[int]]) -> Tuple[int, int]:
    if isinstance(v, (tuple, list)):
        return (int(v[0]), int(v[-1]))
    return (int(v), int(v))


class TorchImporter:
    """Walks one traced graph and emits @main."""

    def __init__(self, flavour: str = FX, fold_batchnorm: bool = True):
        self.w = ModuleWriter(flavour)
        self.fold_batchnorm = fold_batchnorm
        self.env: Dict[fx.Node, Any] = {}
        self.gm: Optional[fx.GraphModule] = None
        self._fold: Dict[fx.Node, nn.Module] = {}  # conv node -> its BN
        self._folded_bn: set = set()

    # ----------------------------------------------------------- driving
    def run(self, module: nn.Module, inputs: Sequence[torch.Tensor]) -> ModuleWriter:
        self.w.module_name = type(module).__name__
        if isinstance(module, _LEAVES):
            args = [self.w.argument(tuple(t.shape)) for t in inputs]
            out = self._leaf(module, "", args, {}, "root")
            self.w.ret(*self._results(out, "root"))
            return self.w
        tracer = _Tracer()
        try:
            graph = tracer.trace(module)
        except Exception as e:  # torch.fx gives many exception types
            raise UnsupportedError(
                "torch",
                type(module).__name__,
                "<trace>",
                f"torch.fx cannot trace it: {e}",
            ) from e
        self.gm = fx.GraphModule(tracer.root, graph)
        with torch.no_grad():
            ShapeProp(self.gm).propagate(*inputs)
        if self.fold_batchnorm:
            self._find_conv_bn_pairs()
        placeholder = 0
        for node in self.gm.graph.nodes:
            if node.op == "placeholder":
                if placeholder >= len(inputs):
                    raise UnsupportedError(
                        "torch",
                        "placeholder",
                        node.name,
                        "no example input given for it",
                    )
                self.env[node] = self.w.argument(tuple(inputs[placeholder].shape))
                placeholder += 1
            elif node.op == "output":
                self.w.ret(*self._results(self._arg(node.args[0]), node.name))
            else:
                try:
                    self.env[node] = self._lower(node)
                except UnsupportedError:
                    raise
                except _LOWERING_ERRORS as e:
                    # A shape or argument the lowering cannot handle: report
                    # it against the node, like any unsupported op.
                    raise self._unsupported(node, f"{type(e).__name__}: {e}") from e
                self._check_shape(node)
        return self.w

    def _results(self, out: Any, name: str) -> List[Value]:
        outs = list(out) if isinstance(out, (tuple, list)) else [out]
        for o in outs:
            if not isinstance(o, Value):
                raise UnsupportedError(
                    "torch",
                    "output",
                    name,
                    f"result of type {type(o).__name__} is not a tensor",
                )
        return outs

    def _check_shape(self, node: fx.Node) -> None:
        """Catch a lowering bug where it happens, not at the end."""
        meta = node.meta.get("tensor_meta")
        value = self.env[node]
        if isinstance(value, Value) and hasattr(meta, "shape"):
            if tuple(meta.shape) != value.shape:
                raise AssertionError(
                    f"internal: node {node.name} lowered to shape {value.shape}, "
                    f"PyTorch says {tuple(meta.shape)}"
                )

    def _find_conv_bn_pairs(self) -> None:
        for node in self.gm.graph.nodes:
            if node.op != "call_module":
                continue
            mod = self.gm.get_submodule(node.target)
            if not isinstance(mod, (nn.BatchNorm2d, nn.BatchNorm1d)):
                continue
            src = node.args[0]
            if (
                isinstance(src, fx.Node)
                and src.op == "call_module"
                and isinstance(
                    self.gm.get_submodule(src.target), (nn.Conv2d, nn.Conv1d)
                )
                and len(src.users) == 1
                and mod.track_running_stats
                and mod.running_mean is not None
            ):
                self._fold[src] = mod
                self._folded_bn.add(node)

    def _arg(self, a: Any) -> Any:
        if isinstance(a, fx.Node):
            return self.env[a]
        if isinstance(a, (tuple, list)):
            return type(a)(self._arg(x) for x in a)
        if isinstance(a, dict):
            return {k: self._arg(v) for k, v in a.items()}
        return a

    def _unsupported(self, node: fx.Node, why: str = "") -> UnsupportedError:
        if node.op == "call_module":
            what = type(self.gm.get_submodule(node.target)).__name__
        elif node.op == "call_function":
            what = getattr(node.target, "__name__", str(node.target))
        else:
            what = f"{node.op} {node.target}"
        return UnsupportedError("torch", what, node.name, why)

    # ----------------------------------------------------------- lowering
    def _lower(self, node: fx.Node) -> Any:
        args = self._arg(node.args)
        kwargs = self._arg(node.kwargs)
        if node.op == "get_attr":
            obj = self.gm
            for part in node.target.split("."):
                obj = getattr(obj, part)
            if isinstance(obj, torch.Tensor):
                return Param(_np(obj), node.target)
            return obj
        if node.op == "call_function" and node.target in (F.linear, F.conv2d):
            return self._functional_weight_op(node, node.target, args, kwargs)
        args, kwargs = self._materialize(args), self._materialize(kwargs)
        if node.op == "call_module":
            mod = self.gm.get_submodule(node.target)
            if node in self._folded_bn:
                return args[0]
            return self._module(node, mod, node.target, args, kwargs)
        if node.op == "call_function":
            return self._function(node, node.target, args, kwargs)
        if node.op == "call_method":
            return self._method(node, node.target, args, kwargs)
        raise self._unsupported(node)

    def _materialize(self, a: Any) -> Any:
        if isinstance(a, Param):
            return self.w.constant(a.array, _param_name("", a.target))
        if isinstance(a, (tuple, list)):
            return type(a)(self._materialize(x) for x in a)
        if isinstance(a, dict):
            return {k: self._materialize(v) for k, v in a.items()}
        return a

    def _functional_weight_op(self, node, fn, args, kwargs) -> Value:
        """F.linear / F.conv2d on parameters (a traced root nn.Linear, say)."""
        x = self._materialize(args[0])
        weight = _kw(args, kwargs, 1, "weight", None)
        bias = _kw(args, kwargs, 2, "bias", None)
        if not isinstance(weight, Param) or not (
            bias is None or isinstance(bias, Param)
        ):
            raise self._unsupported(node, "weight and bias must be module parameters")
        loc = weight.owner or node.name
        wname = _param_name("", weight.target)
        bname = None if bias is None else _param_name("", bias.target)
        b = None if bias is None else bias.array
        if fn is F.linear:
            return L.linear(self.w, x, weight.array, b, wname, bname, loc)
        stride = _pair(_kw(args, kwargs, 3, "stride", 1))
        padding = _kw(args, kwargs, 4, "padding", 0)
        dilation = _pair(_kw(args, kwargs, 5, "dilation", 1))
        groups = int(_kw(args, kwargs, 6, "groups", 1))
        if isinstance(padding, str):
            raise self._unsupported(node, f"padding={padding!r}")
        ph, pw = _pair(padding)
        return L.conv2d(
            self.w,
            x,
            weight.array,
            b,
            stride,
            (ph, pw, ph, pw),
            dilation,
            groups,
            wname,
            bname,
            loc,
        )

    # --------------------------------------------------------- modules
    def _module(self, node, mod: nn.Module, qual: str, args, kwargs) -> Any:
        w = self.w
        x = args[0] if args else None
        if isinstance(mod, _LEAVES):
            return self._leaf(mod, qual, list(args), kwargs, node.name)
        if isinstance(mod, nn.Linear):
            return L.linear(
                w,
                x,
                _np(mod.weight),
                _np(mod.bias),
                _param_name(qual, "weight"),
                _param_name(qual, "bias"),
                qual,
            )
        if isinstance(mod, (nn.Conv2d, nn.Conv1d)):
            return self._conv(node, mod, qual, x)
        if isinstance(mod, nn.ConvTranspose2d):
            if mod.groups != 1 or mod.padding_mode != "zeros":
                raise self._unsupported(
                    node, "grouped or non-zero-padded transposed conv"
                )
            ph, pw = mod.padding
            return L.conv_transpose2d(
                w,
                x,
                _np(mod.weight),
                _np(mod.bias),
                mod.stride,
                (ph, pw, ph, pw),
                mod.dilation,
                mod.output_padding,
                _param_name(qual, "weight"),
                _param_name(qual, "bias"),
                qual,
            )
        if isinstance(mod, nn.Upsample):
            return self._upsample(node, x, mod.size, mod.scale_factor, mod.mode, qual)
        if isinstance(mod, (nn.BatchNorm2d, nn.BatchNorm1d)):
            if mod.running_mean is None:
                raise self._unsupported(node, "BatchNorm without running statistics")
            return L.batchnorm(
                w,
                x,
                _bn_gamma(mod),
                _bn_beta(mod),
                _np(mod.running_mean),
                _np(mod.running_var),
                mod.eps,
                [
                    _param_name(qual, n)
                    for n in ("running_mean", "running_var", "weight", "bias")
                ],
                qual,
            )
        if isinstance(mod, nn.ReLU):
            return L.relu(w, x, qual)
        if isinstance(mod, nn.ReLU6):
            return L.clamp(w, x, 0.0, 6.0, qual)
        if isinstance(mod, nn.Hardtanh):
            return L.clamp(w, x, mod.min_val, mod.max_val, qual)
        if isinstance(mod, nn.Hardswish):
            return L.hardswish(w, x, qual)
        if isinstance(mod, nn.Hardsigmoid):
            return L.hardsigmoid(w, x, loc=qual)
        if isinstance(mod, nn.Sigmoid):
            return L.sigmoid(w, x, qual)
        if isinstance(mod, nn.Tanh):
            return L.tanh(w, x, qual)
        if isinstance(mod, nn.SiLU):
            return L.silu(w, x, qual)
        if isinstance(mod, nn.GELU):
            return L.gelu(w, x, mod.approximate, qual)
        if isinstance(mod, nn.LeakyReLU):
            return _leaky_relu(w, x, mod.negative_slope, qual)
        if isinstance(mod, _PASSTHROUGH_MODULES):
            return x
        if isinstance(mod, nn.MaxPool2d):
            return self._max_pool(
                node,
                x,
                mod.kernel_size,
                mod.stride,
                mod.padding,
                mod.dilation,
                mod.ceil_mode,
                qual,
            )
        if isinstance(mod, nn.AvgPool2d):
            return self._avg_pool(
                node,
                x,
                mod.kernel_size,
                mod.stride,
                mod.padding,
                mod.ceil_mode,
                mod.count_include_pad,
                mod.divisor_override,
                qual,
            )
        if isinstance(mod, nn.AdaptiveAvgPool2d):
            return self._adaptive(node, x, mod.output_size, qual)
        if isinstance(mod, nn.Flatten):
            return _flatten(w, x, mod.start_dim, mod.end_dim)
        if isinstance(mod, nn.Softmax):
            return L.softmax(w, x, [_dim(mod.dim, x)], qual)
        if isinstance(mod, nn.LayerNorm):
            return self._layer_norm(mod, qual, x)
        raise self._unsupported(node)

    def _conv(self, node, mod, qual: str, x: Value) -> Value:
        if mod.padding_mode != "zeros":
            raise self._unsupported(node, f"padding_mode={mod.padding_mode!r}")
        weight, bias = _np(mod.weight), _np(mod.bias)
        wname, bname = _param_name(qual, "weight"), _param_name(qual, "bias")
        bn = self._fold.get(node)
        if bn is not None:
            weight, bias = L.fold_batchnorm(
                weight,
                bias,
                _bn_gamma(bn),
                _bn_beta(bn),
                _np(bn.running_mean),
                _np(bn.running_var),
                bn.eps,
            )
        if isinstance(mod, nn.Conv1d):
            if mod.groups != 1:
                raise self._unsupported(node, "grouped Conv1d")
            pad = (
                _same_pads(mod, x.shape[2:])
                if isinstance(mod.padding, str)
                else [(mod.padding[0], mod.padding[0])]
            )
            return L.conv1d(
                self.w,
                x,
                weight,
                bias,
                mod.stride[0],
                pad[0],
                mod.dilation[0],
                wname,
                bname,
                qual,
            )
        if isinstance(mod.padding, str):
            (pt, pb), (pl, pr) = _same_pads(mod, x.shape[2:])
        else:
            pt = pb = mod.padding[0]
            pl = pr = mod.padding[1]
        return L.conv2d(
            self.w,
            x,
            weight,
            bias,
            mod.stride,
            (pt, pl, pb, pr),
            mod.dilation,
            mod.groups,
            wname,
            bname,
            qual,
        )

    def _max_pool(self, node, x, kernel, stride, padding, dilation, ceil, loc):
        if x.rank != 4:
            raise self._unsupported(node, f"max pooling of a rank-{x.rank} tensor")
        k = _pair(kernel)
        s = _pair(stride if stride not in (None, []) else kernel)
        p = _pair(padding)
        return L.max_pool2d(
            self.w, x, k, s, (p[0], p[1], p[0], p[1]), _pair(dilation), ceil, loc
        )

    def _avg_pool(self, node, x, kernel, stride, padding, ceil, include, divisor, loc):
        if x.rank != 4:
            raise self._unsupported(node, f"average pooling of a rank-{x.rank} tensor")
        k = _pair(kernel)
        s = _pair(stride if stride not in (None, []) else kernel)
        p = _pair(padding)
        return L.avg_pool2d(
            self.w, x, k, s, (p[0], p[1], p[0], p[1]), ceil, include, divisor, loc
        )

    def _adaptive(self, node, x, size, loc):
        if x.rank != 4:
            raise self._unsupported(node, f"adaptive pooling of a rank-{x.rank} tensor")
        oh, ow = size if isinstance(size, (tuple, list)) else (size, size)
        return L.adaptive_avg_pool2d(self.w, x, (oh, ow), loc)

    def _upsample(self, node, x: Value, size, scale, mode: str, loc) -> Value:
        if mode != "nearest":
            raise self._unsupported(node, f"mode={mode!r} (only nearest)")
        nd = x.rank - 2
        if size is not None:
            size = list(size) if isinstance(size, (tuple, list)) else [size] * nd
            factors = [o / i for o, i in zip(size, x.shape[2:])]
        else:
            factors = list(scale) if isinstance(scale, (tuple, list)) else [scale] * nd
        if any(float(f) != int(f) or f < 1 for f in factors):
            raise self._unsupported(node, f"scale {factors} (only integer upsampling)")
        return L.upsample_nearest(self.w, x, [int(f) for f in factors], loc)

    def _layer_norm(self, mod: nn.LayerNorm, qual: str, x: Value) -> Value:
        return L.layer_norm(
            self.w,
            x,
            len(mod.normalized_shape),
            _np(mod.weight),
            _np(mod.bias),
            mod.eps,
            [_param_name(qual, "weight"), _param_name(qual, "bias")],
            qual,
        )

    # ------------------------------------------------- transformer leaves
    def _leaf(self, mod: nn.Module, qual: str, args: List[Any], kwargs, name: str):
        if isinstance(mod, nn.TransformerEncoder):
            mask = kwargs.get("mask", args[1] if len(args) > 1 else None)
            pad = kwargs.get("src_key_padding_mask", args[2] if len(args) > 2 else None)
            if mask is not None or pad is not None:
                raise UnsupportedError("torch", "TransformerEncoder", name, "masks")
            x = args[0]
            for i, layer in enumerate(mod.layers):
                x = self._encoder_layer(layer, _join(qual, f"layers.{i}"), x, name)
            if mod.norm is not None:
                x = self._layer_norm(mod.norm, _join(qual, "norm"), x)
            return x
        if isinstance(mod, nn.TransformerEncoderLayer):
            mask = kwargs.get("src_mask", args[1] if len(args) > 1 else None)
            pad = kwargs.get("src_key_padding_mask", args[2] if len(args) > 2 else None)
            if mask is not None or pad is not None:
                raise UnsupportedError(
                    "torch", "TransformerEncoderLayer", name, "masks"
                )
            return self._encoder_layer(mod, qual, args[0], name)
        if isinstance(mod, nn.MultiheadAttention):
            q = args[0]
            k = kwargs.get("key", args[1] if len(args) > 1 else q)
            v = kwargs.get("value", args[2] if len(args) > 2 else k)
            for key in ("key_padding_mask", "attn_mask"):
                if kwargs.get(key) is not None:
                    raise UnsupportedError("torch", "MultiheadAttention", name, key)
            if len(args) > 3 and any(a is not None for a in args[3:4]):
                raise UnsupportedError("torch", "MultiheadAttention", name, "masks")
            return (self._mha(mod, qual, q, k, v, name), None)
        raise UnsupportedError("torch", type(mod).__name__, name)

    def _encoder_layer(self, layer, qual: str, x: Value, name: str) -> Value:
        w = self.w

        def sa(h: Value) -> Value:
            return self._mha(layer.self_attn, _join(qual, "self_attn"), h, h, h, name)

        def ff(h: Value) -> Value:
            l1, l2 = _join(qual, "linear1"), _join(qual, "linear2")
            h = L.linear(
                w,
                h,
                _np(layer.linear1.weight),
                _np(layer.linear1.bias),
                _param_name(l1, "weight"),
                _param_name(l1, "bias"),
                l1,
            )
            h = self._activation(layer.activation, h, _join(qual, "activation"), name)
            return L.linear(
                w,
                h,
                _np(layer.linear2.weight),
                _np(layer.linear2.bias),
                _param_name(l2, "weight"),
                _param_name(l2, "bias"),
                l2,
            )

        def norm(i: int, h: Value) -> Value:
            return self._layer_norm(
                getattr(layer, f"norm{i}"), _join(qual, f"norm{i}"), h
            )

        def add(a: Value, b: Value) -> Value:
            return L.binary(w, "add", a, b)

        if layer.norm_first:
            x = add(x, sa(norm(1, x)))
            return add(x, ff(norm(2, x)))
        x = norm(1, add(x, sa(x)))
        return norm(2, add(x, ff(x)))

    def _activation(self, act, x: Value, loc: str, name: str) -> Value:
        if act is F.relu or isinstance(act, nn.ReLU):
            return L.relu(self.w, x, loc)
        if act is F.gelu:
            return L.gelu(self.w, x, "none", loc)
        if isinstance(act, nn.GELU):
            return L.gelu(self.w, x, act.approximate, loc)
        raise UnsupportedError("torch", f"activation {act}", name)

    def _mha(self, mod: nn.MultiheadAttention, qual: str, q, k, v, name: str) -> Value:
        """Scaled dot-product multi-head attention, as F.multi_head_attention_forward.

        Self-attention (q is k is v) uses one packed in-projection (3E x E),
        which is the layer a compressor sees; otherwise its three row blocks
        are separate linears.
        """
        w = self.w
        if not mod._qkv_same_embed_dim or mod.bias_k is not None or mod.add_zero_attn:
            raise UnsupportedError(
                "torch",
                "MultiheadAttention",
                name,
                "only packed in_proj without bias_k/add_zero_attn",
            )
        if not mod.batch_first:
            # [S, B, E] -> [B, S, E]
            q, k, v = (w.transpose(t, [1, 0, 2]) for t in (q, k, v))
        e, h = mod.embed_dim, mod.num_heads
        d = e // h
        win, bin_ = _np(mod.in_proj_weight), _np(mod.in_proj_bias)
        wname, bname = _param_name(qual, "in_proj_weight"), _param_name(
            qual, "in_proj_bias"
        )
        loc = _join(qual, "in_proj")
        if q is k and k is v:
            qkv = L.linear(w, q, win, bin_, wname, bname, loc)
            bsz, s, _ = qkv.shape
            qs, ks, vs = (
                w.extract_slice(qkv, [0, 0, i * e], [bsz, s, e]) for i in range(3)
            )
        else:
            parts = []
            for i, (t, tag) in enumerate(((q, "q"), (k, "k"), (v, "v"))):
                parts.append(
                    L.linear(
                        w,
                        t,
                        win[i * e : (i + 1) * e],
                        None if bin_ is None else bin_[i * e : (i + 1) * e],
                        f"{wname}_{tag}",
                        f"{bname}_{tag}",
                        f"{loc}_{tag}",
                    )
                )
            qs, ks, vs = parts

        def heads(t: Value) -> Value:
            bsz, s, _ = t.shape
            return w.transpose(w.reshape(t, (bsz, s, h, d)), [0, 2, 1, 3])

        qh = L.binary(w, "div", heads(qs), math.sqrt(d))
        kh, vh = heads(ks), heads(vs)
        scores = L.batched_matmul(w, qh, w.transpose(kh, [0, 1, 3, 2]))
        probs = L.softmax(w, scores, [-1])
        ctx = L.batched_matmul(w, probs, vh)  # [B, H, S, D]
        bsz, _, s, _ = ctx.shape
        ctx = w.reshape(w.transpose(ctx, [0, 2, 1, 3]), (bsz, s, e))
        oq = _join(qual, "out_proj")
        out = L.linear(
            w,
            ctx,
            _np(mod.out_proj.weight),
            _np(mod.out_proj.bias),
            _param_name(oq, "weight"),
            _param_name(oq, "bias"),
            oq,
        )
        if not mod.batch_first:
            out = w.transpose(out, [1, 0, 2])
        return out

    # ------------------------------------------------------- functions
    def _function(self, node, fn: Callable, args, kwargs) -> Any:
        w = self.w
        if fn is operator.getitem:
            base, idx = args
            if isinstance(base, (tuple, list, torch.Size)):
                r = base[idx]
                if r is None:
                    raise self._unsupported(node, "attention weights are not produced")
                return r
            if isinstance(base, Value):
                return _getitem(w, base, idx, node, self)
            raise self._unsupported(node)
        if fn is getattr:
            base, attr = args
            if isinstance(base, Value) and attr == "shape":
                return torch.Size(base.shape)
            raise self._unsupported(node, f"getattr {attr}")
        binary = _BINARY_FUNCS.get(fn)
        if binary is not None:
            a, b = args[0], args[1]
            alpha = kwargs.get("alpha", 1)
            if not isinstance(a, Value) and not isinstance(b, Value):
                return _PY_BINARY[binary](a, b)
            if alpha != 1:
                b = (
                    L.binary(w, "mul", b, float(alpha))
                    if isinstance(b, Value)
                    else b * alpha
                )
            return L.binary(w, binary, a, b)
        if fn in (operator.floordiv,) and not any(isinstance(a, Value) for a in args):
            return args[0] // args[1]
        simple = _UNARY_FUNCS.get(fn)
        if simple is not None:
            return simple(w, args[0])
        if fn in (F.relu6,):
            return L.clamp(w, args[0], 0.0, 6.0)
        if fn in (F.hardtanh,):
            return L.clamp(
                w,
                args[0],
                _kw(args, kwargs, 1, "min_val", -1.0),
                _kw(args, kwargs, 2, "max_val", 1.0),
            )
        if fn in (torch.clamp, torch.clip):
            return L.clamp(
                w,
                args[0],
                _kw(args, kwargs, 1, "min", None),
                _kw(args, kwargs, 2, "max", None),
            )
        if fn is F.gelu:
            return L.gelu(w, args[0], kwargs.get("approximate", "none"))
        if fn is F.leaky_relu:
            return _leaky_relu(w, args[0], _kw(args, kwargs, 1, "negative_slope", 0.01))
        if fn in (F.dropout, F.dropout2d, torch.nn.functional.alpha_dropout):
            return args[0]
        if fn is torch.flatten:
            return _flatten(
                w,
                args[0],
                _kw(args, kwargs, 1, "start_dim", 0),
                _kw(args, kwargs, 2, "end_dim", -1),
            )
        if fn in (F.softmax, torch.softmax):
            x = args[0]
            return L.softmax(w, x, [_dim(_kw(args, kwargs, 1, "dim", -1), x)])
        if fn in (F.adaptive_avg_pool2d,):
            return self._adaptive(
                node, args[0], _kw(args, kwargs, 1, "output_size", None), None
            )
        if fn in (F.max_pool2d,):
            return self._max_pool(
                node,
                args[0],
                _kw(args, kwargs, 1, "kernel_size", None),
                _kw(args, kwargs, 2, "stride", None),
                _kw(args, kwargs, 3, "padding", 0),
                _kw(args, kwargs, 4, "dilation", 1),
                _kw(args, kwargs, 5, "ceil_mode", False),
                None,
            )
        if fn in (F.avg_pool2d,):
            return self._avg_pool(
                node,
                args[0],
                _kw(args, kwargs, 1, "kernel_size", None),
                _kw(args, kwargs, 2, "stride", None),
                _kw(args, kwargs, 3, "padding", 0),
                _kw(args, kwargs, 4, "ceil_mode", False),
                _kw(args, kwargs, 5, "count_include_pad", True),
                _kw(args, kwargs, 6, "divisor_override", None),
                None,
            )
        if fn is F.interpolate:
            return self._upsample(
                node,
                args[0],
                _kw(args, kwargs, 1, "size", None),
                _kw(args, kwargs, 2, "scale_factor", None),
                _kw(args, kwargs, 3, "mode", "nearest"),
                None,
            )
        if fn in (torch.matmul, operator.matmul, torch.bmm, torch.mm):
            return L.batched_matmul(w, args[0], args[1])
        if fn is torch.cat:
            xs = list(args[0])
            return w.concat(xs, _dim(_kw(args, kwargs, 1, "dim", 0), xs[0]))
        if fn in (torch.transpose,):
            return _transpose2(w, args[0], args[1], args[2])
        if fn in (torch.permute,):
            return w.transpose(args[0], [_dim(d, args[0]) for d in _dims_arg(args[1:])])
        if fn in (torch.reshape,):
            return _view(w, args[0], _dims_arg(args[1:]))
        if fn in (torch.mean,):
            return _mean(w, args[0], args, kwargs)
        raise self._unsupported(node)

    def _method(self, node, name: str, args, kwargs) -> Any:
        w = self.w
        x = args[0]
        if not isinstance(x, Value):
            raise self._unsupported(node, f"method {name} on {type(x).__name__}")
        if name in ("view", "reshape"):
            return _view(w, x, _dims_arg(args[1:]))
        if name == "flatten":
            return _flatten(
                w,
                x,
                _kw(args, kwargs, 1, "start_dim", 0),
                _kw(args, kwargs, 2, "end_dim", -1),
            )
        if name == "size":
            return torch.Size(x.shape) if len(args) == 1 else x.shape[_dim(args[1], x)]
        if name == "dim":
            return x.rank
        if name in ("contiguous", "clone", "detach", "float"):
            return x
        if name == "permute":
            return w.transpose(x, [_dim(d, x) for d in _dims_arg(args[1:])])
        if name == "transpose":
            return _transpose2(w, x, args[1], args[2])
        if name == "unsqueeze":
            d = args[1] % (x.rank + 1)
            return w.reshape(x, x.shape[:d] + (1,) + x.shape[d:])
        if name == "squeeze":
            if len(args) > 1:
                d = _dim(args[1], x)
                shape = x.shape[:d] + x.shape[d + 1 :] if x.shape[d] == 1 else x.shape
            else:
                shape = tuple(s for s in x.shape if s != 1)
            return w.reshape(x, shape)
        if name == "mean":
            return _mean(w, x, args, kwargs)
        if name == "softmax":
            return L.softmax(w, x, [_dim(_kw(args, kwargs, 1, "dim", -1), x)])
        if name in ("add", "sub", "mul", "div"):
            return L.binary(w, name, x, args[1])
        unary = _UNARY_METHODS.get(name)
        if unary is not None:
            return unary(w, x)
        raise UnsupportedError("torch", f"Tensor.{name}", node.name)


# ---------------------------------------------------------------- helpers
def _join(qual: str, sub: str) -> str:
    return f"{qual}.{sub}" if qual else sub


def _kw(args, kwargs, pos: int, key: str, default):
    if key in kwargs:
        return kwargs[key]
    if len(args) > pos:
        return args[pos]
    return default


def _dim(d: int, x: Value) -> int:
    return int(d) % max(x.rank, 1)


def _dims_arg(rest) -> List[int]:
    if len(rest) == 1 and isinstance(rest[0], (tuple, list, torch.Size)):
        return [int(v) for v in rest[0]]
    return [int(v) for v in rest]


def _bn_gamma(bn) -> np.ndarray:
    return (
        _np(bn.weight)
        if bn.weight is not None
        else np.ones(bn.num_features, np.float32)
    )


def _bn_beta(bn) -> np.ndarray:
    return (
        _np(bn.bias) if bn.bias is not None else np.zeros(bn.num_features, np.float32)
    )


def _same_pads(mod, spatial) -> List[Tuple[int, int]]:
    if mod.padding == "valid":
        return [(0, 0)] * len(spatial)
    pads = []
    for k, d in zip(mod.kernel_size, mod.dilation):
        total = d * (k - 1)
        pads.append((total // 2, total - total // 2))
    return pads


def _flatten(w: ModuleWriter, x: Value, start: int, end: int) -> Value:
    if x.rank == 0:
        return w.reshape(x, (1,))
    s, e = start % x.rank, end % x.rank
    merged = int(np.prod(x.shape[s : e + 1], dtype=np.int64))
    return w.reshape(x, x.shape[:s] + (merged,) + x.shape[e + 1 :])


def _view(w: ModuleWriter, x: Value, dims: List[int]) -> Value:
    shape = list(dims)
    if -1 in shape:
        known = int(np.prod([d for d in shape if d != -1], dtype=np.int64))
        shape[shape.index(-1)] = x.size // known
    return w.reshape(x, shape)


def _transpose2(w: ModuleWriter, x: Value, a: int, b: int) -> Value:
    perm = list(range(x.rank))
    a, b = _dim(a, x), _dim(b, x)
    perm[a], perm[b] = perm[b], perm[a]
    return w.transpose(x, perm)


def _mean(w: ModuleWriter, x: Value, args, kwargs) -> Value:
    dims = _kw(args, kwargs, 1, "dim", None)
    keep = _kw(args, kwargs, 2, "keepdim", False)
    if dims is None:
        dims = list(range(x.rank))
    elif isinstance(dims, int):
        dims = [dims]
    return L.mean(w, x, [_dim(d, x) for d in dims], keep)


def _leaky_relu(w: ModuleWriter, x: Value, slope: float, loc=None) -> Value:
    def body(b, a):
        zero = b.const(0.0)
        return b.add(b.max(a, zero), b.mul(b.min(a, zero), b.const(slope)))

    return w.elementwise([x], body, loc)


def _getitem(w: ModuleWriter, x: Value, idx, node, imp: TorchImporter) -> Value:
    """Basic slicing with ints, slices (step 1) and Ellipsis."""
    if not isinstance(idx, tuple):
        idx = (idx,)
    if Ellipsis in idx:
        i = idx.index(Ellipsis)
        fill = x.rank - (len(idx) - 1)
        idx = idx[:i] + (slice(None),) * fill + idx[i + 1 :]
    offsets, sizes, out_shape = [], [], []
    for d in range(x.rank):
        it = idx[d] if d < len(idx) else slice(None)
        if isinstance(it, int):
            offsets.append(it % x.shape[d])
            sizes.append(1)
        elif isinstance(it, slice):
            start, stop, step = it.indices(x.shape[d])
            if step != 1:
                raise imp._unsupported(node, "strided slicing")
            offsets.append(start)
            sizes.append(max(0, stop - start))
            out_shape.append(sizes[-1])
        else:
            raise imp._unsupported(node, f"index of type {type(it).__name__}")
    return w.reshape(w.extract_slice(x, offsets, sizes), out_shape)


_BINARY_FUNCS = {
    operator.add: "add",
    torch.add: "add",
    operator.iadd: "add",
    operator.sub: "sub",
    torch.sub: "sub",
    operator.mul: "mul",
    torch.mul: "mul",
    operator.imul: "mul",
    operator.truediv: "div",
    torch.div: "div",
    torch.maximum: "max",
    torch.minimum: "min",
}
_PY_BINARY = {
    "add": operator.add,
    "sub": operator.sub,
    "mul": operator.mul,
    "div": operator.truediv,
    "max": max,
    "min": min,
}
_UNARY_FUNCS = {
    torch.relu: L.relu,
    F.relu: L.relu,
    torch.sigmoid: L.sigmoid,
    F.sigmoid: L.sigmoid,
    torch.tanh: L.tanh,
    F.tanh: L.tanh,
    F.hardswish: L.hardswish,
    F.hardsigmoid: lambda w, x: L.hardsigmoid(w, x),
    F.silu: L.silu,
    torch.sqrt: lambda w, x: L.power(w, x, 0.5),
    torch.exp: lambda w, x: w.elementwise([x], lambda b, a: b.math("exp", a)),
}
_UNARY_METHODS = {
    "relu": L.relu,
    "sigmoid": L.sigmoid,
    "tanh": L.tanh,
    "sqrt": lambda w, x: L.power(w, x, 0.5),
    "exp": lambda w, x: w.elementwise([x], lambda b, a: b.math("exp", a)),
}


# ------------------------------------------------------------------ API
def _torch_mlir_import(module, inputs, flavour: str) -> Optional[str]:
    """Delegate to torch-mlir when it is installed (it is not on Debian)."""
    try:
        import torch_mlir  # noqa: F401
    except ImportError:
        return None
    if flavour == FX:
        from torch_mlir import fx as tm_fx

        return str(
            tm_fx.export_and_import(
                module, *inputs, output_type="linalg-on-tensors", func_name="main"
            )
        )
    compiled = torch_mlir.compile(module, list(inputs), output_type="linalg-on-tensors")
    return str(compiled)


def import_torch(
    module: nn.Module,
    example_inputs: Union[torch.Tensor, Sequence[torch.Tensor]],
    output: Optional[Union[str, os.PathLike]] = None,
    flavour: str = FX,
    fold_batchnorm: bool = True,
    backend: str = "auto",
) -> str:
    """Import `module` as linalg-on-tensors MLIR text with a `@main` function.

    example_inputs fix the (static) argument shapes. backend is "auto"
    (torch-mlir if importable, else ours), "torch_mlir" or "smartdeal".
    flavour is "fx" (dense_resource weights, linalg.transpose) or
    "torchscript" (inline dense weights, transposing generics). With
    fold_batchnorm, a BatchNorm that is the only user of a convolution is
    folded into that convolution's weight and bias (which keep the
    convolution's parameter names). When `output` is given the text is also
    written there, atomically: a failed import leaves no file behind.
    """
    if isinstance(example_inputs, torch.Tensor):
        example_inputs = (example_inputs,)
    inputs = tuple(t.detach().to(torch.float32) for t in example_inputs)
    was_training = module.training
    module.eval()
    try:
        text = None
        if backend in ("auto", "torch_mlir"):
            text = _torch_mlir_import(module, inputs, flavour)
            if text is None and backend == "torch_mlir":
                raise RuntimeError(
                    "backend='torch_mlir' requested but torch_mlir is not importable"
                )
        if text is None:
            writer = TorchImporter(flavour, fold_batchnorm).run(module, inputs)
            if output is not None:
                write_atomically(output, writer.write)
                with open(output) as f:
                    return f.read()
            return writer.text()
    finally:
        module.train(was_training)
    if output is not None:
        write_atomically(output, lambda f: f.write(text))
    return text
