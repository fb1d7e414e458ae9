"""Layer-level lowerings (linear, conv, norms, pooling, ...) shared by both importers.

Each function turns one framework-level operation into the sequence of
upstream ops that torch-mlir's linalg-on-tensors backend produces for it, so
the PyTorch and ONNX importers emit the same patterns and the compressor has
one contract to match: a weight constant feeding linalg.matmul (through
linalg.transpose when stored N x K) or a convolution.
"""

from __future__ import annotations

import math
from typing import Optional, Sequence, Tuple

import numpy as np

from ..ir.emitter import ModuleWriter, Value

Pads2 = Tuple[int, int, int, int]  # top, left, bottom, right


# ------------------------------------------------------------------ weights
def linear(
    w: ModuleWriter,
    x: Value,
    weight: np.ndarray,
    bias: Optional[np.ndarray],
    weight_name: str,
    bias_name: Optional[str],
    loc: Optional[str],
    weight_layout: str = "NK",
) -> Value:
    """y = x W^T + b (layout "NK", nn.Linear / Gemm transB) or x W + b ("KN").

    An N x K weight goes through linalg.transpose to K x N; 2-D inputs use
    linalg.matmul, 3-D inputs broadcast the weight over the batch and use
    linalg.batch_matmul, the shapes torch-mlir produces for aten.linear.
    """
    wc = w.constant(weight, weight_name)
    wt = w.transpose(wc, [1, 0], loc) if weight_layout == "NK" else wc
    k, n = wt.shape
    if x.shape[-1] != k:
        raise ValueError(f"linear: input {x.shape} does not match weight K={k}")
    if x.rank == 2:
        y = w.matmul(x, wt, loc)
    elif x.rank == 3:
        b = w.broadcast(wt, (x.shape[0], k, n), [0], loc)
        y = w.batch_matmul(x, b, loc)
    else:
        lead = x.shape[:-1]
        x2 = w.reshape(x, (int(np.prod(lead, dtype=np.int64)), k))
        y = w.reshape(w.matmul(x2, wt, loc), tuple(lead) + (n,))
    if bias is not None:
        bc = w.constant(bias, bias_name or weight_name + "_bias")
        y = w.elementwise([y, bc], lambda b, a, c: b.add(a, c), loc)
    return y


def conv_output_size(size: int, k: int, stride: int, pad: int, dil: int) -> int:
    return (size + pad - dil * (k - 1) - 1) // stride + 1


def conv2d(
    w: ModuleWriter,
    x: Value,
    weight: np.ndarray,
    bias: Optional[np.ndarray],
    strides: Sequence[int],
    pads: Pads2,
    dilations: Sequence[int],
    groups: int,
    weight_name: str,
    bias_name: Optional[str],
    loc: Optional[str],
) -> Value:
    """NCHW convolution: tensor.pad, then the linalg conv, then a bias generic.

    groups == 1 uses linalg.conv_2d_nchw_fchw with the F x C x R x S weight
    constant as it is; depthwise (groups == C == F) uses
    linalg.depthwise_conv_2d_nchw_chw with the weight stored C x R x S; any
    other grouping uses linalg.conv_2d_ngchw_gfchw on a G-split view, as
    torch-mlir does.
    """
    n, c, h, wd = x.shape
    f, cg, r, s = weight.shape
    if c != cg * groups or f % groups:
        raise ValueError(
            f"conv: input channels {c} do not match weight {weight.shape} "
            f"with groups={groups}"
        )
    top, left, bottom, right = pads
    xp = w.pad(x, [0, 0, top, left], [0, 0, bottom, right], 0.0)
    if groups == 1:
        wc = w.constant(weight, weight_name)
        y = w.conv2d_nchw_fchw(xp, wc, strides, dilations, loc)
    elif groups == c and f == c:
        wc = w.constant(weight.reshape(c, r, s), weight_name)
        y = w.depthwise_conv2d_nchw_chw(xp, wc, strides, dilations, loc)
    else:
        g = groups
        wc = w.constant(weight.reshape(g, f // g, cg, r, s), weight_name)
        _, _, hp, wp = xp.shape
        xg = w.expand(xp, [[0], [1, 2], [3], [4]], (n, g, cg, hp, wp))
        yg = w.conv2d_ngchw_gfchw(xg, wc, strides, dilations, loc)
        y = w.collapse(yg, [[0], [1, 2], [3], [4]])
    if bias is not None:
        y = add_channel_bias(w, y, bias, bias_name or weight_name + "_bias", loc)
    return y


def conv_transpose2d(
    w: ModuleWriter,
    x: Value,
    weight: np.ndarray,
    bias: Optional[np.ndarray],
    strides: Sequence[int],
    pads: Pads2,
    dilations: Sequence[int],
    output_padding: Sequence[int],
    weight_name: str,
    bias_name: Optional[str],
    loc: Optional[str],
) -> Value:
    """Transposed convolution (groups == 1) as a stride-1 direct convolution.

    The input is spread out with zeros between its pixels and padded by
    dilation * (k - 1) - pad on each side (tensor.insert_slice with strides
    into a zero-filled tensor), then convolved with the weight's in/out
    channels swapped and its kernel flipped, which is how torch-mlir lowers
    aten.convolution with transposed=True. The weight constant is stored in
    that C_out x C_in x R x S conv layout under the original weight's name.
    """
    n, c, h, wd = x.shape
    cin, cout, r, s = weight.shape
    if cin != c:
        raise ValueError(
            f"conv_transpose: input has {c} channels, weight {weight.shape}"
        )
    conv_w = np.ascontiguousarray(weight.transpose(1, 0, 2, 3)[:, :, ::-1, ::-1])
    top, left, bottom, right = pads
    lo_h = dilations[0] * (r - 1) - top
    lo_w = dilations[1] * (s - 1) - left
    hi_h = dilations[0] * (r - 1) - bottom + output_padding[0]
    hi_w = dilations[1] * (s - 1) - right + output_padding[1]
    if min(lo_h, lo_w, hi_h, hi_w) < 0:
        raise ValueError("conv_transpose: padding larger than the kernel extent")
    full_h = (h - 1) * strides[0] + 1 + lo_h + hi_h
    full_w = (wd - 1) * strides[1] + 1 + lo_w + hi_w
    zeros = w.fill((n, c, full_h, full_w), 0.0)
    spread = w.insert_slice(
        x, zeros, [0, 0, lo_h, lo_w], [1, 1, strides[0], strides[1]]
    )
    wc = w.constant(conv_w, weight_name)
    y = w.conv2d_nchw_fchw(spread, wc, (1, 1), dilations, loc)
    if bias is not None:
        y = add_channel_bias(w, y, bias, bias_name or weight_name + "_bias", loc)
    return y


def upsample_nearest(
    w: ModuleWriter, x: Value, scales: Sequence[int], loc=None
) -> Value:
    """Nearest-neighbour upsampling of the trailing dims by integer factors.

    out[..., i, j] = x[..., i floordiv sh, j floordiv sw]: PyTorch's 'nearest'
    and ONNX Resize(nearest, asymmetric, floor) for integer scales.
    """
    lead = x.rank - len(scales)
    shape = list(x.shape[:lead]) + [d * int(f) for d, f in zip(x.shape[lead:], scales)]
    exprs = [f"d{i}" for i in range(lead)]
    for k, f in enumerate(scales):
        i = lead + k
        exprs.append(f"d{i}" if int(f) == 1 else f"d{i} floordiv {int(f)}")
    return w.gather_affine(x, shape, exprs, loc)


def reflect_pad(
    w: ModuleWriter, x: Value, low: Sequence[int], high: Sequence[int], loc=None
) -> Value:
    """Reflection padding (edge not repeated), one dimension at a time.

    The mirrored borders are read through maps like (d0, d1) -> (d0, 64 - d1)
    and concatenated around the tensor.
    """
    for axis in range(x.rank):
        lo, hi, n = int(low[axis]), int(high[axis]), x.shape[axis]
        if not lo and not hi:
            continue

        def mirror(size: int, base: int) -> Value:
            shape = list(x.shape)
            shape[axis] = size
            exprs = [f"d{i}" for i in range(x.rank)]
            exprs[axis] = f"{base} - d{axis}"
            return w.gather_affine(x, shape, exprs, loc)

        parts = ([mirror(lo, lo)] if lo else []) + [x]
        parts += [mirror(hi, n - 2)] if hi else []
        x = w.concat(parts, axis)
    return x


def conv1d(
    w: ModuleWriter,
    x: Value,
    weight: np.ndarray,
    bias: Optional[np.ndarray],
    stride: int,
    pads: Tuple[int, int],
    dilation: int,
    weight_name: str,
    bias_name: Optional[str],
    loc: Optional[str],
) -> Value:
    """NCW convolution (groups == 1) as linalg.conv_1d_ncw_fcw."""
    xp = w.pad(x, [0, 0, pads[0]], [0, 0, pads[1]], 0.0)
    wc = w.constant(weight, weight_name)
    y = w.conv1d_ncw_fcw(xp, wc, stride, dilation, loc)
    if bias is not None:
        y = add_channel_bias(w, y, bias, bias_name or weight_name + "_bias", loc)
    return y


def add_channel_bias(
    w: ModuleWriter, y: Value, bias: np.ndarray, name: str, loc: Optional[str]
) -> Value:
    """y[n, f, ...] + bias[f], read through the map (d0, d1, ...) -> (d1)."""
    bc = w.constant(np.asarray(bias).reshape(-1), name)
    return w.elementwise([y, bc], lambda b, a, c: b.add(a, c), loc, dims=[None, [1]])


def fold_batchnorm(
    weight: np.ndarray,
    bias: Optional[np.ndarray],
    gamma: np.ndarray,
    beta: np.ndarray,
    mean: np.ndarray,
    var: np.ndarray,
    eps: float,
) -> Tuple[np.ndarray, np.ndarray]:
    """Conv weight and bias with an inference BatchNorm folded in.

    W' = W * gamma / sqrt(var + eps) per output channel and
    b' = (b - mean) * gamma / sqrt(var + eps) + beta; done in float64 so the
    folded layer matches conv-then-BN to float32 rounding.
    """
    scale = gamma.astype(np.float64) / np.sqrt(var.astype(np.float64) + eps)
    shape = (-1,) + (1,) * (weight.ndim - 1)
    w2 = weight.astype(np.float64) * scale.reshape(shape)
    b0 = np.zeros_like(scale) if bias is None else bias.astype(np.float64)
    b2 = (b0 - mean.astype(np.float64)) * scale + beta.astype(np.float64)
    return w2.astype(np.float32), b2.astype(np.float32)


def batchnorm(
    w: ModuleWriter,
    x: Value,
    gamma: np.ndarray,
    beta: np.ndarray,
    mean: np.ndarray,
    var: np.ndarray,
    eps: float,
    names: Sequence[str],
    loc: Optional[str],
) -> Value:
    """Inference BatchNorm over dimension 1: (x - mean) / sqrt(var + eps) * g + b."""
    consts = [
        w.constant(np.asarray(a).reshape(-1), nm)
        for a, nm in zip((mean, var, gamma, beta), names)
    ]

    def body(b, xv, m, v, g, bt):
        d = b.sub(xv, m)
        den = b.math("sqrt", b.add(v, b.const(eps)))
        return b.add(b.mul(b.div(d, den), g), bt)

    return w.elementwise([x] + consts, body, loc, dims=[None, [1], [1], [1], [1]])


# -------------------------------------------------------------- elementwise
def relu(w: ModuleWriter, x: Value, loc=None) -> Value:
    return w.elementwise([x], lambda b, a: b.max(a, b.const(0.0)), loc)


def clamp(w: ModuleWriter, x: Value, lo, hi, loc=None) -> Value:
    return w.elementwise([x], lambda b, a: b.clamp(a, lo, hi), loc)


def hardsigmoid(w: ModuleWriter, x: Value, alpha=1.0 / 6.0, beta=0.5, loc=None):
    """clamp(alpha * x + beta, 0, 1); PyTorch's is alpha = 1/6, beta = 1/2."""

    def body(b, a):
        return b.clamp(b.add(b.mul(a, b.const(alpha)), b.const(beta)), 0.0, 1.0)

    return w.elementwise([x], body, loc)


def hardswish(w: ModuleWriter, x: Value, loc=None) -> Value:
    """x * clamp(x + 3, 0, 6) / 6."""

    def body(b, a):
        r6 = b.clamp(b.add(a, b.const(3.0)), 0.0, 6.0)
        return b.div(b.mul(a, r6), b.const(6.0))

    return w.elementwise([x], body, loc)


def sigmoid(w: ModuleWriter, x: Value, loc=None) -> Value:
    return w.elementwise([x], lambda b, a: b.sigmoid(a), loc)


def silu(w: ModuleWriter, x: Value, loc=None) -> Value:
    return w.elementwise([x], lambda b, a: b.mul(a, b.sigmoid(a)), loc)


def tanh(w: ModuleWriter, x: Value, loc=None) -> Value:
    return w.elementwise([x], lambda b, a: b.math("tanh", a), loc)


def gelu(w: ModuleWriter, x: Value, approximate: str = "none", loc=None) -> Value:
    """Exact GELU with math.erf, or the tanh approximation, like torch-mlir."""

    def exact(b, a):
        e = b.math("erf", b.mul(a, b.const(1.0 / math.sqrt(2.0))))
        return b.mul(b.mul(a, b.const(0.5)), b.add(e, b.const(1.0)))

    def approx(b, a):
        cube = b.mul(b.mul(a, a), a)
        inner = b.add(a, b.mul(cube, b.const(0.044715)))
        t = b.math("tanh", b.mul(inner, b.const(math.sqrt(2.0 / math.pi))))
        return b.mul(b.mul(a, b.const(0.5)), b.add(t, b.const(1.0)))

    return w.elementwise([x], approx if approximate == "tanh" else exact, loc)


BINARY = {
    "add": lambda b, x, y: b.add(x, y),
    "sub": lambda b, x, y: b.sub(x, y),
    "mul": lambda b, x, y: b.mul(x, y),
    "div": lambda b, x, y: b.div(x, y),
    "max": lambda b, x, y: b.max(x, y),
    "min": lambda b, x, y: b.min(x, y),
}


def binary(w: ModuleWriter, op: str, x, y, loc=None) -> Value:
    """Broadcasting add/sub/mul/div/max/min; either side may be a float."""
    return w.elementwise([x, y], BINARY[op], loc)


def power(w: ModuleWriter, x: Value, exponent: float, loc=None) -> Value:
    """x ** e; e == 2 becomes x * x and 0.5 sqrt (exact, and negative-safe)."""
    if exponent == 2.0:
        return w.elementwise([x], lambda b, a: b.mul(a, a), loc)
    if exponent == 1.0:
        return x
    if exponent == 0.5:
        return w.elementwise([x], lambda b, a: b.math("sqrt", a), loc)
    return w.elementwise([x], lambda b, a: b.powf(a, b.const(exponent)), loc)


# ------------------------------------------------------------- reductions
def mean(w: ModuleWriter, x: Value, axes: Sequence[int], keepdims=True, loc=None):
    """Sum reduction, then division by the number of reduced elements."""
    axes = sorted({a % x.rank for a in axes})
    count = float(np.prod([x.shape[a] for a in axes], dtype=np.int64))
    s = w.reduce(x, axes, "sum", keepdims, loc)
    return w.elementwise([s, count], lambda b, a, c: b.div(a, c), loc)


def softmax(w: ModuleWriter, x: Value, axes: Sequence[int], loc=None) -> Value:
    """exp(x - max) / sum(exp(x - max)) over `axes` (normally just the last)."""
    m = w.reduce(x, axes, "max", True, loc)
    e = w.elementwise([x, m], lambda b, a, c: b.math("exp", b.sub(a, c)), loc)
    s = w.reduce(e, axes, "sum", True, loc)
    return w.elementwise([e, s], lambda b, a, c: b.div(a, c), loc)


def layer_norm(
    w: ModuleWriter,
    x: Value,
    ndim: int,
    gamma: Optional[np.ndarray],
    beta: Optional[np.ndarray],
    eps: float,
    names: Sequence[str],
    loc: Optional[str],
) -> Value:
    """(x - mean) * rsqrt(var + eps) * gamma + beta over the last `ndim` dims."""
    axes = list(range(x.rank - ndim, x.rank))
    mu = mean(w, x, axes, True, loc)
    d = w.elementwise([x, mu], lambda b, a, c: b.sub(a, c), loc)
    var = mean(w, w.elementwise([d], lambda b, a: b.mul(a, a), loc), axes, True, loc)
    y = w.elementwise(
        [d, var], lambda b, a, v: b.mul(a, b.math("rsqrt", b.add(v, b.const(eps)))), loc
    )
    if gamma is not None:
        g = w.constant(gamma, names[0])
        y = w.elementwise([y, g], lambda b, a, c: b.mul(a, c), loc)
    if beta is not None:
        bt = w.constant(beta, names[1])
        y = w.elementwise([y, bt], lambda b, a, c: b.add(a, c), loc)
    return y


# ---------------------------------------------------------------- pooling
def _ceil_extra(size: int, k: int, stride: int, pad_lo: int, pad_hi: int, dil: int):
    """Extra high padding that ceil_mode needs (PyTorch's output-size rule)."""
    eff = dil * (k - 1) + 1
    floor_out = (size + pad_lo + pad_hi - eff) // stride + 1
    ceil_out = -(-(size + pad_lo + pad_hi - eff) // stride) + 1
    # The last window must start inside the input or the left padding.
    if (ceil_out - 1) * stride >= size + pad_lo:
        ceil_out -= 1
    return max(0, (ceil_out - floor_out) * stride), ceil_out


def max_pool2d(
    w: ModuleWriter,
    x: Value,
    kernel: Sequence[int],
    strides: Sequence[int],
    pads: Pads2,
    dilations: Sequence[int] = (1, 1),
    ceil_mode: bool = False,
    loc=None,
) -> Value:
    """-inf padding and linalg.pooling_nchw_max."""
    top, left, bottom, right = pads
    if ceil_mode:
        bottom += _ceil_extra(
            x.shape[2], kernel[0], strides[0], top, bottom, dilations[0]
        )[0]
        right += _ceil_extra(
            x.shape[3], kernel[1], strides[1], left, right, dilations[1]
        )[0]
    xp = w.pad(x, [0, 0, top, left], [0, 0, bottom, right], -math.inf)
    return w.pooling_nchw(xp, "max", kernel, strides, dilations, loc)


def avg_divisors(
    size: int,
    k: int,
    stride: int,
    pad_lo: int,
    pad_hi: int,
    out: int,
    include_pad: bool,
) -> np.ndarray:
    """Per-output-position window sizes, PyTorch's avg_pool2d rule."""
    res = np.zeros(out, dtype=np.float64)
    for o in range(out):
        start = o * stride - pad_lo
        end = min(start + k, size + pad_hi)
        full = end - start
        start_c, end_c = max(start, 0), min(end, size)
        res[o] = full if include_pad else (end_c - start_c)
    return res


def avg_pool2d(
    w: ModuleWriter,
    x: Value,
    kernel: Sequence[int],
    strides: Sequence[int],
    pads: Pads2,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: Optional[int] = None,
    loc=None,
) -> Value:
    """Zero padding, linalg.pooling_nchw_sum, then a division.

    The divisor is one float when every window has the same size, otherwise
    a small constant tensor of per-position window sizes.
    """
    top, left, bottom, right = pads
    h, wd = x.shape[2], x.shape[3]
    extra_h = extra_w = 0
    if ceil_mode:
        extra_h = _ceil_extra(h, kernel[0], strides[0], top, bottom, 1)[0]
        extra_w = _ceil_extra(wd, kernel[1], strides[1], left, right, 1)[0]
    xp = w.pad(x, [0, 0, top, left], [0, 0, bottom + extra_h, right + extra_w], 0.0)
    s = w.pooling_nchw(xp, "sum", kernel, strides, (1, 1), loc)
    ho, wo = s.shape[2], s.shape[3]
    if divisor_override:
        return w.elementwise(
            [s, float(divisor_override)], lambda b, a, c: b.div(a, c), loc
        )
    dh = avg_divisors(h, kernel[0], strides[0], top, bottom, ho, count_include_pad)
    dw = avg_divisors(wd, kernel[1], strides[1], left, right, wo, count_include_pad)
    div = np.outer(dh, dw).astype(np.float32)
    if np.all(div == div.flat[0]):
        return w.elementwise([s, float(div.flat[0])], lambda b, a, c: b.div(a, c), loc)
    dc = w.constant(div.reshape(1, 1, ho, wo), f"avg_pool_divisor_{ho}x{wo}")
    return w.elementwise([s, dc], lambda b, a, c: b.div(a, c), loc)


def adaptive_avg_pool2d(
    w: ModuleWriter, x: Value, out_hw: Sequence[int], loc=None
) -> Value:
    """PyTorch's adaptive average pooling with static sizes.

    Global pooling is a sum reduction over H and W; evenly dividing sizes are
    a plain sum pooling; a 1 x 1 input is broadcast; anything else is two
    contractions with constant averaging matrices.
    """
    n, c, h, wd = x.shape
    oh, ow = int(out_hw[0] or h), int(out_hw[1] or wd)
    if (oh, ow) == (h, wd):
        return x
    if (oh, ow) == (1, 1):
        return mean(w, x, [2, 3], True, loc)
    if h % oh == 0 and wd % ow == 0:
        kh, kw = h // oh, wd // ow
        s = w.pooling_nchw(x, "sum", (kh, kw), (kh, kw), (1, 1), loc)
        return w.elementwise([s, float(kh * kw)], lambda b, a, d: b.div(a, d), loc)
    if (h, wd) == (1, 1):
        return w.elementwise([x], lambda b, a: a, loc, shape=(n, c, oh, ow))

    def matrix(size: int, out: int) -> np.ndarray:
        m = np.zeros((out, size), dtype=np.float32)
        for i in range(out):
            start = (i * size) // out
            end = -(-((i + 1) * size) // out)
            m[i, start:end] = 1.0 / (end - start)
        return m

    mh = w.constant(matrix(h, oh), f"adaptive_pool_rows_{h}to{oh}")
    mw = w.constant(matrix(wd, ow), f"adaptive_pool_cols_{wd}to{ow}")
    sizes = {"n": n, "c": c, "h": h, "w": wd, "i": oh, "j": ow}
    t = w.contract(x, mh, "nchw", "ih", "nciw", sizes, loc)
    return w.contract(t, mw, "nciw", "jw", "ncij", sizes, loc)


# ------------------------------------------------------------ data motion
def batched_matmul(w: ModuleWriter, a: Value, b: Value, loc=None) -> Value:
    """numpy.matmul semantics on two runtime tensors.

    Batch dimensions are broadcast (via a generic), flattened into one, and
    run through linalg.batch_matmul; 2-D x 2-D is linalg.matmul.
    """
    if a.rank == 1:
        return w.reshape(
            batched_matmul(w, w.reshape(a, (1,) + a.shape), b, loc),
            _mm_shape(a.shape, b.shape),
        )
    if b.rank == 1:
        return w.reshape(
            batched_matmul(w, a, w.reshape(b, b.shape + (1,)), loc),
            _mm_shape(a.shape, b.shape),
        )
    if a.rank == 2 and b.rank == 2:
        return w.matmul(a, b, loc)
    batch = tuple(np.broadcast_shapes(a.shape[:-2], b.shape[:-2]))
    if a.shape[:-2] != batch:
        a = w.elementwise([a], lambda bd, v: v, loc, shape=batch + a.shape[-2:])
    if b.shape[:-2] != batch:
        b = w.elementwise([b], lambda bd, v: v, loc, shape=batch + b.shape[-2:])
    nb = int(np.prod(batch, dtype=np.int64))
    a3 = w.reshape(a, (nb,) + a.shape[-2:])
    b3 = w.reshape(b, (nb,) + b.shape[-2:])
    y = w.batch_matmul(a3, b3, loc)
    return w.reshape(y, batch + (a.shape[-2], b.shape[-1]))


def _mm_shape(a: Sequence[int], b: Sequence[int]) -> Tuple[int, ...]:
    return tuple(np.matmul(np.zeros(a, np.float32), np.zeros(b, np.float32)).shape)


def matmul_const_rhs(
    w: ModuleWriter, x: Value, weight: np.ndarray, name: str, loc=None
) -> Value:
    """x @ W with a constant K x N weight (ONNX MatMul on a weight).

    The weight feeds linalg.matmul directly (2-D input) or through
    linalg.broadcast to linalg.batch_matmul (3-D input); higher ranks are
    flattened to 2-D first.
    """
    if weight.ndim != 2:
        wc = w.constant(weight, name)
        return batched_matmul(w, x, wc, loc)
    return linear(w, x, weight, None, name, None, loc, weight_layout="KN")
