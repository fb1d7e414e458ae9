"""Run a float ONNX model on many inputs with ONNX Runtime (npm onnxruntime-node).

Accuracy on a thousand inputs through the node-by-node PyTorch reference
(importers.onnx_reference) takes minutes per model; ONNX Runtime, what
users run, takes seconds. scripts/install-deps.sh installs it into
${SD_CACHE:-~/.cache/smartdeal}/ort; without it (or without node) callers
fall back to the reference executor. All inputs go to one node process
through a file, and the first output of every run comes back the same way.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import List, Optional, Sequence, Union

import numpy as np

SCRIPT = Path(__file__).with_name("ort_run.js")


class OrtError(RuntimeError):
    """ONNX Runtime could not run the model; the message has its error."""


def location() -> Optional[Path]:
    """The folder holding node_modules/onnxruntime-node, or None."""
    base = os.environ.get("SD_ORT") or os.path.join(
        os.environ.get("SD_CACHE") or os.path.join(os.path.expanduser("~"), ".cache",
                                                   "smartdeal"), "ort")
    ok = (Path(base) / "node_modules" / "onnxruntime-node" / "package.json").exists()
    return Path(base) if ok and shutil.which("node") else None


def run_many(model: Union[str, Path, object], inputs: Sequence[np.ndarray],
             threads: int = 1) -> List[np.ndarray]:
    """The first output of `model` for each input (all of one shape)."""
    where = location()
    if where is None:
        raise OrtError("onnxruntime-node is not installed (scripts/install-deps.sh)")
    if not inputs:
        return []
    shape = inputs[0].shape
    with tempfile.TemporaryDirectory(prefix="sd-ort-") as tmp:
        tmp = Path(tmp)
        if not isinstance(model, (str, Path)):
            import onnx

            onnx.save(model, str(tmp / "model.onnx"))
            model = tmp / "model.onnx"
        np.concatenate([np.asarray(x, np.float32).reshape(shape) for x in inputs]
                       ).tofile(tmp / "in.bin")
        proc = subprocess.run(
            ["node", str(SCRIPT), str(model), str(tmp / "in.bin"),
             ",".join(map(str, shape)), str(len(inputs)), str(tmp / "out.bin"),
             str(threads)],
            capture_output=True, text=True, env=dict(os.environ, SD_ORT=str(where)))
        if proc.returncode != 0:
            raise OrtError(proc.stderr.strip() or f"node exited with {proc.returncode}")
        dims = json.loads(proc.stdout.strip().splitlines()[-1])
        out = np.fromfile(tmp / "out.bin", np.float32)
    return list(out.reshape([len(inputs)] + dims))


def runner(model, reference_fallback: bool = True, chunk: int = 100):
    """batch function: list of inputs -> list of first outputs, through ONNX
    Runtime (`chunk` inputs per process, so large outputs stay in memory
    bounds), or through the reference executor when it is not installed."""
    if location() is not None:
        return lambda xs: [y for i in range(0, len(xs), chunk)
                           for y in run_many(model, xs[i:i + chunk])]
    if not reference_fallback:
        raise OrtError("onnxruntime-node is not installed (scripts/install-deps.sh)")
    from ..importers.onnx_reference import OnnxReference

    ref = OnnxReference(model if not isinstance(model, Path) else str(model))
    name = ref.input_names[0]
    return lambda xs: [np.asarray(ref.run({name: x})[0]) for x in xs]
