"""ONNX graph helpers under every plan step: weight layers, their outputs and
input rows, constants and where a layer's bias lives.

Canonical weights are [O, ...] (ONNX MatMul / Gemm weights transposed), the
layout of the sd-decompose report and of `smartdeal.runtime.compressed`.
"""

from __future__ import annotations

import copy
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import numpy_helper

__all__ = [
    "batchable",
    "batches",
    "bias_target",
    "channel_axes",
    "constants",
    "corrected_bias",
    "inline_constant_branches",
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


def _conv_params(node: onnx.NodeProto, rank: int):
    """(pads [top, left, bottom, right], strides, dilations) of a Conv as a
    2-D one: a 1-D convolution (Silero's Conv1d, input rank 3) is a 2-D one
    of height 1."""
    if rank == 3:
        p = node_attr(node, "pads", [0, 0])
        return ([0, p[0], 0, p[1]], [1, *node_attr(node, "strides", [1])],
                [1, *node_attr(node, "dilations", [1])])
    return (node_attr(node, "pads", [0, 0, 0, 0]), node_attr(node, "strides", [1, 1]),
            node_attr(node, "dilations", [1, 1]))


def channel_axes(node: onnx.NodeProto, y: np.ndarray) -> Tuple[int, ...]:
    """The axes of a layer output `y` that are not its output channel
    (a Conv's channel is axis 1, a MatMul / Gemm's the last)."""
    if node.op_type == "Conv":
        return tuple(a for a in range(y.ndim) if a != 1)
    return tuple(range(y.ndim - 1))


def layer_output(node: onnx.NodeProto, x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """The layer's output (no bias) for input x and canonical weight w, in torch."""
    xt = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float64))
    if node.op_type == "Conv":
        one_d = xt.ndim == 3
        pads, strides, dilations = _conv_params(node, xt.ndim)
        if one_d:
            xt, w = xt.unsqueeze(2), w.reshape(w.shape[0], -1, 1, w.shape[-1])
        group = node_attr(node, "group", 1)
        wt = torch.from_numpy(w.reshape(w.shape[0], -1, *w.shape[-2:]) if w.ndim == 3
                              else w)
        if wt.shape[1] * group != xt.shape[1]:
            wt = wt.reshape(wt.shape[0], xt.shape[1] // group, *wt.shape[-2:])
        xt = F.pad(xt, (pads[1], pads[3], pads[0], pads[2]))
        y = F.conv2d(xt, wt, None, tuple(strides), 0, tuple(dilations), group).numpy()
        return y[:, :, 0] if one_d else y
    return (xt @ torch.from_numpy(w).T).numpy()


def input_rows(node: onnx.NodeProto, x: np.ndarray, shape) -> np.ndarray:
    """The layer's input as rows matching the flattened weight rows (im2col
    patches of a convolution); ValueError for grouped convolutions."""
    if node.op_type == "Conv":
        if node_attr(node, "group", 1) != 1:
            raise ValueError("grouped convolutions are not refitted")
        pads, strides, dilations = _conv_params(node, x.ndim)
        if x.ndim == 3:
            x, shape = x[:, :, None, :], (*shape[:2], 1, shape[-1])
        kh, kw = shape[2], shape[3]
        if pads[0] != pads[2] or pads[1] != pads[3]:
            x = np.pad(x, ((0, 0), (0, 0), (pads[0], pads[2]), (pads[1], pads[3])))
            pads = [0, 0, 0, 0]
        cols = F.unfold(
            torch.from_numpy(np.ascontiguousarray(x)), (kh, kw),
            dilation=tuple(dilations), padding=(pads[0], pads[1]), stride=tuple(strides))
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
    model has one input and it leaves that axis open (a fixed one may be
    baked into reshapes; a second input, such as Silero's sample rate or
    its state, may carry its batch elsewhere or none)."""
    consts = {i.name for i in model.graph.initializer}
    fed = [i for i in model.graph.input if i.name not in consts]
    dims = fed[0].type.tensor_type.shape.dim
    return len(fed) == 1 and bool(dims) and not dims[0].HasField("dim_value")


def batches(model: onnx.ModelProto, inputs: Sequence, size: int) -> List:
    """`inputs` (arrays for the first graph input, or dicts input name ->
    array) grouped `size` at a time along the first axis where the model
    allows it (`batchable`), else one at a time."""
    inputs = list(inputs)
    if not batchable(model):
        return inputs

    def stack(group):
        if isinstance(group[0], dict):
            return {k: np.concatenate([g[k] for g in group]) for k in group[0]}
        return np.concatenate(group)

    return [stack(inputs[i:i + size]) for i in range(0, len(inputs), size)]


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


def inline_constant_branches(model: onnx.ModelProto,
                             feeds: Dict[str, object]) -> onnx.ModelProto:
    """A copy of `model` in which every If whose condition follows from
    constants and the fixed inputs `feeds` (Silero's {"sr": 16000}) is
    replaced by the nodes of the branch it takes, so the model's layers are
    nodes of the main graph, where every plan step looks for them. The
    fixed inputs stay graph inputs (callers still feed them), the node and
    value names are kept, and what the untaken branch held is dropped.
    Ifs whose condition depends on a fed value stay as they are."""
    from ..importers.onnx_reference import opset_version, run_node

    out = copy.deepcopy(model)
    opset = opset_version(out)
    known = {i.name: numpy_helper.to_array(i) for i in out.graph.initializer}
    known.update({k: np.asarray(v) for k, v in feeds.items()})

    def fold(nodes) -> List[onnx.NodeProto]:
        result = []
        for node in nodes:
            ready = all(not n or n in known for n in node.input)
            if node.op_type == "If" and ready:
                attrs = {a.name: a for a in node.attribute}
                taken = bool(np.asarray(known[node.input[0]]).reshape(-1)[0])
                branch = attrs["then_branch" if taken else "else_branch"].g
                for t in branch.initializer:
                    known[t.name] = numpy_helper.to_array(t)
                    out.graph.initializer.append(t)
                result += fold(branch.node)
                for src, dst in zip(branch.output, node.output):
                    result.append(onnx.helper.make_node("Identity", [src.name], [dst],
                                                        name=f"{node.name}/{dst}"))
                    if src.name in known:
                        known[dst] = known[src.name]
                continue
            if ready and node.op_type != "If" and not any(
                    a.type == onnx.AttributeProto.GRAPH for a in node.attribute):
                try:
                    values = run_node(node, [known[n] if n else None for n in node.input],
                                      opset)
                    known.update({n: v.numpy() for n, v in zip(node.output, values) if n})
                except Exception:  # noqa: BLE001 - left to run time, not folded
                    pass
            result.append(node)
        return result

    nodes = fold(out.graph.node)
    del out.graph.node[:]
    out.graph.node.extend(nodes)
    return out
