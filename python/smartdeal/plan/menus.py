"""Per-layer budgets: which form each layer takes, within an accuracy budget.

Two selections live here: the skip-only greedy one below (`select_layers`,
the driver's `--budget`) and the per-layer menus further down
(`build_menus`: SE settings / int-k / dense, from which
`plan.sensitivity` allocates for the driver's `--budget --search`),
with bias correction at the end of the file.


Post-training SmartExchange changes each weight by 10-20 % (relative
Frobenius error); some layers absorb that and some destroy the model. The
sensitivity pass scores every decomposed layer alone — the model with only
that layer replaced by Ce·B, measured on calibration inputs — and a greedy
selection then adds layers in order of storage saved per unit of damage,
keeping a layer only while the whole model still meets the budget. The
result is a plan (layers to skip) that sd-decompose and the driver accept.
"""

from __future__ import annotations

import copy
import json
import pickle
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Sequence

import numpy as np
import onnx
from onnx import numpy_helper

from ..importers.onnx_reference import OnnxReference
from ..ir.codes import se_bits
from ..ir.resources import parse_resource_section
from ..runtime.compressed import CompressedLayer, exponent_range, rebuild, se_arrays
from ..runtime.source_export import replace_weights
from .fits import fit_int, fit_layer
from .graph import (bias_target, channel_axes, constants, corrected_bias, input_rows_sample,
                    layer_output,
                    weight_layers)

__all__ = [
    "DEFAULT_INT_BITS",
    "file_parameters",
    "whole_model",
    "DEFAULT_SE_SETTINGS",
    "LayerMenu",
    "PlanResult",
    "apply_choice",
    "build_menus",
    "capture_raw",
    "choice_shifts",
    "choose",
    "correct_biases",
    "decompose",
    "int_bits_of",
    "int_fit",
    "int_quantize",
    "load_menus",
    "output_shift",
    "plan_config",
    "plan_totals",
    "save_menus",
    "select_layers",
    "setting_dict",
]


@dataclass
class PlanResult:
    baseline: float
    chosen: List[str]
    skipped: List[str]
    score: float  # the metric with every chosen layer compressed
    sensitivity: Dict[str, float] = field(default_factory=dict)
    evaluations: int = 0

    def as_config(self) -> dict:
        return {"layers": {name: {"skip": True} for name in self.skipped}}


def select_layers(model: onnx.ModelProto, layers: Sequence[CompressedLayer],
                  metric: Callable[[onnx.ModelProto], float], budget: float,
                  dense_bits: Dict[str, int], bits: Dict[str, int]) -> PlanResult:
    """Greedy selection under `metric(model) >= baseline - budget`.

    `metric` scores a model (higher is better: accuracy, or minus an output
    error); `dense_bits` and `bits` give each layer's storage before and
    after compression, so the order favours layers that save the most for
    the least damage.
    """
    def variant(chosen: Sequence[CompressedLayer]) -> onnx.ModelProto:
        m = copy.deepcopy(model)
        replace_weights(m, chosen)
        return m

    baseline = metric(model)
    result = PlanResult(baseline, [], [], baseline)
    evaluations = 1
    damage = {}
    for layer in layers:
        score = metric(variant([layer]))
        evaluations += 1
        result.sensitivity[layer.name] = score
        damage[layer.name] = max(baseline - score, 0.0)
    saved = {l.name: dense_bits[l.name] - bits[l.name] for l in layers}
    order = sorted(layers, key=lambda l: (damage[l.name] / max(saved[l.name], 1),
                                          -saved[l.name]))
    chosen: List[CompressedLayer] = []
    score = baseline
    for layer in order:
        if damage[layer.name] > budget:
            result.skipped.append(layer.name)
            continue
        trial = metric(variant(chosen + [layer]))
        evaluations += 1
        if trial >= baseline - budget:
            chosen.append(layer)
            score = trial
        else:
            result.skipped.append(layer.name)
    result.chosen = [l.name for l in chosen]
    result.score = score
    result.evaluations = evaluations
    return result


# ---------------------------------------------------------------------------
# Per-layer settings: SmartExchange variants, int-k, or dense, under a budget
# ---------------------------------------------------------------------------
#
# The skip-only selection above can only choose between the reference
# decomposition and dense. `build_menus` gives every weight layer a menu:
# SmartExchange at several settings (threshold, exponent range — fewer
# levels give narrower codes —, structured row fraction), each fitted to the
# layer's outputs (fits.fit_layer: least-squares bases and code
# re-selection), per-output-channel int-k rounded to nearest and, where the
# layer has input rows, with data-aware rounding (fits.fit_int; int-k
# is the only compressed form for depthwise, 1x3 and small layers), or
# dense. Each entry has its storage and its relative output error on
# calibration activations of the original model. `choose` gives every layer
# its smallest entry within one error tolerance (a crude allocation, kept as
# the baseline of the accuracy experiments); `plan.sensitivity`
# allocates by each entry's measured effect on the whole model.


DEFAULT_SE_SETTINGS = (
    "threshold=1e-3",
    "threshold=1e-3 min-exp=-5 max-exp=2",
    "threshold=1e-3 min-exp=-4 max-exp=-1",
    "threshold=1e-3 min-exp=-5 max-exp=2 structured-fraction=0.25",
    "threshold=1e-3 min-exp=-5 max-exp=2 structured-fraction=0.5",
)
DEFAULT_INT_BITS = (8, 6, 5, 4)


def setting_dict(setting: str) -> dict:
    """'threshold=1e-3 min-exp=-5' -> {'threshold': 0.001, 'min-exp': -5}."""
    out = {}
    for part in setting.split():
        key, _, value = part.partition("=")
        try:
            out[key] = int(value)
        except ValueError:
            out[key] = float(value)
    return out


def int_quantize(w: np.ndarray, bits: int) -> np.ndarray:
    """Per-output-channel symmetric round-to-nearest int-bits, dequantized."""
    flat = w.reshape(w.shape[0], -1).astype(np.float64)
    q = (1 << (bits - 1)) - 1
    scale = np.maximum(np.abs(flat).max(axis=1, keepdims=True), 1e-30) / q
    return (np.clip(np.round(flat / scale), -q, q) * scale).reshape(w.shape)


def int_fit(w: np.ndarray, rows: np.ndarray, bits: int) -> np.ndarray:
    """Data-aware int-bits (`fits.fit_int`) of a canonical weight for
    input rows, dequantized, in w's shape."""
    ints, scale = fit_int(w.reshape(w.shape[0], -1), rows, bits)
    return (ints * scale[:, None]).reshape(w.shape)


def int_bits_of(shape, bits: int) -> int:
    """int-k storage: k bits per weight plus a 32-bit scale per output channel."""
    return int(np.prod(shape)) * bits + int(shape[0]) * 32


class LayerMenu:
    """One weight layer: its ONNX node, original weight and menu of entries."""

    def __init__(self, name, node, weight, onnx_shape):
        self.name, self.node = name, node
        self.weight = weight          # canonical [O, ...] float64
        self.onnx_shape = onnx_shape  # the initializer's shape
        self.entries = [{"plan": {"form": "dense"}, "bits": 32 * weight.size,
                         "error": 0.0, "weight": None}]

    def dense_bits(self):
        return 32 * self.weight.size


def build_menus(onnx_path, model_mlir, calibration, sd_opt,
                se_settings=DEFAULT_SE_SETTINGS, int_bits=DEFAULT_INT_BITS,
                rounds: int = 1, min_size: int = 1024, max_rows: int = 4096,
                log=lambda s: None, decomposed=None):
    """Every weight layer's menu (see the section comment), fitted on the
    original model's activations for `calibration` inputs. `decomposed`
    (setting -> (report, output) of `decompose`) reuses sd-decompose runs
    already made."""
    model = onnx.load(str(onnx_path))
    menus = [LayerMenu(n.name, n, w, s) for n, w, s in weight_layers(model)]
    ref = OnnxReference(model)
    names = sorted({m.node.input[0] for m in menus})
    rng = np.random.default_rng(0)
    inputs = {m.name: [] for m in menus}
    for inp in calibration:
        cap = ref.run_capture(inp, names)
        for m in menus:
            inputs[m.name].append(cap[m.node.input[0]])
    rows, raw = {}, {}
    for m in menus:
        raw[m.name] = inputs[m.name][:4]   # whole inputs for int-k errors
        try:
            rows[m.name] = input_rows_sample(m.node, inputs[m.name], m.weight.shape,
                                             max_rows, rng)
        except ValueError:
            continue  # grouped convolution: no SmartExchange form
    del inputs
    for m in menus:
        ys = [layer_output(m.node, v, m.weight) for v in raw[m.name]]
        denom = sum(float((y ** 2).sum()) for y in ys) or 1.0
        for k in int_bits:
            variants = [({"form": "int", "bits": k}, int_quantize(m.weight, k))]
            if m.name in rows:
                variants.append(({"form": "int", "bits": k, "rounding": "data"},
                                 int_fit(m.weight, rows[m.name], k)))
            for plan, wq in variants:
                err = sum(float(((layer_output(m.node, v, wq) - y) ** 2).sum())
                          for v, y in zip(raw[m.name], ys))
                m.entries.append({"plan": plan, "bits": int_bits_of(m.weight.shape, k),
                                  "error": (err / denom) ** 0.5, "weight": wq})
    by_name = {m.name: m for m in menus}
    with tempfile.TemporaryDirectory(prefix="sd-menu-") as tmp:
        for setting in se_settings:
            rep, out = decomposed.get(setting) if decomposed else decompose(
                sd_opt, model_mlir, setting, min_size, Path(tmp))
            report = json.loads(rep.read_text())
            blobs = parse_resource_section(out.read_text())
            for entry in report["layers"]:
                m = by_name.get(entry["name"])
                if entry["form"] != "se" or m is None or m.name not in rows:
                    continue
                lo, hi = exponent_range(entry)
                codes, basis = se_arrays(entry, blobs, out)
                w2 = m.weight.reshape(entry["shape"][0], -1)
                codes, basis, _, err = fit_layer(codes, basis, w2, rows[m.name],
                                                 lo, hi, rounds=rounds)
                rebuilt = rebuild(codes, basis.astype(np.float32), entry["shape"], lo)
                m.entries.append({"plan": dict(setting_dict(setting), form="se"),
                                  "bits": se_bits(codes), "error": err,
                                  "weight": rebuilt.astype(np.float64),
                                  "codes": codes, "basis": basis.astype(np.float32)})
            log(f"menu: {setting} done")
    return model, menus


def decompose(sd_opt, model_mlir, setting: str, min_size: int, folder: Path):
    """sd-decompose with one SE setting: (report path, output path) in `folder`."""
    tag = setting.replace(" ", "_").replace("=", "")
    rep, out = folder / f"{tag}.json", folder / f"{tag}.mlir"
    proc = subprocess.run(
        [sd_opt, str(model_mlir), f"--sd-decompose={setting} min-size={min_size} report={rep}",
         "-o", str(out)], capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"sd-decompose {setting}: {proc.stderr.strip()}")
    return rep, out


def save_menus(menus, path) -> None:
    """Pickles menus (a cache: building and measuring them takes minutes).
    NodeProtos do not pickle by identity, so they are dropped and
    `load_menus` re-links them by name."""
    nodes = [m.node for m in menus]
    for m in menus:
        m.node = None
    try:
        with open(path, "wb") as f:
            pickle.dump(menus, f)
    finally:
        for m, n in zip(menus, nodes):
            m.node = n


def load_menus(path, model):
    """Menus saved by `save_menus`, re-linked to `model`'s nodes."""
    with open(path, "rb") as f:
        menus = pickle.load(f)
    for m in menus:
        m.node = next(n for n in model.graph.node if n.name == m.name)
    return menus


def choose(menus, eps: float) -> dict:
    """name -> the smallest entry with error <= eps (dense always qualifies)."""
    return {m.name: min((e for e in m.entries if e["error"] <= eps),
                        key=lambda e: e["bits"]) for m in menus}


def apply_choice(model, menus, choice, raw=None, shifts=None):
    """A copy of the ONNX model with every chosen non-dense entry's weight;
    with `raw` (from `capture_raw`), biases corrected for the mean shift,
    or with `shifts` (layer -> shift) by those."""
    layers = []
    for m in menus:
        e = choice[m.name]
        if e["weight"] is None:
            continue
        w = e["weight"]
        if m.node.op_type == "Conv":
            w = w.reshape(m.onnx_shape)
        layers.append(CompressedLayer(m.name, list(w.shape), w.astype(np.float32), 0, 0))
    out = copy.deepcopy(model)
    replace_weights(out, layers)
    if shifts is None and raw is not None:
        shifts = choice_shifts(menus, choice, raw)
    if shifts:
        correct_biases(out, shifts)
    return out


def choice_shifts(menus, choice, raw):
    """node name -> output mean shift of every chosen non-dense entry."""
    return {m.name: output_shift(m, choice[m.name]["weight"], raw[m.name])
            for m in menus if choice[m.name]["weight"] is not None}


def plan_totals(menus, choice, extra_dense_bits: int = 0) -> dict:
    dense = sum(m.dense_bits() for m in menus) + extra_dense_bits
    bits = sum(choice[m.name]["bits"] for m in menus) + extra_dense_bits
    forms = {}
    for m in menus:
        f = choice[m.name]["plan"]["form"]
        forms[f] = forms.get(f, 0) + 1
    return {"dense_bits": dense, "bits": bits, "compression_ratio": dense / max(bits, 1),
            "forms": forms}


def plan_config(menus, choice) -> dict:
    """The plan file (docs/Driver.md) for a choice."""
    return {"layers": {m.name: choice[m.name]["plan"] for m in menus}}


# ---------------------------------------------------------------------------
# Bias correction
# ---------------------------------------------------------------------------
#
# A compressed weight shifts the mean of each output channel by
# E[x]·(W - W')ᵀ: inputs after ReLU / hardswish are mostly positive, so the
# shifts do not average out and they add up through the layers. Adding the
# measured mean shift (on calibration inputs) to the layer's bias removes it
# at no storage cost: the bias is stored anyway. Where the bias lives in
# ONNX: the Conv's third input, the constant operand of the Add after a
# MatMul, or the running mean of the BatchNormalization after a bias-free
# Conv (subtracted there).

def capture_raw(model, menus, calibration, count: int = 4):
    """name -> the layer's input for the first `count` calibration inputs."""
    ref = OnnxReference(model)
    names = sorted({m.node.input[0] for m in menus})
    raw = {m.name: [] for m in menus}
    for inp in list(calibration)[:count]:
        cap = ref.run_capture(inp, names)
        for m in menus:
            raw[m.name].append(cap[m.node.input[0]])
    return raw


def output_shift(m, w_new, raw) -> np.ndarray:
    """Per output channel mean of (original - new) outputs over `raw` inputs."""
    total, count = 0.0, 0
    for v in raw:
        d = layer_output(m.node, v, m.weight) - layer_output(m.node, v, w_new)
        axes = channel_axes(m.node, d)
        total = total + d.sum(axis=axes)
        count += int(np.prod([d.shape[a] for a in axes]))
    return np.asarray(total) / max(count, 1)


def correct_biases(model, shifts) -> int:
    """Adds each layer's output shift to its bias in `model` (in place), for
    the layers in `shifts` (node name -> shift). Returns how many were
    corrected (layers without a bias to hold it are left as they are)."""
    nodes = {n.name: n for n in model.graph.node}
    consts = constants(model)
    done = 0
    for name, shift in shifts.items():
        target = bias_target(model, nodes[name], consts)
        new = None if target is None else corrected_bias(consts, target, shift)
        if new is None:
            continue
        tensor = target[1]
        consts[tensor].CopyFrom(numpy_helper.from_array(new.astype(np.float32), tensor))
        done += 1
    return done


def file_parameters(model) -> int:
    """Every float value stored in the ONNX model (initializers and Constant
    nodes): weights, depthwise kernels, biases, norm parameters and
    statistics. Integer tensors (shapes, indices) are not parameters."""
    from onnx import TensorProto

    floats = (TensorProto.FLOAT, TensorProto.FLOAT16, TensorProto.DOUBLE, TensorProto.BFLOAT16)
    count = sum(int(np.prod(t.dims)) for t in model.graph.initializer if t.data_type in floats)
    for n in model.graph.node:
        if n.op_type == "Constant":
            for a in n.attribute:
                if a.name == "value" and a.t.data_type in floats:
                    count += int(np.prod(a.t.dims))
    return count


def whole_model(totals: dict, model) -> dict:
    """`totals` (candidate layers: dense_bits, bits) extended to the whole
    file: every other parameter stays at 32 bits. Returns the parameters,
    the file's dense and compressed bits and the whole-model ratio."""
    params = file_parameters(model)
    rest = 32 * params - int(totals["dense_bits"])
    if rest < 0:
        raise ValueError(f"the candidate layers hold {totals['dense_bits'] // 32} values, "
                         f"more than the {params} parameters of the model")
    bits = int(totals["bits"]) + rest
    return {"parameters": params, "dense_bits": 32 * params, "bits": bits,
            "compression_ratio": 32 * params / max(bits, 1)}


def candidate_ratio_for(menus, model, target: float) -> float:
    """The ratio over the candidate layers that gives the whole file
    `target` (the other parameters stay at 32 bits): with D the candidates'
    dense bits and R the rest, (D + R) / (b + R) = target."""
    dense = sum(m.dense_bits() for m in menus)
    rest = 32 * file_parameters(model) - dense
    return dense / max((dense + rest) / target - rest, 1.0)
