#!/usr/bin/env python3
"""Accuracy against whole-model compression for the two OCR models, on realistic text.

The PaddleOCR PP-OCRv4 recognizer (`--model ocr-rec`, word accuracy) or the
PP-OCR v2.0 orientation classifier (`--model ocr-cls`, 0/180 degrees) is
scored on `--samples` inputs of the realistic *test* split
(smartdeal.data: fonts and words that calibration and search never see),
every accuracy with its 95 % Wilson interval. Data-aware fits, bias
corrections and sensitivities use the calibration split; the budget metric
of the driver's search looks at the validation split. Inference runs on
ONNX Runtime (smartdeal.runtime.ort) when installed.

Compression is reported twice: over the whole file (every float parameter:
weight layers, depthwise kernels, biases, norm parameters and statistics;
everything not compressed at 32 bits) and over the candidate weight layers
(Conv/MatMul/Gemm with constant weights). Rows: dense; per-channel
int8/int6/int5/int4 on every weight layer without and with bias correction;
per-channel int6/int5/int4 with data-aware rounding (fits.fit_int) and
sequential bias correction; SmartExchange weight-only (sd-decompose) and
data-aware on the layers it takes; per-layer plans allocated by measured sensitivity reaching whole-model
4, 5, 6, 7, 8 and 10x, sequentially refitted and bias-corrected; with
`--driver-plan sd-out/ocr-rec/plan.json`, the plan the main job's default
search picked (its entries refitted the same way the driver does).

Writes benchmarks/results/<model>_frontier.md (+ .json).

Menus and sensitivities come from the same disk cache as the driver's
--search (smartdeal.plan.sensitivity.measured_menus): with the same calibration
size the two share them.

Usage: ocr_frontier.py [--model ocr-rec] [--samples 1000] [--calibration 16]
                       [--driver-plan sd-out/ocr-rec/plan.json]
"""

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "python"))

from smartdeal import importers, models  # noqa: E402
from smartdeal.cli import fidelity  # noqa: E402
from smartdeal.data.stats import Accuracy, table_cells  # noqa: E402
from smartdeal.plan import fits as calibrate  # noqa: E402
from smartdeal.plan import menus as budget  # noqa: E402
from smartdeal.plan import sensitivity  # noqa: E402
from smartdeal.runtime import compressed, ort  # noqa: E402
from smartdeal.runtime.runner import find_sd_opt  # noqa: E402

BIAS_INPUTS = 16  # calibration inputs whose mean output shift corrects biases


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="ocr-rec", choices=sorted(fidelity.TASKS))
    ap.add_argument("--samples", type=int, default=1000)
    ap.add_argument("--calibration", type=int, default=16)
    ap.add_argument("--ratios", default="4,5,6,7,8,10",
                    help="whole-model compression targets of the allocated plans")
    ap.add_argument("--int-bits", default="8,6,5,4")
    ap.add_argument("--driver-plan", type=Path, default=None,
                    help="plan.json of a driver run on this model: adds its row")
    ap.add_argument("--only-driver-plan", action="store_true",
                    help="with --driver-plan: keep the other rows of the existing table "
                    "(its .json) and measure only the driver's plan")
    ap.add_argument("--resume", action="store_true",
                    help="keep the rows of the existing table (its .json) and measure "
                    "only the missing ones (a long run stopped part-way)")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    out_md = args.out or ROOT / "benchmarks" / "results" / f"{args.model}_frontier.md"
    t0 = time.time()
    log = lambda s: print(f"[{time.time() - t0:6.0f}s] {s}", flush=True)  # noqa: E731
    real = models.MODELS[args.model]
    path = real.path
    sd_opt = find_sd_opt()
    data = fidelity.data_module(real)
    test = data.samples("test", args.samples)
    calib = fidelity.split_inputs(path, real, "calibration", args.calibration)
    base = onnx.load(str(path))
    params = budget.file_parameters(base)
    rows = []
    if args.resume:
        rows = json.loads(out_md.with_suffix(".json").read_text())
    if args.only_driver_plan:
        if not args.driver_plan:
            ap.error("--only-driver-plan needs --driver-plan")
        rows = [r for r in json.loads(out_md.with_suffix(".json").read_text())
                if r["order"] != 99]
    dense_pred = fidelity.original_predictions(path, real, test, log)

    def row(order, method, plan_desc, totals, model, **extra):
        if any(r["order"] == order for r in rows):
            return None  # --resume: measured before
        got = dense_pred if model is base else fidelity.predictions(
            real, ort.runner(model)([s.x for s in test]), path)
        acc = Accuracy(sum(g == s.label for g, s in zip(got, test)), len(test))
        same = float(np.mean([g == d for g, d in zip(got, dense_pred)]))
        whole = budget.whole_model(totals, base)
        r = {"method": method, "plan": plan_desc, "whole": whole["compression_ratio"],
             "candidates": totals["compression_ratio"], "accuracy": acc.as_dict(),
             "agreement": same, "order": order, **extra}
        rows.append(r)
        write(rows)
        log(f"{method} [{plan_desc}]: whole {r['whole']:.2f}x, candidates "
            f"{r['candidates']:.2f}x, {acc}, same as dense {same:.1%}")
        return r

    def write(rows):
        """The table so far (rows in the order of the issue, whatever order
        they were measured in), rewritten after every row."""
        rows = sorted(rows, key=lambda r: r["order"])
        dense = rows[0]["accuracy"]["value"]
        kind = fidelity.task(real)
        what = {"words": "exact-match word accuracy (surrounding spaces stripped)",
                "orientation": "orientation accuracy (0 or 180 degrees)"}[kind]
        lines = [f"# Accuracy against whole-model compression: {args.model}, realistic test split",
                 "",
                 f"Written by `benchmarks/accuracy/ocr_frontier.py --model {args.model}` "
                 f"({time.strftime('%Y-%m-%d')}, {time.time() - t0:.0f} s). {what} on "
                 f"{args.samples} inputs of the realistic test split (smartdeal.data: fonts and "
                 "words never seen by calibration or validation), 95 % Wilson interval. Fits, "
                 f"sensitivities and bias corrections use {args.calibration} calibration-split "
                 f"inputs ({BIAS_INPUTS} for biases). **Whole model**: every float parameter of "
                 f"the file ({params}; uncompressed ones at 32 bits). **Candidates**: the "
                 f"{len(menus)} weight layers ({weights} weights). SE storage as sd-decompose "
                 "counts it (entry bitmap, 8-bit bases); int-k = k bits per weight + a 32-bit "
                 "scale per output channel. Same as dense: the share of inputs on which the "
                 "prediction equals the original model's.", "",
                 "| method | layers | whole model | candidates | accuracy [95 % CI] | vs dense "
                 "| same as dense |",
                 "|---|---|---|---|---|---|---|"]
        for r in rows:
            lines.append(f"| {r['method']} | {r['plan']} | {r['whole']:.2f}x | "
                         f"{r['candidates']:.2f}x | {table_cells(r['accuracy'], dense)} | "
                         f"{100 * r['agreement']:.1f} % |")
        if args.model == "ocr-rec":
            lines += ["", "Fine-tuned plans (8 and 10x, distilled on calibration-split words, "
                      "same test words, ONNX Runtime and libmodel.so): "
                      "`benchmarks/results/ocr_finetune.md` (ocr_finetune.py). Int-k rounding "
                      "rules (nearest, MSE clipping, AdaRound) on validation and test: "
                      "`benchmarks/results/ocr-rec_int_rounding.md` (ocr_int_rounding.py)."]
        out_md.write_text("\n".join(lines) + "\n")
        out_md.with_suffix(".json").write_text(json.dumps(rows, indent=1) + "\n")
        return lines

    int_bits = [int(v) for v in args.int_bits.split(",")]
    settings = list(budget.DEFAULT_SE_SETTINGS)
    with tempfile.TemporaryDirectory() as tmp:
        mlir = Path(tmp) / "model.mlir"
        importers.import_onnx(str(path), output=str(mlir), input_shapes=real.input_shapes,
                              fold_batchnorm=False)
        model, menus = sensitivity.measured_menus(path, mlir, calib, sd_opt, BIAS_INPUTS,
                                                  log=log)
        # Weight-only reference SE: sd-decompose's own codes and bases.
        rep, out = Path(tmp) / "r.json", Path(tmp) / "c.mlir"
        subprocess.run([sd_opt, str(mlir), f"--sd-decompose={settings[0]} report={rep}",
                        "-o", str(out)], check=True, capture_output=True)
        ref_layers = {l.name: l for l in compressed.load(rep, out)}
        ref_report = {l["name"]: l for l in json.loads(rep.read_text())["layers"]}
    weights = sum(m.weight.size for m in menus)
    log(f"{len(menus)} weight layers, {weights} weights of {params} parameters")

    dense_choice = budget.choose(menus, 0.0)
    row(0, "dense fp32", "-", budget.plan_totals(menus, dense_choice), base)
    raw = budget.capture_raw(model, menus, calib, BIAS_INPUTS)

    def uniform(pick):
        return {m.name: next((e for e in m.entries if pick(m, e)), m.entries[0])
                for m in menus}

    def forms_of(choice):
        totals = budget.plan_totals(menus, choice)
        return ", ".join(f"{k} {v}" for k, v in sorted(totals["forms"].items()))

    # The plans first: they are what the table is for, and a long run
    # that is stopped still has them.
    xs = [next(iter(c.values())) for c in calib]
    if args.driver_plan and not any(r["order"] == 99 for r in rows):
        # The driver's plan names one menu entry per layer; refitted in graph
        # order on the same calibration inputs, as the driver does.
        plan = json.loads(args.driver_plan.read_text())["layers"]
        choice = {m.name: next(e for e in m.entries if e["plan"] == plan[m.name])
                  for m in menus}
        seq, shifts = calibrate.sequential(model, menus, choice, xs[:BIAS_INPUTS])
        row(99, f"main job's default pick ({args.driver_plan.parent.name}/plan.json, "
            "sequential refit)", forms_of(seq),
            budget.plan_totals(menus, seq),
            budget.apply_choice(model, menus, seq, shifts=shifts))
    if args.only_driver_plan:
        print("\n".join(write(rows)))
        return
    for target in [float(v) for v in args.ratios.split(",") if v]:
        if any(r["order"] == 100 + target for r in rows):
            continue
        choice = sensitivity.for_ratio(menus, budget.candidate_ratio_for(menus, base, target))
        seq, shifts = calibrate.sequential(model, menus, choice, xs[:BIAS_INPUTS])
        totals = budget.plan_totals(menus, seq)
        reached = budget.whole_model(totals, base)["compression_ratio"] >= target - 0.005
        row(100 + target, f"per-layer plan for whole-model {target:g}x, measured sensitivity, "
            "sequential refit" + ("" if reached else " (not reachable: the most compressed "
                                  "plan of the menus)"), forms_of(seq), totals,
            budget.apply_choice(model, menus, seq, shifts=shifts),
            predicted_damage=sensitivity.predicted_damage(menus, choice))


    for k in int_bits:
        choice = uniform(lambda m, e, k=k: e["plan"] == {"form": "int", "bits": k})
        row(10 + 2 * (8 - k), f"per-channel int{k}, every weight layer", "-",
            budget.plan_totals(menus, choice), budget.apply_choice(model, menus, choice))
        row(11 + 2 * (8 - k), f"per-channel int{k}, every weight layer, bias-corrected", "-",
            budget.plan_totals(menus, choice), budget.apply_choice(model, menus, choice, raw))

    # Data-aware rounding (fits.fit_int, GPTQ-like error feedback through
    # H = XᵀX of calibration inputs; depthwise layers, which have no input
    # rows, round to nearest), biases corrected in graph order on the
    # compressed model's own activations (fits.sequential), as the driver's
    # search measures its candidates.
    for k in [b for b in int_bits if b != 8]:
        data = {"form": "int", "bits": k, "rounding": "data"}
        choice = uniform(lambda m, e, k=k: e["plan"] == data or (
            e["plan"] == {"form": "int", "bits": k}
            and not any(x["plan"] == data for x in m.entries)))
        if any(r["order"] == 30 + 2 * (8 - k) for r in rows):
            continue
        seq, shifts = calibrate.sequential(model, menus, choice, xs[:BIAS_INPUTS])
        row(30 + 2 * (8 - k), f"per-channel int{k}, data-aware rounding (depthwise: "
            "nearest), sequential bias correction", "-", budget.plan_totals(menus, seq),
            budget.apply_choice(model, menus, seq, shifts=shifts))

    choice = dict(dense_choice)
    for m in menus:
        if m.name in ref_layers:
            w = ref_layers[m.name].weight.astype(np.float64)
            choice[m.name] = {"plan": {"form": "se"}, "bits": ref_report[m.name]["bits"],
                              "error": 0.0, "weight": w}
    row(50, "SmartExchange θ=1e-3, weight-only (sd-decompose), others dense", settings[0],
        budget.plan_totals(menus, choice), budget.apply_choice(model, menus, choice))
    se0 = dict(budget.setting_dict(settings[0]), form="se")
    choice = {m.name: next((e for e in m.entries if e["plan"] == se0), dense_choice[m.name])
              if m.name in ref_layers else dense_choice[m.name] for m in menus}
    row(51, "SmartExchange θ=1e-3, data-aware + bias correction, others dense", settings[0],
        budget.plan_totals(menus, choice), budget.apply_choice(model, menus, choice, raw))


    print("\n".join(write(rows)))


if __name__ == "__main__":
    main()
