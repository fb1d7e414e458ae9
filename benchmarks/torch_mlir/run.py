#!/usr/bin/env python3
"""Whole models in torch-mlir's textual forms, decomposed and run on the CPU
backend against the reference path (issue 14's "done means").

ResNet-50 and a BERT encoder go through the TorchScript form (module
attributes {torch.debug_module_name}, the ml_program global, @forward,
inline weights, transposing/broadcasting generics before batch_matmul), a
LeNet (5x5 convolutions) and a SwiGLU feed-forward block through the FX form
(@main, dense_resource blobs, linalg.transpose), all written by the
project's torch importer. For each: sd-decompose (every layer with a
constant weight must be taken), then the compressed module on the CPU
backend's kernels (--sd-cpu-to-llvm) and on the reference dense-rebuild path
(--sd-reference-to-llvm) on the same random input. Weights are PyTorch's
random initialization (no pretrained weights are fetched), so the output
error against the dense model says nothing about accuracy; the CPU-vs-
reference difference is the check. Writes benchmarks/results/torch_mlir.md.

    PYTHONPATH=python /usr/bin/python3 benchmarks/torch_mlir/run.py [--quick]
"""

import argparse
import json
import math
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torchvision
from torch import nn

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "python"))
from smartdeal import FX, TORCHSCRIPT, import_torch  # noqa: E402
from smartdeal.runtime import runner  # noqa: E402


class BertLayer(nn.Module):
    """One BERT encoder layer with separate Q, K, V projections (as
    HuggingFace's BertLayer), GELU feed-forward and post-layer norms."""

    def __init__(self, e, h, f, s):
        super().__init__()
        self.h, self.s, self.e = h, s, e
        self.q, self.k, self.v, self.o = (nn.Linear(e, e) for _ in range(4))
        self.ln1, self.ln2 = nn.LayerNorm(e), nn.LayerNorm(e)
        self.ff1, self.ff2 = nn.Linear(e, f), nn.Linear(f, e)

    def forward(self, x):
        b, s, e = 1, self.s, self.e  # static shapes, as torch.fx traces them
        d = e // self.h

        def heads(t):
            return t.reshape(b, s, self.h, d).permute(0, 2, 1, 3)

        q, k, v = heads(self.q(x)), heads(self.k(x)), heads(self.v(x))
        p = torch.softmax(torch.matmul(q, k.transpose(2, 3)) / math.sqrt(d), dim=-1)
        ctx = torch.matmul(p, v).permute(0, 2, 1, 3).reshape(b, s, e)
        x = self.ln1(x + self.o(ctx))
        return self.ln2(x + self.ff2(nn.functional.gelu(self.ff1(x))))


class Bert(nn.Module):
    def __init__(self, layers, e, h, f, s=16):
        super().__init__()
        self.layers = nn.Sequential(*(BertLayer(e, h, f, s) for _ in range(layers)))

    def forward(self, x):
        return self.layers(x)


class LeNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1, self.c2 = nn.Conv2d(1, 6, 5), nn.Conv2d(6, 16, 5)
        self.f1, self.f2, self.f3 = nn.Linear(256, 120), nn.Linear(120, 84), nn.Linear(84, 10)

    def forward(self, x):
        x = nn.functional.max_pool2d(torch.relu(self.c1(x)), 2)
        x = nn.functional.max_pool2d(torch.relu(self.c2(x)), 2)
        x = torch.flatten(x, 1)
        return self.f3(torch.relu(self.f2(torch.relu(self.f1(x)))))


class SwiGLU(nn.Module):
    def __init__(self, e, f):
        super().__init__()
        self.gate, self.up = nn.Linear(e, f, bias=False), nn.Linear(e, f, bias=False)
        self.down = nn.Linear(f, e, bias=False)

    def forward(self, x):
        return self.down(nn.functional.silu(self.gate(x)) * self.up(x))


def models(quick):
    torch.manual_seed(0)
    if quick:
        return [("ResNet-18 (TorchScript form)", torchvision.models.resnet18(), (1, 3, 32, 32),
                 TORCHSCRIPT),
                ("BERT-mini, 2 layers of 256/1024 (TorchScript form)", Bert(2, 256, 4, 1024),
                 (1, 16, 256), TORCHSCRIPT),
                ("LeNet-5 (FX form)", LeNet(), (1, 1, 28, 28), FX),
                ("SwiGLU FFN 256/688 (FX form)", SwiGLU(256, 688), (1, 16, 256), FX)]
    return [("ResNet-50 (TorchScript form)", torchvision.models.resnet50(), (1, 3, 64, 64),
             TORCHSCRIPT),
            ("BERT-base dims, 2 layers of 768/3072 (TorchScript form)", Bert(2, 768, 12, 3072),
             (1, 16, 768), TORCHSCRIPT),
            ("LeNet-5 (FX form)", LeNet(), (1, 1, 28, 28), FX),
            ("SwiGLU FFN 768/2048 (FX form)", SwiGLU(768, 2048), (1, 16, 768), FX)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="ResNet-18 and a BERT-mini")
    ap.add_argument("--work", type=Path, default=Path("/tmp/sd-torch-mlir-bench"))
    ap.add_argument("--only", nargs="*", help="models whose name contains one of these")
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    sd_opt = runner.find_sd_opt()
    rows = []
    only = set(args.only or [])
    for name, module, shape, flavour in models(args.quick):
        if only and not any(o.lower() in name.lower() for o in only):
            continue
        module.eval()
        slug = "".join(c if c.isalnum() else "_" for c in name.split(" (")[0]).lower()
        src = args.work / f"{slug}.mlir"
        t0 = time.time()
        import_torch(module, torch.randn(*shape), output=str(src), flavour=flavour,
                     fold_batchnorm=False, backend="smartdeal")
        text = src.read_text()
        form = (("ml_program.global" in text and "@forward" in text and
                 "torch.debug_module_name" in text) if flavour == TORCHSCRIPT
                else ("@main" in text and "dense_resource<torch_tensor_" in text))
        compressed, report = args.work / f"{slug}.sd.mlir", args.work / f"{slug}.json"
        subprocess.run([sd_opt, str(src), f"--sd-decompose=min-size=1024 report={report}",
                        "-o", str(compressed)], check=True, capture_output=True)
        layers = json.loads(report.read_text())["layers"]
        se = sum(l["form"] == "se" for l in layers)
        small = sum(l.get("reason", "").startswith("the weight has") for l in layers)
        # Attention products multiply two activations: not layers with a
        # weight, and rightly left dense.
        attention = sum(l["op"] == "linalg.batch_matmul" and
                        l.get("reason", "").startswith("the weight is computed by")
                        for l in layers)
        other = [l["reason"] for l in layers if l["form"] == "dense"
                 and not l.get("reason", "").startswith("the weight has")
                 and not (l["op"] == "linalg.batch_matmul" and
                          l.get("reason", "").startswith("the weight is computed by"))]
        t1 = time.time()
        x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
        ref = runner.run_mlir(compressed, [x], sd_opt=sd_opt,
                              pipeline="--sd-reference-to-llvm").outputs[0]
        cpu = runner.run_mlir(compressed, [x], sd_opt=sd_opt,
                              pipeline="--sd-cpu-to-llvm").outputs[0]
        err = runner.relative_error(cpu, ref)
        t2 = time.time()
        rows.append((name, form, len(layers), se, small, attention, len(other), err,
                      t1 - t0, t2 - t1))
        print(f"{name}: torch-mlir form {form}; {se} of {len(layers)} layers decomposed "
              f"({small} below min-size, {attention} attention products, "
              f"{len(other)} other: {sorted(set(other))[:3]}); "
              f"CPU vs reference {err:.2e}; {t1 - t0:.0f} s import+decompose, "
              f"{t2 - t1:.0f} s runs", flush=True)
    out = ROOT / "benchmarks" / "results" / ("torch_mlir_quick.md" if args.quick
                                              else "torch_mlir.md")
    lines = ["# Whole models in torch-mlir's forms on the CPU backend",
             "", "Written by benchmarks/torch_mlir/run.py"
             + (" --quick" if args.quick else "") + " (random-initialized weights; "
             "sd-decompose min-size=1024).", "",
             "| model | torch-mlir form | candidate ops | decomposed | below min-size "
             "| attention products | other dense | CPU vs reference (max rel.) "
             "| import+decompose s | runs s |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for name, form, n, se, small, att, other, err, ta, tb in rows:
        lines.append(f"| {name} | {'yes' if form else 'NO'} | {n} | {se} | {small} | {att} "
                     f"| {other} | {err:.2e} | {ta:.0f} | {tb:.0f} |")
    out.write_text("\n".join(lines) + "\n")
    print(f"wrote {out}")
    return 0 if all(r[1] and r[6] == 0 and r[7] <= 1e-5 for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
