"""Initial SmartExchange decomposition of a dense weight through the C++ library.

Runs `build/bin/sd-decompose-ref-driver weight` (override with
$SD_DECOMPOSE_DRIVER) on the weight saved as .npy and reads back codes
[O, nb, rows, 3] (int8), bases [O, nb, 3, 3] (f32) and stats.json.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from ..runtime.runner import REPO_ROOT

__all__ = ["decompose_weight", "find_driver"]


_FLAGS = {"iterations": "--iterations", "tol": "--tol", "max_block_rows": "--max-block-rows",
          "fraction": "--fraction", "group": "--group", "threads": "--threads",
          "basis_bits": "--basis-bits", "decay": "--decay", "row_factor": "--row-factor"}
_SWITCHES = {"row_threshold": "--row-threshold", "scale": "--scale"}


def find_driver() -> str:
    path = os.environ.get("SD_DECOMPOSE_DRIVER") or str(
        REPO_ROOT / "build" / "bin" / "sd-decompose-ref-driver")
    if not os.access(path, os.X_OK):
        raise RuntimeError(f"sd-decompose-ref-driver not found at {path}: "
                           "build it (ninja -C build sd-decompose-ref-driver) "
                           "or set SD_DECOMPOSE_DRIVER")
    return path


def decompose_weight(w: np.ndarray, threshold: float = 1e-3, exponents=(-8, 5), **options):
    """(codes, basis, stats) of the C++ decomposition of the weight `w` [O, ...]."""
    cmd = [find_driver(), "weight", "--threshold", repr(float(threshold)),
           "--min-exp", str(int(exponents[0])), "--max-exp", str(int(exponents[1]))]
    for key, value in options.items():
        if key in _FLAGS:
            cmd += [_FLAGS[key], str(value)]
        elif key in _SWITCHES:
            if value:
                cmd.append(_SWITCHES[key])
        else:
            raise ValueError(f"unknown decomposition option {key!r}")
    with tempfile.TemporaryDirectory(prefix="sd-train-") as tmp:
        np.save(os.path.join(tmp, "w.npy"), np.ascontiguousarray(w, dtype=np.float32))
        proc = subprocess.run(cmd + ["--input", os.path.join(tmp, "w.npy"), "--out", tmp],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"decomposition failed: {proc.stderr.strip()}")
        codes = np.load(os.path.join(tmp, "codes.npy")).astype(np.int8)
        basis = np.load(os.path.join(tmp, "basis.npy")).astype(np.float32)
        stats = json.loads(Path(tmp, "stats.json").read_text())
    return codes, basis, stats
