"""Measured per-layer sensitivity and the storage allocation it drives.

A uniform output-error tolerance (`menus.choose`) treats every layer alike,
but the same relative error costs far more in some layers (the classifier,
the attention projections) than in others. Here every menu entry on a
layer's (bits, error) Pareto front is scored by what it does to the *whole
model*: the mean per-frame KL divergence of the model's output from the
original's on calibration inputs, with only that layer replaced (and its
bias corrected, as the plan will be); a model whose output is not a
Softmax is scored by the output's relative squared error instead.
Re-running only the graph after the layer, from cached activations, keeps
this to a fraction of a full evaluation per entry.

The allocation then picks, for a multiplier lam, the entry minimizing
`bits + lam * damage` in every layer: the least summed damage for its
storage if damages add up (they nearly do while each is small). `sweep`
lists the plan of every lam (the frontier); `for_ratio` finds the least
damaging plan that reaches a compression ratio.
"""

from __future__ import annotations

import math
from typing import Dict, List, Optional, Sequence

import numpy as np
import onnx
import torch

from ..training.onnx_module import OnnxModule
from .graph import batches, bias_target, constants, corrected_bias, onnx_weight
from .menus import (DEFAULT_INT_BITS, DEFAULT_SE_SETTINGS, LayerMenu, apply_choice,
                    build_menus, capture_raw, choice_shifts, choose, load_menus,
                    output_shift, plan_totals, save_menus)

__all__ = [
    "SuffixRunner",
    "measured_menus",
    "menus_key",
    "allocate",
    "breakpoints",
    "for_ratio",
    "measure",
    "pareto",
    "predicted_damage",
    "search",
    "sweep",
    "uniform_choices",
]


def pareto(entries: Sequence[dict]) -> List[dict]:
    """The entries no cheaper entry beats on error, cheapest first."""
    out, best = [], math.inf
    for e in sorted(entries, key=lambda e: (e["bits"], e["error"])):
        if e["error"] < best:
            out.append(e)
            best = e["error"]
    return out


def _kl(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """Per-frame KL(p || q) of probability tensors [..., classes]."""
    p = p.double()
    return (p * (torch.log(p.clamp_min(1e-30)) - torch.log(q.double().clamp_min(1e-30)))).sum(-1)


class SuffixRunner:
    """Runs a model on fixed inputs once, then re-runs only what follows one
    changed layer (weight and bias) to measure the output divergence."""

    def __init__(self, model: onnx.ModelProto, inputs: Sequence[np.ndarray], batch: int = 16):
        self.model = model
        self.module = OnnxModule(model, train_extras=False)
        self.output = model.graph.output[0].name
        # Class probabilities are compared as distributions; any other output
        # by its relative squared error.
        producer = next((n for n in model.graph.node if self.output in n.output), None)
        self.probabilities = producer is not None and producer.op_type == "Softmax"
        self.consts = constants(model)
        self.envs = []
        with torch.no_grad():
            for x in batches(model, inputs, batch):
                env = self.module.feed(self.module.environment(), x)
                self.envs.append(self.module.run_nodes(env))
        self._index = {n.name: i for i, n in enumerate(self.module.nodes)}

    def divergence(self, node: onnx.NodeProto, weight_onnx: np.ndarray,
                   shift: Optional[np.ndarray] = None) -> float:
        """The output's divergence from the original with `node`'s weight
        replaced (ONNX layout) and, with `shift`, its bias corrected by that
        output shift: the mean KL per distribution when the output is a
        Softmax, else the relative squared error."""
        changes = {node.input[1]: torch.from_numpy(np.asarray(weight_onnx, np.float32))}
        if shift is not None:
            target = bias_target(self.model, node, self.consts)
            new = None if target is None else corrected_bias(self.consts, target, shift)
            if new is not None:
                changes[target[1]] = torch.from_numpy(new.astype(np.float32))
        start = self._index[node.name]
        total, count = 0.0, 0.0
        with torch.no_grad():
            for env in self.envs:
                ref = env[self.output]
                out = self.module.run_nodes({**env, **changes}, start)[self.output]
                if self.probabilities:
                    kl = _kl(ref, out)
                    total += float(kl.sum())
                    count += kl.numel()
                else:
                    total += float(((out.double() - ref.double()) ** 2).sum())
                    count += float((ref.double() ** 2).sum())
        return total / max(count, 1e-300)


def measure(model: onnx.ModelProto, menus: Sequence[LayerMenu],
            inputs: Sequence[np.ndarray], raw: Dict[str, list], batch: int = 16,
            log=lambda s: None) -> int:
    """Sets entry["damage"] on every Pareto entry of every menu (dense: 0;
    entries off the front get none and are never chosen). Returns how many
    entries were measured."""
    runner = SuffixRunner(model, inputs, batch)
    measured = 0
    for i, m in enumerate(menus):
        for e in m.entries:
            e.pop("damage", None)
        for e in pareto(m.entries):
            if e["weight"] is None:
                e["damage"] = 0.0
                continue
            shift = output_shift(m, e["weight"], raw[m.name])
            e["damage"] = max(runner.divergence(m.node, onnx_weight(m, e["weight"]), shift), 0.0)
            measured += 1
        log(f"sensitivity {i + 1}/{len(menus)} {m.name}: " + ", ".join(
            f"{_label(e)} {e['damage']:.2e}" for e in pareto(m.entries) if e["weight"] is not None))
    return measured


def _label(e: dict) -> str:
    p = e["plan"]
    if p["form"] == "int":
        return f"int{p['bits']}" + ("-data" if p.get("rounding") == "data" else "")
    return "se(" + " ".join(f"{k}={v}" for k, v in p.items() if k != "form") + ")"


def allocate(menus: Sequence[LayerMenu], lam: float) -> Dict[str, dict]:
    """name -> the measured entry minimizing bits + lam * damage."""
    return {m.name: min((e for e in m.entries if "damage" in e),
                        key=lambda e: (e["bits"] + lam * e["damage"], e["damage"]))
            for m in menus}


def predicted_damage(menus, choice) -> float:
    return float(sum(choice[m.name].get("damage", 0.0) for m in menus))


def breakpoints(menus: Sequence[LayerMenu]) -> List[float]:
    """Every lam at which some layer's best entry can change: where two of
    its entries cost the same, bits_i + lam * d_i = bits_j + lam * d_j."""
    out = set()
    for m in menus:
        es = [e for e in m.entries if "damage" in e]
        for i in es:
            for j in es:
                if i["damage"] < j["damage"] and i["bits"] > j["bits"]:
                    out.add((i["bits"] - j["bits"]) / (j["damage"] - i["damage"]))
    return sorted(out)


def sweep(menus: Sequence[LayerMenu]) -> List[dict]:
    """Every distinct allocation over lam in [0, inf): one lam inside each
    interval between breakpoints, so the list is the whole frontier, most
    compressed first. [{"lam", "choice", "compression_ratio", "damage"}]."""
    cuts = breakpoints(menus)
    lams = [0.0] + [math.sqrt(a * b) for a, b in zip(cuts, cuts[1:])]
    if cuts:
        lams += [cuts[0] / 2, cuts[-1] * 2]
    out, seen = [], set()
    for lam in sorted(lams):
        choice = allocate(menus, lam)
        key = tuple(id(choice[m.name]) for m in menus)
        if key in seen:
            continue
        seen.add(key)
        out.append({"lam": lam, "choice": choice,
                    "compression_ratio": plan_totals(menus, choice)["compression_ratio"],
                    "damage": predicted_damage(menus, choice)})
    return out


def for_ratio(menus: Sequence[LayerMenu], ratio: float) -> Dict[str, dict]:
    """The least damaging allocation of the frontier whose compression
    reaches `ratio`; the most compressed one when none does."""
    points = sweep(menus)
    reach = [p for p in points if p["compression_ratio"] >= ratio]
    if not reach:
        return max(points, key=lambda p: p["compression_ratio"])["choice"]
    return min(reach, key=lambda p: p["damage"])["choice"]


def uniform_choices(menus: Sequence[LayerMenu], bits=DEFAULT_INT_BITS) -> List[dict]:
    """One allocation per k in `bits`: every layer at per-channel int-k
    rounded to nearest (the menus' `{"form": "int", "bits": k}` entry; a
    layer without one stays dense). The search evaluates these beside its
    sweep, so it never returns a plan less compressed than a uniform int-k
    plan that meets the budget: the measured damages add up less well for
    uniform int-k than for the mixed plans they predict."""
    out = []
    for k in bits:
        plan = {"form": "int", "bits": k}
        out.append({m.name: next((e for e in m.entries if e["plan"] == plan), m.entries[0])
                    for m in menus})
    return out


def search(model: onnx.ModelProto, menus: Sequence[LayerMenu], metric,
           allowed: float, raw: Dict[str, list], finish=None, log=lambda s: None,
           extra: Sequence[dict] = ()) -> dict:
    """The most compressed allocation of the sweep whose whole-model metric
    (higher is better) stays within `allowed` of the original's. The metric
    falls nearly monotonically with compression along the sweep, so a
    bisection over its points needs a handful of full evaluations. Each
    candidate is measured as it will be used: `finish(choice) -> (choice,
    shifts)` (e.g. `fits.sequential`) or, without it, with the biases
    corrected from `raw`. Returns {"choice", "shifts", "lam", "score",
    "baseline", "trace", "picked"}; picked says which kind of plan won
    ("sweep, lambda ..", "uniform int-k" or "dense"; lam is None unless a
    sweep plan). `extra` allocations (`uniform_choices`)
    more compressed than the sweep's pick are then tried, most compressed
    first, and the first that passes replaces it."""
    baseline = metric(model)
    points = sorted(sweep(menus), key=lambda p: p["compression_ratio"])
    trace = []

    def finished(choice):
        if finish is None:
            return choice, choice_shifts(menus, choice, raw)
        return finish(choice)

    def passes(i, p=None):
        p = p or points[i]
        choice, shifts = finished(p["choice"])
        score = metric(apply_choice(model, menus, choice, shifts=shifts))
        trace.append({"lam": p["lam"], "compression_ratio": p["compression_ratio"],
                      "damage": p["damage"], "score": score})
        what = "uniform int-k" if p["lam"] is None else f"lam {p['lam']:.3g}"
        log(f"{what}: {p['compression_ratio']:.2f}x, predicted damage "
            f"{p['damage']:.4f}, score {score:.4f} (baseline {baseline:.4f})")
        picked = "uniform int-k" if p["lam"] is None else f"sweep, lambda {p['lam']:.3g}"
        return score >= baseline - allowed, (choice, shifts, p["lam"], score, picked)

    best = None
    lo, hi = 0, len(points) - 1
    while lo <= hi:
        mid = (lo + hi) // 2
        ok, found = passes(mid)
        if ok:
            best = found
            lo = mid + 1
        else:
            hi = mid - 1
    if best is None:
        best = (choose(menus, 0.0), {}, None, baseline, "dense")
    reached = plan_totals(menus, best[0])["compression_ratio"]
    others = [{"lam": None, "choice": c, "damage": predicted_damage(menus, c),
               "compression_ratio": plan_totals(menus, c)["compression_ratio"]}
              for c in extra]
    for p in sorted(others, key=lambda p: -p["compression_ratio"]):
        if p["compression_ratio"] <= reached:
            break
        ok, found = passes(None, p)
        if ok:
            best = found
            break
    choice, shifts, lam, score, picked = best
    return {"choice": choice, "shifts": shifts, "lam": lam, "score": score,
            "baseline": baseline, "trace": trace, "picked": picked}


def menus_key(onnx_path, calibration, decompositions, rounds: int, min_size: int,
              bias_inputs: int) -> str:
    """The menus cache's key: the model file, the calibration inputs, the
    settings, and the contents of sd-decompose's (report, output) files
    for every setting, the reports without their per-layer and total
    timings (they differ from run to run)."""
    import hashlib
    import json
    from pathlib import Path

    key = hashlib.sha256()
    key.update(Path(onnx_path).read_bytes())
    for inp in calibration:
        for name in sorted(inp):
            key.update(name.encode() + np.ascontiguousarray(inp[name]).tobytes())
    key.update(repr((DEFAULT_SE_SETTINGS, DEFAULT_INT_BITS, rounds, min_size,
                     bias_inputs)).encode())
    for rep, out in decompositions:
        report = json.loads(Path(rep).read_text())
        for part in report.get("layers", []) + [report.get("totals", {})]:
            part.pop("time_ms", None)
        key.update(json.dumps(report, sort_keys=True).encode() + Path(out).read_bytes())
    return key.hexdigest()[:20]


def measured_menus(onnx_path, model_mlir, calibration, sd_opt, bias_inputs: int,
                   rounds: int = 1, min_size: int = 1024, log=lambda s: None):
    """`build_menus` and `measure` on `calibration` (dicts of input
    name -> array), cached on disk: building and measuring the menus of the
    recognizer takes tens of minutes. The cache key covers everything the
    menus depend on: the model file, the calibration inputs, the settings,
    the fit rounds, min-size, and what sd-decompose makes of the model for
    every setting (`menus_key`; a second per setting): a rebuilt sd-opt that
    decomposes the same way keeps the cache, one that decomposes differently
    does not."""
    import os
    import tempfile
    from pathlib import Path

    from .menus import decompose

    model = onnx.load(str(onnx_path))
    with tempfile.TemporaryDirectory(prefix="sd-menu-") as tmp:
        decomposed = {s: decompose(sd_opt, model_mlir, s, min_size, Path(tmp))
                      for s in DEFAULT_SE_SETTINGS}
        key = menus_key(onnx_path, calibration, decomposed.values(), rounds, min_size,
                        bias_inputs)
        base = os.environ.get("SD_CACHE") or os.path.join(os.path.expanduser("~"), ".cache",
                                                          "smartdeal")
        cache = Path(base) / "menus" / f"{key}.pkl"
        if cache.exists():
            try:
                menus = load_menus(cache, model)
                log(f"menus and sensitivities from the cache ({cache})")
                return model, menus
            except Exception:  # noqa: BLE001 - a stale or partial cache is rebuilt
                pass
        model, menus = build_menus(onnx_path, model_mlir, calibration, sd_opt,
                                   rounds=rounds, min_size=min_size, log=log,
                                   decomposed=decomposed)
    raw = capture_raw(model, menus, calibration, bias_inputs)
    measure(model, menus, calibration, raw, log=log)
    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_suffix(f".{os.getpid()}.tmp")
    save_menus(menus, tmp)
    os.replace(tmp, cache)
    return model, menus


def model_menus(onnx_path, input_shapes, calibration, bias_inputs: int, log=lambda s: None):
    """`measured_menus` of an ONNX file: imported (batch norm kept apart, as
    the driver does) into a temporary MLIR module for sd-decompose, with
    the repository's sd-opt. Returns (model, menus)."""
    import tempfile
    from pathlib import Path

    from ..importers import import_onnx
    from ..runtime.runner import find_sd_opt

    with tempfile.TemporaryDirectory(prefix="sd-menus-") as tmp:
        mlir = Path(tmp) / "model.mlir"
        import_onnx(str(onnx_path), output=str(mlir), input_shapes=input_shapes,
                    fold_batchnorm=False)
        return measured_menus(onnx_path, mlir, calibration, find_sd_opt(), bias_inputs,
                              log=log)
