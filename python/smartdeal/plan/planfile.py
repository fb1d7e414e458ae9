"""The plan file: which form each weight layer takes, checked, and applied.

A plan (docs/Driver.md) is JSON: `{"defaults": {...}, "layers": {name:
{"form": "se" | "int" | "dense" | "permdiag", ...}}}`. Here it is checked
(`plan_forms`), written for the passes, which parse it themselves
(`passes_plan`, `compress_command`: sd-permdiag for the permdiag entries,
then sd-decompose, both with `plan=FILE`), its int-k layers quantized in the ONNX model
(`quantize_int_layers`), and the reports of the passes merged with the int-k
entries (`merge_entries`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np
import onnx

from ..runtime.compressed import CompressedLayer
from ..runtime.export import replace_weights
from .fits import MAX_ROWS
from .graph import input_rows, weight_layers
from .menus import (LayerMenu, capture_raw, correct_biases, int_bits_of, int_fit,
                    int_quantize)

__all__ = [
    "PLAN_FORMS",
    "PlanError",
    "compress_command",
    "load_plan",
    "merge_entries",
    "passes_plan",
    "plan_forms",
    "quantize_int_layers",
]


class PlanError(ValueError):
    """A plan entry is malformed or names no layer of the model."""


def _kind(value) -> str:
    """How a JSON value reads in a message: 'a string', 'a list', ..."""
    return {str: "a string", list: "a list", dict: "an object", bool: "a boolean",
            int: "a number", float: "a number", type(None): "null"}.get(
                type(value), type(value).__name__)


def load_plan(path: Path) -> dict:
    """The plan file at `path`, checked for the shape every later step reads:
    an object whose optional `defaults` maps option names to numbers,
    booleans or strings and whose optional `layers` maps layer names to
    objects of such settings. The values themselves are checked where they
    are used (plan forms here, options by sd-opt)."""
    try:
        text = path.read_text()
    except OSError as e:
        raise PlanError(f"cannot read plan file {path}: {e.strerror or e}") from None
    try:
        plan = json.loads(text)
    except json.JSONDecodeError as e:
        raise PlanError(f"{path}:{e.lineno}:{e.colno}: not valid JSON: {e.msg}") from None
    if not isinstance(plan, dict):
        raise PlanError(f"{path}: a plan must be a JSON object "
                        f"{{\"defaults\": {{...}}, \"layers\": {{...}}}}, got {_kind(plan)}")

    def settings(where: str, value, what: str) -> None:
        if not isinstance(value, dict):
            raise PlanError(f"{path}: {where} must be {what}, got {_kind(value)}")
        for key, v in value.items():
            if not isinstance(v, (int, float, str, bool)):
                raise PlanError(f"{path}: {where}.{key} must be a number, boolean "
                                f"or string, got {_kind(v)}")

    settings("defaults", plan.get("defaults", {}), "an object of option values")
    layers = plan.get("layers", {})
    if not isinstance(layers, dict):
        raise PlanError(f"{path}: 'layers' must be an object mapping layer names "
                        f"to settings, got {_kind(layers)}")
    for name, entry in layers.items():
        settings(f"layers.{name}", entry, "an object of settings")
    return plan


PLAN_FORMS = ("se", "int", "dense", "permdiag")


def plan_forms(config: Optional[dict]) -> Dict[str, dict]:
    """name -> settings of every plan entry whose form is not SmartExchange,
    checked: `int` needs `bits` in 2..8, `permdiag` a block size `p` >= 1."""
    out = {}
    for layer, settings in ((config or {}).get("layers", {}) or {}).items():
        form = settings.get("form", "se")
        if form not in PLAN_FORMS:
            raise PlanError(f"plan entry '{layer}': unknown form '{form}' "
                              f"(expected {', '.join(PLAN_FORMS)})")
        if form == "int":
            bits = settings.get("bits")
            if not isinstance(bits, int) or not 2 <= bits <= 8:
                raise PlanError(f"plan entry '{layer}': form int needs an "
                                  f"integer 'bits' from 2 to 8, got {bits!r}")
        if form == "permdiag":
            p = settings.get("p")
            if not isinstance(p, int) or isinstance(p, bool) or p < 1:
                raise PlanError(f"plan entry '{layer}': form permdiag needs an "
                                  f"integer block size 'p' >= 1, got {p!r}")
        if form != "se":
            out[layer] = settings
    return out


def passes_plan(config: Optional[dict], min_size: int,
                threshold: Optional[float] = None) -> dict:
    """The plan file sd-permdiag and sd-decompose read (`plan=FILE`): the
    config's entries as they are, with `min-size` (unless the config's
    defaults give one) and `threshold` (when given, over the config's) in
    its defaults. The passes check every key and value
    (include/SD/Compression/Plan.h); `int` and `dense` layers stay dense in
    sd-decompose (the driver quantizes `int` layers itself, before the
    import), `permdiag` ones go to sd-permdiag."""
    plan_forms(config)
    defaults = {"min-size": min_size, **((config or {}).get("defaults") or {})}
    if threshold is not None:
        defaults["threshold"] = threshold
    return {"defaults": defaults, "layers": dict((config or {}).get("layers") or {})}


def compress_command(sd_opt: str, model_mlir: Path, config: Optional[dict],
                     min_size: int, threshold: Optional[float], work: Path) -> List[str]:
    """sd-opt on the imported model with the plan written to
    `work/sd-opt-plan.json`: sd-permdiag for the plan's permdiag layers (when
    it has any), then sd-decompose; reports in `work`."""
    plan_path = work / "sd-opt-plan.json"
    plan_path.write_text(json.dumps(passes_plan(config, min_size, threshold), indent=2)
                         + "\n")
    cmd = [sd_opt, str(model_mlir)]
    stale = work / "permdiag.json"
    if stale.exists():  # from the run before a budgeted re-run
        stale.unlink()
    if any(s["form"] == "permdiag" for s in plan_forms(config).values()):
        cmd.append(f"--sd-permdiag=plan={plan_path} report={work / 'permdiag.json'}")
    return cmd + [f"--sd-decompose=plan={plan_path} report={work / 'layers.json'}",
                  "-o", str(work / "compressed.mlir")]


def quantize_int_layers(path: Path, config: Optional[dict], destination: Path,
                        shifts: Optional[dict] = None, weights: Optional[dict] = None,
                        calibration: Optional[List[dict]] = None):
    """Writes the ONNX model with every `form: int` layer's weight replaced by
    its per-output-channel int-k values (dequantized), so the imported IR,
    the compiled code and the exported model all carry them, and with the
    biases corrected by `shifts` (layer -> output mean shift, from --search).
    `rounding: data` layers take their integers from `weights` (the ones
    --search evaluated) or, for a plan file, fit them to `calibration`
    inputs (`fits.fit_int`). Returns the report entries of the int
    layers."""
    ints = {n: s for n, s in plan_forms(config).items() if s.get("form") == "int"}
    if not ints and not shifts:
        return []
    model = onnx.load(str(path))
    found = {node.name: (node, w, shape) for node, w, shape in weight_layers(model)}
    missing = sorted(set(ints) - set(found))
    if missing:
        raise PlanError(f"plan: int layers not found in the model: {', '.join(missing)}")
    unknown = sorted(n for n, st in ints.items() if st.get("rounding", "nearest")
                     not in ("nearest", "data"))
    if unknown:
        raise PlanError(f"plan: layer '{unknown[0]}': rounding must be 'nearest' or "
                          f"'data', not '{ints[unknown[0]]['rounding']}'")
    weights = dict(weights or {})
    fit = [n for n, st in ints.items() if st.get("rounding") == "data" and n not in weights]
    if fit:
        if not calibration:
            raise PlanError("plan: 'rounding: data' int layers need calibration inputs "
                              "(--calibration)")
        raw = capture_raw(model, [LayerMenu(n, found[n][0], found[n][1], found[n][2])
                                  for n in fit], calibration, len(calibration))
        for n in fit:
            node, w, _ = found[n]
            try:
                rows = np.concatenate([input_rows(node, v, w.shape) for v in raw[n]])
            except ValueError as e:
                raise PlanError(f"plan: layer '{n}': rounding: data: {e}") from None
            rows = rows[np.random.default_rng(0).permutation(len(rows))[:MAX_ROWS]]
            weights[n] = int_fit(w, rows, ints[n]["bits"])
    layers, entries = [], []
    for name, settings in ints.items():
        node, w, shape = found[name]
        q = weights[name] if settings.get("rounding") == "data" \
            else int_quantize(w, settings["bits"])
        err = float(np.linalg.norm(q - w) / max(np.linalg.norm(w), 1e-30))
        bits = int_bits_of(w.shape, settings["bits"])
        layers.append(CompressedLayer(
            name, list(q.shape), (q.reshape(shape) if node.op_type == "Conv" else q)
            .astype(np.float32), 0, err))
        entries.append({"name": name, "form": f"int{settings['bits']}"
                        + ("-data" if settings.get("rounding") == "data" else ""),
                        "shape": list(w.shape),
                        "weights": int(w.size), "bits": bits, "dense_bits": 32 * int(w.size),
                        "compression_ratio": 32 * w.size / bits, "relative_error": err})
    replace_weights(model, layers)
    if shifts:
        correct_biases(model, shifts)
    onnx.save(model, str(destination))
    return entries


def merge_entries(report: dict, entries: List[dict]) -> dict:
    """The sd-decompose report with the layers the plan gave other forms:
    int-k entries replace theirs (sd-decompose left those layers dense),
    permuted-diagonal ones are added (sd-permdiag took those layers before
    sd-decompose ran); the totals are recomputed over all of them."""
    if not entries:
        return report
    by_name = {e["name"]: e for e in entries}
    layers = []
    for l in report["layers"]:
        e = by_name.pop(l["name"], None)
        layers.append(dict(l, **e) if e else l)
    layers += list(by_name.values())
    totals = dict(report["totals"])
    bits = 0
    for l in layers:
        bits += l["bits"] if "bits" in l else 32 * int(l.get("weights", 0))
    compressed = [l for l in layers if l["form"] != "dense"]
    totals["bits"] = bits
    totals["dense_bits"] = sum(32 * int(l.get("weights", 0)) for l in layers)
    totals["candidate_layers"] = len(layers)
    totals["compression_ratio"] = totals["dense_bits"] / max(bits, 1)
    totals["compressed_layers"] = len(compressed)
    totals["int_layers"] = sum(1 for e in entries if e["form"].startswith("int"))
    totals["permdiag_layers"] = sum(1 for e in entries if e["form"] == "permdiag")
    totals["compressed_layers_ratio"] = (
        sum(32 * l["weights"] for l in compressed) / max(sum(l["bits"] for l in compressed), 1))
    return dict(report, layers=layers, totals=totals)
