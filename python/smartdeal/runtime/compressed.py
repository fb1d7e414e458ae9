"""Read a compressed module back: the per-layer report and the rebuilt weights.

sd-decompose writes each layer's Ce codes and bases as dense_resource blobs
named <layer>_ce and <layer>_b, and a JSON report with the layer's shape,
block layout and exponent range. Rebuilding W = Ce * B here, in NumPy and
independently of the compiler, is what the exporters and fidelity checks use.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Tuple

import numpy as np

from ..ir.codes import decode_codes
from ..ir.resources import identifier_safe, parse_resource_section

__all__ = [
    "CompressedLayer",
    "exponent_range",
    "load",
    "load_permdiag",
    "rebuild",
    "rebuild_permdiag",
    "se_arrays",
]


@dataclass
class CompressedLayer:
    name: str
    shape: List[int]
    weight: np.ndarray  # rebuilt dense weight, canonical layout ([N, K] / [F, C, R, S])
    ratio: float
    relative_error: float


def rebuild(codes: np.ndarray, basis: np.ndarray, shape, min_exp: int) -> np.ndarray:
    """W from codes [O, nb, rows, 3] and bases [O, nb, 3, 3] (the sd.rebuild rule)."""
    o = codes.shape[0]
    rows = np.einsum("obrk,obkj->obrj", decode_codes(codes, min_exp),
                     basis.astype(np.float64))
    length = int(np.prod(shape[1:]))
    return rows.reshape(o, -1)[:, :length].reshape(shape).astype(np.float32)


_NUM = re.compile(r"[-+]?(?:\d+\.?\d*(?:[eE][-+]?\d+)?|0x[0-9A-Fa-f]+)")


def _se_operand(text: str, blobs: Dict[str, bytes], key: str, suffix: str,
                dtype: str, count: int):
    """An sd.se_constant operand: the dense_resource blob `<key><suffix>`,
    or the inline dense<...> attribute sd-decompose writes for small
    tensors (nested lists, a splat, or a hex string), or None."""
    if key + suffix in blobs:
        return np.frombuffer(blobs[key + suffix], dtype)
    if not text:
        return None
    # The inline operand sits next to the other (resource) one.
    other = "_b" if suffix == "_ce" else "_ce"
    pattern = (rf"codes\(dense<(.*?)> : [^)]*\)\s*basis\(dense_resource<{re.escape(key + other)}>"
               if suffix == "_ce" else
               rf"codes\(dense_resource<{re.escape(key + other)}> : [^)]*\)\s*basis\(dense<(.*?)> :")
    m = re.search(pattern, text)
    if not m:
        return None
    body = m.group(1)
    if body.startswith('"0x'):
        return np.frombuffer(bytes.fromhex(body[3:-1]), dtype)
    values = [float(v) for v in _NUM.findall(body)]
    if len(values) == 1:
        values = values * count
    return np.array(values, dtype)


def exponent_range(entry: dict) -> Tuple[int, int]:
    """(min_exp, max_exp) of an SE entry of the sd-decompose report."""
    lo, hi = entry["settings"]["exponents"].strip("[]").split(",")
    return int(lo), int(hi)


def se_arrays(entry: dict, blobs: Dict[str, bytes], where="the module",
              text: str = ""):
    """(codes [O, nb, rows, 3] int8, bases [O, nb, 3, 3] f32) of an SE entry
    of the sd-decompose report, from the module's blobs <key>_ce / <key>_b
    or, for tensors small enough to be written inline, from the module
    `text`."""
    key = identifier_safe(entry["name"])
    o, nb, rows = entry["shape"][0], entry["blocks"], entry["block_rows"]
    codes = _se_operand(text, blobs, key, "_ce", np.int8, o * nb * rows * 3)
    basis = _se_operand(text, blobs, key, "_b", "<f4", o * nb * 9)
    if codes is None or basis is None:
        raise ValueError(f"layer '{entry['name']}': blobs {key}_ce/{key}_b "
                         f"missing from {where}")
    return codes.reshape(o, nb, rows, 3), basis.reshape(o, nb, 3, 3)


def load(report_path: Path, mlir_path: Path) -> List[CompressedLayer]:
    """The SmartExchange layers of a compressed module, rebuilt."""
    report = json.loads(Path(report_path).read_text())
    text = Path(mlir_path).read_text()
    blobs = parse_resource_section(text)
    layers = []
    for entry in report["layers"]:
        if entry["form"] != "se":
            continue
        shape = entry["shape"]
        min_exp, _ = exponent_range(entry)
        codes, basis = se_arrays(entry, blobs, mlir_path, text)
        layers.append(CompressedLayer(entry["name"], shape,
                                      rebuild(codes, basis, shape, min_exp),
                                      entry["compression_ratio"],
                                      entry["relative_error"]))
    return layers


# sd-permdiag writes offsets inline (a nested list, a splat, or a hex string
# when large) and values as a dense_resource blob named <layer>_pd.
_PERMDIAG = re.compile(
    r"sd\.permdiag_constant offsets\(dense<(.*?)> : tensor<(\d+)x(\d+)xi32>\)\s*"
    r"values\(dense_resource<([\w.$-]+)> : tensor<(\d+)x(\d+)x(\d+)xf32>\)")


def _offsets(text: str, rb: int, cb: int) -> np.ndarray:
    text = text.strip()
    if text.startswith('"0x'):
        return np.frombuffer(bytes.fromhex(text[3:-1]), "<i4").reshape(rb, cb)
    nums = [int(v) for v in re.findall(r"-?\d+", text)]
    if len(nums) == 1:
        return np.full((rb, cb), nums[0], np.int32)
    return np.array(nums, np.int32).reshape(rb, cb)


def rebuild_permdiag(offsets: np.ndarray, values: np.ndarray, shape) -> np.ndarray:
    """The dense [M, N] weight: block (i, j) row c holds values[i, j, c] at
    column (c + offsets[i, j]) mod p; padding dropped."""
    rb, cb, p = values.shape
    c = np.arange(p)
    dense = np.zeros((rb, p, cb, p), np.float32)
    cols = (c[None, None, :] + offsets[:, :, None]) % p            # [rb, cb, p]
    i, j, cc = np.meshgrid(np.arange(rb), np.arange(cb), c, indexing="ij")
    dense[i, cc, j, cols] = values
    return dense.reshape(rb * p, cb * p)[: shape[0], : shape[1]]


def load_permdiag(report_path: Path, mlir_path: Path) -> List[CompressedLayer]:
    """The permuted-diagonal layers of a module written by sd-permdiag, rebuilt
    to their canonical dense weight ([M, N], or [F, C, 1, 1] for a 1x1 conv).
    Each layer also gets `offsets` and `values` attributes."""
    report = json.loads(Path(report_path).read_text())
    text = Path(mlir_path).read_text()
    blobs = parse_resource_section(text)
    found = {m.group(4): m for m in _PERMDIAG.finditer(text)}
    layers = []
    for entry in report["layers"]:
        if entry["form"] != "permdiag":
            continue
        key = "".join(c if c.isalnum() else "_" for c in entry["name"]) + "_pd"
        m = found.get(key)
        if m is None or key not in blobs:
            raise ValueError(f"layer '{entry['name']}': no sd.permdiag_constant with "
                             f"values {key} in {mlir_path}")
        rb, cb, p = int(m.group(5)), int(m.group(6)), int(m.group(7))
        offsets = _offsets(m.group(1), rb, cb)
        values = np.frombuffer(blobs[key], "<f4").reshape(rb, cb, p)
        shape = entry["shape"]
        dense = rebuild_permdiag(offsets, values, shape[:2]).reshape(shape)
        layer = CompressedLayer(entry["name"], shape, dense,
                                entry["compression_ratio"], entry["relative_error"])
        layer.offsets, layer.values = offsets, values
        layers.append(layer)
    return layers
