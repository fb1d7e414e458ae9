"""Calibration statistics for `sd-opt --sd-quantize`: max|x| per named tensor.

The float model runs on calibration inputs and every tensor the compiler can
name gets the largest magnitude it reached; `--sd-quantize="stats=FILE"`
turns those into int8 scales (max|x| / 127). The file (docs/Accelerator.md):

    {"format": "sd-calibration-stats", "version": 1, "inputs": N,
     "tensors": {"arg0": {"max_abs": 2.64}, "p2o.Conv.0": {"max_abs": 5.1},
                 "layer1.0.relu#1": {"max_abs": 3.2}, ...}}

Names are the ones the importers put in `loc("...")`: ONNX node names (a
node's first output) and PyTorch module paths; the k-th call (k >= 1) of a
module used twice is `name#k`; the function's inputs are `arg0`, `arg1`, ...

With `channels=True` a 4-D (NCHW) tensor's entry also has
`"channel_max_abs": [m_0, m_1, ...]`, max|x| of each channel (dimension 1;
for a 3-D [N, T, C] tensor the last dimension), from which the pass
equalizes channels where float host code meets a layer (docs/Accelerator.md).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Tuple, Union

import numpy as np

FORMAT = "sd-calibration-stats"
VERSION = 1


def write_stats(path: Path, max_abs: Dict[str, float], inputs: int,
                channel_max_abs: Optional[Dict[str, np.ndarray]] = None) -> None:
    """Writes the statistics file (through a temporary name, so a failure
    leaves nothing half-written); `channel_max_abs` adds per-channel
    magnitudes of the tensors it names."""
    tensors = {k: {"max_abs": float(v)} for k, v in max_abs.items()}
    for k, v in (channel_max_abs or {}).items():
        if k in tensors:
            tensors[k]["channel_max_abs"] = [float(c) for c in v]
    doc = {"format": FORMAT, "version": VERSION, "inputs": int(inputs),
           "tensors": tensors}
    tmp = Path(str(path) + ".tmp")
    tmp.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")
    os.replace(tmp, path)


def _update(stats: Dict[str, float], name: str, value,
            channels: Optional[Dict[str, np.ndarray]] = None) -> None:
    a = np.asarray(value)
    if a.size == 0 or a.dtype.kind != "f":
        return
    m = float(np.max(np.abs(a)))
    stats[name] = max(stats.get(name, 0.0), m)
    if channels is not None and a.ndim in (3, 4):
        # NCHW: channels are dimension 1; [N, T, C] token tensors: the last.
        c = np.abs(a).max(axis=(0, 2, 3) if a.ndim == 4 else (0, 1)).astype(np.float64)
        channels[name] = np.maximum(channels[name], c) if name in channels else c


def onnx_stats(model, inputs: Iterable[Sequence[np.ndarray]], channels: bool = False
               ) -> Union[Dict[str, float], Tuple[Dict[str, float], Dict[str, np.ndarray]]]:
    """max|x| of every named node's first output and of the graph inputs,
    running the ONNX reference executor on each input tuple; with
    `channels`, also per-channel max|x| of the 3-D and 4-D ones (a second
    dict)."""
    from ..importers.onnx_reference import OnnxReference

    ref = OnnxReference(str(model) if isinstance(model, Path) else model)
    names = ref.input_names
    nodes = [(n.name, n.output[0]) for n in ref.model.graph.node
             if n.name and n.output and n.output[0]]
    stats: Dict[str, float] = {}
    per_channel: Dict[str, np.ndarray] = {}
    ch = per_channel if channels else None
    wanted = sorted({out for _, out in nodes})
    for sample in inputs:
        feed = dict(zip(names, sample))
        env = ref.run_capture(feed, wanted)
        for i, x in enumerate(sample):
            _update(stats, f"arg{i}", x, ch)
        for name, out in nodes:
            _update(stats, name, env[out], ch)
    return (stats, per_channel) if channels else stats


def torch_stats(module, inputs: Iterable[Sequence[np.ndarray]]) -> Dict[str, float]:
    """max|x| of every leaf module's output (k-th call of a module: `name#k`)
    and of the inputs, running `module` in eval mode. A BatchNorm right after
    a convolution is folded into it by the importer, so its output counts
    for that convolution's name."""
    import torch
    import torch.nn as nn

    stats: Dict[str, float] = {}
    calls: Dict[str, int] = {}
    last: List[str] = []

    def hook(name):
        def run(mod, args, out):
            k = calls.get(name, 0)
            calls[name] = k + 1
            key = name if k == 0 else f"{name}#{k}"
            if isinstance(mod, nn.modules.batchnorm._BatchNorm) and last \
                    and last[-1][1] == "conv":
                key = last[-1][0]
            _update(stats, key, out.detach().numpy())
            last.append((key, "conv" if isinstance(mod, nn.Conv2d) else "other"))
        return run

    handles = [m.register_forward_hook(hook(n)) for n, m in module.named_modules()
               if n and not list(m.children())]
    module.eval()
    try:
        with torch.no_grad():
            for sample in inputs:
                calls.clear()
                last.clear()
                for i, x in enumerate(sample):
                    _update(stats, f"arg{i}", x)
                module(*[torch.from_numpy(np.asarray(x, np.float32)) for x in sample])
    finally:
        for h in handles:
            h.remove()
    return stats
