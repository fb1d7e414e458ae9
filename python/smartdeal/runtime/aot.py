"""Call a model compiled ahead of time (scripts/sd-compile.sh) from Python.

The library exports `_mlir_ciface_<name>(result*, arg*...)` on plain C
memref descriptors; this builds the descriptors with ctypes, so the same
shared library a C program links can be checked against the JIT and the
frameworks.
"""

from __future__ import annotations

import ctypes
from typing import Sequence

import numpy as np

__all__ = ["call"]


def _descriptor(rank: int):
    class MemRef(ctypes.Structure):
        _fields_ = [("allocated", ctypes.c_void_p), ("aligned", ctypes.c_void_p),
                    ("offset", ctypes.c_int64), ("sizes", ctypes.c_int64 * rank),
                    ("strides", ctypes.c_int64 * rank)]
    return MemRef


def call(library: str, name: str, inputs: Sequence[np.ndarray],
         result_rank: int) -> np.ndarray:
    """Calls `name` in `library` on float32 `inputs`; returns its result."""
    lib = ctypes.CDLL(library)
    fn = getattr(lib, f"_mlir_ciface_{name}")
    keep, args = [], []
    for x in inputs:
        x = np.ascontiguousarray(x, dtype=np.float32)
        keep.append(x)
        d = _descriptor(x.ndim)()
        d.allocated = d.aligned = x.ctypes.data
        d.offset = 0
        for i, (s, st) in enumerate(zip(x.shape, x.strides)):
            d.sizes[i], d.strides[i] = s, st // 4
        args.append(ctypes.pointer(d))
    result = _descriptor(result_rank)()
    fn.restype = None
    fn(ctypes.pointer(result), *args)
    shape = tuple(result.sizes)
    strides = tuple(s * 4 for s in result.strides)
    base = ctypes.cast(result.aligned, ctypes.POINTER(ctypes.c_float))
    flat = np.ctypeslib.as_array(base, shape=(int(np.prod(shape)) + result.offset,))
    out = np.lib.stride_tricks.as_strided(flat[result.offset:], shape, strides).copy()
    ctypes.CDLL(None).free(ctypes.c_void_p(result.allocated))
    return out
