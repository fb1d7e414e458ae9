"""NumPy reference of the SmartExchange decomposition W ~= Ce . B.

Written from docs/decomposition.md and /work/shared/ALGORITHM.md section 1 in
the style of the authors' reference code (numpy.linalg.lstsq for both factors,
float64 throughout). Test-only: slow, simple, and independent of the C++
library it checks.
"""

import math

import numpy as np

BASIS = 3
DEFAULT_MAX_BLOCK_ROWS = 192


# ---------------------------------------------------------------------------
# Power-of-two rounding


def pow2(v):
    """Nearest power of two by linear distance, ties to the smaller (v > 0).

    e = ceil(log2 v); 2^(e-1) if v - 2^(e-1) <= 2^e - v else 2^e. Both
    differences are exact (Sterbenz), so the tie rule is exact too.
    """
    v = np.asarray(v, dtype=np.float64)
    e = np.ceil(np.log2(v))
    lo = np.power(2.0, e - 1)
    hi = np.power(2.0, e)
    return np.where(v - lo <= hi - v, lo, hi)


def quantize(ce, min_exp=-8, max_exp=5):
    """Q: sign(c) * min(2^max_exp, pow2(|c|)) on non-zeros; below 2^min_exp -> 0."""
    ce = np.asarray(ce, dtype=np.float64)
    out = np.zeros_like(ce)
    nz = ce != 0
    mag = np.minimum(pow2(np.abs(ce[nz])), 2.0 ** max_exp)
    mag[mag < 2.0 ** min_exp] = 0.0
    out[nz] = np.sign(ce[nz]) * mag
    return out


def codes_from_values(values, min_exp=-8):
    """Codes.h: 0 -> 0, +-2^p -> +-(p - min_exp + 1)."""
    values = np.asarray(values, dtype=np.float64)
    codes = np.zeros(values.shape, dtype=np.int8)
    nz = values != 0
    p = np.log2(np.abs(values[nz]))
    assert np.all(p == np.round(p)), "not a power of two"
    codes[nz] = (np.sign(values[nz]) * (p - min_exp + 1)).astype(np.int8)
    return codes


def values_from_codes(codes, min_exp=-8):
    codes = np.asarray(codes).astype(np.int64)
    mag = np.where(codes != 0, np.power(2.0, np.abs(codes) + min_exp - 1), 0.0)
    return np.sign(codes) * mag


# ---------------------------------------------------------------------------
# One block


class _Restart(Exception):
    pass


def _column_scale(ce, allow_restart):
    """decompose_scale: 2^mean(round(log2|c|) - log2|c|) per column."""
    s = np.ones(ce.shape[1])
    for k in range(ce.shape[1]):
        col = ce[:, k]
        nz = col != 0
        if not nz.any():
            if allow_restart:
                raise _Restart()
            continue
        lg = np.log2(np.abs(col[nz]))
        s[k] = 2.0 ** np.mean(np.round(lg) - lg)
    return s


def _attempt(A, theta, iternum, tol, rcond, min_exp, max_exp, threshold_row,
             row_factor, scale, frozen, trace, allow_restart):
    B = np.eye(A.shape[1])  # 3 in the compiler; S for rows of width S
    Ce = A.copy()
    if frozen is not None:
        Ce[frozen] = 0
    Ce_hat_prev = None
    errs = []
    iterations = iternum - 1
    converged = False
    for t in range(iternum - 1):
        s = _column_scale(Ce, allow_restart) if scale else 1.0
        Ce_hat = quantize(Ce * s, min_exp, max_exp)
        if t > 0 and np.linalg.norm(Ce_hat - Ce_hat_prev) <= tol:
            iterations, converged = t, True
            break
        Ce_hat_prev = Ce_hat
        B = np.linalg.lstsq(Ce_hat, A, rcond=rcond)[0]
        if trace:
            errs.append(np.linalg.norm(A - Ce_hat @ B))
        Ce = np.linalg.lstsq(B.T, A.T, rcond=rcond)[0].T
        if threshold_row:
            Ce[np.abs(Ce).sum(axis=1) < row_factor * theta, :] = 0
        Ce[np.abs(Ce) < theta] = 0
        if frozen is not None:
            Ce[frozen] = 0
    s = _column_scale(Ce, allow_restart) if scale else 1.0
    Ce_hat = quantize(Ce * s, min_exp, max_exp)
    B = np.linalg.lstsq(Ce_hat, A, rcond=rcond)[0]
    if trace:
        errs.append(np.linalg.norm(A - Ce_hat @ B))
    return Ce_hat, B, iterations, converged, errs


def decompose_block(A, threshold=1e-3, iternum=30, tol=1e-10, rcond=1e-10,
                    min_exp=-8, max_exp=5, threshold_row=False, row_factor=5.0,
                    scale=False, decay=0.5, max_restarts=8, frozen=None,
                    trace=False):
    """Decompose one m x 3 block (or m x S: rows of width S, an S x S
    basis); returns a dict like BlockDecomposition."""
    A = np.asarray(A, dtype=np.float64)
    if frozen is not None:
        frozen = np.asarray(frozen, dtype=bool)
        if not frozen.any():
            frozen = None
    theta, restarts = threshold, 0
    while True:
        try:
            Ce_hat, B, it, conv, errs = _attempt(
                A, theta, iternum, tol, rcond, min_exp, max_exp, threshold_row,
                row_factor, scale, frozen, trace, restarts < max_restarts)
            break
        except _Restart:
            theta *= decay
            restarts += 1
    return dict(ce=Ce_hat, basis=B, iterations=it, converged=conv,
                restarts=restarts, threshold=theta, trace=errs)


# ---------------------------------------------------------------------------
# Whole weights


class BlockLayout:
    """Canonical layout: fewest blocks of <= max_block_rows rows, spread evenly."""

    def __init__(self, shape, max_block_rows=DEFAULT_MAX_BLOCK_ROWS):
        self.shape = tuple(int(d) for d in shape)
        self.outputs = self.shape[0]
        self.row_length = int(np.prod(self.shape[1:]))
        self.used_rows = -(-self.row_length // BASIS)
        rows = max(self.used_rows, 1)
        self.num_blocks = -(-rows // max_block_rows)
        self.block_rows = -(-rows // self.num_blocks)
        self.padded_rows = self.num_blocks * self.block_rows

    def to_blocks(self, w):
        """[O, ...] -> [O, nb, blockRows, 3] float64, zero padded."""
        flat = np.zeros((self.outputs, self.padded_rows * BASIS))
        flat[:, :self.row_length] = np.asarray(w, np.float64).reshape(
            self.outputs, -1)
        return flat.reshape(self.outputs, self.num_blocks, self.block_rows,
                            BASIS)

    def rows(self, w):
        """[O, ...] -> [O, used_rows, 3] float64, zero padded."""
        flat = np.zeros((self.outputs, self.used_rows * BASIS))
        flat[:, :self.row_length] = np.asarray(w, np.float64).reshape(
            self.outputs, -1)
        return flat.reshape(self.outputs, self.used_rows, BASIS)


def structured_pruned_rows(rows, fraction):
    if fraction <= 0 or rows <= 0:
        return 0
    return min(max(int(math.floor(fraction * rows + 1e-9)), 0), rows)


def structured_row_mask(w, layout, fraction, group=32):
    """SmartDeal vector-wise pruning mask [groups, used_rows] (1 = pruned)."""
    rows = np.abs(layout.rows(w))
    groups = -(-layout.outputs // group)
    k = structured_pruned_rows(layout.used_rows, fraction)
    mask = np.zeros((groups, layout.used_rows), dtype=np.uint8)
    for g in range(groups):
        score = rows[g * group:(g + 1) * group].sum(axis=(0, 2))
        mask[g, np.argsort(score, kind="stable")[:k]] = 1
    return mask


def rebuild_dense(ce_values, basis, layout):
    """Dense weight from Ce values [O, nb, br, 3] and B [O, nb, 3, 3]."""
    dense = np.einsum("onrk,onkj->onrj", ce_values.astype(np.float64),
                      basis.astype(np.float64))
    dense = dense.reshape(layout.outputs, -1)[:, :layout.row_length]
    return dense.reshape(layout.shape)


def decompose_weight(w, threshold=1e-3, iternum=30, tol=1e-10, rcond=1e-10,
                     min_exp=-8, max_exp=5, threshold_row=False,
                     row_factor=5.0, scale=False, decay=0.5, max_restarts=8,
                     max_block_rows=DEFAULT_MAX_BLOCK_ROWS, fraction=0.0,
                     group=32, outputs=None):
    """Decompose a dense weight; `outputs` restricts work to some filters."""
    w = np.asarray(w, dtype=np.float32)
    layout = BlockLayout(w.shape, max_block_rows)
    mask = None
    target = w.astype(np.float64)
    if fraction > 0:
        mask = structured_row_mask(w, layout, fraction, group)
        rows = layout.rows(target)
        for o in range(layout.outputs):
            rows[o, mask[o // group] != 0, :] = 0
        target = rows.reshape(layout.outputs, -1)[:, :layout.row_length]
        target = target.reshape(w.shape)
    blocks = layout.to_blocks(target)
    O, nb, br = layout.outputs, layout.num_blocks, layout.block_rows
    codes = np.zeros((O, nb, br, BASIS), dtype=np.int8)
    basis = np.zeros((O, nb, BASIS, BASIS), dtype=np.float32)
    iterations = np.zeros((O, nb), dtype=np.int32)
    selected = range(O) if outputs is None else outputs
    for o in selected:
        for b in range(nb):
            global_rows = b * br + np.arange(br)
            frozen = global_rows >= layout.used_rows
            if mask is not None:
                inside = global_rows < layout.used_rows
                frozen[inside] |= mask[o // group, global_rows[inside]] != 0
            r = decompose_block(blocks[o, b], threshold, iternum, tol, rcond,
                                min_exp, max_exp, threshold_row, row_factor,
                                scale, decay, max_restarts, frozen)
            codes[o, b] = codes_from_values(r["ce"], min_exp)
            basis[o, b] = r["basis"].astype(np.float32)
            iterations[o, b] = r["iterations"]
    return dict(layout=layout, codes=codes, basis=basis,
                iterations=iterations, pruned=mask, target=target)


def storage_bits(codes, layout, basis_bits=8, index="entry", code_bits=0):
    """Storage of a decomposed weight, as in docs/decomposition.md."""
    codes = np.asarray(codes)
    nnz = int(np.count_nonzero(codes))
    distinct = len(np.unique(np.abs(codes[codes != 0])))
    rows = codes.reshape(-1, BASIS)
    nz_rows = int(np.count_nonzero(np.any(rows != 0, axis=1)))
    num_basis = layout.outputs * layout.num_blocks * BASIS * BASIS
    if index == "entry":
        w = code_bits or (math.ceil(math.log2(distinct)) + 1 if distinct else 0)
        bits = nnz * w + codes.size + num_basis * basis_bits
    else:
        w = code_bits or (math.ceil(math.log2(distinct + 1)) + 1
                          if distinct else 0)
        bits = nz_rows * BASIS * w + rows.shape[0] + num_basis * basis_bits
    dense = 32 * layout.outputs * layout.row_length
    return dict(value_bits_per_entry=w, total_bits=bits,
                compression_ratio=dense / bits if bits else 0.0)
