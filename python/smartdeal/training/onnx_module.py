"""A differentiable ONNX graph: fine-tune a real model in SmartDeal form.

`OnnxModule` runs an ONNX graph with the op implementations of
`importers.onnx_reference` (the numerical reference), but with the model's
constants as PyTorch tensors that can require gradients:

* every weight layer (Conv / MatMul / Gemm whose weight is a constant of
  rank >= 2, the layers `plan.graph.weight_layers` finds) gets a weight module in
  `self.layers[name]`: `DenseWeight` (fp32 parameter), `SEWeight` (Ce latent
  rounded to powers of two with a straight-through estimator under the fixed
  mask of the decomposition, basis a parameter; `layers.SEWeightBase`) or
  `IntWeight` (per-output-channel symmetric int-k fake quantization of a
  latent fp32 weight, straight-through; for layers SE cannot take, e.g.
  depthwise);
* the other float constants with more than one element (biases, batch-norm
  scale and shift, affine parameters; not batch-norm statistics) are fp32 parameters in `self.extras` when
  `train_extras` (they are not counted as weights), buffers otherwise.

Weights are canonical `[O, ...]` as in `smartdeal.plan` (a MatMul's weight is
transposed); `weight_onnx()` returns the graph's layout. `to_onnx()` writes
the current state back into an ONNX model.
"""

from __future__ import annotations

import copy
from typing import Dict, Optional, Sequence, Union

import numpy as np
import onnx
import torch
import torch.nn as nn
from onnx import numpy_helper

from ..importers.onnx_reference import OPS, MissingOp, attributes, opset_version, to_tensor
from ..ir.codes import se_bits
from .layers import SEWeightBase

__all__ = ["DenseWeight", "IntWeight", "OnnxModule", "SEWeight"]


def _const_value(node: onnx.NodeProto) -> Optional[np.ndarray]:
    for a in node.attribute:
        if a.name == "value":
            return numpy_helper.to_array(a.t)
    return None


def _tensor_like(old: onnx.TensorProto, value: np.ndarray) -> onnx.TensorProto:
    """`value` as a tensor with the name, shape and element type of `old`."""
    want = numpy_helper.to_array(old)
    if tuple(value.shape) != tuple(want.shape):
        raise ValueError(f"constant '{old.name}': shape {value.shape} != {want.shape}")
    return numpy_helper.from_array(np.ascontiguousarray(value.astype(want.dtype)), old.name)


class DenseWeight(nn.Module):
    def __init__(self, w: np.ndarray):
        super().__init__()
        self.w = nn.Parameter(torch.tensor(np.asarray(w, np.float32)))
        self.weight_shape = tuple(self.w.shape)

    def weight(self) -> torch.Tensor:
        return self.w

    def storage_bits(self) -> int:
        return 32 * self.w.numel()


class _IntSTE(torch.autograd.Function):
    @staticmethod
    def forward(ctx, w, bits):
        flat = w.reshape(w.shape[0], -1)
        q = (1 << (bits - 1)) - 1
        scale = flat.abs().amax(dim=1, keepdim=True).clamp_min(1e-30) / q
        return (torch.clamp(torch.round(flat / scale), -q, q) * scale).reshape(w.shape)

    @staticmethod
    def backward(ctx, g):
        return g, None


class IntWeight(DenseWeight):
    """Per-output-channel symmetric int-k (`menus.int_quantize`), STE."""

    def __init__(self, w: np.ndarray, bits: int):
        super().__init__(w)
        self.bits = int(bits)

    def weight(self) -> torch.Tensor:
        return _IntSTE.apply(self.w, self.bits)

    def storage_bits(self) -> int:
        return self.w.numel() * self.bits + self.w.shape[0] * 32  # plan.menus.int_bits_of


class SEWeight(SEWeightBase):
    """SE weight of any canonical shape from sd codes [O, nb, rows, 3] and bases."""

    def __init__(self, weight_shape, codes: np.ndarray, basis: np.ndarray, lo: int, hi: int):
        super().__init__()
        self._init_se(weight_shape, (lo, hi), codes, basis)

    def storage_bits(self, basis_bits: int = 8) -> int:
        return se_bits(self.codes(), basis_bits)


class OnnxModule(nn.Module):
    """The ONNX graph as a torch module; `forward(x)` returns the graph outputs
    (or, with `names`, those intermediate values)."""

    def __init__(self, model: Union[str, onnx.ModelProto], train_extras: bool = True):
        super().__init__()
        self.model = onnx.load(model) if isinstance(model, str) else model
        graph = self.model.graph
        if any(n.op_type == "If" for n in graph.node):
            raise MissingOp("OnnxModule: graphs with If")
        self.opset = opset_version(self.model)
        self.nodes = list(graph.node)
        self.attrs = [attributes(n) if n.op_type != "Constant" else None for n in self.nodes]
        consts: Dict[str, np.ndarray] = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
        for n in self.nodes:
            if n.op_type == "Constant":
                v = _const_value(n)
                if v is not None:
                    consts[n.output[0]] = v
        self.input_names = [i.name for i in graph.input if i.name not in consts]
        self.layers = nn.ModuleDict()
        self.layer_nodes: Dict[str, onnx.NodeProto] = {}
        self._weight_of: Dict[str, str] = {}    # constant name -> layer key
        self._transposed: Dict[str, bool] = {}
        self._onnx_shape: Dict[str, tuple] = {}
        for n in self.nodes:
            if n.op_type not in ("Conv", "MatMul", "Gemm") or len(n.input) < 2:
                continue
            w = consts.get(n.input[1])
            if w is None or w.ndim < 2 or n.input[1] in self._weight_of:
                continue
            tr = n.op_type == "MatMul" or (n.op_type == "Gemm" and not attributes(n).get("transB", 0))
            key = self._key(n.name)
            self.layers[key] = DenseWeight(w.T if tr else w)
            self.layer_nodes[n.name] = n
            self._weight_of[n.input[1]] = key
            self._transposed[key] = tr
            self._onnx_shape[key] = tuple(w.shape)
        self.extras = nn.ParameterDict()
        self._extra_of: Dict[str, str] = {}
        self._fixed: Dict[str, torch.Tensor] = {}
        stats = {i for n in self.nodes if n.op_type == "BatchNormalization" for i in n.input[3:5]}
        for name, v in consts.items():
            if name in self._weight_of:
                continue
            t = to_tensor(v)
            if (train_extras and t.dtype == torch.float32 and t.numel() > 1
                    and name not in stats):
                key = f"c{len(self._extra_of)}"
                self.extras[key] = nn.Parameter(t.clone())
                self._extra_of[name] = key
            else:
                self._fixed[name] = t

    @staticmethod
    def _key(name: str) -> str:
        return name.replace(".", "_")

    def layer(self, name: str) -> nn.Module:
        return self.layers[self._key(name)]

    def set_layer(self, name: str, module: nn.Module) -> None:
        """Replace a layer's weight module (its weight() must be canonical)."""
        key = self._key(name)
        if tuple(module.weight_shape) != tuple(self.layers[key].weight_shape):
            raise ValueError(f"{name}: shape {module.weight_shape} != "
                             f"{self.layers[key].weight_shape}")
        self.layers[key] = module

    def set_se(self, name, codes, basis, lo, hi):
        self.set_layer(name, SEWeight(self.layer(name).weight_shape, codes, basis, lo, hi))

    def set_int(self, name, bits, w: Optional[np.ndarray] = None):
        cur = self.layer(name)
        w = cur.weight().detach().numpy() if w is None else w
        self.set_layer(name, IntWeight(np.asarray(w).reshape(cur.weight_shape), bits))

    def set_extra(self, const_name: str, value: np.ndarray) -> None:
        with torch.no_grad():
            self.extras[self._extra_of[const_name]].copy_(to_tensor(np.asarray(value, np.float32)))

    def weight_onnx(self, key: str) -> torch.Tensor:
        w = self.layers[key].weight()
        if self._transposed[key]:
            w = w.t()
        return w.reshape(self._onnx_shape[key])

    def to_onnx(self) -> onnx.ModelProto:
        """A copy of the graph with every weight as forward uses it (SE: Ce·B,
        int-k: the dequantized values) and the trained constants; the ONNX
        reference runs it with the module's outputs."""
        values = {name: self.extras[key].detach().cpu().numpy()
                  for name, key in self._extra_of.items()}
        with torch.no_grad():
            for name, key in self._weight_of.items():
                values[name] = self.weight_onnx(key).cpu().numpy()
        model = copy.deepcopy(self.model)
        graph = model.graph
        for tensor in graph.initializer:
            if tensor.name in values:
                tensor.CopyFrom(_tensor_like(tensor, values.pop(tensor.name)))
        for n in graph.node:
            if n.op_type == "Constant" and n.output[0] in values:
                for a in n.attribute:
                    if a.name == "value":
                        a.t.CopyFrom(_tensor_like(a.t, values.pop(n.output[0])))
        if values:  # every trained tensor came from one of the two
            raise ValueError(f"to_onnx: constants not found: {sorted(values)[:5]}")
        return model

    def storage_bits(self) -> int:
        return sum(m.storage_bits() for m in self.layers.values())

    def dense_bits(self) -> int:
        return sum(32 * int(np.prod(s)) for s in self._onnx_shape.values())

    def environment(self) -> Dict[str, torch.Tensor]:
        """Every constant of the graph, weights in the graph's layout."""
        env: Dict[str, torch.Tensor] = dict(self._fixed)
        for name, key in self._extra_of.items():
            env[name] = self.extras[key]
        for name, key in self._weight_of.items():
            env[name] = self.weight_onnx(key)
        return env

    def run_nodes(self, env: Dict[str, torch.Tensor], start: int = 0,
                  stop: Optional[int] = None) -> Dict[str, torch.Tensor]:
        """Runs nodes[start:stop] on `env` (updated in place and returned).
        With start > 0, env must hold every value the earlier nodes produced:
        this re-runs only the part of the graph a changed layer can affect."""
        for node, attrs in zip(self.nodes[start:stop], self.attrs[start:stop]):
            if node.op_type == "Constant" and node.output[0] in env:
                continue
            if attrs is None:
                attrs = attributes(node)
            fn = OPS.get(node.op_type)
            if fn is None or node.domain not in ("", "ai.onnx"):
                raise MissingOp(f"no op '{node.op_type}' (node '{node.name}')")
            ins = [env[n] if n else None for n in node.input]
            while ins and ins[-1] is None:
                ins.pop()
            out = fn(ins, attrs, self.opset)
            out = list(out) if isinstance(out, (tuple, list)) else [out]
            for n, v in zip(node.output, out):
                if n:
                    env[n] = v
        return env

    def feed(self, env: Dict[str, torch.Tensor], x) -> Dict[str, torch.Tensor]:
        """Puts one input into `env` (returned): a tensor or array goes to the
        first graph input; a dict (input name -> value) feeds every input it
        names, for models with several (Silero: audio, sample rate, state)."""
        items = x.items() if isinstance(x, dict) else [(self.input_names[0], x)]
        for name, value in items:
            env[name] = to_tensor(value)
        return env

    def forward(self, x, names: Optional[Sequence[str]] = None):
        env = self.feed(self.environment(), x)
        self.run_nodes(env)
        if names is not None:
            return [env[n] for n in names]
        return [env[o.name] for o in self.model.graph.output]
