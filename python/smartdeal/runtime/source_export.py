"""Write a compressed model back in its source format, with rebuilt weights.

Users measure accuracy in their own harness: ONNX in gives ONNX out (each
decomposed layer's initializer or Constant replaced by W = Ce * B), and a
PyTorch model gives a state_dict. The structure of the model is untouched.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Dict, Iterable

import numpy as np
import onnx
from onnx import numpy_helper

from .compressed import CompressedLayer

__all__ = ["ExportError", "export_onnx", "export_state_dict", "replace_weights"]


class ExportError(RuntimeError):
    pass


def _weight_for_node(node: onnx.NodeProto, rebuilt: np.ndarray,
                     original: np.ndarray) -> np.ndarray:
    """The rebuilt weight in the node's own layout."""
    if node.op_type == "MatMul":
        out = rebuilt.T  # canonical [N, K]; ONNX MatMul stores [K, N]
    elif node.op_type == "Gemm":
        trans_b = next((a.i for a in node.attribute if a.name == "transB"), 0)
        out = rebuilt if trans_b else rebuilt.T
    elif node.op_type == "ConvTranspose":
        # The importer convolves with the weight's channels swapped and its
        # kernel flipped (importers.lowering.conv_transpose2d); undo both.
        out = rebuilt[:, :, ::-1, ::-1].transpose(1, 0, 2, 3)
    else:  # Conv: [F, C, R, S] either way
        out = rebuilt
    if out.shape != original.shape:
        raise ExportError(f"node '{node.name}': rebuilt weight {out.shape} does "
                          f"not fit the original {original.shape}")
    return np.ascontiguousarray(out.astype(original.dtype))


def export_onnx(source: Path, layers: Iterable[CompressedLayer],
                destination: Path) -> int:
    """Copies `source` with each compressed layer's weight replaced; returns
    how many weights were replaced. Writes atomically."""
    model = onnx.load(str(source))
    replaced = replace_weights(model, layers)
    fd, tmp = tempfile.mkstemp(dir=str(Path(destination).parent), suffix=".onnx")
    os.close(fd)
    try:
        onnx.save(model, tmp)
        os.replace(tmp, destination)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return replaced


def _graphs(graph: onnx.GraphProto):
    """`graph` and every subgraph under it (If branches, Loop bodies): the
    importer inlines a branch chosen by a constant condition, so its layers
    are nodes of a subgraph."""
    yield graph
    for node in graph.node:
        for attr in node.attribute:
            if attr.type == onnx.AttributeProto.GRAPH:
                yield from _graphs(attr.g)
            elif attr.type == onnx.AttributeProto.GRAPHS:
                for g in attr.graphs:
                    yield from _graphs(g)


def replace_weights(model: onnx.ModelProto, layers: Iterable[CompressedLayer]) -> int:
    """Replaces, in place, each compressed layer's weight in `model`."""
    graph = model.graph
    source = graph.name or "the model"
    graphs = list(_graphs(graph))
    nodes = {n.name: n for g in graphs for n in g.node}
    inits = {i.name: i for g in graphs for i in g.initializer}
    constants = {n.output[0]: n for g in graphs for n in g.node if n.op_type == "Constant"}
    replaced = 0
    for layer in layers:
        node = nodes.get(layer.name)
        if node is None or len(node.input) < 2:
            raise ExportError(f"layer '{layer.name}' is not a node of {source}")
        weight_name = node.input[1]
        if weight_name in inits:
            tensor = inits[weight_name]
            new = numpy_helper.from_array(
                _weight_for_node(node, layer.weight, numpy_helper.to_array(tensor)),
                weight_name)
            tensor.CopyFrom(new)
        elif weight_name in constants:
            attr = next(a for a in constants[weight_name].attribute if a.name == "value")
            new = numpy_helper.from_array(
                _weight_for_node(node, layer.weight, numpy_helper.to_array(attr.t)),
                attr.t.name)
            attr.t.CopyFrom(new)
        else:
            raise ExportError(f"layer '{layer.name}': weight '{weight_name}' is "
                              "neither an initializer nor a Constant")
        replaced += 1
    return replaced


def export_state_dict(state: Dict[str, "object"], layers: Iterable[CompressedLayer],
                      destination: Path) -> int:
    """A PyTorch state_dict with `<layer>.weight` replaced by the rebuilt weight."""
    import torch

    out = dict(state)
    replaced = 0
    for layer in layers:
        key = layer.name + ".weight"
        if key not in out:
            raise ExportError(f"layer '{layer.name}' has no '{key}' in the state_dict")
        out[key] = torch.from_numpy(layer.weight.reshape(tuple(out[key].shape)))
        replaced += 1
    tmp = str(destination) + ".tmp"
    torch.save(out, tmp)
    os.replace(tmp, destination)
    return replaced
