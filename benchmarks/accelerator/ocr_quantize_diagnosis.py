#!/usr/bin/env python3
"""Where the PP-OCRv4 recognizer loses word accuracy under `--sd-quantize`.

Starts from a folder the driver wrote (`python3 -m smartdeal ocr-rec`:
source.onnx with its int-k layers, model.mlir, sd-opt-plan.json, and
compressed.mlir with the search's fitted SmartExchange bases), rebuilds the
compressed model with locations (the same `--sd-compress` run, the fitted
bases written back), writes calibration statistics from the float
compressed model (compressed.onnx) and then quantizes it once per variant:
every accelerator layer, or only one class of them (the others left float on
the host, because their output tensors are dropped from the statistics).
Each variant is compiled by the CPU backend and read on the same test-split
words as the float compressed model (the driver's libmodel.so).

Usage: ocr_quantize_diagnosis.py --driver-out DIR [--words 200]
           [--variants all,depthwise,se,add,conv,matmul] [--build build]
Writes benchmarks/results/accelerator-ocr-diagnosis.md (and .json).
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

from smartdeal import models  # noqa: E402
from smartdeal.accel import calibration_stats, simulate  # noqa: E402
from smartdeal.data import ocr_rec  # noqa: E402
from smartdeal.runtime import aot, hybrid  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ocr_quantized import located_model  # noqa: E402

# Op classes of the quantization report.
CLASSES = {
    "depthwise": ("sd.quantized_depthwise_conv2d", "linalg.depthwise_conv_2d_nchw_chw"),
    "se": ("sd.shift_add_conv2d", "sd.shift_add_matmul"),
    "add": ("linalg.generic",),
    "conv": ("linalg.conv_2d_nchw_fchw",),
    "matmul": ("linalg.matmul", "linalg.batch_matmul"),
}


def run(cmd):
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True)
    if proc.returncode:
        raise SystemExit(f"{cmd[0]} failed:\n{proc.stderr[-4000:]}")
    return proc


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--driver-out", required=True, type=Path)
    ap.add_argument("--build", default=str(ROOT / "build"))
    ap.add_argument("--words", type=int, default=200)
    ap.add_argument("--calibration", type=int, default=32)
    ap.add_argument("--variants", default="all,depthwise,se,add")
    ap.add_argument("--quantize-options", default="",
                    help="extra options of --sd-quantize")
    ap.add_argument("--stats-from", choices=("compressed", "original"), default="compressed")
    ap.add_argument("--work", default=str(Path.home() / ".cache/smartdeal/ocr-diagnosis"))
    ap.add_argument("--out", default=str(ROOT / "benchmarks/results/accelerator-ocr-diagnosis"))
    args = ap.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    sd_opt = Path(args.build) / "bin/sd-opt"
    os.environ["SD_OPT"] = str(sd_opt)
    driver = args.driver_out
    real = models.MODELS["ocr-rec"]
    t0 = time.time()

    model = work / "compressed-loc.mlir"
    if not model.exists():
        model = located_model(sd_opt, driver, model)
    default = run([Path(args.build) / "bin/sd-sim", "--print-config"]).stdout
    config = simulate.levels_config(default, 14, work / "config.json")
    stats_file = work / f"stats-{args.stats_from}.json"
    if not stats_file.exists():
        calib = ocr_rec.inputs("calibration", args.calibration)
        onnx_path = driver / ("compressed.onnx" if args.stats_from == "compressed"
                              else "source.onnx")
        calibration_stats.write_stats(
            stats_file, calibration_stats.onnx_stats(onnx_path, [(x,) for x in calib]),
            len(calib))
    stats = json.loads(stats_file.read_text())

    test = ocr_rec.samples("test", args.words)
    float_out = [aot.call(str(driver / "libmodel.so"), "main", [s.x], 3) for s in test]
    acc = {"float": ocr_rec.word_accuracy(lambda x, it=iter(float_out): next(it),
                                          real.path, test)}
    print(f"float {acc['float'].value:.3f}", flush=True)
    rows = {}
    base = None
    for variant in args.variants.split(","):
        tag = variant + ("-" + args.quantize_options.replace(" ", "_").replace("=", "")
                         if args.quantize_options else "")
        q, rep = work / f"q-{tag}.mlir", work / f"q-{tag}.json"
        sf = stats_file
        if variant != "all":
            # Drop the outputs of every accelerator layer not of this class.
            keep = CLASSES[variant]
            doc = json.loads(json.dumps(stats))
            for d in base["ops"]:
                if d["target"] == "accelerator" and d["op"] not in keep:
                    doc["tensors"].pop(d["name"], None)
            sf = work / f"stats-{tag}.json"
            sf.write_text(json.dumps(doc))
        opts = f"stats={sf} report={rep} {args.quantize_options}".strip()
        run([sd_opt, model, f"--sd-quantize={opts}", f"--sd-schedule=config={config}",
             "--sd-partition", "-o", q])
        decisions = json.loads(rep.read_text())
        if variant == "all":
            base = decisions
        lib = work / f"lib-{tag}.so"
        hybrid.compile_library(q, lib)
        outs = [aot.call(str(lib), "main", [s.x], 3) for s in test]
        a = ocr_rec.word_accuracy(lambda x, it=iter(outs): next(it), real.path, test)
        err = float(np.mean([np.linalg.norm(np.ravel(o) - np.ravel(f)) /
                             max(np.linalg.norm(np.ravel(f)), 1e-12)
                             for o, f in zip(outs, float_out)]))
        rows[tag] = {"accelerator_ops": decisions["accelerator"], "accuracy": a.value,
                     "correct": a.hits, "n": a.n, "output_relative_error": err}
        print(f"{tag}: {decisions['accelerator']} ops, {a.value:.3f}, err {err:.4f}",
              flush=True)
        Path(args.out + ".json").write_text(json.dumps(
            {"float": acc["float"].value, "words": len(test), "variants": rows,
             "seconds": time.time() - t0}, indent=1) + "\n")


if __name__ == "__main__":
    main()
