"""The Ce code rule and the SmartExchange storage rule, once for Python.

A Ce code is an int8: 0, or sign * (e - min_exp + 1) for the value
sign * 2^e with min_exp <= e <= max_exp (include/SD/Compression/Codes.h is
the C++ statement of the same rule). `python/smartdeal/reference` keeps its
own copy on purpose: it is the independent reference the C++ library is
tested against.
"""

from __future__ import annotations

import numpy as np

__all__ = ["decode_codes", "encode_values", "se_bits"]


def decode_codes(codes: np.ndarray, min_exp: int) -> np.ndarray:
    """Ce codes -> values: 0, or sign(c) * 2^(min_exp + |c| - 1)."""
    c = codes.astype(np.int64)
    mag = np.where(c == 0, 0.0, np.exp2(min_exp + np.abs(c) - 1.0))
    return np.sign(c) * mag


def encode_values(values: np.ndarray, min_exp: int) -> np.ndarray:
    """Powers of two (or 0) -> Ce codes: 0 or sign * (e - min_exp + 1), with e
    the nearest integer to log2 |v|."""
    q = np.asarray(values, dtype=np.float64)
    mag = np.abs(q)
    e = np.where(mag > 0, np.round(np.log2(np.where(mag > 0, mag, 1.0))), 0)
    return np.where(mag > 0, np.sign(q) * (e - min_exp + 1), 0).astype(np.int8)


def se_bits(codes: np.ndarray, basis_bits: int = 8) -> int:
    """Entry-bitmap storage of one SE layer, the sd-decompose report's rule
    (docs/decomposition.md): nnz codes of ceil(log2 D) + 1 bits (D distinct
    magnitudes), one bit per stored Ce entry, bases at basis_bits."""
    nz = codes[codes != 0]
    distinct = len(np.unique(np.abs(nz))) if nz.size else 1
    width = int(np.ceil(np.log2(max(distinct, 1)))) + 1
    o, nb = codes.shape[0], codes.shape[1]
    return int(nz.size * width + codes.size + o * nb * 9 * basis_bits)
