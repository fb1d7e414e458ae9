#!/usr/bin/env python3
"""Post-training int-k of the recognizer: does the rounding rule carry to words?

Plans (per-channel symmetric int-k on the weight layers, all biases
corrected in graph order by `fits.sequential` on the 16 calibration words
of ocr_frontier.py, the menus and sensitivities from the same cache):
uniform int5; uniform int4; and `--ratios` (default 6, 6.5) whole-model
plans allocated by measured sensitivity over the int entries only (int8,
int6, int5, int4 per layer, each width's sensitivity as measured for its
data-rounded entry: int4/int5 on the big layers, int6/int8 on the
sensitive few). Each plan with three rounding rules of its int layers
(depthwise layers, which have no input rows, always round to nearest at
max-abs):

* nearest: round to nearest at the max-abs scale (the C++ passes' rule);
* clip: round to nearest at the per-channel clipping with the least output
  error on the compressed model's inputs (`fits.clip_scales`);
* adaround: learned up/down rounding at those scales towards the original
  layer's output from the compressed model's inputs (`fits.fit_int_adaround`).

Scored on 1000 validation words (what a search may look at) and 1000 test
words (reported), exact match, ONNX Runtime, 95 % Wilson intervals; ratios
whole-model (every float parameter counts) and over the weight layers.

Writes benchmarks/results/ocr-rec_int_rounding.md (+ .json), row by row.

Usage: ocr_int_rounding.py [--samples 1000] [--ratios 6,6.5] [--rules nearest,clip,adaround]
"""

import argparse
import copy
import json
import sys
import time
from pathlib import Path

import numpy as np
import onnx
import torch

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "python"))

from smartdeal import models  # noqa: E402
from smartdeal.cli import fidelity  # noqa: E402
from smartdeal.data.stats import Accuracy, table_cells  # noqa: E402
from smartdeal.plan import fits as calibrate  # noqa: E402
from smartdeal.plan import menus as budget  # noqa: E402
from smartdeal.plan import sensitivity  # noqa: E402
from smartdeal.runtime import ort  # noqa: E402

CALIBRATION = 16  # as ocr_frontier.py: the same cached menus


def int_only(menus):
    """The menus with their dense and int entries only. The sensitivities
    were measured on the Pareto entries, which for layers with input rows
    are the data-rounded ints: those stand for their bit width here."""
    out = []
    for m in menus:
        c = copy.copy(m)
        c.entries = [e for e in m.entries if e["plan"]["form"] in ("dense", "int")]
        out.append(c)
    return out


def nearest_entries(menus, choice):
    """The choice with every int layer at the round-to-nearest entry of its
    bit width (the rounding rule is applied by fits.sequential)."""
    out = {}
    for m in menus:
        p = choice[m.name]["plan"]
        want = {"form": "int", "bits": p["bits"]} if p["form"] == "int" else p
        out[m.name] = next(e for e in m.entries if e["plan"] == want)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=1000)
    ap.add_argument("--ratios", default="6,6.5")
    ap.add_argument("--uniform", default="5,4")
    ap.add_argument("--rules", default="nearest,clip,adaround")
    ap.add_argument("--forms", choices=("int", "all"), default="int",
                    help="the allocated plans' forms: int-k only, or every menu entry "
                    "(SE too, as ocr_frontier.py's plans; the rule applies to the int layers)")
    ap.add_argument("--resume", action="store_true",
                    help="keep the rows of the existing table (its .json), measure the rest")
    ap.add_argument("--out", type=Path,
                    default=ROOT / "benchmarks" / "results" / "ocr-rec_int_rounding.md")
    args = ap.parse_args()
    torch.set_num_threads(1)  # a shared machine: one core
    t0 = time.time()
    log = lambda s: print(f"[{time.time() - t0:6.0f}s] {s}", flush=True)  # noqa: E731
    real = models.MODELS["ocr-rec"]
    path = real.path
    base = onnx.load(str(path))
    calib = fidelity.split_inputs(path, real, "calibration", CALIBRATION)
    model, menus = sensitivity.model_menus(path, real.input_shapes, calib, CALIBRATION,
                                           log=log)
    if args.forms == "int":
        menus = int_only(menus)
    xs = [next(iter(c.values())) for c in calib]
    splits = {s: fidelity.data_module(real).samples(s, args.samples)
              for s in ("validation", "test")}
    dense = {s: fidelity.original_predictions(path, real, smp, log)
             for s, smp in splits.items()}
    rows = []
    if args.resume and args.out.with_suffix(".json").exists():
        rows = json.loads(args.out.with_suffix(".json").read_text())
    done = {(r["method"], r["rule"]) for r in rows}

    def score(split, got):
        return Accuracy(sum(g == s.label for g, s in zip(got, splits[split])), args.samples)

    def row(method, rule, choice, onnx_model):
        totals = budget.plan_totals(menus, choice)
        forms = {}
        for m in menus:
            p = choice[m.name]["plan"]
            key = f"int{p['bits']}" if p["form"] == "int" else p["form"]
            forms[key] = forms.get(key, 0) + 1
        r = {"method": method, "rule": rule,
             "layers": ", ".join(f"{k} {v}" for k, v in sorted(forms.items())),
             "whole": budget.whole_model(totals, base)["compression_ratio"],
             "candidates": totals["compression_ratio"]}
        for split in ("validation", "test"):
            if onnx_model is None:
                got = dense[split]
            else:
                got = fidelity.predictions(real, ort.runner(onnx_model)(
                    [s.x for s in splits[split]]), path)
            r[split] = score(split, got).as_dict()
            r[split + "_same"] = float(np.mean([a == b for a, b in zip(got, dense[split])]))
        rows.append(r)
        write(args, rows, t0)
        log(f"{method} [{rule}]: {r['whole']:.2f}x whole, validation "
            f"{100 * r['validation']['value']:.1f} %, test {100 * r['test']['value']:.1f} %")

    if not rows:
        row("dense fp32", "-", budget.choose(menus, 0.0), None)
    plans = []
    for k in [int(v) for v in args.uniform.split(",") if v]:
        plans.append((f"per-channel int{k}, every weight layer",
                      {m.name: next(e for e in m.entries if e["plan"] == {"form": "int",
                                                                         "bits": k})
                       for m in menus}))
    for target in [float(v) for v in args.ratios.split(",") if v]:
        choice = nearest_entries(menus, sensitivity.for_ratio(
            menus, budget.candidate_ratio_for(menus, base, target)))
        kinds = "int-k" if args.forms == "int" else "int-k and SE"
        plans.append((f"{kinds} per layer by measured sensitivity for whole-model {target:g}x",
                      choice))
    for method, choice in plans:
        for rule in args.rules.split(","):
            if (method, rule) in done:
                continue
            seq, shifts = calibrate.sequential(
                model, menus, choice, xs,
                int_rounding={"nearest": "keep"}.get(rule, rule))
            row(method, rule, seq, budget.apply_choice(model, menus, seq, shifts=shifts))
    print("\n".join(write(args, rows, t0)))


def write(args, rows, t0):
    dense = {s: rows[0][s]["value"] for s in ("validation", "test")}
    lines = [
        "# Post-training int-k of ocr-rec: rounding rules, realistic validation and test splits",
        "",
        f"Written by `benchmarks/accuracy/ocr_int_rounding.py` ({time.strftime('%Y-%m-%d')}, "
        f"{time.time() - t0:.0f} s). Exact-match word accuracy on {args.samples} validation "
        f"and {args.samples} test words (smartdeal.data, seed 0), ONNX Runtime, 95 % Wilson "
        "intervals. Every plan's int layers are per-output-channel symmetric int-k; biases "
        f"are corrected in graph order (`fits.sequential`) on {CALIBRATION} calibration-split "
        "words, where the rounding rule is applied too: nearest (max-abs scale, the C++ "
        "passes' rule), clip (MSE-optimal per-channel clipping of the output error on the "
        "compressed model's inputs, then nearest), adaround (learned up/down rounding at "
        "those scales towards the original layer's outputs; AdaRound's rectified sigmoid "
        "and annealed regularizer, 1000 Adam steps per layer). Depthwise layers round to "
        "nearest under every rule. **Whole model**: every float parameter of the file "
        "counts (uncompressed ones at 32 bits); candidates: the weight layers only.", "",
        "| plan | rounding | layers | whole model | candidates | validation [95 % CI] | vs dense "
        "| test [95 % CI] | vs dense | test same as dense |",
        "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(
            f"| {r['method']} | {r['rule']} | {r['layers']} | {r['whole']:.2f}x "
            f"| {r['candidates']:.2f}x | {table_cells(r['validation'], dense['validation'])} "
            f"| {table_cells(r['test'], dense['test'])} | {100 * r['test_same']:.1f} % |")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n")
    args.out.with_suffix(".json").write_text(json.dumps(rows, indent=1) + "\n")
    return lines


if __name__ == "__main__":
    main()
