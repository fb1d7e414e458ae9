#!/usr/bin/env python3
"""Fine-tuning the real PP-OCRv4 recognizer in SmartDeal form, on realistic text.

Start: the frontier's post-training plan for a whole-model ratio
(`--target`, every parameter of the file counted as in ocr_frontier.py):
the same cached menus and sensitivities (16 calibration-split words,
`sensitivity.measured_menus`), the least damaging plan of
`sensitivity.for_ratio` reaching the target, refitted in graph order with
bias corrections (`fits.sequential`), exactly the frontier's row. That plan
becomes a differentiable `training.onnx_module.OnnxModule` (SE layers: Ce
latent rounded to powers of two with a straight-through estimator under the
fixed mask, bases trained; int-k layers: fake-quantized latent weights;
biases and batch-norm/affine parameters trained in fp32: they are counted in
the whole-model ratio at 32 bits, as before training) and the dense model is
distilled into it: KL of the per-frame softmax (teacher: the dense model's
output on ONNX Runtime), no labels.

Training words: the calibration split (smartdeal.data, seed 0) after its
first 16 words (those the menus were fitted on), so training sees only the
calibration split's fonts and words, never a test font or word, and never
the validation split. Evaluation: exact-match word accuracy (surrounding
spaces stripped) on 1000 words of the realistic test split with 95 % Wilson
intervals, through ONNX Runtime on the trained model written back to ONNX
(`OnnxModule.to_onnx`); with `--library`, the trained model is also
exported into sd IR with its trained codes (`training.onnx_module_export`),
compiled to libmodel.so (scripts/sd-compile.sh, the driver's compile step)
and scored on the same words through the driver's `fidelity.evaluate`
(exported model.onnx and libmodel.so). Compression is recomputed from the
trained codes: whole-model (every float parameter of the file) and over the
candidate weight layers.

Rows are kept per target in benchmarks/results/ocr_finetune.json, so runs
at 8x and 10x write one table (benchmarks/results/ocr_finetune.md).

Usage: ocr_finetune.py [--target 8] [--steps N] [--minutes M] [--train-words 4000]
       [--save state.pt | --load state.pt] [--library DIR]
"""

import argparse
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
from smartdeal.data import ocr_rec as ocr  # noqa: E402
from smartdeal.data.stats import Accuracy, table_cells  # noqa: E402
from smartdeal.plan import fits as calibrate  # noqa: E402
from smartdeal.plan import menus as budget  # noqa: E402
from smartdeal.plan import sensitivity  # noqa: E402
from smartdeal.runtime import ort  # noqa: E402
from smartdeal.training import onnx_module_export  # noqa: E402
from smartdeal.training.onnx_module import OnnxModule  # noqa: E402

LOGITS = "p2o.Add.277"  # the input of the final Softmax
CALIBRATION = 16  # calibration words of the menus and refits, as in ocr_frontier.py
TEACHER_CHUNK = 100  # training words whose teacher outputs are held at once


def build_module(model, menus, choice, shifts):
    """The plan as an OnnxModule: bias-corrected constants, SE / int-k weights."""
    module = OnnxModule(budget.apply_choice(model, menus, choice, shifts=shifts))
    for m in menus:
        e = choice[m.name]
        form = e["plan"]["form"]
        if form == "se":
            lo, hi = e["plan"].get("min-exp", -8), e["plan"].get("max-exp", 5)
            module.set_se(m.name, e["codes"], e["basis"], lo, hi)
            got = module.layer(m.name).weight().detach().numpy().reshape(-1)
            assert np.allclose(got, e["weight"].reshape(-1), atol=1e-5), m.name
        elif form == "int":
            # Training re-rounds to nearest on the latent; data-aware
            # integers start it where the plan measured them.
            module.set_int(m.name, e["plan"]["bits"],
                           e["weight"] if e["plan"].get("rounding") == "data" else m.weight)
    return module


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=1000, help="test-split words scored")
    ap.add_argument("--train-words", type=int, default=4000)
    ap.add_argument("--target", type=float, default=8.0, help="whole-model ratio of the start")
    ap.add_argument("--steps", type=int, default=1000,
                    help="optimizer steps (a fixed count keeps runs repeatable)")
    ap.add_argument("--minutes", type=float, default=None,
                    help="stop earlier after this much training time")
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--lr", type=float, default=2e-4,
                    help="peak learning rate (cosine decay to 0 over the run)")
    ap.add_argument("--ce-lr", type=float, default=4e-4)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--save", type=Path, default=None,
                    help="write the trained state and the plan's choice (torch.save)")
    ap.add_argument("--load", type=Path, default=None,
                    help="start from a --save file instead of training")
    ap.add_argument("--library", type=Path, default=None,
                    help="folder: export the trained model to sd IR, compile libmodel.so "
                    "and score both on the test words")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "ocr_finetune.md")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    t0 = time.time()
    log = lambda s: print(f"[{time.time() - t0:6.0f}s] {s}", flush=True)  # noqa: E731
    real = models.MODELS["ocr-rec"]
    path = real.path
    base = onnx.load(str(path))
    test = ocr.samples("test", args.samples)
    drawn = ocr.samples("calibration", CALIBRATION + args.train_words)
    calib = fidelity.split_inputs(path, real, "calibration", CALIBRATION)
    assert all(np.array_equal(c[k], s.x) for c, s in zip(calib, drawn) for k in c)
    train_set = drawn[CALIBRATION:]
    model, menus = sensitivity.model_menus(path, real.input_shapes, calib, CALIBRATION,
                                           log=log)
    log(f"{len(menus)} weight layers")

    # A saved run brings its own choice: the bias corrections in the
    # module's fixed constants (not in the state) are measured for it.
    saved = torch.load(args.load) if args.load else None
    if saved:
        choice, shifts = saved["choice"], saved["shifts"]
        if set(choice) != {m.name for m in menus}:
            sys.exit(f"error: {args.load} has a plan for other layers")
    else:
        need = budget.candidate_ratio_for(menus, base, args.target)
        choice, shifts = calibrate.sequential(
            model, menus, sensitivity.for_ratio(menus, need),
            [next(iter(c.values())) for c in calib])
    totals = budget.plan_totals(menus, choice)
    forms = ", ".join(f"{k} {v}" for k, v in sorted(totals["forms"].items()))
    log(f"plan: {budget.whole_model(totals, base)['compression_ratio']:.2f}x whole model "
        f"({forms})")

    dense_pred = fidelity.original_predictions(path, real, test, log)
    results = args.out.with_suffix(".json")
    rows = [r for r in (json.loads(results.read_text()) if results.exists() else [])
            if r.get("target") != args.target and r.get("samples") == args.samples]

    def row(order, method, totals, got, via, **extra):
        acc = Accuracy(sum(g == s.label for g, s in zip(got, test)), len(test))
        same = float(np.mean([g == d for g, d in zip(got, dense_pred)]))
        r = {"target": args.target if order else None, "order": order, "method": method,
             "plan": forms if order else "-", "via": via, "samples": args.samples,
             "whole": budget.whole_model(totals, base)["compression_ratio"],
             "candidates": totals["compression_ratio"], "accuracy": acc.as_dict(),
             "agreement": same, **extra}
        rows[:] = [x for x in rows if (x["target"], x["order"]) != (r["target"], order)]
        rows.append(r)
        write(args, rows, t0)
        log(f"{method} via {via}: whole {r['whole']:.2f}x, {acc}, same as dense {same:.1%}")
        return r

    def read_onnx(onnx_model):
        return fidelity.predictions(real, ort.runner(onnx_model)([s.x for s in test]), path)

    dense_totals = budget.plan_totals(menus, budget.choose(menus, 0.0))
    row(0, "dense fp32", dense_totals, dense_pred, "ONNX Runtime")
    start = budget.apply_choice(model, menus, choice, shifts=shifts)
    row(1, f"post-training plan for whole-model {args.target:g}x (ocr_frontier.py's row: "
        "measured sensitivity, sequential refit)", totals, read_onnx(start), "ONNX Runtime")

    dense = OnnxModule(model)
    for p in dense.parameters():
        p.requires_grad_(False)
    student = build_module(model, menus, choice, shifts)
    if saved:
        student.load_state_dict(saved["state"])
        training = saved["training"]
        log(f"loaded {args.load} ({training['steps']} steps)")
    else:
        training = train(args, path, student, train_set, log)
    if args.save:
        args.save.parent.mkdir(parents=True, exist_ok=True)
        torch.save({"state": student.state_dict(), "choice": choice, "shifts": shifts,
                    "training": training}, args.save)
        log(f"saved {args.save}")
    trained = {"dense_bits": student.dense_bits(), "bits": student.storage_bits(),
               "compression_ratio": student.dense_bits() / student.storage_bits()}
    if trained["dense_bits"] != totals["dense_bits"]:
        sys.exit(f"error: the module's weight layers hold {trained['dense_bits']} bits, "
                 f"the menus' {totals['dense_bits']}")
    what = (f"fine-tuned ({training['steps']} steps of {training['batch']} words from "
            f"{training['train_words']}, Adam lr {training['lr']:g} cosine, "
            f"{training['training_seconds'] / 60:.0f} min on {training['threads']} thread(s))")
    row(2, what, trained, read_onnx(student.to_onnx()), "ONNX Runtime", **training)
    if args.library:
        plan = {name: e["plan"] for name, e in choice.items()}
        exported = onnx_module_export.export_module(student, plan, args.library,
                                                    real.input_shapes,
                                                    real.constant_inputs or None)
        cpu = onnx_module_export.CpuModel(exported)
        log(f"exported and compiled {cpu.library}; scoring model.onnx and libmodel.so")
        q = fidelity.evaluate(path, exported.onnx, real, args.samples, library=cpu.library,
                              result_rank=cpu.rank, log=log)
        report = json.loads(exported.report.read_text())["totals"]
        for order, key, via in ((3, "compressed", "exported model.onnx (ONNX Runtime)"),
                                (4, "library", "libmodel.so (CPU backend, sd IR)")):
            a = Accuracy(q[key]["hits"], q[key]["n"])
            got_rows = {"accuracy": a.as_dict()}
            r = {"target": args.target, "order": order, "method": what, "plan": forms,
                 "via": via, "samples": args.samples,
                 "whole": budget.whole_model(trained, base)["compression_ratio"],
                 "candidates": trained["compression_ratio"], **got_rows,
                 "agreement": q["agreement"] if key == "compressed" else None,
                 "library_agreement": q.get("library_agreement"),
                 "layers_json_ratio": report.get("compressed_layers_ratio")}
            rows[:] = [x for x in rows if (x["target"], x["order"]) != (args.target, order)]
            rows.append(r)
            write(args, rows, t0)
            log(f"{via}: {a}")
    print("\n".join(write(args, rows, t0)))


def write(args, rows, t0):
    """The table of every target measured so far (rows in target order)."""
    rows = sorted(rows, key=lambda r: (r["target"] or 0, r["order"]))
    dense = rows[0]["accuracy"]["value"]
    lines = [
        "# Fine-tuning PP-OCRv4 rec in SmartDeal form, realistic test split", "",
        f"Written by `benchmarks/accuracy/ocr_finetune.py` ({time.strftime('%Y-%m-%d')}; "
        "one run per target, each with `--target T`). Start: ocr_frontier.py's post-training "
        "plan for the target (cached menus on 16 calibration-split words, measured "
        "sensitivity, sequential refit with bias corrections). Fine-tuning: distillation "
        "from the dense model (KL of the per-frame softmax, teacher on ONNX Runtime) on "
        "calibration-split words after the first 16 (smartdeal.data seed 0: fonts and words "
        "disjoint from the test split; the validation split unused); SE layers keep their "
        "mask, Ce rounded to powers of two (straight-through), bases trained; int-k layers "
        "trained through fake quantization; biases and batch-norm/affine parameters trained "
        "in fp32. Evaluation: exact-match word accuracy (surrounding spaces stripped) on "
        f"{args.samples} test-split words, 95 % Wilson interval, through ONNX Runtime on the "
        "trained model, and with `--library` through the driver's `fidelity.evaluate` on the "
        "exported model.onnx and the compiled libmodel.so (sd IR with the trained codes). "
        "**Whole model**: every float parameter of the file (uncompressed ones at 32 bits), "
        "recomputed from the trained codes; **candidates**: the weight layers only. Same as "
        "dense: share of words read as the original model reads them.", "",
        "| target | model | layers | evaluated through | whole model | candidates "
        "| accuracy [95 % CI] | vs dense | same as dense |",
        "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        same = "-" if r.get("agreement") is None else f"{100 * r['agreement']:.1f} %"
        target = "-" if r["target"] is None else f"{r['target']:g}x"
        lines.append(f"| {target} | {r['method']} | {r['plan']} | {r['via']} "
                     f"| {r['whole']:.2f}x | {r['candidates']:.2f}x "
                     f"| {table_cells(r['accuracy'], dense)} | {same} |")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n")
    args.out.with_suffix(".json").write_text(json.dumps(rows, indent=1) + "\n")
    return lines


def train(args, path, student, train_set, log):
    """Distills the dense model into the student; returns the run's figures.
    The teacher's per-frame distributions come from ONNX Runtime, one chunk
    of training words at a time (all 4000 would take 4 GB)."""
    teacher_run = ort.runner(path)
    ce = [p for n, p in student.named_parameters() if n.endswith(".ce")]
    ce_ids = {id(p) for p in ce}
    rest = [p for p in student.parameters() if id(p) not in ce_ids]
    opt = torch.optim.Adam([{"params": rest, "lr": args.lr}, {"params": ce, "lr": args.ce_lr}])
    student.train()
    step, t_train = 0, time.time()
    order = np.random.default_rng(0).permutation(len(train_set))
    losses = []
    done = lambda: step >= args.steps or (  # noqa: E731
        args.minutes is not None and time.time() - t_train >= 60 * args.minutes)
    epoch = 0
    while not done():
        for c in range(0, len(order), TEACHER_CHUNK):
            chunk = [train_set[i] for i in order[c:c + TEACHER_CHUNK]]
            probs = torch.from_numpy(np.stack(teacher_run([s.x for s in chunk]))).reshape(
                len(chunk), -1, student_classes(student))
            for b in range(0, len(chunk) - args.batch + 1, args.batch):
                if done():
                    break
                x = torch.from_numpy(np.concatenate([s.x for s in chunk[b:b + args.batch]]))
                # Cosine decay over the run (steps or minutes, whichever ends
                # it first): the last steps settle the latent Ce instead of
                # flipping codes across a power-of-two boundary.
                progress = step / args.steps
                if args.minutes is not None:
                    progress = max(progress, (time.time() - t_train) / (60 * args.minutes))
                for group, lr in zip(opt.param_groups, (args.lr, args.ce_lr)):
                    group["lr"] = lr * 0.5 * (1 + np.cos(np.pi * min(progress, 1.0)))
                logp = torch.log_softmax(student(x, [LOGITS])[0], -1)
                tq = probs[b:b + args.batch]
                loss = (torch.xlogy(tq, tq) - tq * logp).sum(-1).mean()
                opt.zero_grad()
                loss.backward()
                opt.step()
                losses.append(float(loss))
                step += 1
                if step % 20 == 0:
                    log(f"step {step}: KL {np.mean(losses[-20:]):.4f}")
            if done():
                break
        epoch += 1
    return {"training_seconds": time.time() - t_train, "steps": step, "batch": args.batch,
            "train_words": len(train_set), "epochs_started": epoch + 1, "lr": args.lr,
            "ce_lr": args.ce_lr, "threads": args.threads, "schedule": "cosine",
            "final_kl": float(np.mean(losses[-20:])) if losses else None}


def student_classes(student) -> int:
    return int(student.model.graph.output[0].type.tensor_type.shape.dim[-1].dim_value)


if __name__ == "__main__":
    main()
