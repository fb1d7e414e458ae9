#!/usr/bin/env python3
"""The PP-OCRv4 recognizer through the compiler's quantization pass.

From the ONNX file: import (BatchNorm separate, as the driver does) ->
`sd-opt --sd-decompose` -> calibration statistics from the float ONNX model
on calibration words (`smartdeal.calibration_stats`) -> `sd-opt
--sd-quantize` (every layer the accelerator runs in its int8 format, the
rest float on the host, each decision in quantize.json). Both the float
compressed model and the quantized one are compiled by the CPU backend
(`scripts/sd-compile.sh`) and read the same test words; reported: word
accuracy of each, the difference, and how many ops went to the accelerator
and why the others stayed on the host.

Usage: ocr_quantized.py [--build build] [--words 200] [--calibration 32]
Writes benchmarks/results/accelerator-ocr-quantized.md (and .json).
"""

import argparse
import collections
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "python"))

from smartdeal import importers, models, ocr  # noqa: E402
from smartdeal.accel import calibration_stats  # noqa: E402
from smartdeal.runtime import aot  # noqa: E402


def run(cmd, **kw):
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kw)
    if proc.returncode:
        raise SystemExit(f"{cmd[0]} failed:\n{proc.stderr[-4000:]}")
    return proc


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default=str(ROOT / "build"))
    ap.add_argument("--words", type=int, default=200)
    ap.add_argument("--calibration", type=int, default=32)
    ap.add_argument("--work", default=str(Path.home() / ".cache/smartdeal/ocr-quantized"))
    ap.add_argument("--out", default=str(ROOT / "benchmarks/results/accelerator-ocr-quantized"))
    args = ap.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    sd_opt = Path(args.build) / "bin/sd-opt"
    env = dict(os.environ, SD_OPT=str(sd_opt))

    real = models.MODELS["ocr-rec"]
    onnx_path = real.path
    t0 = time.time()
    model = work / "model.mlir"
    importers.import_onnx(str(onnx_path), output=str(model),
                          input_shapes=real.input_shapes,
                          constant_inputs=real.constant_inputs, fold_batchnorm=False)
    compressed = work / "compressed.mlir"
    decompose = "--sd-decompose=min-size=4096"
    run([sd_opt, model, decompose, "-o", compressed])

    # Calibration words are drawn apart from the test words (other seed,
    # none in common).
    test = ocr.words(args.words, seed=0)
    calib = [w for w in ocr.words(args.calibration + args.words, seed=1)
             if w not in set(test)][:args.calibration]
    stats = calibration_stats.onnx_stats(onnx_path, [(ocr.render(w),) for w in calib])
    stats_file = work / "stats.json"
    calibration_stats.write_stats(stats_file, stats, len(calib))

    quantized = work / "quantized.mlir"
    report = work / "quantize.json"
    # One sd-opt run: the names the statistics go by are locations, which a
    # printed intermediate file would not keep.
    run([sd_opt, model, decompose, f"--sd-quantize=stats={stats_file} report={report}",
         "-o", quantized])
    decisions = json.loads(report.read_text())

    libs = {}
    for name, src in (("float", compressed), ("quantized", quantized)):
        lib = work / f"lib{name}.so"
        run([ROOT / "scripts/sd-compile.sh", src, lib], env=env)
        libs[name] = str(lib)
    acc = {name: ocr.word_accuracy(lambda x, lib=lib: aot.call(lib, "main", [x], 3),
                                   onnx_path, test)
           for name, lib in libs.items()}

    by_op = collections.Counter((d["target"], d["op"]) for d in decisions["ops"])
    reasons = collections.Counter(d["reason"] for d in decisions["ops"]
                                  if d["target"] == "host")
    result = {"words": len(test), "calibration_words": len(calib),
              "accuracy_float_compressed": acc["float"],
              "accuracy_quantized_compressed": acc["quantized"],
              "difference_points": 100 * (acc["quantized"] - acc["float"]),
              "accelerator_ops": decisions["accelerator"], "host_ops": decisions["host"],
              "by_op": {f"{t} {o}": n for (t, o), n in sorted(by_op.items())},
              "host_reasons": dict(reasons.most_common()),
              "seconds": time.time() - t0}
    Path(args.out + ".json").write_text(json.dumps(result, indent=1) + "\n")
    lines = ["# PP-OCRv4 recognizer through `--sd-quantize`", "",
             f"Measured {time.strftime('%Y-%m-%d')} by "
             "`benchmarks/accelerator/ocr_quantized.py`: ONNX -> import -> "
             "`--sd-decompose=min-size=4096` -> calibration statistics from the "
             f"float ONNX model on {len(calib)} words -> `--sd-quantize`; both "
             "models compiled by the CPU backend, read on the same "
             f"{len(test)} rendered words (DejaVu Sans, `smartdeal/ocr.py`).", "",
             "| model | word accuracy |", "|---|---|",
             f"| float compressed | {100 * acc['float']:.1f} % |",
             f"| quantized compressed (CPU quantized mode) | {100 * acc['quantized']:.1f} % |",
             f"| difference | {result['difference_points']:+.1f} points |", "",
             f"Ops on the accelerator: {decisions['accelerator']}; on the host: "
             f"{decisions['host']}.", "", "| target | op | count |", "|---|---|---|"]
    lines += [f"| {t} | `{o}` | {n} |" for (t, o), n in sorted(by_op.items())]
    lines += ["", "Why ops stay on the host:", "", "| reason | ops |", "|---|---|"]
    lines += [f"| {r} | {n} |" for r, n in reasons.most_common()]
    Path(args.out + ".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
