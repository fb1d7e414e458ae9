#!/usr/bin/env python3
"""Accelerator benchmark: whole networks as ONE program on sd-sim.

ResNet-18, VGG-16 and MobileNetV2 (torchvision shapes, random weights with
torch.manual_seed(0), batch 1, 224x224) are built as one quantized sd
function each (python/smartdeal/accel/network.py: every convolution and fully
connected layer decomposed by the C++ library into 4-bit Ce codes,
exponents [-6, 0]; SmartDeal's structured row pruning on the
convolutions; depthwise convolutions with raw int8 weights; residual adds,
max and global average pooling), translated
into ONE program by `sd-translate --sd-to-sdacc` and simulated by
`sd-sim --compare dense`, whose baseline is the same network with raw int8
weights on the same array (no index, no rebuild engines, 8-bit weights
streamed from DRAM). Reported per layer and per network: cycles, energy,
DRAM bytes against the compulsory minimum (each layer's input, weight data
and output moved once, from the schedule report of
`sd-opt --convert-sd-to-sdacc`), PE utilization, the energy breakdown, and
the simulator's speed. A real pretrained model (`--real`, PaddleOCR's
recognizer by default) runs through the driver, one program per layer.

Usage: run.py [--build build] [--models resnet18,vgg16,mobilenet_v2]
              [--fractions 0,0.5,0.8] [--real ocr-rec|none]
Writes benchmarks/results/accelerator.md; work files go to
~/.cache/smartdeal/accel-bench.
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "python"))
from smartdeal.accel import network as accelnet  # noqa: E402

LO, HI = -6, 0  # 7 levels: the published 4-bit Ce codes


def energy_parts(report):
    e = report["energy_pj"]
    parts = {"dram": e["by_level"]["dram"]}
    parts["buffers"] = sum(v for k, v in e["by_level"].items()
                           if k.endswith("_buffer"))
    parts["register files"] = sum(v for k, v in e["by_level"].items()
                                  if k.endswith("_rf"))
    parts["mac"] = e["by_operation"]["mac"]
    parts["shift/add/requant"] = (e["by_operation"]["shift"] + e["by_operation"]["add"]
                                  + e["by_operation"]["requant"])
    return parts


def dram(stats):
    return sum(stats["traffic_bytes"]["dram"].values())


def run_network(name, fraction, build, cache, lines, summary):
    driver = build / "bin" / "sd-decompose-ref-driver"
    work = cache / f"{name}-f{fraction}"
    t0 = time.time()
    net, result, x = accelnet.torchvision_network(name, str(driver), work / "w",
                                                  LO, HI, fraction)
    build_s = time.time() - t0
    model = work / "net.mlir"
    model.write_text(net.mlir(result))
    prog = work / "net.sdacc"
    subprocess.run([build / "bin" / "sd-translate", "--sd-to-sdacc", model, "-o", prog],
                   check=True)
    sched_file = work / "schedule.json"
    subprocess.run([build / "bin" / "sd-opt", model,
                    f"--convert-sd-to-sdacc=schedule-report={sched_file}", "-o",
                    "/dev/null"], check=True)
    schedules = json.loads(sched_file.read_text())["layers"]
    xq = accelnet.quantize_input(net, x)
    t0 = time.time()
    _, r = accelnet.run_sim(prog, xq, work, sd_sim=str(build / "bin" / "sd-sim"),
                            compare=True)
    wall = time.time() - t0
    d = r["baseline"]
    label = f"{name}, structured fraction {fraction}"
    lines += ["", f"## {label}: per layer", "",
              "| layer | format | SE cycles | dense cycles | SE energy (uJ) | dense energy (uJ) "
              "| energy dense/SE | DRAM / compulsory | utilization |",
              "|---|---|---|---|---|---|---|---|---|"]
    util3 = [0.0, 0.0]
    for ls, ld, sc in zip(r["layers"], d["layers"], schedules):
        comp = sc["dram_bytes"]["compulsory"]
        lines.append(
            f"| {ls['name']} | {sc['format']} | {ls['cycles']} | {ld['cycles']} | "
            f"{ls['energy_pj']['total'] / 1e6:.2f} | {ld['energy_pj']['total'] / 1e6:.2f} | "
            f"{ld['energy_pj']['total'] / ls['energy_pj']['total']:.2f}x | "
            f"{dram(ls) / comp:.2f} | {ls['utilization']:.2f} |")
    # Utilization on the 3x3 convolutions (MAC-weighted over their cycles).
    for ls, sc in zip(r["layers"], schedules):
        if sc["format"] == "se" and ls["macs"]["dense_equivalent"] and \
                ls["name"] in net_3x3_layers(net):
            util3[0] += ls["macs"]["performed"]
            util3[1] += ls["cycles"] * r["peak_macs_per_cycle"]
    comp_total = sum(s["dram_bytes"]["compulsory"] for s in schedules)
    se_parts, de_parts = energy_parts(r), energy_parts(d)
    lines += ["", f"Energy breakdown (uJ), {label}:", "",
              "| part | SmartExchange | dense 8-bit |", "|---|---|---|"]
    for part in se_parts:
        lines.append(f"| {part} | {se_parts[part] / 1e6:.1f} | {de_parts[part] / 1e6:.1f} |")
    lines.append(f"| total | {r['energy_pj']['total'] / 1e6:.1f} | "
                 f"{d['energy_pj']['total'] / 1e6:.1f} |")
    kinds = r["dram_bytes_by_kind"]
    dkinds = d["dram_bytes_by_kind"]
    lines += ["", "DRAM bytes by kind (SE / dense): " + ", ".join(
        f"{k} {kinds[k]} / {dkinds[k]}" for k in kinds if kinds[k] or dkinds[k])]
    # What keeping every intermediate tensor on chip could at best give:
    # both networks without their activation DRAM traffic (same bytes).
    def without_acts(rep):
        per_byte = rep["energy_pj"]["by_level"]["dram"] / max(1, dram(rep))
        k = rep["dram_bytes_by_kind"]
        return rep["energy_pj"]["total"] - per_byte * (k["load_act"] + k["store_act"])
    summary.append({
        "on_chip": without_acts(d) / without_acts(r),
        "label": label, "layers": len(r["layers"]),
        "energy": d["energy_pj"]["total"] / r["energy_pj"]["total"],
        "cycles": d["cycles"] / r["cycles"],
        "dram_ratio": dram(r) / comp_total,
        "util3": util3[0] / util3[1] if util3[1] else 0.0,
        "macs_per_s": (r["macs"]["performed"] + d["macs"]["performed"]) / wall,
        "se_uj": r["energy_pj"]["total"] / 1e6, "dense_uj": d["energy_pj"]["total"] / 1e6,
        "se_cycles": r["cycles"], "dense_cycles": d["cycles"],
        "build_s": build_s, "sim_s": wall,
        "instructions": r["instructions"],
    })
    print(f"{label}: energy {summary[-1]['energy']:.2f}x cycles {summary[-1]['cycles']:.2f}x",
          flush=True)


_LAYER3 = {}


def net_3x3_layers(net):
    """Names (layerN) of the 3x3 convolutions, in program order."""
    if id(net) not in _LAYER3:
        names, i = set(), 0
        for line in net.lines:
            if " = sd.quantized_" in line:
                if "sd.quantized_conv2d" in line and "x3x3xf32" in line.split("!sd.se<")[1][:40]:
                    names.add(f"layer{i}")
                i += 1
        _LAYER3[id(net)] = names
    return _LAYER3[id(net)]


def run_real(name, build, cache, lines):
    """A real pretrained model through the driver: every SmartExchange layer
    as its own program (the driver's accelerator step; the model's other
    layers - depthwise with hard-swish, attention - have no whole-network
    form yet)."""
    out = cache / f"real-{name}"
    env = dict(os.environ, SD_OPT=str(build / "bin" / "sd-opt"),
               PYTHONPATH=str(ROOT / "python"))
    subprocess.run([sys.executable, "-m", "smartdeal", name, "-o", str(out),
                    "--samples", "5", "--no-cpu-check"], check=True, env=env,
                   capture_output=True)
    acc = json.loads((out / "summary.json").read_text())["accelerator"]
    t = acc["totals"]
    lines += ["", f"## {name} (pretrained, driver defaults), per layer", "",
              f"{len(acc['layers'])} SmartExchange layers, each its own program (driver "
              "defaults: exponents [-8, 5] on a configuration widened to 5-bit codes, "
              "no structured pruning). Totals: energy dense/SE "
              f"{t['dense']['energy_pj'] / t['se']['energy_pj']:.2f}x, cycles dense/SE "
              f"{t['dense']['cycles'] / t['se']['cycles']:.2f}x.", "",
              "| layer | SE cycles | dense cycles | SE energy (uJ) | dense energy (uJ) |",
              "|---|---|---|---|---|"]
    for l in acc["layers"]:
        lines.append(f"| {l['name']} | {l['cycles']} | {l['dense_cycles']} | "
                     f"{l['energy_uj']:.2f} | {l['dense_energy_uj']:.2f} |")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=str(ROOT / "build"))
    ap.add_argument("--models", default="resnet18,vgg16,mobilenet_v2")
    ap.add_argument("--fractions", default="0,0.5,0.8")
    ap.add_argument("--real", default="ocr-rec",
                    help="pretrained model for the per-layer section, or none")
    args = ap.parse_args()
    build = Path(args.build)
    cache = Path.home() / ".cache" / "smartdeal" / "accel-bench"
    cache.mkdir(parents=True, exist_ok=True)
    lines, summary = [], []
    for name in args.models.split(","):
        for fraction in (float(f) for f in args.fractions.split(",")):
            run_network(name, fraction, build, cache, lines, summary)
    if args.real != "none":
        run_real(args.real, build, cache, lines)
    head = ["# Accelerator: whole networks as one program, SmartExchange against the dense "
            "8-bit baseline (sd-sim)", "",
            f"Each network is ONE program (`sd-translate --sd-to-sdacc`); 4-bit Ce codes "
            f"(exponents [{LO}, {HI}]), default hardware configuration, batch 1, 224x224, "
            "random torchvision weights (torch.manual_seed(0)), calibrated on one random "
            "input. `fraction` is SmartDeal's structured row pruning of every "
            "convolution (per group of 32 filters); depthwise convolutions keep raw int8 "
            "weights. DRAM / compulsory divides the DRAM bytes "
            "moved by each layer's input, weight data and output moved once. The last "
            "column removes the activation DRAM traffic (the same bytes in both modes) from "
            "both energies: what keeping intermediate tensors on chip could give at most. "
            "Analysis: docs/Accelerator.md, \"Whole networks: where the energy goes\".", "",
            "| network | layers | instructions | energy dense/SE | cycles dense/SE | SE energy (uJ) "
            "| dense energy (uJ) | SE cycles | DRAM / compulsory | 3x3 utilization | "
            "simulated M MAC/s | energy dense/SE without activation DRAM |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for s in summary:
        head.append(f"| {s['label']} | {s['layers']} | {s['instructions']} | {s['energy']:.2f}x | "
                    f"{s['cycles']:.2f}x | {s['se_uj']:.0f} | {s['dense_uj']:.0f} | "
                    f"{s['se_cycles']} | {s['dram_ratio']:.2f} | {s['util3']:.2f} | "
                    f"{s['macs_per_s'] / 1e6:.0f} | {s['on_chip']:.2f}x |")
    out = ROOT / "benchmarks" / "results" / "accelerator.md"
    out.write_text("\n".join(head + lines) + "\n")
    print("\n".join(head))


if __name__ == "__main__":
    main()
