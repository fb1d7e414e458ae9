#!/usr/bin/env python3
"""Accelerator benchmark: torchvision networks through the compiler's passes
to one artifact each, SmartExchange against the dense 8-bit baseline.

ResNet-18 and MobileNetV2 (VGG-16 on request; torchvision, random weights
with torch.manual_seed(0), batch 1, 224x224) go the way a user's model goes,
with no hand-written IR: PyTorch import (`smartdeal.import_torch`) ->
`sd-opt --sd-compress` with a plan file (4-bit Ce codes, exponents [-6, 0];
SmartDeal's structured row pruning `structured-fraction` as a plan entry on
every layer but the classifier) -> calibration statistics of the float model
on one random input -> `--sd-to-accelerator` (quantize, schedule: splits and
the per-layer tiling, partition, contract check) -> hybrid artifact
(`smartdeal.runtime.hybrid`: host library + one program per accelerator
segment). The artifact runs on that input with the runtime's dense
comparison: every segment also runs as the dense 8-bit baseline (raw int8
weights on the same array, same buffers, same tiling rules, same energy
table). Per network: energy and cycles against dense, DRAM bytes against the
compulsory bytes of the chosen schedule (each layer's input, weight data and
output moved once, from the schedule report of `--convert-sd-to-sdacc`),
what removing the activation DRAM traffic would give, the simulator's speed;
per layer: the SmartExchange program's cycles, energy and DRAM against
compulsory. `--check-cpu` also compiles the partitioned module whole for the
CPU backend and checks the artifact's output bit for bit against it.

Usage: run.py [--build build] [--models resnet18,mobilenet_v2]
              [--fractions 0,0.5,0.8] [--check-cpu]
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

LO, HI = -6, 0  # 7 levels: the published 4-bit Ce codes
SIZE = 224
CLASSIFIER = {"resnet18": "fc", "mobilenet_v2": "classifier.1",
              "vgg16": "classifier.6"}


def compile_network(name, fraction, build, work):
    """The partitioned module of `name`, its artifact and the input."""
    import torch
    import torchvision
    from smartdeal import import_torch
    from smartdeal.accel import calibration_stats
    from smartdeal.runtime import hybrid

    work.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    model = getattr(torchvision.models, name)(weights=None).eval()
    x = np.random.default_rng(0).standard_normal((1, 3, SIZE, SIZE)).astype(np.float32)
    calibration_stats.write_stats(
        work / "stats.json", calibration_stats.torch_stats(model, [(x,)]), 1)
    import_torch(model, (torch.from_numpy(x),), output=str(work / "model.mlir"))
    plan = {"defaults": {"min-size": 64, "min-exp": LO, "max-exp": HI,
                         "structured-fraction": fraction}}
    plan["layers"] = {CLASSIFIER[name]: {"structured-fraction": 0.0}}
    (work / "plan.json").write_text(json.dumps(plan))
    sd_opt = build / "bin" / "sd-opt"
    subprocess.run([sd_opt, work / "model.mlir",
                    f"--sd-compress=plan={work / 'plan.json'} "
                    f"report={work / 'layers.json'}",
                    f"--sd-to-accelerator=stats={work / 'stats.json'} "
                    f"report={work / 'q.json'}",
                    "-o", work / "q.mlir"], check=True)
    names = hybrid.build(work / "q.mlir", work / "artifact")
    return names, x


def schedules_of(build, work, segment):
    """The builder's per-layer schedule of one segment's program."""
    out = work / f"{segment}.schedule.json"
    subprocess.run([build / "bin" / "sd-opt", work / "q.mlir",
                    f"--convert-sd-to-sdacc=function={segment} "
                    f"schedule-report={out}", "--verify-each=false", "-o",
                    os.devnull], check=True)
    return json.loads(out.read_text())["layers"]


def run_network(name, fraction, args, build, cache, lines, summary):
    from smartdeal.runtime import aot, hybrid

    work = cache / f"{name}-f{fraction}"
    t0 = time.time()
    names, x = compile_network(name, fraction, build, work)
    compile_s = time.time() - t0
    t0 = time.time()
    y, rep = hybrid.run(work / "artifact", [x], 2, compare_dense=True)
    run_s = time.time() - t0
    exact = ""
    if args.check_cpu:
        hybrid.compile_library(work / "q.mlir", work / "cpu.so")
        want = aot.call(str(work / "cpu.so"), "main", [x], 2)
        same = np.array_equal(np.ascontiguousarray(y, np.float32).view(np.uint32),
                              np.ascontiguousarray(want, np.float32).view(np.uint32))
        if not same:
            raise SystemExit(f"{name} {fraction}: artifact != CPU quantized mode")
        exact = "yes"
    ops = json.loads((work / "q.json").read_text())["ops"]
    on_acc = sum(o["target"] == "accelerator" for o in ops)
    label = f"{name}, structured fraction {fraction}"
    lines += ["", f"## {label}: per layer (SmartExchange program)", "",
              "| segment | layer | format | tiling | cycles | energy (uJ) | DRAM bytes "
              "| compulsory bytes | DRAM / compulsory | utilization |",
              "|---|---|---|---|---|---|---|---|---|---|"]
    comp_total = dram_total = act_bytes = cascades = 0
    by_kind = {}
    for seg in rep["segments"]:
        first = seg["first_run"]
        scheds = schedules_of(build, work, seg["name"])
        for ls, sc in zip(first["layers"], scheds):
            comp = sc["dram_bytes"]["compulsory"]
            moved = sum(ls["traffic_bytes"]["dram"].values())
            comp_total += comp
            dram_total += moved
            tiling = (f"{sc['channels_per_group']} ch x {sc['groups']} groups, "
                      f"{sc['bands']} bands, {sc['loop_order']}"
                      if sc["format"] in ("se", "dense") else sc.get("band_kind", ""))
            if sc.get("input_on_chip"):
                tiling += "; input on chip"
            if sc.get("output_on_chip"):
                tiling += "; output on chip"
                cascades += 1
            lines.append(
                f"| {seg['name']} | {ls['name']} | {sc['format']} | {tiling} | "
                f"{ls['cycles']} | {ls['energy_pj']['total'] / 1e6:.2f} | {moved} | "
                f"{comp} | {moved / comp:.2f} | {ls['utilization']:.2f} |")
        for k, v in first["dram_bytes_by_kind"].items():
            by_kind[k] = by_kind.get(k, 0) + v
        act_bytes += first["dram_bytes_by_kind"]["load_act"] + \
            first["dram_bytes_by_kind"]["store_act"]
    t, d = rep["total"], rep["total"]["dense"]
    lines += ["", f"DRAM bytes by kind (SmartExchange), {label}: " + ", ".join(
        f"{k} {v}" for k, v in by_kind.items() if v)]
    # Activation bytes are the same in both modes (same tensors, same
    # tiling rules); DRAM costs the same per byte read or written.
    cfg = json.loads(subprocess.run([build / "bin" / "sd-sim", "--print-config"],
                                    check=True, capture_output=True, text=True).stdout)
    act_pj = act_bytes * cfg["dram"]["read_pj_per_byte"]
    summary.append({
        "label": label, "segments": len(names), "on_acc": on_acc,
        "cascades": cascades,
        "host": len(ops) - on_acc,
        "energy": d["energy_pj"] / t["energy_pj"],
        "cycles": d["cycles"] / t["cycles"],
        "se_uj": t["energy_pj"] / 1e6, "dense_uj": d["energy_pj"] / 1e6,
        "se_cycles": t["cycles"],
        "dram_ratio": dram_total / comp_total,
        "on_chip": (d["energy_pj"] - act_pj) / (t["energy_pj"] - act_pj),
        "macs_per_s": t["simulated_macs_per_second"],
        "exact": exact or "not checked", "compile_s": compile_s, "run_s": run_s,
    })
    print(f"{label}: energy {summary[-1]['energy']:.2f}x cycles "
          f"{summary[-1]['cycles']:.2f}x DRAM/compulsory {summary[-1]['dram_ratio']:.3f} "
          f"({compile_s:.0f} s compile, {run_s:.0f} s run)", flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=str(ROOT / "build"))
    ap.add_argument("--models", default="resnet18,mobilenet_v2")
    ap.add_argument("--fractions", default="0,0.5,0.8")
    ap.add_argument("--check-cpu", action="store_true",
                    help="check the artifact against the CPU quantized mode")
    args = ap.parse_args()
    build = Path(args.build)
    os.environ.setdefault("SD_OPT", str(build / "bin" / "sd-opt"))
    cache = Path.home() / ".cache" / "smartdeal" / "accel-bench"
    cache.mkdir(parents=True, exist_ok=True)
    lines, summary = [], []
    for name in args.models.split(","):
        for fraction in (float(f) for f in args.fractions.split(",")):
            run_network(name, fraction, args, build, cache, lines, summary)
    head = ["# Accelerator: torchvision networks through the passes, SmartExchange "
            "against the dense 8-bit baseline (sd-sim)", "",
            "Each network: PyTorch import -> `--sd-compress` (plan: 4-bit Ce codes, "
            f"exponents [{LO}, {HI}], `structured-fraction` on every layer but the "
            "classifier) -> `--sd-to-accelerator` (calibration statistics of the float "
            "model on one random input) -> one hybrid artifact, run on that input with "
            f"the runtime's dense comparison. Default hardware configuration, batch 1, "
            f"{SIZE}x{SIZE}, random torchvision weights (torch.manual_seed(0)). Energy "
            "and cycles count the accelerator segments (host ops are not costed). DRAM / "
            "compulsory divides the DRAM bytes moved by the compulsory bytes of the "
            "chosen schedule (each layer's input, weight data and output moved once). "
            "`cascades` counts layers whose output stays on chip for the next layer "
            "(`--sd-schedule`'s `sd.cascade`: no DRAM store or load; the dense "
            "baseline runs the same program structure). The column 'without "
            "activation DRAM' removes the remaining activation DRAM bytes (the same "
            "in both modes) from both energies: what keeping every intermediate "
            "tensor on chip could give at most. Written by "
            "benchmarks/accelerator/run.py.", "",
            "| network | segments | ops on accelerator / host | cascades | energy dense/SE | "
            "cycles dense/SE | SE energy (uJ) | dense energy (uJ) | SE cycles | "
            "DRAM / compulsory | energy dense/SE without activation DRAM | "
            "simulated M MAC/s | bit-exact with CPU quantized mode |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for s in summary:
        head.append(f"| {s['label']} | {s['segments']} | {s['on_acc']} / {s['host']} | "
                    f"{s['cascades']} | "
                    f"{s['energy']:.2f}x | {s['cycles']:.2f}x | {s['se_uj']:.0f} | "
                    f"{s['dense_uj']:.0f} | {s['se_cycles']} | {s['dram_ratio']:.3f} | "
                    f"{s['on_chip']:.2f}x | {s['macs_per_s'] / 1e6:.0f} | {s['exact']} |")
    out = ROOT / "benchmarks" / "results" / "accelerator.md"
    out.write_text("\n".join(head + lines) + "\n")
    print("\n".join(head))


if __name__ == "__main__":
    main()
