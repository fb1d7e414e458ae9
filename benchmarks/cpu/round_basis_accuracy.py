#!/usr/bin/env python3
"""Word accuracy and artifact size of the OCR recognizer with and without 8-bit bases.

Takes the main job's OCR folder (`python3 -m smartdeal ocr-rec` writes
sd-out/ocr-rec; SD_OCR_RUN or --run overrides): its compressed.mlir (the
plan's SmartExchange and int-k layers, f32 bases) is compiled as it is and
after `sd-opt --sd-round-basis` (every basis row on an 8-bit grid, what the
report counts), both by scripts/sd-compile.sh. Each library is run through
its C entry point on the same words of the realistic test split
(`smartdeal.data`, fonts and words unseen by calibration and search), and
the table gives the word accuracy with its 95 % interval, the agreement of
the two libraries word by word, the original model's accuracy (ONNX Runtime)
and each library's constant-data bytes against the report's count.

Writes benchmarks/results/cpu_round_basis.md and cpu_round_basis.json.

    PYTHONPATH=python python3 benchmarks/cpu/round_basis_accuracy.py [--words 1000]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT / "python"))

from smartdeal import models  # noqa: E402
from smartdeal.cli import fidelity  # noqa: E402
from smartdeal.runtime import aot, artifact, runner  # noqa: E402


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--run", type=Path, default=Path(os.environ.get(
        "SD_OCR_RUN", ROOT / "sd-out" / "ocr-rec")))
    p.add_argument("--words", type=int, default=1000)
    p.add_argument("--work", type=Path, default=Path("/tmp/sd-bench-round-basis"))
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = p.parse_args()
    sd_opt = runner.find_sd_opt()
    args.work.mkdir(parents=True, exist_ok=True)
    real = models.MODELS["ocr-rec"]
    report = json.loads((args.run / "layers.json").read_text())["totals"]
    plan = args.run / "plan.json"

    compressed = args.run / "compressed.mlir"
    rounded = args.work / "compressed.rounded.mlir"
    subprocess.run([sd_opt, str(compressed), "--sd-round-basis", "-o", str(rounded)],
                   check=True)
    libs = {}
    for name, src in (("f32 bases", compressed), ("8-bit bases (--round-basis)", rounded)):
        lib = args.work / (("rounded" if src == rounded else "plain") + ".so")
        subprocess.run([str(ROOT / "scripts" / "sd-compile.sh"), str(src), str(lib)],
                       check=True, env=dict(os.environ, SD_OPT=sd_opt))
        libs[name] = lib

    sample = fidelity.data_module(real).samples("test", args.words, 0)
    original = fidelity.original_predictions(real.path, real, sample)
    from smartdeal.data.stats import Accuracy

    acc_orig = Accuracy(sum(g == s.label for g, s in zip(original, sample)), len(sample))
    rows, got = [], {}
    for name, lib in libs.items():
        t0 = time.time()
        acc, got[name] = fidelity._score(
            real, lambda xs, lib=lib: [aot.call(str(lib), "main", [x], 3) for x in xs],
            real.path, sample)
        wb = artifact.weight_bytes(lib)
        rows.append({"library": name, "accuracy": acc.as_dict(), "weight_bytes": wb,
                     "bytes_over_report": wb / (report["bits"] / 8),
                     "seconds": time.time() - t0})
        print(name, acc, wb, file=sys.stderr, flush=True)
    names = list(libs)
    agree = sum(a == b for a, b in zip(got[names[0]], got[names[1]])) / len(sample)
    result = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
              "run": str(args.run), "plan": json.loads(plan.read_text()) if plan.exists()
              else None, "words": len(sample), "original": acc_orig.as_dict(),
              "report_bytes": report["bits"] / 8,
              "report_ratio": report.get("compression_ratio"), "rows": rows,
              "agreement": agree}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "cpu_round_basis.json").write_text(json.dumps(result, indent=1) + "\n")
    (args.out / "cpu_round_basis.md").write_text(render(result, acc_orig))
    print(render(result, acc_orig))
    return 0


def render(result, acc_orig):
    lines = ["# OCR recognizer: 8-bit bases (--round-basis) vs f32 bases, through libmodel.so",
             "", f"Run {result['date']} on {result['run']} (the main job's folder: its "
             f"plan and compressed model); {result['words']} words of the realistic "
             "test split. The report counts "
             f"{result['report_bytes']:,.0f} bytes of weights "
             f"({result['report_ratio']:.2f}x). Original model (ONNX Runtime): "
             f"{acc_orig}.", "",
             "| library | word accuracy | 95 % interval | constant bytes | "
             "library / report |", "|---|---|---|---|---|"]
    for r in result["rows"]:
        a = r["accuracy"]
        lines.append(f"| {r['library']} | {100 * a['value']:.1f} % | "
                     f"[{100 * a['low']:.1f} %, {100 * a['high']:.1f} %] | "
                     f"{r['weight_bytes']:,} | {r['bytes_over_report']:.2f}x |")
    lines += ["", f"The two libraries read the same word on "
              f"{100 * result['agreement']:.1f} % of the inputs."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
