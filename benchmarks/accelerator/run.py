#!/usr/bin/env python3
"""Accelerator benchmark: SmartExchange against the dense baseline on sd-sim.

Every 1x1 and 3x3 convolution (groups = 1) and every fully connected layer
of torchvision's ResNet-18 and MobileNetV2 (random weights, 224x224 input,
batch 1) is decomposed by the C++ library, quantized into the accelerator's
format (sd.quantized_* with zero padding), translated by `sd-translate
--sd-to-sdacc` and simulated by `sd-sim --compare dense`. Reported per layer
and per network: cycles, energy, DRAM bytes against the compulsory minimum
(input, weight data and output each moved once), MAC utilization and
simulator speed. The default decomposition range [-8, 5] needs 5-bit codes
and 24-bit rebuild registers, so the default configuration is widened to
that; `--levels 7` decomposes to the published 4-bit codes instead.

Usage: run.py [--build build] [--models resnet18,mobilenet_v2] [--levels 14]
Writes benchmarks/results/accelerator.md.
"""

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torchvision

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "python"))
from smartdeal.accel import _levels_config  # noqa: E402


def layers_of(model, x):
    """(name, module, input shape) of every layer the accelerator runs."""
    found = []

    def hook(name):
        def fn(mod, inp, out):
            found.append((name, mod, tuple(inp[0].shape)))
        return fn

    handles = []
    for name, mod in model.named_modules():
        if isinstance(mod, torch.nn.Conv2d) and mod.groups == 1 and \
                mod.kernel_size in ((1, 1), (3, 3)) and mod.dilation == (1, 1):
            handles.append(mod.register_forward_hook(hook(name)))
        elif isinstance(mod, torch.nn.Linear):
            handles.append(mod.register_forward_hook(hook(name)))
    with torch.no_grad():
        model(x)
    for h in handles:
        h.remove()
    return found


def tensor(shape, elem):
    return "tensor<" + "x".join(map(str, shape)) + f"x{elem}>"


def module_text(mod, in_shape, codes, basis, lo, hi):
    o, nb, rows, _ = codes.shape
    wshape = list(mod.weight.shape)
    se = f"!sd.se<{'x'.join(map(str, wshape))}xf32, blocks = {nb}x{rows}, exponents = [{lo}, {hi}]>"
    blobs = (f'ce: "0x01000000{codes.astype(np.int8).tobytes().hex().upper()}",\n'
             f'      b: "0x04000000{basis.astype("<f4").tobytes().hex().upper()}"')
    decl = (f"%w = sd.se_constant codes(dense_resource<ce> : {tensor([o, nb, rows, 3], 'i8')}) "
            f"basis(dense_resource<b> : {tensor([o, nb, 3, 3], 'f32')}) : {se}")
    if isinstance(mod, torch.nn.Linear):
        x = [int(np.prod(in_shape[:-1])), in_shape[-1]]
        y = [x[0], o]
        body = (f"  {decl}\n  %y = sd.quantized_matmul ins(%x, %w : {tensor(x, 'i8')}, {se}) "
                f"{{input_scale = 0.05 : f64, output_scale = 0.5 : f64}} -> {tensor(y, 'i8')}\n")
    else:
        n, c, h, w = in_shape
        p = mod.padding[0]
        s = mod.stride[0]
        k = mod.kernel_size[0]
        hp, wp = h + 2 * p, w + 2 * p
        oh, ow = (hp - k) // s + 1, (wp - k) // s + 1
        x, y = [n, c, h, w], [n, o, oh, ow]
        pad = ""
        src = "%x"
        if p:
            pad = (f"  %zero = arith.constant 0 : i8\n  %p = tensor.pad %x low[0, 0, {p}, {p}] "
                   f"high[0, 0, {p}, {p}] {{\n  ^bb0(%i: index, %j: index, %k: index, %l: index):\n"
                   f"    tensor.yield %zero : i8\n  }} : {tensor(x, 'i8')} to {tensor([n, c, hp, wp], 'i8')}\n")
            src = "%p"
        body = (f"{pad}  {decl}\n  %y = sd.quantized_conv2d ins({src}, %w : {tensor([n, c, hp, wp], 'i8')}, {se}) "
                f"{{input_scale = 0.05 : f64, output_scale = 0.5 : f64, strides = array<i64: {s}, {s}>}} "
                f"-> {tensor(y, 'i8')}\n")
    text = (f"func.func @main(%x: {tensor(x, 'i8')}) -> {tensor(y, 'i8')} {{\n{body}"
            f"  return %y : {tensor(y, 'i8')}\n}}\n\n{{-#\n  dialect_resources: {{\n    builtin: {{\n"
            f"      {blobs}\n    }}\n  }}\n#-}}\n")
    return text, x, y


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=str(ROOT / "build"))
    ap.add_argument("--models", default="resnet18,mobilenet_v2")
    ap.add_argument("--levels", type=int, default=14)
    args = ap.parse_args()
    build = Path(args.build)
    driver = build / "unittests" / "bin" / "sd-decompose-ref-driver"
    translate, sim = build / "bin" / "sd-translate", build / "bin" / "sd-sim"
    lo, hi = (-8, 5) if args.levels == 14 else (-args.levels + 1, 0)
    out_lines = ["# Accelerator: SmartExchange against the dense 8-bit baseline (sd-sim)", ""]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        default = subprocess.run([str(sim), "--print-config"], check=True,
                                 capture_output=True, text=True).stdout
        config = _levels_config(default, hi - lo + 1, tmp / "config.json")
        out_lines.append(f"Configuration: default widened to {hi - lo + 1} exponent levels "
                         f"(exponents [{lo}, {hi}]); batch 1, 224x224, random weights "
                         "(torch.manual_seed(0)), random int8 activations.")
        summary = []
        for name in args.models.split(","):
            torch.manual_seed(0)
            model = getattr(torchvision.models, name)(weights=None).eval()
            layers = layers_of(model, torch.randn(1, 3, 224, 224))
            rows = []
            tot = {k: 0.0 for k in ("se_cycles", "dense_cycles", "se_e", "dense_e", "dram",
                                    "compulsory", "macs", "busy_macs", "sim_macs", "wall")}
            for lname, mod, in_shape in layers:
                w = mod.weight.detach().numpy().astype(np.float32)
                np.save(tmp / "w.npy", w)
                (tmp / "d").mkdir(exist_ok=True)
                subprocess.run([str(driver), "weight", "--input", str(tmp / "w.npy"),
                                "--out", str(tmp / "d"), "--min-exp", str(lo),
                                "--max-exp", str(hi)], check=True, capture_output=True)
                codes = np.load(tmp / "d" / "codes.npy")
                basis = np.load(tmp / "d" / "basis.npy")
                text, x_shape, y_shape = module_text(mod, in_shape, codes, basis, lo, hi)
                (tmp / "l.mlir").write_text(text)
                cfg = f"--sdacc-config={config}"
                prog_text = subprocess.run([str(translate), "--sd-to-sdacc-text", cfg,
                                            str(tmp / "l.mlir")], check=True,
                                           capture_output=True, text=True).stdout
                segs = sum(int(b) for b in re.findall(r"^segment .* bytes=(\d+)", prog_text, re.M))
                subprocess.run([str(translate), "--sd-to-sdacc", cfg, str(tmp / "l.mlir"),
                                "-o", str(tmp / "l.sdacc")], check=True)
                np.save(tmp / "x.npy", np.random.default_rng(0).integers(
                    -127, 128, size=x_shape).astype(np.int8))
                t0 = time.time()
                subprocess.run([str(sim), str(tmp / "l.sdacc"), "--config", str(config),
                                "--input", f"arg0={tmp}/x.npy", "--report", str(tmp / "r.json"),
                                "--compare", "dense"], check=True, capture_output=True)
                wall = time.time() - t0
                r = json.loads((tmp / "r.json").read_text())
                d = r["baseline"]
                compulsory = int(np.prod(x_shape)) + int(np.prod(y_shape)) + segs
                dram = sum(r["traffic_bytes"]["dram"].values())
                rows.append((lname, "x".join(map(str, w.shape)), r["cycles"], d["cycles"],
                             r["energy_pj"]["total"] / 1e6, d["energy_pj"]["total"] / 1e6,
                             dram / compulsory, r["utilization"]))
                tot["se_cycles"] += r["cycles"]
                tot["dense_cycles"] += d["cycles"]
                tot["se_e"] += r["energy_pj"]["total"]
                tot["dense_e"] += d["energy_pj"]["total"]
                tot["dram"] += dram
                tot["compulsory"] += compulsory
                tot["macs"] += r["macs"]["performed"]
                tot["busy_macs"] += r["utilization"] * r["macs"]["performed"]
                tot["sim_macs"] += r["macs"]["performed"] + d["macs"]["performed"]
                tot["wall"] += wall
                print(f"{name} {lname}: {r['cycles']} vs {d['cycles']} cycles", flush=True)
            summary.append((name, len(rows), tot))
            out_lines += ["", f"## {name} per layer", "",
                          "| layer | weight | SE cycles | dense cycles | SE energy (uJ) | dense energy (uJ) | DRAM / compulsory | utilization |",
                          "|---|---|---|---|---|---|---|---|"]
            for row in rows:
                out_lines.append("| %s | %s | %d | %d | %.2f | %.2f | %.2f | %.2f |" % row)
        out_lines += ["", "## Networks", "",
                      "| network | layers | energy dense/SE | cycles dense/SE | DRAM / compulsory | utilization (MAC-weighted) | simulator speed (M MAC/s) |",
                      "|---|---|---|---|---|---|---|"]
        for name, n, t in summary:
            out_lines.append(f"| {name} | {n} | {t['dense_e'] / t['se_e']:.2f}x | "
                             f"{t['dense_cycles'] / t['se_cycles']:.2f}x | "
                             f"{t['dram'] / t['compulsory']:.2f} | {t['busy_macs'] / t['macs']:.2f} | "
                             f"{t['sim_macs'] / t['wall'] / 1e6:.0f} |")
    out = ROOT / "benchmarks" / "results" / "accelerator.md"
    out.write_text("\n".join(out_lines) + "\n")
    print("\n".join(out_lines[-(len(summary) + 3):]))


if __name__ == "__main__":
    main()
