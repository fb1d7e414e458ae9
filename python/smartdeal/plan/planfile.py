"""The plan file: written for the passes, read for the driver's int-k layers.

A plan (docs/Driver.md) is JSON: `{"defaults": {...}, "layers": {name:
{"form": "se" | "int" | "dense" | "permdiag", ...}}}`. Its grammar and every
check of its keys, types and ranges live in ONE place, the C++ parser
(include/SD/Compression/Plan.h): `load_plan` runs it through sd-opt and
reports its located error, and the passes read the plan themselves
(`compress_command`: sd-permdiag for the permdiag entries, then sd-decompose,
both with `plan=FILE`). Python only reads what it acts on, after that check:
which layers have a form (`layers_of_form`), to quantize the int-k layers in
the ONNX model (`quantize_int_layers`) and to merge the reports of the passes
with the int-k entries (`merge_entries`).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np
import onnx

from ..runtime.compressed import CompressedLayer
from ..runtime.source_export import replace_weights
from .fits import MAX_ROWS
from .graph import input_rows, weight_layers
from .menus import (LayerMenu, capture_raw, correct_biases, int_bits_of, int_fit,
                    int_quantize)

__all__ = [
    "PlanError",
    "compress_command",
    "compress_passes",
    "layers_of_form",
    "load_plan",
    "merge_entries",
    "passes_plan",
    "quantize_int_layers",
]


class PlanError(ValueError):
    """A plan entry is malformed or names no layer of the model."""


def load_plan(path: Path, sd_opt: str) -> dict:
    """The plan file at `path`, checked by the C++ plan parser (sd-opt's
    `--sd-decompose=plan=FILE` on an empty module, which reads the plan and
    stops); a bad plan raises PlanError with the parser's message, which
    names the file and the place (line:column or JSON path)."""
    proc = subprocess.run([sd_opt, "-", f"--sd-decompose=plan={path}", "-o", "-"],
                          input="module {}\n", capture_output=True, text=True)
    if proc.returncode != 0:
        errors = [line.split("error: ", 1)[1] for line in proc.stderr.splitlines()
                  if "error: " in line]
        raise PlanError(errors[0] if errors else proc.stderr.strip()
                        or f"sd-opt exited with {proc.returncode} on plan {path}")
    return json.loads(Path(path).read_text())


def layers_of_form(config: Optional[dict], form: str) -> Dict[str, dict]:
    """name -> settings (the defaults, then the entry) of every entry of a
    plan that has passed `load_plan` (or was written by the driver) whose
    form is `form`; entries without a form are SmartExchange ("se")."""
    defaults = (config or {}).get("defaults") or {}
    out = {}
    for layer, entry in ((config or {}).get("layers") or {}).items():
        settings = {**defaults, **entry}
        if settings.get("form", "se") == form:
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
    defaults = {"min-size": min_size, **((config or {}).get("defaults") or {})}
    if threshold is not None:
        defaults["threshold"] = threshold
    return {"defaults": defaults, "layers": dict((config or {}).get("layers") or {})}


def compress_command(sd_opt: str, model_mlir: Path, config: Optional[dict],
                     min_size: int, threshold: Optional[float], work: Path) -> List[str]:
    """sd-opt's `sd-compress` pipeline on the imported model with the plan
    written to `work/sd-opt-plan.json` (sd-permdiag for the plan's permdiag
    layers, sd-decompose, the contract check); reports in `work`, the
    permdiag one only when the plan has permdiag layers."""
    plan_path = work / "sd-opt-plan.json"
    plan_path.write_text(json.dumps(passes_plan(config, min_size, threshold), indent=2)
                         + "\n")
    stale = work / "permdiag.json"
    if stale.exists():  # from the run before a budgeted re-run
        stale.unlink()
    return [sd_opt, str(model_mlir), *compress_passes(config, plan_path, work),
            "-o", str(work / "compressed.mlir")]


def compress_passes(config: Optional[dict], plan_path: Path,
                    reports: Optional[Path] = None) -> List[str]:
    """The sd-opt option that compresses by the plan file `plan_path`: the
    named pipeline sd-compress (sd-permdiag, which projects the plan's
    permdiag layers only, then sd-decompose, then its contract check), with
    its reports in `reports` when given."""
    options = [f"plan={plan_path}"]
    if reports is not None:
        options.append(f"report={reports / 'layers.json'}")
        if layers_of_form(config, "permdiag"):
            options.append(f"permdiag-report={reports / 'permdiag.json'}")
    return [f"--sd-compress={' '.join(options)}"]


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
    ints = layers_of_form(config, "int")
    if not ints and not shifts:
        return []
    model = onnx.load(str(path))
    found = {node.name: (node, w, shape) for node, w, shape in weight_layers(model)}
    missing = sorted(set(ints) - set(found))
    if missing:
        raise PlanError(f"plan: int layers not found in the model: {', '.join(missing)}")
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
