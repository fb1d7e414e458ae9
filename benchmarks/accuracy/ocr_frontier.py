#!/usr/bin/env python3
"""Accuracy against compression on a real pretrained model (PP-OCRv4 rec).

Exact-match word accuracy on --words words from Debian's word list rendered
in DejaVu Sans (seed 0); everything data-aware uses --calibration other
words (seed 1, disjoint). Compression is over every weight layer of the
model (47 Conv / MatMul layers with constant weights, 2.6 M weights; a
layer left dense counts at 32 bits; attention's activation-activation
matmuls are not weights and are not counted).

Rows:
* per-channel int-k (round to nearest, 32-bit scale per output channel) of
  every weight layer: the baseline at equal bits;
* SmartExchange as sd-decompose does it (θ = 1e-3, weight-only fit) on the
  layers it decomposes, the rest dense; and the same layers fitted to the
  layer outputs (bases by least squares, then one round of code
  re-selection and basis refit; `calibrate.fit_layer`);
* per-layer plans with one output-error tolerance eps for every layer
  (`budget.choose`), at each eps;
* per-layer plans allocated by measured sensitivity (`smartdeal.plan.sensitivity`:
  each menu entry's effect on the whole model's output, the least summed
  damage for a compression ratio), at each target ratio, without and with
  the sequential refit (`calibrate.sequential`), and the plan the driver's
  --search picks for --budget (drop of the share of CTC frames agreeing
  with the original, on the calibration words).

Writes benchmarks/results/ocr_frontier.md (+ .json, + the chosen plan file).

Usage: ocr_frontier.py [--words 300] [--calibration 32] [--budget 0.01]
"""

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "python"))

from smartdeal import importers, models, ocr  # noqa: E402
from smartdeal.plan import fits as calibrate  # noqa: E402
from smartdeal.plan import menus as budget  # noqa: E402
from smartdeal.plan import sensitivity  # noqa: E402
from smartdeal.importers.onnx_reference import OnnxReference  # noqa: E402
from smartdeal.runtime.runner import find_sd_opt  # noqa: E402

BIAS_WORDS = 16  # calibration words whose mean output shift corrects biases


def read_words(model, path, sample):
    """The model's reading of every word, surrounding spaces stripped: the
    recognizer's dictionary ends in a space class, and stray leading or
    trailing spaces flip with any perturbation without being misreadings."""
    ref = OnnxReference(model)
    name = ref.input_names[0]
    chars = ocr.dictionary(path)
    return [ocr.decode(ref.run({name: ocr.render(w)})[0][0], chars).strip() for w in sample]


def cer(readings, sample):
    """Character error rate: total edit distance / total characters."""
    def dist(a, b):
        row = list(range(len(b) + 1))
        for i, ca in enumerate(a, 1):
            prev, row[0] = row[0], i
            for j, cb in enumerate(b, 1):
                prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (ca != cb))
        return row[-1]
    return sum(dist(r, w) for r, w in zip(readings, sample)) / sum(len(w) for w in sample)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--words", type=int, default=300)
    ap.add_argument("--calibration", type=int, default=32)
    ap.add_argument("--budget", type=float, default=0.01,
                    help="allowed drop of the calibration frame agreement")
    ap.add_argument("--eps", default="0.02,0.04,0.06")
    ap.add_argument("--ratios", default="4,5,6,7,8",
                    help="compression targets of the sensitivity-allocated plans")
    ap.add_argument("--settings", default="|".join(budget.DEFAULT_SE_SETTINGS))
    ap.add_argument("--int-bits", default="8,6,5,4")
    ap.add_argument("--reuse", type=Path, default=None,
                    help="rows JSON of an earlier run with the same words: keep its "
                    "baseline rows (dense is measured again for the agreement column)")
    ap.add_argument("--cache", type=Path, default=None,
                    help="pickle of the menus and their measured sensitivities: reused "
                    "when it exists (same settings!)")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "ocr_frontier.md")
    args = ap.parse_args()
    t0 = time.time()
    log = lambda s: print(f"[{time.time() - t0:6.0f}s] {s}", flush=True)  # noqa: E731
    real = models.MODELS["ocr-rec"]
    path = real.path
    sd_opt = find_sd_opt()
    sample = ocr.words(args.words, seed=0)
    calib_words = ocr.words(args.calibration, seed=1)
    assert not set(sample) & set(calib_words)
    calib = [{"x": ocr.render(w)} for w in calib_words]
    base = onnx.load(str(path))
    rows = []

    dense_read = []

    def row(method, plan_desc, totals, model, **extra):
        got = read_words(model, path, sample)
        if not dense_read:
            dense_read.extend(got)
        acc = float(np.mean([g == w for g, w in zip(got, sample)]))
        same = float(np.mean([g == d for g, d in zip(got, dense_read)]))
        r = {"method": method, "plan": plan_desc, "compression": totals["compression_ratio"],
             "accuracy": acc, "agreement": same, "cer": cer(got, sample), **extra}
        rows.append(r)
        log(f"{method} [{plan_desc}]: {r['compression']:.2f}x, words {acc:.1%}, "
            f"same as dense {same:.1%}, CER {r['cer']:.4f}")
        return r

    int_bits = [int(v) for v in args.int_bits.split(",")]
    settings = [s for s in args.settings.split("|") if s]
    with tempfile.TemporaryDirectory() as tmp:
        mlir = Path(tmp) / "model.mlir"
        importers.import_onnx(str(path), output=str(mlir), input_shapes=real.input_shapes,
                              fold_batchnorm=False)
        if args.cache and args.cache.exists():
            model = onnx.load(str(path))
            menus = budget.load_menus(args.cache, model)
        else:
            model, menus = budget.build_menus(path, mlir, calib, sd_opt, settings, int_bits,
                                              rounds=1, log=log)
            sensitivity.measure(model, menus, [c["x"] for c in calib],
                                budget.capture_raw(model, menus, calib, BIAS_WORDS), log=log)
            if args.cache:
                budget.save_menus(menus, args.cache)
        # Weight-only reference SE: sd-decompose's own codes and bases.
        rep, out = Path(tmp) / "r.json", Path(tmp) / "c.mlir"
        import subprocess
        subprocess.run([sd_opt, str(mlir), f"--sd-decompose={settings[0]} report={rep}",
                        "-o", str(out)], check=True, capture_output=True)
        from smartdeal.runtime import compressed
        ref_layers = {l.name: l for l in compressed.load(rep, out)}
        ref_report = {l["name"]: l for l in json.loads(rep.read_text())["layers"]}
    log(f"{len(menus)} weight layers, {sum(m.weight.size for m in menus)} weights")

    dense_choice = budget.choose(menus, 0.0)
    row("dense fp32", "-", budget.plan_totals(menus, dense_choice), base)

    def uniform(pick):
        choice = {}
        for m in menus:
            choice[m.name] = next((e for e in m.entries if pick(m, e)), m.entries[0])
        return choice

    raw = budget.capture_raw(model, menus, calib, BIAS_WORDS)
    if args.reuse:
        rows += [r for r in json.loads(args.reuse.read_text())
                 if not r["method"].startswith(("dense", "per-layer plan"))]
    for k in (int_bits if not args.reuse else []):
        choice = uniform(lambda m, e, k=k: e["plan"] == {"form": "int", "bits": k})
        if k >= 5:  # int4 reads nothing either way
            row(f"per-channel int{k}, every layer", "-", budget.plan_totals(menus, choice),
                budget.apply_choice(model, menus, choice))
        row(f"per-channel int{k}, every layer, bias-corrected", "-",
            budget.plan_totals(menus, choice), budget.apply_choice(model, menus, choice, raw))
        # Data-aware rounding where the layer has input rows (not depthwise).
        data = {"form": "int", "bits": k, "rounding": "data"}
        choice = {m.name: next((e for e in m.entries if e["plan"] == data), choice[m.name])
                  for m in menus}
        row(f"per-channel int{k}, every layer, data-aware rounding, bias-corrected", "-",
            budget.plan_totals(menus, choice), budget.apply_choice(model, menus, choice, raw))

    # Reference SE (weight-only) on the layers sd-decompose takes, others dense.
    choice = dict(dense_choice)
    baselines = not args.reuse
    for m in menus:
        if m.name in ref_layers:
            w = ref_layers[m.name].weight.astype(np.float64)
            choice[m.name] = {"plan": {"form": "se"}, "bits": ref_report[m.name]["bits"],
                              "error": 0.0, "weight": w}
    if baselines:
        row("SmartExchange θ=1e-3, weight-only (reference), others dense", settings[0],
            budget.plan_totals(menus, choice), budget.apply_choice(model, menus, choice))
    se0 = budget.setting_dict(settings[0])
    se0["form"] = "se"
    choice = uniform(lambda m, e: e["plan"] == se0)
    if baselines:
        row("SmartExchange θ=1e-3, data-aware + bias correction, others dense", settings[0],
            budget.plan_totals(menus, choice), budget.apply_choice(model, menus, choice, raw))

    # The frontier of per-layer plans, and the calibration-budget pick.
    metric_words = [c["x"] for c in calib]
    base_ref = OnnxReference(base)
    name = base_ref.input_names[0]
    expected = [base_ref.run({name: x})[0].argmax(-1) for x in metric_words]

    def metric(m):
        r = OnnxReference(m)
        return float(np.mean([(r.run({name: x})[0].argmax(-1) == e).mean()
                              for x, e in zip(metric_words, expected)]))

    def forms_of(choice):
        totals = budget.plan_totals(menus, choice)
        return ", ".join(f"{k} {v}" for k, v in sorted(totals["forms"].items()))

    for eps in [float(v) for v in args.eps.split(",") if v]:
        choice = budget.choose(menus, eps)
        row(f"per-layer plan, one tolerance eps={eps:g}", forms_of(choice),
            budget.plan_totals(menus, choice), budget.apply_choice(model, menus, choice, raw))
    xs = [c["x"] for c in calib]

    def finish(choice):
        return calibrate.sequential(model, menus, choice, xs[:BIAS_WORDS])

    for ratio in [float(v) for v in args.ratios.split(",") if v]:
        choice = sensitivity.for_ratio(menus, ratio)
        row(f"per-layer plan, measured sensitivity, ≥ {ratio:g}x", forms_of(choice),
            budget.plan_totals(menus, choice), budget.apply_choice(model, menus, choice, raw),
            predicted_damage=sensitivity.predicted_damage(menus, choice))
        seq, shifts = finish(choice)
        row(f"per-layer plan, measured sensitivity, ≥ {ratio:g}x, sequential refit",
            forms_of(seq), budget.plan_totals(menus, seq),
            budget.apply_choice(model, menus, seq, shifts=shifts))
    found = sensitivity.search(model, menus, metric, args.budget, raw, finish=finish, log=log)
    chosen = found["choice"]
    row(f"per-layer plan, measured sensitivity, sequential refit, budget pick "
        f"({args.budget} frame agreement)", forms_of(chosen), budget.plan_totals(menus, chosen),
        budget.apply_choice(model, menus, chosen, shifts=found["shifts"]),
        calibration_agreement=found["score"])
    plan_file = args.out.with_name("ocr_plan.json")
    cfg = budget.plan_config(menus, chosen)
    cfg["search"] = {"lambda": found["lam"], "calibration_agreement": found["score"],
                     "baseline": found["baseline"], "budget": args.budget,
                     "calibration_words": args.calibration}
    plan_file.write_text(json.dumps(cfg, indent=1) + "\n")

    dense_acc = rows[0]["accuracy"]
    lines = ["# Accuracy against compression: PP-OCRv4 text recognizer", "",
             f"Written by `benchmarks/accuracy/ocr_frontier.py` ({time.strftime('%Y-%m-%d')}, "
             f"{time.time() - t0:.0f} s). Exact-match word accuracy on {args.words} rendered "
             f"words (one word = {100 / args.words:.2f} points); data-aware fits, menus and "
             f"the budget use {args.calibration} other words. Compression over all "
             f"{len(menus)} weight layers ({sum(m.weight.size for m in menus)} weights; "
             "dense layers at 32 bits; SE storage = entry bitmap with 8-bit bases, the "
             "sd-decompose report's rule; int-k = k bits per weight + a 32-bit scale per "
             "output channel).", "",
             f"Menus: SE settings {'; '.join(settings)} (each with least-squares bases and "
             f"one round of code re-selection), int{'/'.join(map(str, int_bits))}, dense. "
             "Data-aware rounding: int-k integers and scales fitted to the layer's outputs "
             "(`calibrate.fit_int`). "
             f"Bias correction: each compressed layer's mean output shift on {BIAS_WORDS} "
             "calibration words is added to its bias (no storage). Measured sensitivity: "
             "every Pareto entry of every layer's menu scored by the mean per-frame KL "
             "divergence of the model's output from the original's on the calibration "
             "words with only that layer changed; a plan for a ratio minimizes the summed "
             "divergence. Sequential refit (`calibrate.sequential`): the plan's SE bases "
             "(and codes) refitted in graph order to the original layer outputs from the "
             f"compressed model's inputs, and every bias corrected there, on {BIAS_WORDS} "
             "calibration words. Budget pick: the most compressed sequentially refitted "
             f"plan with calibration frame agreement within {args.budget} of the original "
             f"({found['baseline']:.4f}).", "",
             "Word accuracy: exact match after stripping surrounding spaces. Same as "
             "dense: the share of words read exactly as the original model reads them. "
             "CER: character error rate against the true words.", "",
             "| method | layers | compression | word accuracy | vs dense | same as dense | CER |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['method']} | {r['plan']} | {r['compression']:.2f}x | "
                     f"{100 * r['accuracy']:.1f} % | {100 * (r['accuracy'] - dense_acc):+.1f} | "
                     f"{100 * r['agreement']:.1f} % | {r['cer']:.4f} |")
    args.out.write_text("\n".join(lines) + "\n")
    args.out.with_suffix(".json").write_text(json.dumps(rows, indent=1) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
