"""SmartDeal (SmartExchange-form) and PermDNN layers that keep their form while training.

SE layers (`SELinear`, `SEConv2d`) hold, in the sd block layout
(`docs/SDDialect-rationale.md`):

* `ce`    latent real-valued coefficients, parameter `[O, nb, rows, 3]`;
* `mask`  fixed 0/1 buffer of the same shape (the decomposition's non-zeros;
          padding rows are always 0);
* `basis` parameter `[O, nb, 3, 3]`.

Forward: `W = (pow2(ce) * mask) @ basis` per block, flattened per output,
padding dropped, reshaped to the weight; then the ordinary linear / conv.
`pow2` is the decomposition's quantizer (see `pow2`), differentiated with a
straight-through estimator.

`PermDiagLinear` holds fixed offsets `[rb, cb]` and trainable values
`[rb, cb, p]`; block (i, j) row c has `values[i, j, c]` at column
`(c + offsets[i, j]) mod p`.
"""

from __future__ import annotations

import math
from typing import Sequence, Tuple

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from ..ir.emitter import permdiag_type, se_type
from ..ir.codes import decode_codes, encode_values
from .decompose import decompose_weight

__all__ = [
    "MAX_BLOCK_ROWS",
    "BucketSwitch",
    "PermDiagLinear",
    "SEConv2d",
    "SELinear",
    "SEWeightBase",
    "block_layout",
    "codes_to_values",
    "pow2",
    "pow2_ste",
    "to_blocks",
    "values_to_codes",
]

MAX_BLOCK_ROWS = 192


# ---------------------------------------------------------------------------
# Power-of-two rounding
# ---------------------------------------------------------------------------

def pow2(v: torch.Tensor, lo: int, hi: int) -> torch.Tensor:
    """Round to a signed power of two in [2^lo, 2^hi], or 0 (no gradient).

    The rule is the C++ quantizer's (`quantizeCoefficient` in
    lib/Compression/Decompose.cpp): |v| goes to the nearer of the two powers
    of two around it by linear distance, the smaller one on a tie (|v| = 1.5 *
    2^e -> 2^e); magnitudes rounding above 2^hi become 2^hi; magnitudes
    rounding below 2^lo become 0. So |v| <= 0.75 * 2^lo -> 0 and
    0.75 * 2^lo < |v| < 2^lo -> 2^lo. Exact (frexp, no logarithms).
    """
    mant, exp = torch.frexp(v.abs())          # |v| = mant * 2^exp, mant in [0.5, 1)
    e = exp - 1 + (mant > 0.75).to(exp.dtype)  # exponent of the rounded magnitude
    e = torch.clamp(e, max=hi)
    mag = torch.ldexp(torch.ones_like(v), e)
    mag = torch.where((e < lo) | (v == 0), torch.zeros_like(v), mag)
    return torch.sign(v) * mag


class _Pow2STE(torch.autograd.Function):
    @staticmethod
    def forward(ctx, v, lo, hi):
        return pow2(v, lo, hi)

    @staticmethod
    def backward(ctx, g):
        return g, None, None


def pow2_ste(v: torch.Tensor, lo: int, hi: int) -> torch.Tensor:
    """pow2 forward, identity backward (straight-through estimator)."""
    return _Pow2STE.apply(v, lo, hi)


# The Ce code rule (smartdeal.ir.codes) under the names this package uses.
values_to_codes = encode_values
codes_to_values = decode_codes


# ---------------------------------------------------------------------------
# Block layout (include/SD/Compression/Layout.h)
# ---------------------------------------------------------------------------

def block_layout(shape: Sequence[int], max_rows: int = MAX_BLOCK_ROWS) -> Tuple[int, int, int]:
    """(row length L, numBlocks, blockRows): fewest blocks of <= 192 rows, spread evenly."""
    length = int(np.prod(shape[1:]))
    m0 = -(-length // 3)
    nb = -(-m0 // max_rows)
    rows = -(-m0 // nb)
    return length, nb, rows


def to_blocks(w: np.ndarray, nb: int, rows: int) -> np.ndarray:
    """Dense weight [O, ...] -> [O, nb, rows, 3] (zero-padded)."""
    o = w.shape[0]
    flat = np.zeros((o, nb * rows * 3), dtype=w.dtype)
    flat[:, : int(np.prod(w.shape[1:]))] = w.reshape(o, -1)
    return flat.reshape(o, nb, rows, 3)


# ---------------------------------------------------------------------------
# SE layers
# ---------------------------------------------------------------------------

class SEWeightBase(nn.Module):
    """Shared SE weight machinery; subclasses add the linear / conv forward."""

    def _init_se(self, weight_shape, exponents=(-8, 5), codes=None, basis=None):
        self.weight_shape = tuple(int(d) for d in weight_shape)
        self.lo, self.hi = int(exponents[0]), int(exponents[1])
        self.length, self.nb, self.rows = block_layout(self.weight_shape)
        o = self.weight_shape[0]
        if codes is None:  # random non-zero pattern; from_dense is the usual route
            codes = np.random.randint(1, self.hi - self.lo + 2, size=(o, self.nb, self.rows, 3))
            codes = (codes * np.random.choice([-1, 1], size=codes.shape)).astype(np.int8)
            pad = np.zeros((o, self.nb * self.rows * 3), bool)
            pad[:, : self.length] = True
            codes = np.where(pad.reshape(codes.shape), codes, 0).astype(np.int8)
        if basis is None:
            basis = np.random.randn(o, self.nb, 3, 3).astype(np.float32) * 0.05
        codes = np.asarray(codes).reshape(o, self.nb, self.rows, 3)
        self.ce = nn.Parameter(torch.tensor(codes_to_values(codes, self.lo), dtype=torch.float32))
        self.register_buffer("mask", torch.tensor(codes != 0, dtype=torch.float32))
        self.basis = nn.Parameter(torch.tensor(np.asarray(basis, np.float32).reshape(o, self.nb, 3, 3)))

    def quantized_ce(self) -> torch.Tensor:
        return pow2_ste(self.ce, self.lo, self.hi) * self.mask

    def weight(self) -> torch.Tensor:
        # rows[o, b, r, j] = sum_k Ce[o, b, r, k] * B[o, b, k, j], added in order k = 0, 1, 2
        # like the oracle (and much faster than a batched matmul of 3 x 3 blocks).
        q, b = self.quantized_ce(), self.basis
        rows = (q[..., 0:1] * b[:, :, None, 0, :] + q[..., 1:2] * b[:, :, None, 1, :]
                + q[..., 2:3] * b[:, :, None, 2, :])                   # [O, nb, rows, 3]
        o = self.weight_shape[0]
        return rows.reshape(o, -1)[:, : self.length].reshape(self.weight_shape)

    def codes(self) -> np.ndarray:
        """The current Ce as sd codes [O, nb, rows, 3] (int8)."""
        with torch.no_grad():
            return values_to_codes(self.quantized_ce().cpu().numpy(), self.lo)

    def basis_array(self) -> np.ndarray:
        return self.basis.detach().cpu().numpy().astype(np.float32)

    def se_type(self) -> str:
        return se_type(self.weight_shape, self.nb, self.rows, self.lo, self.hi)

    def storage_bits(self, basis_bits: int = 32) -> int:
        """Row-bitmap storage (the accelerator's index selector,
        `computeStorage(..., RowBitmap)` in docs/decomposition.md): every entry
        of a row of 3 that has a non-zero code, at ceil(log2(levels+1))+1 bits
        (a kept row stores its zeros too), one index bit per row of 3 (padding
        rows included), and the bases at `basis_bits`."""
        levels = self.hi - self.lo + 1
        code_bits = math.ceil(math.log2(levels + 1)) + 1
        with torch.no_grad():
            q = self.quantized_ce()
            kept_rows = int((q != 0).any(dim=-1).sum().item())
        o = self.weight_shape[0]
        return (kept_rows * 3 * code_bits + o * self.nb * self.rows
                + o * self.nb * 9 * basis_bits)

    def extra_repr(self) -> str:
        return (f"shape={self.weight_shape}, blocks={self.nb}x{self.rows}, "
                f"exponents=[{self.lo}, {self.hi}], nnz={int(self.mask.sum().item())}")


class SELinear(SEWeightBase):
    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 exponents=(-8, 5), codes=None, basis=None):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self._init_se((out_features, in_features), exponents, codes, basis)
        self.bias = nn.Parameter(torch.zeros(out_features)) if bias else None

    def forward(self, x):
        return F.linear(x, self.weight(), self.bias)

    @classmethod
    def from_dense(cls, module: nn.Linear, threshold: float = 1e-3,
                   exponents=(-8, 5), **options) -> "SELinear":
        w = module.weight.detach().cpu().numpy()
        codes, basis, _ = decompose_weight(w, threshold, exponents, **options)
        layer = cls(module.in_features, module.out_features, module.bias is not None,
                    exponents, codes, basis)
        if module.bias is not None:
            layer.bias.data.copy_(module.bias.detach())
        return layer


class SEConv2d(SEWeightBase):
    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1,
                 padding=0, dilation=1, bias: bool = True, exponents=(-8, 5),
                 codes=None, basis=None):
        super().__init__()
        ks = _pair(kernel_size)
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride = ks, _pair(stride)
        self.padding, self.dilation = _pair(padding), _pair(dilation)
        self._init_se((out_channels, in_channels) + ks, exponents, codes, basis)
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None

    def forward(self, x):
        return F.conv2d(x, self.weight(), self.bias, self.stride, self.padding, self.dilation)

    @classmethod
    def from_dense(cls, module: nn.Conv2d, threshold: float = 1e-3,
                   exponents=(-8, 5), **options) -> "SEConv2d":
        if module.groups != 1 or isinstance(module.padding, str):
            raise ValueError("SEConv2d: groups=1 and numeric padding only")
        w = module.weight.detach().cpu().numpy()
        codes, basis, _ = decompose_weight(w, threshold, exponents, **options)
        layer = cls(module.in_channels, module.out_channels, module.kernel_size,
                    module.stride, module.padding, module.dilation,
                    module.bias is not None, exponents, codes, basis)
        if module.bias is not None:
            layer.bias.data.copy_(module.bias.detach())
        return layer


def _pair(v) -> Tuple[int, int]:
    return (int(v), int(v)) if isinstance(v, int) else (int(v[0]), int(v[1]))


# ---------------------------------------------------------------------------
# Bucket Switch
# ---------------------------------------------------------------------------

class BucketSwitch:
    """Bucket Switch update of the SE layers' Ce (ALGORITHM.md §2).

    Use instead of letting the optimizer move `ce` (leave `ce` out of the
    optimizer, e.g. with `finetune(..., bucket_switch=BucketSwitch(model))`).
    After each backward pass, `step()` adds -sign(dL/dCe) to a counter per
    masked-in entry; when a counter reaches +-bar the entry moves one step in
    that direction and the counter resets: a non-zero entry doubles (the step
    agrees with its sign) or halves (it opposes it; halving 2^lo gives 0), the
    exponent staying <= hi; a zero entry becomes +-2^lo. Ce stays an exact
    power of two (or 0) inside the mask at all times.
    """

    def __init__(self, model: nn.Module, bar: int = 8):
        self.layers = [m for m in model.modules() if isinstance(m, SEWeightBase)]
        self.bar = bar
        self.counters = [torch.zeros_like(m.ce, dtype=torch.int32) for m in self.layers]
        for m in self.layers:  # snap the latent copy onto its quantized value
            with torch.no_grad():
                m.ce.copy_(pow2(m.ce, m.lo, m.hi) * m.mask)

    def parameters_to_exclude(self):
        return [m.ce for m in self.layers]

    @torch.no_grad()
    def step(self) -> int:
        switched = 0
        for m, cnt in zip(self.layers, self.counters):
            if m.ce.grad is None:
                continue
            cnt -= torch.sign(m.ce.grad).to(torch.int32) * m.mask.to(torch.int32)
            fire = cnt.abs() >= self.bar
            if not bool(fire.any()):
                continue
            direction = torch.sign(cnt).to(m.ce.dtype)
            v = m.ce
            grow = torch.sign(v) == direction
            up = torch.clamp(v * 2, -2.0 ** m.hi, 2.0 ** m.hi)
            down = v / 2
            down = torch.where(down.abs() < 2.0 ** m.lo, torch.zeros_like(down), down)
            nonzero = torch.where(grow, up, down)
            new = torch.where(v == 0, direction * 2.0 ** m.lo, nonzero)
            v.copy_(torch.where(fire, new * m.mask, v))
            cnt.masked_fill_(fire, 0)
            switched += int(fire.sum().item())
        return switched


# ---------------------------------------------------------------------------
# PermDNN
# ---------------------------------------------------------------------------

class PermDiagLinear(nn.Module):
    """Linear layer whose out x in weight is a grid of p x p permuted-diagonal blocks."""

    def __init__(self, in_features: int, out_features: int, p: int, bias: bool = True,
                 offsets=None, values=None):
        super().__init__()
        self.in_features, self.out_features, self.p = in_features, out_features, p
        self.rb, self.cb = -(-out_features // p), -(-in_features // p)
        if offsets is None:
            offsets = np.random.randint(0, p, size=(self.rb, self.cb))
        if values is None:
            values = np.random.randn(self.rb, self.cb, p) / math.sqrt(in_features / p)
            values = values * self._valid_mask(np.asarray(offsets))
        self.register_buffer("offsets", torch.tensor(np.asarray(offsets), dtype=torch.int64))
        self.values = nn.Parameter(torch.tensor(np.asarray(values), dtype=torch.float32))
        self.bias = nn.Parameter(torch.zeros(out_features)) if bias else None

    def _valid_mask(self, offsets: np.ndarray) -> np.ndarray:
        """1 where block entry (i, j, c) lies inside the unpadded matrix."""
        p = self.p
        c = np.arange(p)
        row = np.arange(self.rb)[:, None, None] * p + c[None, None, :]
        col = np.arange(self.cb)[None, :, None] * p + (c[None, None, :] + offsets[:, :, None]) % p
        return ((row < self.out_features) & (col < self.in_features)).astype(np.float32)

    def weight(self) -> torch.Tensor:
        p = self.p
        cols = (torch.arange(p, device=self.offsets.device)[None, None, :]
                + self.offsets[:, :, None]) % p                       # [rb, cb, p]
        onehot = F.one_hot(cols, p).to(self.values.dtype)            # [rb, cb, p(c), p(col)]
        blocks = self.values[..., None] * onehot
        dense = blocks.permute(0, 2, 1, 3).reshape(self.rb * p, self.cb * p)
        return dense[: self.out_features, : self.in_features]

    def forward(self, x):
        return F.linear(x, self.weight(), self.bias)

    def permdiag_type(self) -> str:
        return permdiag_type((self.out_features, self.in_features), self.p)

    def storage_bits(self) -> int:
        return self.rb * self.cb * (32 * self.p + max(1, math.ceil(math.log2(self.p))))

    @staticmethod
    def project(w: np.ndarray, p: int):
        """(offsets [rb, cb], values [rb, cb, p]): per block the max-energy diagonal, ties to smaller k."""
        m, n = w.shape
        rb, cb = -(-m // p), -(-n // p)
        pad = np.zeros((rb * p, cb * p), np.float64)
        pad[:m, :n] = w
        blocks = pad.reshape(rb, p, cb, p).transpose(0, 2, 1, 3)  # [rb, cb, c, col]
        c = np.arange(p)
        diag = np.stack([blocks[:, :, c, (c + k) % p] for k in range(p)], axis=2)  # [rb, cb, k, c]
        energy = (diag ** 2).sum(-1)
        offsets = energy.argmax(-1)
        values = np.take_along_axis(diag, offsets[:, :, None, None], axis=2)[:, :, 0, :]
        return offsets.astype(np.int64), values.astype(np.float32)

    @classmethod
    def from_dense(cls, module: nn.Linear, p: int) -> "PermDiagLinear":
        offsets, values = cls.project(module.weight.detach().cpu().numpy(), p)
        layer = cls(module.in_features, module.out_features, p, module.bias is not None,
                    offsets, values)
        if module.bias is not None:
            layer.bias.data.copy_(module.bias.detach())
        return layer

    def extra_repr(self) -> str:
        return f"in={self.in_features}, out={self.out_features}, p={self.p}"
