"""Fashion-MNIST experiment: dense vs post-training SE / PermDNN vs fine-tuned.

    PYTHONPATH=python /usr/bin/python3 -m smartdeal.training.experiment [--model mlp|cnn|both]
        [--epochs 2] [--ft-epochs 1] [--check 500] [--threshold 1e-3] [--out results.json]
        [--bucket-switch] [--train-limit N] [--permdnn 2,4,8]

Data: Debian's dataset-fashion-mnist (/usr/share/datasets/fashion-mnist,
`apt-get install dataset-fashion-mnist`). Prints a Markdown table; see
docs/Training.md for a recorded run.
"""

from __future__ import annotations

import argparse
import copy
import gzip
import json
import os
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn

from . import (BucketSwitch, PermDiagLinear, SEConv2d, SELinear, convert_model, evaluate,
               export_mlir, finetune, run_exported)

DATA = Path(os.environ.get("FASHION_MNIST", "/usr/share/datasets/fashion-mnist"))
MEAN, STD = 0.2860, 0.3530


def _idx(path: Path) -> np.ndarray:
    with gzip.open(path, "rb") as f:
        raw = f.read()
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load_fashion_mnist(split: str):
    """(images [N, 1, 28, 28] float32 normalized, labels [N] int64)."""
    prefix = "train" if split == "train" else "t10k"
    x = _idx(DATA / f"{prefix}-images-idx3-ubyte.gz").astype(np.float32) / 255.0
    y = _idx(DATA / f"{prefix}-labels-idx1-ubyte.gz").astype(np.int64)
    x = (x - MEAN) / STD
    return torch.from_numpy(x[:, None]), torch.from_numpy(y)


def batches(x, y, batch_size, shuffle, seed=0):
    class _Loader:
        def __iter__(self):
            idx = (torch.randperm(len(y), generator=torch.Generator().manual_seed(seed))
                   if shuffle else torch.arange(len(y)))
            for i in range(0, len(y), batch_size):
                j = idx[i: i + batch_size]
                yield x[j], y[j]
    return _Loader()


def mlp():
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(),
                         nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10))


def cnn():
    return nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(32 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, 10))


def compression(model: nn.Module) -> float:
    """32-bit dense bits / stored bits over the converted layers' weights (bases at f32)."""
    dense = stored = 0
    for m in model.modules():
        if isinstance(m, (SELinear, SEConv2d)):
            dense += 32 * int(np.prod(m.weight_shape))
            stored += m.storage_bits(32)
        elif isinstance(m, PermDiagLinear):
            dense += 32 * m.in_features * m.out_features
            stored += m.storage_bits()
    return dense / stored if stored else 1.0


def check_ir(model, x, log):
    """Accuracy agreement of the exported sd IR on the CPU path with PyTorch."""
    t0 = time.time()
    text = export_mlir(model, x)
    ir = run_exported(text, x)
    with torch.no_grad():
        ref = model(x).numpy()
    rel = float(np.abs(ir - ref).max() / np.abs(ref).max())
    same = float((ir.argmax(1) == ref.argmax(1)).mean())
    log(f"  IR check on {len(x)} images: max rel diff {rel:.2e}, "
        f"argmax agreement {same:.4f} ({time.time() - t0:.1f}s)")
    return ir, ref, rel


def run(name, make, args, log):
    torch.manual_seed(0)
    xtr, ytr = load_fashion_mnist("train")
    if args.train_limit:
        xtr, ytr = xtr[: args.train_limit], ytr[: args.train_limit]
    xte, yte = load_fashion_mnist("test")
    train = batches(xtr, ytr, 128, True)
    test = batches(xte, yte, 1000, False)
    rows = []

    def record(label, model, seconds, ir_check=False):
        acc = evaluate(model, test)
        row = {"model": name, "variant": label, "accuracy": acc,
               "compression": compression(model), "seconds": round(seconds, 1)}
        if ir_check:
            xs, ys = xte[: args.check], yte[: args.check]
            ir, ref, rel = check_ir(model, xs, log)
            row["ir_accuracy"] = float((ir.argmax(1) == ys.numpy()).mean())
            row["torch_accuracy_subset"] = float((ref.argmax(1) == ys.numpy()).mean())
            row["ir_max_rel_diff"] = rel
        log(f"{name:4s} {label:28s} acc {acc:.4f}  x{row['compression']:.2f}  ({seconds:.1f}s)")
        rows.append(row)

    t0 = time.time()
    dense = finetune(make(), train, args.epochs, 1e-3, log=log)
    record("dense", dense, time.time() - t0)

    t0 = time.time()
    se = convert_model(copy.deepcopy(dense), "se", args.threshold, (-8, 5))
    record(f"SE post-training (θ={args.threshold:g})", se, time.time() - t0)
    t0 = time.time()
    finetune(se, train, args.ft_epochs, args.ft_lr, log=log)
    record("SE fine-tuned (STE)", se, time.time() - t0, ir_check=args.check > 0)

    if args.bucket_switch:
        t0 = time.time()
        seb = convert_model(copy.deepcopy(dense), "se", args.threshold, (-8, 5))
        finetune(seb, train, args.ft_epochs, args.ft_lr,
                 bucket_switch=BucketSwitch(seb, bar=args.bar), log=log)
        record(f"SE fine-tuned (Bucket Switch, bar {args.bar})", seb, time.time() - t0)

    for p in [int(v) for v in args.permdnn.split(",") if v]:
        t0 = time.time()
        pd = convert_model(copy.deepcopy(dense), "permdiag", p=p)
        record(f"PermDNN p={p} post-training", pd, time.time() - t0)
        t0 = time.time()
        finetune(pd, train, args.ft_epochs, args.ft_lr, log=log)
        record(f"PermDNN p={p} fine-tuned", pd, time.time() - t0, ir_check=args.check > 0 and p == 4)
    del xtr, ytr
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="both", choices=["mlp", "cnn", "both"])
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--ft-epochs", type=int, default=1)
    ap.add_argument("--ft-lr", type=float, default=5e-4)
    ap.add_argument("--threshold", type=float, default=1e-3)
    ap.add_argument("--check", type=int, default=500, help="test images run through the IR (0: skip)")
    ap.add_argument("--bucket-switch", action="store_true")
    ap.add_argument("--bar", type=int, default=8)
    ap.add_argument("--train-limit", type=int, default=0, help="use the first N training images (0: all)")
    ap.add_argument("--permdnn", default="2,4,8", help="block sizes p to try")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    log = lambda s: print(s, flush=True)  # noqa: E731
    rows = []
    if args.model in ("mlp", "both"):
        rows += run("mlp", mlp, args, log)
    if args.model in ("cnn", "both"):
        rows += run("cnn", cnn, args, log)
    print("\n| model | variant | test acc | compression | IR acc (subset) | torch acc (subset) | IR max rel diff |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        ir = (f"{r['ir_accuracy']:.4f} | {r['torch_accuracy_subset']:.4f} | {r['ir_max_rel_diff']:.1e}"
              if "ir_accuracy" in r else " | | ")
        print(f"| {r['model']} | {r['variant']} | {r['accuracy']:.4f} | {r['compression']:.2f}x | {ir} |")
    if args.out:
        Path(args.out).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
