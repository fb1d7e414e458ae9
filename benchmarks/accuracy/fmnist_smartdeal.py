#!/usr/bin/env python3
"""SmartDeal on a real dataset: Fashion-MNIST MLP, dense -> SE -> fine-tuned -> CPU and simulator.

Steps (all on Debian's dataset-fashion-mnist, full 10 000-image test set):

1. dense MLP 784-256-128-10 trained by this script (Adam, cosine schedule);
2. the same dense model trained for the fine-tuning epochs more (the
   equal-budget dense reference);
3. SmartDeal decomposition of every layer (threshold, structured row
   fraction, exponent range), accuracy before fine-tuning;
4. SmartDeal fine-tuning (Ce latent rounded to powers of two with the STE
   under the fixed mask, B and biases free), accuracy after each epoch;
5. optional: Bucket Switch instead of the STE (--bucket-switch BAR);
6. the trained Ce and B exported straight into sd IR: float model on the
   CPU backend (--sd-cpu-to-llvm) on the whole test set; quantized chain
   (int8 activations, sd.quantized_matmul) on the CPU backend and, as an
   accelerator program, on sd-sim, on the first --sim images.

Compression = 32-bit dense bits / stored bits over all three weight matrices
(biases not counted): row-bitmap Ce (every entry of a kept row of 3 at
ceil(log2(levels+1))+1 bits, one index bit per row of 3) and bases at
32 bits (what the exported IR stores). Writes
benchmarks/results/fmnist_smartdeal.md (and .json).

Usage: fmnist_smartdeal.py [--dense-epochs 8] [--ft-epochs 6] [--fraction 0.5]
    [--exponents -4,2] [--threshold 1e-3] [--sim 1000] [--bucket-switch 0] [--threads 1]
"""

import argparse
import copy
import json
import math
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "python"))

from smartdeal.accel import network as accelnet  # noqa: E402
from smartdeal.training import (BucketSwitch, convert_model, evaluate,  # noqa: E402
                                export_mlir, finetune, run_exported)
from smartdeal.training.experiment import (batches, compression,  # noqa: E402
                                           load_fashion_mnist, mlp)
from smartdeal.runtime.runner import find_sd_opt  # noqa: E402


def train(model, x, y, epochs, lr, seed_base, log):
    """Adam with a cosine schedule over `epochs`; a new shuffle per epoch."""
    for e in range(epochs):
        finetune_epoch_lr = lr * 0.5 * (1 + math.cos(math.pi * e / epochs))
        finetune(model, batches(x, y, 128, True, seed=seed_base + e), 1, finetune_epoch_lr)
        yield e + 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dense-epochs", type=int, default=8)
    ap.add_argument("--ft-epochs", type=int, default=10)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--ft-lr", type=float, default=5e-4)
    ap.add_argument("--fraction", type=float, default=0.3)
    ap.add_argument("--exponents", default="-4,2")
    ap.add_argument("--threshold", type=float, default=1e-3)
    ap.add_argument("--sim", type=int, default=1000, help="test images on the simulator")
    ap.add_argument("--bucket-switch", type=int, default=0, help="also fine-tune with Bucket Switch at this bar")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "fmnist_smartdeal.md")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    exps = tuple(int(v) for v in args.exponents.split(","))
    log = lambda s: print(s, flush=True)  # noqa: E731
    xtr, ytr = load_fashion_mnist("train")
    xte, yte = load_fashion_mnist("test")
    test = batches(xte, yte, 1000, False)
    rows = []

    def record(step, model, **extra):
        row = {"step": step, "accuracy": evaluate(model, test),
               "compression": compression(model) if step.startswith("SE") else 1.0, **extra}
        rows.append(row)
        log(f"{step:45s} acc {row['accuracy']:.4f}  x{row['compression']:.2f}")
        return row

    t0 = time.time()
    dense = mlp()
    for e in train(dense, xtr, ytr, args.dense_epochs, args.lr, 0, log):
        pass
    dense_row = record(f"dense, {args.dense_epochs} epochs", dense)
    longer = copy.deepcopy(dense)
    for e in train(longer, xtr, ytr, args.ft_epochs, args.ft_lr, 100, log):
        pass
    longer_row = record(f"dense, {args.dense_epochs}+{args.ft_epochs} epochs (equal budget)", longer)

    se = convert_model(copy.deepcopy(dense), "se", args.threshold, exps, fraction=args.fraction)
    record("SE post-training", se)
    for e in train(se, xtr, ytr, args.ft_epochs, args.ft_lr, 100, log):
        record(f"SE fine-tuned (STE), epoch {e}", se)
    final = rows[-1]

    if args.bucket_switch:
        seb = convert_model(copy.deepcopy(dense), "se", args.threshold, exps, fraction=args.fraction)
        bs = BucketSwitch(seb, bar=args.bucket_switch)
        for e in range(args.ft_epochs):
            lr = args.ft_lr * 0.5 * (1 + math.cos(math.pi * e / args.ft_epochs))
            finetune(seb, batches(xtr, ytr, 128, True, seed=100 + e), 1, lr, bucket_switch=bs)
            record(f"SE fine-tuned (Bucket Switch, bar {args.bucket_switch}), epoch {e + 1}", seb)

    # Export: float model on the CPU backend, whole test set, one JIT compile.
    with torch.no_grad():
        ref = se(xte).numpy()
    ir = run_exported(export_mlir(se, xte), xte)
    ir_acc = float((ir.argmax(1) == yte.numpy()).mean())
    rel = float(np.abs(ir - ref).max() / np.abs(ref).max())
    agree = float((ir.argmax(1) == ref.argmax(1)).mean())
    log(f"CPU (float IR) on 10000: acc {ir_acc:.4f}, argmax agreement {agree:.4f}, max rel {rel:.1e}")

    # Integer model: scales from 1000 training images, CPU backend and sd-sim
    # (one accelerator program).
    n = args.sim
    net, result = accelnet.from_module(se, xtr[:1000].numpy(), batch=n)
    xq = accelnet.quantize_input(net, xte[:n].numpy())
    tools = Path(find_sd_opt()).parent
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        model_text = net.mlir(result)
        (work / "net.mlir").write_text(model_text)
        subprocess.run([str(tools / "sd-translate"), "--sd-to-sdacc", str(work / "net.mlir"),
                        "-o", str(work / "net.sdacc")], check=True)
        cpu_q = accelnet.run_cpu(model_text, xq, net.shape(result), work,
                                 sd_opt=str(tools / "sd-opt"))
        sim_q, _ = accelnet.run_sim(work / "net.sdacc", xq, work,
                                    sd_sim=str(tools / "sd-sim"))
    labels = yte[:n].numpy()
    torch_sub = float((ref[:n].argmax(1) == labels).mean())
    cpu_acc = float((cpu_q.argmax(1) == labels).mean())
    sim_acc = float((sim_q.argmax(1) == labels).mean())
    differ = int((cpu_q != sim_q).sum())
    log(f"quantized on {n}: torch {torch_sub:.4f}, CPU int8 {cpu_acc:.4f}, sd-sim {sim_acc:.4f}, "
        f"{differ} int8 outputs differ")

    loss = longer_row["accuracy"] - final["accuracy"]
    lines = [
        "# SmartDeal on Fashion-MNIST: dense, decomposed, fine-tuned, exported", "",
        f"Written by `benchmarks/accuracy/fmnist_smartdeal.py` ({time.strftime('%Y-%m-%d')}, "
        f"{time.time() - t0:.0f} s on the shared machine, {args.threads} thread(s)).", "",
        f"MLP 784-256-128-10. SE settings: threshold {args.threshold:g}, exponents "
        f"[{exps[0]}, {exps[1]}] ({exps[1] - exps[0] + 1} levels), structured row fraction "
        f"{args.fraction} (groups of 32 outputs), every layer. Dense: Adam lr {args.lr:g}, "
        f"cosine, {args.dense_epochs} epochs; fine-tuning: Adam lr {args.ft_lr:g}, cosine, "
        f"{args.ft_epochs} epochs. Test accuracy on all 10 000 test images.", "",
        "| step | test accuracy | compression |", "|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['step']} | {100 * r['accuracy']:.2f} % | {r['compression']:.2f}x |")
    lines += [
        "", f"Fine-tuned SE against the equal-budget dense model: {100 * -loss:+.2f} points at "
        f"{final['compression']:.2f}x (against the {args.dense_epochs}-epoch dense model: "
        f"{100 * (final['accuracy'] - dense_row['accuracy']):+.2f} points).", "",
        "Exported (the trained codes and bases, no re-decomposition):", "",
        "| backend | images | accuracy | agreement |", "|---|---|---|---|",
        f"| PyTorch (SE layers) | 10000 | {100 * final['accuracy']:.2f} % | |",
        f"| CPU backend, float sd IR (`--sd-cpu-to-llvm`) | 10000 | {100 * ir_acc:.2f} % | "
        f"argmax = PyTorch on {100 * agree:.2f} %, max rel. diff {rel:.1e} |",
        f"| PyTorch (SE layers) | {n} | {100 * torch_sub:.2f} % | |",
        f"| CPU backend, quantized (int8 activations) | {n} | {100 * cpu_acc:.2f} % | |",
        f"| sd-sim (accelerator program, one chain) | {n} | {100 * sim_acc:.2f} % | "
        f"{differ} of {cpu_q.size} int8 outputs differ from the CPU |"]
    args.out.write_text("\n".join(lines) + "\n")
    args.out.with_suffix(".json").write_text(json.dumps(
        {"rows": rows, "cpu_float_accuracy": ir_acc, "cpu_float_agreement": agree,
         "quantized": {"images": n, "torch": torch_sub, "cpu": cpu_acc, "sim": sim_acc,
                       "differ": differ}}, indent=1) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
