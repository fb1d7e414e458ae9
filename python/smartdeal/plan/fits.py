"""Data-aware decomposition: refit each layer's bases to its outputs.

Weight-only SmartExchange minimizes ||W - Ce·B||; what matters is the
layer's output. With the Ce pattern and codes fixed, the output of output
channel o is linear in that channel's bases: for input rows x (activations,
or im2col patches of a convolution),

    y_o(x) = sum_blk sum_{k,j} B[o, blk, k, j] * u[blk, k, j],
    u[blk, k, j] = sum_r Ce[o, blk, r, k] * x[blk, r, j],

so B can be fitted in closed form to the original layer's outputs
x·W_oᵀ by least squares over calibration activations (a small ridge term
keeps unused directions at zero cost). Layers are processed in network
order and each sees the activations produced by the layers already
compressed before it. The codes, and therefore the storage, do not change.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Dict, List, Sequence

import numpy as np
import onnx
import torch

from ..importers.onnx_reference import OnnxReference
from ..ir.codes import decode_codes, encode_values, se_bits
from ..ir.resources import (F32_ALIGNMENT_PREFIX, I8_ALIGNMENT_PREFIX, identifier_safe,
                            parse_resource_section, replace_blob)
from ..runtime.compressed import (CompressedLayer, exponent_range, rebuild, se_arrays)
from ..runtime.source_export import replace_weights
from ..training.onnx_module import OnnxModule
from .graph import (batches, bias_target, channel_axes, constants, corrected_bias,
                    input_rows, input_rows_sample, layer_output, onnx_weight,
                    weight_layers)

__all__ = [
    "MAX_ROWS",
    "fit_basis",
    "clip_scales",
    "fit_int",
    "fit_int_adaround",
    "fit_layer",
    "refit",
    "reselect_codes",
    "sequential",
    "write_fits",
]

MAX_ROWS = 4096


def fit_basis(ce: np.ndarray, basis: np.ndarray, x: np.ndarray, target: np.ndarray,
              ridge: float = 1e-4):
    """Least-squares bases for fixed coefficient values.

    ce [O, nb, rows, 3] (values, not codes), basis [O, nb, 3, 3] (the start,
    only used for the error before), x [n, K] input rows, target [n, O] the
    original layer's outputs. Returns (new basis, squared error before,
    squared error after) summed over outputs.
    """
    o, nb, rows, _ = ce.shape
    n, k = x.shape
    xp = np.zeros((n, nb * rows * 3))
    xp[:, :k] = x
    # torch's einsum / bmm use BLAS; NumPy's einsum here is ~50x slower.
    xt = torch.from_numpy(xp.reshape(n, nb, rows, 3))
    ct = torch.from_numpy(np.ascontiguousarray(ce, dtype=np.float64))
    tt = torch.from_numpy(np.ascontiguousarray(target.T, dtype=np.float64))  # [O, n]
    bt = torch.from_numpy(basis.astype(np.float64).reshape(o, -1))
    new_basis = np.empty((o, nb * 9))
    before = after = 0.0
    step = max(1, min(o, 2 ** 24 // max(n * nb * 9, 1)))
    for start in range(0, o, step):
        sl = slice(start, min(start + step, o))
        u = torch.einsum("obrk,nbrj->onbkj", ct[sl], xt).reshape(sl.stop - sl.start, n, nb * 9)
        g = torch.bmm(u.transpose(1, 2), u)
        r = torch.bmm(u.transpose(1, 2), tt[sl, :, None])[..., 0]
        lam = ridge * torch.clamp(torch.diagonal(g, dim1=1, dim2=2).mean(1), min=1e-12)
        sol = torch.linalg.solve(g + lam[:, None, None] * torch.eye(g.shape[1], dtype=g.dtype), r)
        old = torch.bmm(u, bt[sl, :, None])[..., 0]
        new = torch.bmm(u, sol[..., None])[..., 0]
        before += float(((old - tt[sl]) ** 2).sum())
        after += float(((new - tt[sl]) ** 2).sum())
        new_basis[sl] = sol.numpy()
    new_basis = new_basis.reshape(o, nb, 3, 3)
    return new_basis, before, after


def reselect_codes(codes: np.ndarray, basis: np.ndarray, w: np.ndarray,
                   hessian: np.ndarray, lo: int, hi: int, sweeps: int = 1) -> np.ndarray:
    """Coordinate descent on the Ce codes for the layer's output error.

    Minimizes, per output o, (ŵ_o - w_o)ᵀ H (ŵ_o - w_o) with H = XᵀX over
    the calibration rows and ŵ_o = Ce_o·B_o flattened (the same quantity as
    ||X ŵ_oᵀ - X w_oᵀ||²), one code at a time: each non-zero code may move
    to any power of two in [2^lo, 2^hi] of either sign, or to 0; zero codes
    stay zero, so the storage never grows. The error can only go down (each
    step takes the best candidate including "no change"). Vectorized over
    outputs; one Python step per coefficient position.
    """
    o, nb, rows, _ = codes.shape
    kp = nb * rows * 3
    k = w.shape[1]
    h = np.zeros((kp, kp))
    h[:k, :k] = hessian
    wp = np.zeros((o, kp))
    wp[:, :k] = w
    c = decode_codes(codes, lo).reshape(o, nb, rows, 3).copy()
    levels = np.exp2(np.arange(lo, hi + 1, dtype=np.float64))
    cand = np.concatenate([levels, -levels, [0.0]])           # [L]
    b = basis.astype(np.float64)

    def rebuilt():
        return np.einsum("obrk,obkj->obrj", c, b).reshape(o, kp)

    g = (rebuilt() - wp) @ h                                  # H(ŵ - w), H symmetric
    for _ in range(sweeps):
        for blk in range(nb):
            for r in range(rows):
                p = (blk * rows + r) * 3
                hpp = h[p:p + 3, p:p + 3]
                for kk in range(3):
                    cur = c[:, blk, r, kk]
                    live = cur != 0
                    if not live.any():
                        continue
                    v = b[:, blk, kk, :]                      # [O, 3]
                    vg = np.einsum("oj,oj->o", v, g[:, p:p + 3])
                    vhv = np.einsum("oi,ij,oj->o", v, hpp, v)
                    delta = cand[None, :] - cur[:, None]       # [O, L]
                    gain = 2 * delta * vg[:, None] + delta ** 2 * vhv[:, None]
                    best = np.argmin(gain, axis=1)
                    step = delta[np.arange(o), best]
                    step = np.where(live & (gain[np.arange(o), best] < 0), step, 0.0)
                    if not step.any():
                        continue
                    c[:, blk, r, kk] = cur + step
                    g += (step[:, None] * v) @ h[p:p + 3, :]
    return encode_values(c, lo)


def fit_layer(codes: np.ndarray, basis: np.ndarray, w: np.ndarray, x: np.ndarray,
              lo: int, hi: int, rounds: int = 0, ridge: float = 1e-4):
    """Data-aware fit of one SE layer: bases by least squares, then `rounds`
    alternations of code re-selection (`reselect_codes`) and basis refit.
    w [O, K] the original weight, x [n, K] input rows. Returns (codes,
    basis, relative output error of the start, relative output error after)."""
    target = x @ w.T
    denom = float((target ** 2).sum()) or 1.0
    ce = decode_codes(codes, lo)
    basis, before, after = fit_basis(ce, basis, x, target, ridge)
    hess = x.T @ x if rounds else None
    for _ in range(rounds):
        codes = reselect_codes(codes, basis, w, hess, lo, hi)
        basis, _, after = fit_basis(decode_codes(codes, lo), basis, x, target, ridge)
    return codes, basis, (before / denom) ** 0.5, (after / denom) ** 0.5


def fit_int(w: np.ndarray, x: np.ndarray, bits: int, sweeps: int = 2,
            damping: float = 0.01) -> np.ndarray:
    """Data-aware per-output-channel int-k: the integers that minimize the
    layer's output error rather than the weight error.

    Same storage and format as round-to-nearest (`menus.int_quantize`): k-bit
    integers and one scale per output channel. Starting from round-to-nearest
    at the max-abs scale, coordinate descent on (ŵ_o - w_o)ᵀ H (ŵ_o - w_o)
    with H = XᵀX moves one column at a time to the integer nearest its exact
    1-D optimum (so each step can only lower the error), letting later
    columns absorb earlier rounding errors as GPTQ does; then each channel's
    scale is refitted in closed form and the columns are swept again. The
    damping (a fraction of H's mean diagonal) keeps directions the few
    calibration rows do not excite close to the weights. w [O, K], x [n, K].
    Returns (integers [O, K] in [-(2^(k-1) - 1), 2^(k-1) - 1], scales [O]).
    """
    q = (1 << (bits - 1)) - 1
    w = np.asarray(w, np.float64)
    h = x.T.astype(np.float64) @ x.astype(np.float64)
    h += damping * max(float(np.mean(np.diag(h))), 1e-30) * np.eye(h.shape[0])
    scale = np.maximum(np.abs(w).max(axis=1), 1e-30) / q
    ints = np.clip(np.round(w / scale[:, None]), -q, q)

    def sweep(ints, scale):
        what = ints * scale[:, None]
        g = (what - w) @ h
        for _ in range(sweeps):
            for p in range(w.shape[1]):
                hpp = h[p, p]
                best = np.clip(np.round((what[:, p] - g[:, p] / hpp) / scale), -q, q)
                delta = best * scale - what[:, p]
                delta = np.where(2 * delta * g[:, p] + delta ** 2 * hpp < 0, delta, 0.0)
                if not delta.any():
                    continue
                what[:, p] += delta
                ints[:, p] = np.round(what[:, p] / scale)
                g += delta[:, None] * h[p][None, :]
        return ints

    ints = sweep(ints, scale)
    hq = ints @ h
    num = np.einsum("ok,ok->o", hq, w)
    den = np.einsum("ok,ok->o", hq, ints)
    scale = np.where(den > 0, num / np.where(den > 0, den, 1.0), scale)
    scale = np.where(scale > 0, scale, np.maximum(np.abs(w).max(axis=1), 1e-30) / q)
    return sweep(ints, scale).astype(np.int32), scale


def clip_scales(w: np.ndarray, h: np.ndarray, bits: int,
                ratios=np.linspace(0.5, 1.0, 26)) -> np.ndarray:
    """Per-output-channel scales of symmetric int-k, each the clipping of
    the channel's max-abs (a ratio in `ratios`) with the least output error
    (ŵ_o - w_o)ᵀ H (ŵ_o - w_o) under round-to-nearest. w [O, K], H [K, K]."""
    q = (1 << (bits - 1)) - 1
    top = np.maximum(np.abs(w).max(axis=1), 1e-30) / q
    best, best_err = top.copy(), np.full(len(w), np.inf)
    for r in ratios:
        scale = r * top
        d = np.clip(np.round(w / scale[:, None]), -q, q) * scale[:, None] - w
        err = np.einsum("ok,ok->o", d @ h, d)
        better = err < best_err
        best[better], best_err[better] = scale[better], err[better]
    return best


def _learn_rounding(V, soft, rec, base, S, Fl, q, opt, iters, warm, lam):
    """AdaRound's optimization of the soft rounding variables V (in place)."""
    for it in range(iters):
        hv = soft(V)
        what = S * torch.clamp(Fl + hv, -q, q)
        loss = rec(what) / base
        if it >= warm:
            beta = 20 - 18 * (it - warm) / max(iters - warm - 1, 1)
            loss = loss + lam * (1 - (2 * hv - 1).abs().pow(beta)).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()


def fit_int_adaround(w: np.ndarray, x: np.ndarray, target: np.ndarray, bits: int,
                     iters: int = 1000, lam: float = 1.0, lr: float = 1e-2):
    """Learned rounding (AdaRound, Nagel et al. 2020) of per-output-channel
    int-k: each weight goes to the grid point below or above w/s, whichever
    the layer's output on calibration rows needs, rather than the nearest.

    Scales first: `clip_scales` (MSE-optimal clipping of the output error).
    Then a soft rounding h(V) in [0, 1] per weight (rectified sigmoid, started
    at the fractional part, i.e. at round-to-nearest's value) minimizes
    ||x·ŵᵀ - target||² relative to round-to-nearest's, plus lam times the
    regularizer 1 - |2h - 1|^β that drives every h to 0 or 1 as β anneals
    from 20 to 2 (after a 20 % warm-up without it); the result is rounded
    hard. `target` may be the ORIGINAL layer's output while x holds the
    compressed model's inputs: the rounding then also absorbs the upstream
    error. The loss uses H = xᵀx and xᵀ·target, so its cost does not grow
    with the rows. Same storage as round-to-nearest: k-bit integers and one
    scale per output channel. w [O, K], x [n, K], target [n, O]. Returns
    (integers [O, K] in [-(2^(k-1) - 1), 2^(k-1) - 1], scales [O])."""
    q = (1 << (bits - 1)) - 1
    w = np.asarray(w, np.float64)
    h = x.T @ x
    scale = clip_scales(w, h, bits)
    zeta, gamma = 1.1, -0.1
    floor = np.floor(w / scale[:, None])
    frac = np.clip(w / scale[:, None] - floor, 0.0, 1.0)
    v0 = -np.log((zeta - gamma) / (np.clip(frac, 1e-3, 1 - 1e-3) - gamma) - 1.0)
    # In terms of the weight change Δ = ŵ - w (float64: the error is a small
    # difference of large terms otherwise): ||x·ŵᵀ - t||² =
    # ΔHΔᵀ - 2Δ·xᵀ(t - x·wᵀ) + ||t - x·wᵀ||².
    resid = target - x @ w.T
    H = torch.from_numpy(h)
    B = torch.from_numpy(x.T @ resid).T  # [O, K]
    c = float((resid ** 2).sum())
    W = torch.from_numpy(w)
    S = torch.from_numpy(scale)[:, None]
    Fl = torch.from_numpy(floor)
    V = torch.nn.Parameter(torch.from_numpy(v0))

    def soft(v):
        return torch.clamp(torch.sigmoid(v) * (zeta - gamma) + gamma, 0.0, 1.0)

    def rec(what):
        d = what - W
        return (d @ H * d).sum() - 2 * (d * B).sum() + c

    with torch.no_grad():
        base = float(rec(S * torch.clamp(torch.round(W / S), -q, q)))
    base = max(base, 1e-30)
    opt = torch.optim.Adam([V], lr=lr)
    warm = iters // 5
    with torch.enable_grad():  # `sequential` calls this under no_grad
        _learn_rounding(V, soft, rec, base, S, Fl, q, opt, iters, warm, lam)
    with torch.no_grad():
        ints = torch.clamp(Fl + (soft(V) >= 0.5).float(), -q, q).numpy()
    # Keep round-to-nearest in a channel where learning lost (the
    # regularizer can outweigh the output error of a channel that the rows
    # hardly excite).
    nearest = np.clip(np.round(w / scale[:, None]), -q, q)

    def err(i):
        d = i * scale[:, None] - w
        return np.einsum("ok,ok->o", d @ h, d) - 2 * np.einsum("ok,ko->o", d, x.T @ resid)

    keep = err(nearest) < err(ints)
    ints[keep] = nearest[keep]
    return ints.astype(np.int32), scale


def sequential(model: onnx.ModelProto, menus, choice: Dict[str, dict],
               inputs: Sequence[np.ndarray], max_rows: int = MAX_ROWS, rounds: int = 1,
               ridge: float = 1e-2, seed: int = 0, log=lambda s: None,
               int_rounding: str = "keep"):
    """Refits a plan's layers in graph order to the original model's layer
    outputs from the inputs they see in the compressed model, and measures
    each layer's bias correction there.

    Each menu entry was fitted on the original model's activations, so
    upstream errors (depthwise int-k, earlier SE layers) reach a layer
    uncorrected. Here the original and the compressed model run side by side
    on the calibration inputs; at each chosen layer the target is the
    original output X_o·Wᵀ and the rows are the compressed model's inputs
    X_c: SE bases are refitted by least squares, then `rounds` of code
    re-selection towards W̃ = argmin ||X_c·W̃ᵀ - X_o·Wᵀ|| (ridge) and bases
    again; int-k layers keep their integers (`int_rounding="keep"`), take
    the MSE-optimal clipping of the compressed inputs' output error with
    round-to-nearest (`"clip"`: `clip_scales`) or learn their rounding at
    those scales towards the original outputs (`"adaround"`:
    `fit_int_adaround`); grouped convolutions keep theirs.
    The mean output shift left
    over at every chosen layer, including what upstream layers shifted,
    goes to its bias. Storage can only shrink (codes never gain a non-zero).
    Returns (new choice, shifts: layer -> output mean shift)."""
    rng = np.random.default_rng(seed)
    orig = OnnxModule(model, train_extras=False)
    comp = OnnxModule(model, train_extras=False)
    envs = []  # (original, compressed) environment per batch
    for x in batches(model, inputs, len(inputs)):
        envs.append((orig.feed(orig.environment(), x), comp.feed(comp.environment(), x)))
    consts = constants(model)
    by_name = {m.name: m for m in menus}
    new_choice, shifts = dict(choice), {}
    with torch.no_grad():
        for i, node in enumerate(orig.nodes):
            m = by_name.get(node.name)
            e = choice.get(node.name) if m is not None else None
            if e is not None and e["weight"] is not None:
                xo = [o[node.input[0]].double().numpy() for o, _ in envs]
                xc = [c[node.input[0]].double().numpy() for _, c in envs]
                new_choice[m.name] = e = _refit_entry(m, e, xo, xc, max_rows, rounds,
                                                      ridge, rng, int_rounding)
                total, count = 0.0, 0
                for a, b in zip(xo, xc):
                    d = (layer_output(node, a, m.weight)
                         - layer_output(node, b, e["weight"]))
                    axes = channel_axes(node, d)
                    total = total + d.sum(axis=axes)
                    count += int(np.prod([d.shape[k] for k in axes]))
                shifts[m.name] = shift = np.asarray(total) / max(count, 1)
                changes = {node.input[1]: torch.from_numpy(
                    onnx_weight(m, e["weight"]).astype(np.float32))}
                target = bias_target(model, node, consts)
                new = None if target is None else corrected_bias(consts, target, shift)
                if new is not None:
                    changes[target[1]] = torch.from_numpy(new.astype(np.float32))
                for _, c in envs:
                    c.update(changes)
                log(f"sequential: {m.name} refitted")
            for o, c in envs:
                orig.run_nodes(o, i, i + 1)
                comp.run_nodes(c, i, i + 1)
    return new_choice, shifts


def _paired_rows(m, xo, xc, max_rows, rng):
    """The layer's input rows in the original and the compressed model (the
    same random `max_rows` of each), or None for a grouped convolution."""
    try:
        ro = np.concatenate([input_rows(m.node, v, m.weight.shape) for v in xo])
        rc = np.concatenate([input_rows(m.node, v, m.weight.shape) for v in xc])
    except ValueError:
        return None
    if len(ro) > max_rows:
        pick = rng.choice(len(ro), max_rows, replace=False)
        ro, rc = ro[pick], rc[pick]
    return ro, rc


def _refit_entry(m, e, xo, xc, max_rows, rounds, ridge, rng, int_rounding="keep"):
    """One layer of `sequential`: the entry refitted to X_o·Wᵀ from X_c
    (lists of the layer's inputs, one array per batch)."""
    form = e["plan"]["form"]
    if form == "int" and int_rounding in ("clip", "adaround"):
        rows = _paired_rows(m, xo, xc, max_rows, rng)
        if rows is None:
            return e  # grouped convolution
        ro, rc = rows
        w = m.weight.reshape(m.weight.shape[0], -1)
        bits = e["plan"]["bits"]
        if int_rounding == "clip":
            q = (1 << (bits - 1)) - 1
            scale = clip_scales(w, rc.T @ rc, bits)
            ints = np.clip(np.round(w / scale[:, None]), -q, q)
        else:
            ints, scale = fit_int_adaround(w, rc, ro @ w.T, bits)
        out = dict(e, plan=dict(e["plan"], rounding="data"))
        out["weight"] = (ints * scale[:, None]).reshape(m.weight.shape).astype(np.float64)
        return out
    if form != "se":
        # int-k keeps its integers: refitting them to the compressed inputs
        # (W̃ below) cost 21 points of words on the recognizer's 6x plan,
        # the SE bases gained 0.7.
        return e
    rows = _paired_rows(m, xo, xc, max_rows, rng)
    if rows is None:
        return e  # grouped convolution
    ro, rc = rows
    w = m.weight.reshape(m.weight.shape[0], -1)
    y = ro @ w.T
    h = rc.T @ rc
    h += ridge * max(float(np.mean(np.diag(h))), 1e-30) * np.eye(h.shape[0])
    # The weight that maps the compressed inputs to the original outputs; the
    # fits below minimize ||X_c·(Ŵ - W̃)ᵀ||, which equals the output error up
    # to a constant.
    wt = np.linalg.solve(h, rc.T @ y).T
    out = dict(e)
    lo, hi = e["plan"].get("min-exp", -8), e["plan"].get("max-exp", 5)
    codes, basis = e["codes"], e["basis"].astype(np.float64)
    basis, _, _ = fit_basis(decode_codes(codes, lo), basis, rc, y)
    for _ in range(rounds):
        codes = reselect_codes(codes, basis, wt, h, lo, hi)
        basis, _, _ = fit_basis(decode_codes(codes, lo), basis, rc, y)
    out.update(codes=codes, basis=basis.astype(np.float32), bits=se_bits(codes),
               weight=rebuild(codes, basis.astype(np.float32), m.weight.shape, lo)
               .astype(np.float64))
    return out


def _set_storage(entry: dict, codes: np.ndarray) -> None:
    """An SE report entry's storage figures for (new) codes."""
    entry["nnz"] = int((codes != 0).sum())
    entry["bits"] = se_bits(codes)
    entry["compression_ratio"] = entry["dense_bits"] / entry["bits"]


def _restate_totals(report: dict) -> None:
    """The report's totals after SE entries' storage changed."""
    totals = report["totals"]
    se = [l for l in report["layers"] if l["form"] == "se"]
    totals["bits"] = int(sum(l["bits"] if l["form"] == "se" else 32 * l.get("weights", 0)
                             for l in report["layers"]))
    totals["compression_ratio"] = totals["dense_bits"] / max(totals["bits"], 1)
    totals["compressed_layers_ratio"] = (sum(l["dense_bits"] for l in se)
                                         / max(sum(l["bits"] for l in se), 1))


def _with_codes(text: str, key: str, codes: np.ndarray) -> str:
    return replace_blob(text, key + "_ce", codes.astype(np.int8).tobytes(),
                        I8_ALIGNMENT_PREFIX)


def _with_basis(text: str, key: str, basis: np.ndarray) -> str:
    return replace_blob(text, key + "_b", np.asarray(basis).astype("<f4").tobytes(),
                        F32_ALIGNMENT_PREFIX)


def write_fits(compressed_path: Path, report_path: Path, fits: Dict[str, tuple]) -> int:
    """Puts fitted (codes, basis) pairs (layer name -> arrays in the layer's
    block layout) into the compressed module's blobs and the report's storage
    figures. Returns how many layers were written."""
    text = Path(compressed_path).read_text()
    report = json.loads(Path(report_path).read_text())
    written = 0
    for e in report["layers"]:
        if e["form"] != "se" or e["name"] not in fits:
            continue
        codes, basis = fits[e["name"]]
        want = (e["shape"][0], e["blocks"], e["block_rows"], 3)
        if codes.shape != want:
            raise ValueError(f"layer '{e['name']}': fitted codes {codes.shape} do not "
                             f"match the decomposition's layout {want}")
        key = identifier_safe(e["name"])
        text = _with_codes(text, key, codes)
        text = _with_basis(text, key, np.asarray(basis, np.float32))
        _set_storage(e, codes)
        written += 1
    _restate_totals(report)
    Path(compressed_path).write_text(text)
    Path(report_path).write_text(json.dumps(report, indent=2) + "\n")
    return written


def refit(onnx_path: Path, compressed_path: Path, report_path: Path,
          calibration: Sequence[Dict[str, np.ndarray]], ridge: float = 1e-4,
          max_rows: int = MAX_ROWS, seed: int = 0, rounds: int = 0) -> List[dict]:
    """Refits every SmartExchange layer's bases in place (in the compressed
    module's blobs); with `rounds` > 0 also re-selects the codes (never
    adding a non-zero, so the storage can only shrink; the report's storage
    figures are then upper bounds). Returns per-layer output errors before
    and after."""
    rng = np.random.default_rng(seed)
    model = onnx.load(str(onnx_path))
    nodes = {n.name: n for n in model.graph.node}
    order = {n.name: i for i, n in enumerate(model.graph.node)}
    weights = {n.name: w for n, w, _ in weight_layers(model)}
    text = Path(compressed_path).read_text()
    report = json.loads(Path(report_path).read_text())
    entries = sorted((l for l in report["layers"] if l["form"] == "se"),
                     key=lambda l: order.get(l["name"], 1 << 30))
    blobs = parse_resource_section(text)
    current = copy.deepcopy(model)
    done: List[CompressedLayer] = []
    stats = []
    for entry in entries:
        node = nodes.get(entry["name"])
        if node is None or node.op_type not in ("Conv", "MatMul", "Gemm"):
            continue
        key = identifier_safe(entry["name"])
        shape = entry["shape"]
        lo, hi = exponent_range(entry)
        codes, basis = se_arrays(entry, blobs, compressed_path)
        # The original weight, canonical [O, K].
        w = weights[entry["name"]].reshape(shape[0], -1)
        try:
            ref = OnnxReference(current)
            xs = [ref.run_capture(inp, [node.input[0]])[node.input[0]]
                  for inp in calibration]
            x = input_rows_sample(node, xs, shape, max_rows, rng)
        except ValueError:
            continue
        new_codes, new_basis, before, after = fit_layer(
            codes, basis, w, x, lo, hi, rounds=rounds, ridge=ridge)
        stats.append({"name": entry["name"], "rows": len(x),
                      "output_error_before": before, "output_error_after": after})
        if rounds:
            text = _with_codes(text, key, new_codes)
            codes = new_codes
            _set_storage(entry, codes)
        nb32 = new_basis.astype(np.float32)
        text = _with_basis(text, key, nb32)
        rebuilt = rebuild(codes, nb32, shape, lo)
        done.append(CompressedLayer(entry["name"], shape, rebuilt,
                                    entry["compression_ratio"], entry["relative_error"]))
        current = copy.deepcopy(model)
        replace_weights(current, done)
    Path(compressed_path).write_text(text)
    if rounds:
        # Re-selection can only drop codes: the report's storage follows.
        _restate_totals(report)
        Path(report_path).write_text(json.dumps(report, indent=2) + "\n")
    return stats
