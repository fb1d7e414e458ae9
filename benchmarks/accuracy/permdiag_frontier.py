#!/usr/bin/env python3
"""PermDNN accuracy against the block size p, post-training and fine-tuned.

Part `ocr` (post-training, real pretrained model): sd-opt --sd-permdiag
projects the fully connected layers of the PaddleOCR PP-OCRv4 recognizer
(the SVTR neck's transformer matmuls and the 6625-way output layer) at each
p; the projected weights are rebuilt from the emitted IR, put back into the
ONNX model and scored by exact-match word accuracy on rendered words
(evaluation seed 0, as benchmarks/accuracy/ocr_frontier.py). "Data-aware"
keeps the compiler's offsets and refits each output row's values (one per
block column) to
the original layer's outputs on calibration words (seed 1) by ridge least
squares, every layer on the original model's activations (one capture run
per word); storage is unchanged.

Part `mnist` (fine-tuned): the Fashion-MNIST MLP of
smartdeal.training.experiment (Debian dataset-fashion-mnist), every Linear
replaced by PermDiagLinear at each p: test accuracy after projection and
after fine-tuning; the fine-tuned model is exported to sd IR and run on the
CPU backend (--sd-cpu-to-llvm, the permuted-diagonal kernel) on test images,
and the compiler's own projection (--sd-permdiag on the exported dense
model) is checked against PermDiagLinear's.

Writes benchmarks/results/permdiag_frontier.md (and .json).
Usage: permdiag_frontier.py [--part ocr|mnist|both] [--words 200] [--ps 2,4,8,16]
       permdiag_frontier.py --part ocr --ps 4 --layers A,B [--seed 2 --with-dense]
       permdiag_frontier.py --merge ocr.json mnist.json   (one table from several runs)
"""

import argparse
import copy
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
from smartdeal.data import ocr_rec  # noqa: E402
from smartdeal.runtime import compressed, export  # noqa: E402
from smartdeal.runtime.runner import find_sd_opt  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"


def log(s):
    print(s, flush=True)


# ---------------------------------------------------------------------------
# OCR: post-training
# ---------------------------------------------------------------------------

def ocr_accuracy(model_proto, path, sample):
    from smartdeal.importers.onnx_reference import OnnxReference
    ref = OnnxReference(model_proto)
    name = ref.input_names[0]
    return ocr_rec.word_accuracy(lambda x: ref.run({name: x})[0], path, sample).value


def original_weight(model, node):
    """The node's weight in canonical [out, in] layout."""
    from onnx import numpy_helper
    inits = {i.name: i for i in model.graph.initializer}
    consts = {n.output[0]: n for n in model.graph.node if n.op_type == "Constant"}
    wn = node.input[1]
    w = (numpy_helper.to_array(inits[wn]) if wn in inits else numpy_helper.to_array(
        next(a.t for a in consts[wn].attribute if a.name == "value")))
    trans_b = any(a.name == "transB" and a.i for a in node.attribute)
    if node.op_type == "MatMul" or (node.op_type == "Gemm" and not trans_b):
        w = w.T
    return np.asarray(w, np.float64).reshape(w.shape[0], -1)


def refit_values(x, target, offsets, p, k, ridge=1e-4, chunk=64):
    """Per output row, the values on its fixed diagonal positions that best
    reproduce `target` from inputs `x` (ridge least squares)."""
    rb, cb = offsets.shape
    xp = np.zeros((len(x), cb * p))
    xp[:, :k] = x
    m = target.shape[1]
    values = np.zeros((rb, cb, p))
    rows = np.arange(rb * p)
    i, c = rows // p, rows % p
    cols = np.arange(cb)[None, :] * p + (c[:, None] + offsets[i]) % p   # [rows, cb]
    for s in range(0, min(rb * p, m), chunk):
        r = rows[s:min(s + chunk, m)]
        f = xp[:, cols[r]]                                              # [n, R, cb]
        g = np.einsum("nri,nrj->rij", f, f)
        rhs = np.einsum("nri,nr->ri", f, target[:, r])
        lam = ridge * np.maximum(np.einsum("rii->r", g) / cb, 1e-12)
        sol = np.linalg.solve(g + lam[:, None, None] * np.eye(cb), rhs[..., None])[..., 0]
        values[i[r], :, c[r]] = sol
    return values.astype(np.float32)


def capture_inputs(path, layers, calib, max_rows=4096, seed=0):
    """Each layer's input rows on the calibration words, from the original
    model (one run per word captures every layer)."""
    from smartdeal.importers.onnx_reference import OnnxReference
    rng = np.random.default_rng(seed)
    model = onnx.load(str(path))
    nodes = {n.name: n for n in model.graph.node}
    names = [nodes[l.name].input[0] for l in layers]
    ref = OnnxReference(model)
    runs = [ref.run_capture({"x": v}, names) for v in calib]
    out = {}
    for l, name in zip(layers, names):
        x = np.concatenate([r[name].reshape(-1, r[name].shape[-1]) for r in runs])
        if len(x) > max_rows:
            x = x[rng.choice(len(x), max_rows, replace=False)]
        out[l.name] = x.astype(np.float64)
    return out


def data_aware(path, layers, inputs):
    """Refits each layer's values to the original layer's outputs on its
    captured inputs (all layers from the original model's activations)."""
    model = onnx.load(str(path))
    nodes = {n.name: n for n in model.graph.node}
    done, errors = [], []
    for layer in layers:
        w = original_weight(model, nodes[layer.name])
        x = inputs[layer.name]
        target = x @ w.T
        p = layer.values.shape[2]
        values = refit_values(x, target, layer.offsets, p, w.shape[1])
        dense = compressed.rebuild_permdiag(layer.offsets, values, w.shape)
        before = np.linalg.norm(x @ layer.weight.reshape(w.shape).T - target)
        after = np.linalg.norm(x @ dense.T - target)
        errors.append((before / np.linalg.norm(target), after / np.linalg.norm(target)))
        done.append(compressed.CompressedLayer(layer.name, layer.shape,
                                               dense.reshape(layer.shape),
                                               layer.ratio, layer.relative_error))
    return done, errors


def run_ocr(args, ps):
    real = models.MODELS["ocr-rec"]
    path = real.path
    sd_opt = find_sd_opt()
    # Realistic data: scored on the test split, fitted on the calibration split.
    sample = ocr_rec.samples("test", args.words, seed=args.seed)
    calib = ocr_rec.inputs("calibration", args.calibration, seed=args.seed)
    base = onnx.load(str(path))
    rows = []
    t0 = time.time()
    if not args.layers or args.with_dense:
        base_acc = ocr_accuracy(base, path, sample)
        log(f"ocr dense: {base_acc:.1%} ({time.time() - t0:.0f}s)")
        rows.append({"p": "-", "method": "dense fp32", "ratio_layers": 1.0,
                     "ratio_model": 1.0, "accuracy": base_acc})
    only = f" layers={args.layers}" if args.layers else ""
    which = f", only {args.layers}" if args.layers else ""
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        mlir = tmp / "model.mlir"
        importers.import_onnx(str(path), output=str(mlir), input_shapes=real.input_shapes,
                              fold_batchnorm=False)
        inputs = None
        for p in ps:
            out, rep = tmp / f"pd{p}.mlir", tmp / f"pd{p}.json"
            subprocess.run([sd_opt, str(mlir), f"--sd-permdiag=block-size={p} report={rep}{only}",
                            "-o", str(out)], check=True, capture_output=True)
            report = json.loads(rep.read_text())
            layers = compressed.load_permdiag(rep, out)
            projected = [l for l in report["layers"] if l["form"] == "permdiag"]
            # The rebuilt weights must be the projection the report describes.
            nodes = {n.name: n for n in base.graph.node}
            for l, e in zip(layers, projected):
                w = original_weight(base, nodes[l.name])
                rel = np.linalg.norm(w - l.weight.reshape(w.shape)) / np.linalg.norm(w)
                assert abs(rel - e["relative_error"]) < 1e-5, (l.name, rel, e["relative_error"])
            common = {"p": p, "layers": len(layers),
                      "ratio_layers": report["totals"]["compressed_layers_ratio"],
                      "ratio_model": report["totals"]["compression_ratio"],
                      "kept_energy": float(np.mean([float(e["settings"]["kept_energy"]) for e in projected])),
                      "relative_error": float(np.mean([e["relative_error"] for e in projected]))}
            m = onnx.load(str(path))
            export.replace_weights(m, layers)
            acc = ocr_accuracy(m, path, sample)
            rows.append(dict(common, method=f"PermDNN, weight-only projection{which}", accuracy=acc))
            log(f"ocr p={p}: {len(layers)} layers, {common['ratio_layers']:.2f}x on them, "
                f"kept energy {common['kept_energy']:.3f}, weight-only {acc:.1%}")
            if inputs is None:
                inputs = capture_inputs(path, layers, calib)
            refit, errs = data_aware(path, layers, inputs)
            m = onnx.load(str(path))
            export.replace_weights(m, refit)
            acc = ocr_accuracy(m, path, sample)
            out_before = float(np.mean([e[0] for e in errs]))
            out_after = float(np.mean([e[1] for e in errs]))
            rows.append(dict(common, method=f"PermDNN, data-aware values{which}", accuracy=acc,
                             output_error_before=out_before, output_error_after=out_after))
            log(f"ocr p={p}: data-aware {acc:.1%} (layer output error "
                f"{out_before:.3f} -> {out_after:.3f})")
    return rows


# ---------------------------------------------------------------------------
# Fashion-MNIST: fine-tuning in structure, and the CPU path
# ---------------------------------------------------------------------------

def run_mnist(args, ps):
    import torch
    from smartdeal.runtime.runner import run_mlir
    from smartdeal.training import convert_model, evaluate, export_mlir, finetune, run_exported
    from smartdeal.training.experiment import batches, compression, load_fashion_mnist, mlp

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    xtr, ytr = load_fashion_mnist("train")
    xte, yte = load_fashion_mnist("test")
    train = batches(xtr, ytr, 128, True)
    test = batches(xte, yte, 1000, False)
    xs, ys = xte[: args.check], yte[: args.check].numpy()
    t0 = time.time()
    dense = finetune(mlp(), train, args.epochs, 1e-3)
    dense_acc = evaluate(dense, test)
    log(f"mnist dense: {dense_acc:.4f} ({time.time() - t0:.0f}s)")
    rows = [{"p": "-", "variant": "dense", "accuracy": dense_acc, "compression": 1.0}]
    dense_text = export_mlir(dense, xs)
    for p in ps:
        pd = convert_model(copy.deepcopy(dense), "permdiag", p=p)
        post = evaluate(pd, test)
        # The compiler's projection of the same dense model must predict what
        # PermDiagLinear.from_dense does.
        with torch.no_grad():
            torch_post = pd(xs).numpy()
        with tempfile.TemporaryDirectory() as tmp:
            src = Path(tmp) / "dense.mlir"
            src.write_text(dense_text)
            projected = subprocess.run(
                [find_sd_opt(), str(src), f"--sd-permdiag=block-size={p} min-size=0"],
                check=True, capture_output=True, text=True).stdout
        compiler_post = run_mlir(projected, [xs.numpy()], pipeline="--sd-cpu-to-llvm").outputs[0]
        proj_diff = float(np.abs(compiler_post - torch_post).max() / np.abs(torch_post).max())
        t0 = time.time()
        finetune(pd, train, args.ft_epochs, args.ft_lr)
        tuned = evaluate(pd, test)
        seconds = time.time() - t0
        ir = run_exported(export_mlir(pd, xs), xs)
        with torch.no_grad():
            ref = pd(xs).numpy()
        row = {"p": p, "variant": "PermDNN", "post_training": post, "accuracy": tuned,
               "ft_epochs": args.ft_epochs,
               "compression": compression(pd), "finetune_seconds": round(seconds, 1),
               "compiler_projection_max_rel_diff": proj_diff,
               "ir_accuracy": float((ir.argmax(1) == ys).mean()),
               "torch_accuracy_subset": float((ref.argmax(1) == ys).mean()),
               "ir_max_rel_diff": float(np.abs(ir - ref).max() / np.abs(ref).max())}
        rows.append(row)
        log(f"mnist p={p}: post {post:.4f} fine-tuned {tuned:.4f} x{row['compression']:.2f}; "
            f"IR {row['ir_accuracy']:.4f} vs torch {row['torch_accuracy_subset']:.4f} "
            f"(max rel {row['ir_max_rel_diff']:.1e}); compiler projection vs torch "
            f"{proj_diff:.1e}")
    return rows


# ---------------------------------------------------------------------------

def write(args, ocr_rows, mnist_rows):
    lines = ["# PermDNN: accuracy against the block size p", ""]
    if ocr_rows:
        lines += [f"## Post-training: PP-OCRv4 recognizer, {args.words} words", "",
                  "`--sd-permdiag` on the fully connected layers (transformer matmuls "
                  "and the output layer, min-size 1024). Word accuracy is exact match; "
                  f"data-aware refits use {args.calibration} other words. 'on layers' is "
                  "the compression of the projected layers, 'model' over all 51 "
                  "candidate weight layers (others at 32 bits).", "",
                  "| p | method | layers | on layers | model | mean kept energy | "
                  "mean rel. weight error | word accuracy |",
                  "|---|---|---|---|---|---|---|---|"]
        for r in ocr_rows:
            if r["p"] == "-":
                lines.append(f"| - | {r['method']} | - | 1.00x | 1.00x | - | - | "
                             f"{r['accuracy']:.1%} |")
                continue
            extra = ""
            if "output_error_after" in r:
                extra = (f" (layer output error {r['output_error_before']:.3f} -> "
                         f"{r['output_error_after']:.3f})")
            lines.append(f"| {r['p']} | {r['method']}{extra} | {r['layers']} | "
                         f"{r['ratio_layers']:.2f}x | {r['ratio_model']:.2f}x | "
                         f"{r['kept_energy']:.3f} | {r['relative_error']:.3f} | "
                         f"{r['accuracy']:.1%} |")
        lines.append("")
    if mnist_rows:
        lines += ["## Fine-tuned: Fashion-MNIST MLP 784-256-128-10", "",
                  f"Dense: {args.epochs} epochs (Adam 1e-3); every Linear projected "
                  f"(PermDiagLinear.from_dense), then fine-tuning for the epochs given "
                  f"(Adam {args.ft_lr:g}) on the stored values only. Test accuracy on all "
                  f"10 000 test images; 'IR' runs the exported sd IR through the CPU "
                  f"backend on the first {args.check} test images.", "",
                  "| p | compression | post-training | fine-tune epochs | fine-tuned | "
                  "IR acc (subset) | PyTorch acc (subset) | IR max rel diff | "
                  "sd-permdiag vs PyTorch projection |",
                  "|---|---|---|---|---|---|---|---|---|"]
        dense_done = False
        for r in mnist_rows:
            if r["p"] == "-":
                if not dense_done:
                    lines.append(f"| dense | 1.00x | - | - | {r['accuracy']:.4f} | | | | |")
                dense_done = True
                continue
            lines.append(f"| {r['p']} | {r['compression']:.2f}x | {r['post_training']:.4f} | "
                         f"{r.get('ft_epochs', 1)} | "
                         f"{r['accuracy']:.4f} | {r['ir_accuracy']:.4f} | "
                         f"{r['torch_accuracy_subset']:.4f} | {r['ir_max_rel_diff']:.1e} | "
                         f"{r['compiler_projection_max_rel_diff']:.1e} |")
        lines.append("")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--part", default="both", choices=["ocr", "mnist", "both"])
    ap.add_argument("--ps", default="2,4,8,16")
    ap.add_argument("--words", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0, help="ocr: evaluation words' seed")
    ap.add_argument("--with-dense", action="store_true",
                    help="ocr: score the dense model also with --layers")
    ap.add_argument("--layers", default="",
                    help="ocr: project only these layers (sd-permdiag layers=, "
                    "comma-separated; the dense row is then left out)")
    ap.add_argument("--calibration", type=int, default=20)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--ft-epochs", type=int, default=1)
    ap.add_argument("--ft-lr", type=float, default=5e-4)
    ap.add_argument("--check", type=int, default=1000)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default=str(RESULTS / "permdiag_frontier"))
    ap.add_argument("--merge", nargs="*", default=[],
                    help="JSON files of earlier partial runs (--part ocr / mnist) "
                    "to write one table from, instead of running")
    args = ap.parse_args()
    ps = [int(v) for v in args.ps.split(",")]
    if args.merge:
        ocr_rows, mnist_rows = [], []
        for f in args.merge:
            data = json.loads(Path(f).read_text())
            ocr_rows += data["ocr"]
            mnist_rows += data["mnist"]
    else:
        ocr_rows = run_ocr(args, ps) if args.part in ("ocr", "both") else []
        mnist_rows = run_mnist(args, ps) if args.part in ("mnist", "both") else []
    text = write(args, ocr_rows, mnist_rows)
    out = Path(args.out)
    out.with_suffix(".md").write_text(text)
    out.with_suffix(".json").write_text(json.dumps({"ocr": ocr_rows, "mnist": mnist_rows},
                                                   indent=1) + "\n")
    print(text)


if __name__ == "__main__":
    main()
