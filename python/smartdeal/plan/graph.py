"""ONNX graph helpers under every plan step: weight layers, their outputs and
input rows, constants and where a layer's bias lives.

Canonical weights are [O, ...] (ONNX MatMul / Gemm weights transposed), the
layout of the sd-decompose report and of `smartdeal.runtime.compressed`.
"""

from __future__ import annotations

from typing import Dict, List, Optional, Tuple

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import numpy_helper

__all__ = [
    "batchable",
    "bias_target",
    "constants",
    "corrected_bias",
    "input_rows",
    "input_rows_sample",
    "layer_output",
    "node_attr",
    "onnx_weight",
    "weight_layers",
]


def node_attr(node: onnx.NodeProto, name: str, default):
    """An int or ints attribute of `node`, or `default`."""
    for a in node.attribute:
        if a.name == name:
            return list(a.ints) if a.ints else a.i
    return default


def weight_layers(model: onnx.ModelProto) -> List[Tuple[onnx.NodeProto, np.ndarray, tuple]]:
    """(node, canonical weight, onnx shape) for every Conv / MatMul / Gemm with a
    constant weight, in graph order."""
    inits = {i.name: i for i in model.graph.initializer}
    consts = {n.output[0]: n for n in model.graph.node if n.op_type == "Constant"}
    out = []
    for node in model.graph.node:
        if node.op_type not in ("Conv", "MatMul", "Gemm") or len(node.input) < 2:
            continue
        wn = node.input[1]
        if wn in inits:
            w = numpy_helper.to_array(inits[wn])
        elif wn in consts:
            w = numpy_helper.to_array(next(a.t for a in consts[wn].attribute
                                           if a.name == "value"))
        else:
            continue  # an activation (attention's batch matmuls)
        if w.ndim < 2:
            continue
        shape = w.shape
        if node.op_type == "MatMul" or (node.op_type == "Gemm" and not any(
                a.name == "transB" and a.i for a in node.attribute)):
            w = w.T
        out.append((node, np.ascontiguousarray(w, dtype=np.float64), shape))
    return out


def onnx_weight(menu, w: np.ndarray) -> np.ndarray:
    """A canonical [O, ...] weight in the layout of the layer's initializer
    (`menu` has the layer's `node`, canonical `weight` and `onnx_shape`)."""
    if menu.node.op_type == "Conv":
        return w.reshape(menu.onnx_shape)
    return np.ascontiguousarray(w.reshape(menu.weight.shape).T).reshape(menu.onnx_shape)


def layer_output(node: onnx.NodeProto, x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """The layer's output (no bias) for input x and canonical weight w, in torch."""
    xt = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float64))
    if node.op_type == "Conv":
        group = node_attr(node, "group", 1)
        wt = torch.from_numpy(w.reshape(w.shape[0], -1, *w.shape[-2:]) if w.ndim == 3
                              else w)
        if wt.shape[1] * group != xt.shape[1]:
            wt = wt.reshape(wt.shape[0], xt.shape[1] // group, *wt.shape[-2:])
        pads = node_attr(node, "pads", [0, 0, 0, 0])
        xt = F.pad(xt, (pads[1], pads[3], pads[0], pads[2]))
        return F.conv2d(xt, wt, None, tuple(node_attr(node, "strides", [1, 1])), 0,
                        tuple(node_attr(node, "dilations", [1, 1])), group).numpy()
    return (xt @ torch.from_numpy(w).T).numpy()


def input_rows(node: onnx.NodeProto, x: np.ndarray, shape) -> np.ndarray:
    """The layer's input as rows matching the flattened weight rows (im2col
    patches of a convolution); ValueError for grouped convolutions."""
    if node.op_type == "Conv":
        if node_attr(node, "group", 1) != 1:
            raise ValueError("grouped convolutions are not refitted")
        kh, kw = shape[2], shape[3]
        pads = node_attr(node, "pads", [0, 0, 0, 0])
        if pads[0] != pads[2] or pads[1] != pads[3]:
            x = np.pad(x, ((0, 0), (0, 0), (pads[0], pads[2]), (pads[1], pads[3])))
            pads = [0, 0, 0, 0]
        cols = F.unfold(
            torch.from_numpy(np.ascontiguousarray(x)), (kh, kw),
            dilation=tuple(node_attr(node, "dilations", [1, 1])),
            padding=(pads[0], pads[1]), stride=tuple(node_attr(node, "strides", [1, 1])))
        return cols.permute(0, 2, 1).reshape(-1, cols.shape[1]).numpy()
    return x.reshape(-1, x.shape[-1])


def input_rows_sample(node: onnx.NodeProto, inputs, shape, max_rows: int,
                      rng: np.random.Generator) -> np.ndarray:
    """`input_rows` of every input in `inputs`, float64, at most `max_rows` of
    them (a random choice by `rng` when there are more)."""
    x = np.concatenate([input_rows(node, v, shape) for v in inputs]).astype(np.float64)
    if len(x) > max_rows:
        x = x[rng.choice(len(x), max_rows, replace=False)]
    return x


def batchable(model: onnx.ModelProto) -> bool:
    """Whether inputs can be stacked along the first axis: only when the
    model's input leaves that axis open (a fixed one may be baked into
    reshapes)."""
    consts = {i.name for i in model.graph.initializer}
    inp = next(i for i in model.graph.input if i.name not in consts)
    dims = inp.type.tensor_type.shape.dim
    return bool(dims) and not dims[0].HasField("dim_value")


def constants(model: onnx.ModelProto) -> Dict[str, onnx.TensorProto]:
    """name -> TensorProto of every initializer and Constant node's value."""
    out = {i.name: i for i in model.graph.initializer}
    for n in model.graph.node:
        if n.op_type == "Constant":
            for a in n.attribute:
                if a.name == "value":
                    out[n.output[0]] = a.t
    return out


def bias_target(model: onnx.ModelProto, node: onnx.NodeProto,
                consts: Dict[str, onnx.TensorProto]) -> Optional[Tuple[str, str]]:
    """(kind, tensor name) of where node's output bias lives, or None: the
    Conv's third input ("add"), the constant operand of the Add after it
    ("add"), or the running mean of the BatchNormalization after it ("sub")."""
    consumers = [n for n in model.graph.node if node.output[0] in n.input]
    if node.op_type == "Conv" and len(node.input) > 2 and node.input[2] in consts:
        return ("add", node.input[2])
    if len(consumers) == 1:
        c = consumers[0]
        if c.op_type == "Add":
            other = [i for i in c.input if i != node.output[0]]
            if len(other) == 1 and other[0] in consts:
                return ("add", other[0])
        if c.op_type == "BatchNormalization" and c.input[0] == node.output[0] \
                and c.input[3] in consts:
            return ("sub", c.input[3])
    return None


def corrected_bias(consts: Dict[str, onnx.TensorProto], target: Tuple[str, str],
                   shift: np.ndarray) -> Optional[np.ndarray]:
    """The bias at `target` (from `bias_target`) corrected for an output mean
    shift, float64, or None when its size does not match the shift's."""
    kind, tensor = target
    old = numpy_helper.to_array(consts[tensor]).astype(np.float64)
    if old.size != shift.size:
        return None
    s = shift.reshape(old.shape)
    return old + s if kind == "add" else old - s
