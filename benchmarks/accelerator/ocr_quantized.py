#!/usr/bin/env python3
"""The PP-OCRv4 recognizer through the compiler's quantization pass, whole on sd-sim.

From the ONNX file: import (BatchNorm separate, as the driver does) ->
`sd-opt --sd-decompose` -> calibration statistics from the float ONNX model
on calibration-split words (`smartdeal.accel.calibration_stats`) -> `sd-opt
--sd-quantize --sd-partition` (each decision in quantize.json) -> three
libraries from the CPU backend (`scripts/sd-compile.sh`): the float
compressed model, the CPU quantized mode, and the hybrid artifact
(`smartdeal.runtime.hybrid`: host code with `--sd-offload`, one sd-sim
program per segment the program builder maps; the others stay on the host).

Reported, on test-split words (`smartdeal.data.ocr_rec`: mixed fonts,
sizes, noise): word accuracy of the original ONNX model (ONNX Runtime or
the reference executor), the float compressed and the quantized compressed
model; on the first `--hybrid-words` of them the hybrid run's outputs
compared bit for bit with the CPU quantized mode, and its energy, cycles
and DRAM traffic against the dense 8-bit baseline of the same segments on
the same simulator.

With `--driver-out DIR` (the folder `python3 -m smartdeal ocr-rec` wrote)
the model is the one the driver deploys: its plan (sd-opt-plan.json: int-k
layers already in source.onnx, SmartExchange layers), its fitted bases
(compressed.mlir), rebuilt with locations; the float compressed model is its
libmodel.so, and the calibration statistics (with per-channel ranges) come
from its compressed.onnx. `--host NAMES` keeps layers float on the host
(`--sd-quantize=host=`).

Usage: ocr_quantized.py [--build build] [--words 200] [--hybrid-words N]
                        [--dense-words 5] [--plan benchmarks/results/ocr_plan.json
                        | --driver-out DIR [--host p2o.Conv.1,...]]
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

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "python"))

from smartdeal import importers, models  # noqa: E402
from smartdeal.accel import calibration_stats, simulate  # noqa: E402
from smartdeal.data import ocr_rec  # noqa: E402
from smartdeal.plan import fits, planfile  # noqa: E402
from smartdeal.runtime import aot, hybrid  # noqa: E402
from smartdeal.runtime import compressed as compressed_mod  # noqa: E402


def run(cmd, **kw):
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kw)
    if proc.returncode:
        raise SystemExit(f"{cmd[0]} failed:\n{proc.stderr[-4000:]}")
    return proc


def located_model(sd_opt, driver: Path, out: Path) -> Path:
    """The driver's compressed model with the importer's locations (the
    statistics find tensors by them): its `--sd-compress` run again on its
    model.mlir, the search's fitted bases written back from compressed.mlir."""
    run([sd_opt, driver / "model.mlir",
         *planfile.compress_passes(None, driver / "sd-opt-plan.json", None),
         "--mlir-print-debuginfo", "-o", out])
    layers = json.loads((driver / "layers.json").read_text())
    text = (driver / "compressed.mlir").read_text()
    blobs = compressed_mod.parse_resource_section(text)
    fitted = {e["name"]: compressed_mod.se_arrays(e, blobs, driver / "compressed.mlir", text)
              for e in layers["layers"] if e["form"] == "se"}
    report = out.with_suffix(".layers.json")
    report.write_text(json.dumps(layers))
    fits.write_fits(out, report, fitted)
    return out


def build_driver(args, work, sd_opt, config, quantized, report, artifact, libs):
    """The driver's deployed model: located, calibrated on its own float
    compressed model, quantized, scheduled, partitioned; the float library is
    the driver's libmodel.so."""
    driver = Path(args.driver_out)
    model = located_model(sd_opt, driver, work / "compressed.mlir")
    default = run([Path(args.build) / "bin/sd-sim", "--print-config"]).stdout
    simulate.levels_config(default, 14, config)
    calib = ocr_rec.inputs("calibration", args.calibration)
    stats, channels = calibration_stats.onnx_stats(
        driver / "compressed.onnx", [(x,) for x in calib], channels=True)
    stats_file = work / "stats.json"
    calibration_stats.write_stats(stats_file, stats, len(calib), channels)
    host = f" host={args.host}" if args.host else ""
    run([sd_opt, model, f"--sd-quantize=stats={stats_file} report={report}{host}",
         f"--sd-schedule=config={config}", "--sd-partition", "-o", quantized])
    hybrid.build(quantized, artifact, str(config))
    import shutil
    shutil.copyfile(driver / "libmodel.so", libs["float"])
    hybrid.compile_library(quantized, Path(libs["quantized"]))


def build(args, work, sd_opt, onnx_path, real, decompose, config, quantized, report,
          compressed, artifact, libs):
    """Import, decompose, calibrate, quantize, schedule, partition; the hybrid
    artifact and the two CPU libraries."""
    model = work / "model.mlir"
    importers.import_onnx(str(onnx_path), output=str(model),
                          input_shapes=real.input_shapes,
                          constant_inputs=real.constant_inputs, fold_batchnorm=False)
    if args.plan:
        layers = json.loads(Path(args.plan).read_text())["layers"]
        plan = {"layers": {name: (spec if spec.get("form") == "se" else {"form": "dense"})
                           for name, spec in layers.items()}}
        (work / "plan.json").write_text(json.dumps(plan, indent=1))
    run([sd_opt, model, decompose, "-o", compressed])
    # The decomposition's 14 exponent levels need wider Ce codes than the
    # default hardware's 4 bits.
    default = run([Path(args.build) / "bin/sd-sim", "--print-config"]).stdout
    simulate.levels_config(default, 14, config)
    # Calibration and test words come from disjoint splits (words and fonts).
    calib = ocr_rec.inputs("calibration", args.calibration)
    stats = calibration_stats.onnx_stats(onnx_path, [(x,) for x in calib])
    stats_file = work / "stats.json"
    calibration_stats.write_stats(stats_file, stats, len(calib))
    # One sd-opt run: the names the statistics go by are locations, which a
    # printed intermediate file would not keep.
    run([sd_opt, model, decompose, f"--sd-quantize=stats={stats_file} report={report}",
         f"--sd-schedule=config={config}", "--sd-partition", "-o", quantized])
    hybrid.build(quantized, artifact, str(config))
    for name, src in (("float", compressed), ("quantized", quantized)):
        hybrid.compile_library(src, Path(libs[name]))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default=str(ROOT / "build"))
    ap.add_argument("--words", type=int, default=200)
    ap.add_argument("--hybrid-words", type=int, default=None,
                    help="words run whole on sd-sim (default: all)")
    ap.add_argument("--dense-words", type=int, default=5,
                    help="hybrid words also run on the dense 8-bit baseline")
    ap.add_argument("--plan", help="plan file of the search (benchmarks/results/"
                    "ocr_plan.json): its SmartExchange layers are decomposed, every "
                    "other layer stays dense (the accelerator has no int-k form); "
                    "default: every eligible layer SmartExchange")
    ap.add_argument("--driver-out", help="the folder `python3 -m smartdeal ocr-rec` "
                    "wrote: quantize the model the driver deploys (its plan and "
                    "fitted bases)")
    ap.add_argument("--host", default="", help="layers kept float on the host "
                    "(--sd-quantize=host=), comma-separated")
    ap.add_argument("--calibration", type=int, default=32)
    ap.add_argument("--reuse", action="store_true",
                    help="reuse the models, programs and libraries the last run with "
                    "the same --build, --plan and --calibration left in --work")
    ap.add_argument("--work", default=str(Path.home() / ".cache/smartdeal/ocr-quantized"))
    ap.add_argument("--out", default=str(ROOT / "benchmarks/results/accelerator-ocr-quantized"))
    args = ap.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    sd_opt = Path(args.build) / "bin/sd-opt"
    os.environ["SD_OPT"] = str(sd_opt)
    os.environ.setdefault("SD_ACCEL_RUNTIME", str(Path(args.build) / "lib/libSDAccelRuntime.so"))

    real = models.MODELS["ocr-rec"]
    onnx_path = real.path
    t0 = time.time()
    test = ocr_rec.samples("test", args.words)
    decompose = "--sd-decompose=min-size=4096"
    if args.plan:
        decompose += f" plan={work / 'plan.json'}"
    config, artifact = work / "config.json", work / "hybrid"
    quantized, report, compressed = work / "quantized.mlir", work / "quantize.json", \
        work / "compressed.mlir"
    libs = {name: str(work / f"lib{name}.so") for name in ("float", "quantized")}
    stamp = work / "built.json"
    key = {"build": args.build, "plan": args.plan, "calibration": args.calibration,
           "driver_out": args.driver_out, "host": args.host}
    if not (args.reuse and stamp.exists() and json.loads(stamp.read_text()) == key):
        if stamp.exists():
            stamp.unlink()
        if args.driver_out:
            build_driver(args, work, sd_opt, config, quantized, report, artifact, libs)
        else:
            build(args, work, sd_opt, onnx_path, real, decompose, config, quantized,
                  report, compressed, artifact, libs)
        stamp.write_text(json.dumps(key))
    decisions = json.loads(report.read_text())
    manifest = json.loads((artifact / "manifest.json").read_text())
    on_accel = manifest["segments"]
    calib_n = json.loads((work / "stats.json").read_text())["inputs"]
    t_build = time.time() - t0

    from smartdeal.runtime import ort
    outputs = {"original": ort.runner(onnx_path)([s.x for s in test])}
    for name, lib in libs.items():
        outputs[name] = [aot.call(lib, "main", [s.x], 3) for s in test]
    acc = {name: ocr_rec.word_accuracy(lambda x, it=iter(ys): next(it), onnx_path, test)
           for name, ys in outputs.items()}

    print("word accuracy: " + ", ".join(f"{k} {a.value:.3f}" for k, a in acc.items()),
          file=sys.stderr, flush=True)
    n_hybrid = len(test) if args.hybrid_words is None else min(args.hybrid_words, len(test))
    n_dense = min(args.dense_words, n_hybrid)
    # Costs: SmartExchange over every hybrid word, and both SmartExchange and
    # the dense baseline over the first n_dense (the ratios use those).
    equal, macs, sim_s = 0, 0, 0.0
    se = collections.Counter()
    pair = {"se": collections.Counter(), "dense": collections.Counter()}
    hybrid_outputs, first = [], None
    t1 = time.time()
    def write(final):
        t_hybrid = time.time() - t1
        n_hybrid = len(hybrid_outputs)
        acc_hybrid = ocr_rec.word_accuracy(lambda x, it=iter(hybrid_outputs): next(it),
                                           onnx_path, test[:n_hybrid])
        energy, cycles, dram = se["energy_pj"], se["cycles"], se["dram"]
        per = max(n_hybrid, 1)
        nd = min(n_dense, n_hybrid)
        dense_per = {k: v / max(nd, 1) for k, v in pair["dense"].items()}
        ratio = (lambda a, b: a / b if b else 0.0)

        by_op = collections.Counter((d["target"], d["op"]) for d in decisions["ops"])
        reasons = collections.Counter(d["reason"] for d in decisions["ops"]
                                      if d["target"] == "host")
        segs = [{"name": s["name"], "cycles": s["cycles"], "energy_pj": s["energy_pj"],
                 "dense_energy_pj": s.get("dense", {}).get("energy_pj"),
                 "dram_bytes": s["dram_read_bytes"] + s["dram_write_bytes"],
                 "layers": len(s["first_run"]["layers"])} for s in first["segments"]]
        result = {"words": len(test), "calibration_words": calib_n,
                  "accuracy": {k: {"correct": a.hits, "n": a.n, "value": a.value}
                               for k, a in acc.items()},
                  "difference_points": 100 * (acc["quantized"].value - acc["float"].value),
                  "accelerator_ops": decisions["accelerator"], "host_ops": decisions["host"],
                  "segments": len(on_accel) + len(manifest["host_segments"]),
                  "segments_on_accelerator": on_accel,
                  "segments_on_host": manifest["host_segments"],
                  "hybrid_words": n_hybrid, "hybrid_bit_identical": equal,
                  "hybrid_accuracy": {"correct": acc_hybrid.hits, "n": acc_hybrid.n},
                  "dense_words": nd,
                  "energy_pj_per_word": energy / per, "cycles_per_word": cycles / per,
                  "dram_bytes_per_word": dram / per,
                  "dense_energy_pj_per_word": dense_per.get("energy_pj", 0.0),
                  "dense_over_smartexchange_energy": ratio(pair["dense"]["energy_pj"],
                                                           pair["se"]["energy_pj"]),
                  "dense_over_smartexchange_cycles": ratio(pair["dense"]["cycles"],
                                                           pair["se"]["cycles"]),
                  "dense_over_smartexchange_dram": ratio(pair["dense"]["dram"],
                                                         pair["se"]["dram"]),
                  "simulated_macs_per_second": ratio(macs, sim_s),
                  "hybrid_seconds_per_word": t_hybrid / per,
                  "per_segment_first_word": segs,
                  "by_op": {f"{t} {o}": n for (t, o), n in sorted(by_op.items())},
                  "host_reasons": dict(reasons.most_common()),
                  "build_seconds": t_build, "seconds": time.time() - t0}
        Path(args.out + ".json").write_text(json.dumps(result, indent=1) + "\n")
        pct = (lambda a: f"{100 * a.value:.1f} % ({a.hits}/{a.n})")
        if args.driver_out:
            source = ("the model `python3 -m smartdeal ocr-rec` deploys (its default "
                      "plan: sd-opt-plan.json of the driver's folder, int-k layers in "
                      "its source.onnx, the search's fitted SmartExchange bases from "
                      "its compressed.mlir), rebuilt with locations -> calibration "
                      "statistics with per-channel ranges from its float "
                      f"compressed.onnx on {calib_n} calibration-split words -> "
                      "`--sd-quantize"
                      + (f"=host={args.host}" if args.host else "") + " --sd-schedule "
                      "--sd-partition` (float compressed model: the driver's "
                      "libmodel.so)")
        else:
            source = ("ONNX -> import -> "
                      f"`{decompose.replace(str(work) + '/', '')}`"
                      + (f" (SmartExchange layers of `{args.plan}`, every other layer "
                         "dense)" if args.plan else "")
                      + " -> calibration statistics from the float ONNX model on "
                      f"{calib_n} calibration-split words -> `--sd-quantize "
                      "--sd-schedule --sd-partition`")
        lines = ["# PP-OCRv4 recognizer through `--sd-quantize`, whole on sd-sim", "",
                 f"Measured {time.strftime('%Y-%m-%d')} by "
                 f"`benchmarks/accelerator/ocr_quantized.py`: {source}"
                 " -> host library (CPU backend, "
                 "`--sd-offload`) + sd-sim programs; all read the same "
                 f"{len(test)} test-split words (`smartdeal.data.ocr_rec`: mixed "
                 "fonts, sizes, noise).", "",
                 "| model | word accuracy |", "|---|---|",
                 f"| original (ONNX) | {pct(acc['original'])} |",
                 f"| float compressed (CPU backend) | {pct(acc['float'])} |",
                 f"| quantized compressed (CPU quantized mode) | {pct(acc['quantized'])} |",
                 f"| difference quantized - float | {result['difference_points']:+.1f} points |",
                 f"| hybrid (host + sd-sim), first {n_hybrid} words | "
                 f"{pct(acc_hybrid)} |", "",
                 f"Hybrid outputs bit-identical to the CPU quantized mode: **{equal} of "
                 f"{n_hybrid}** words.", "",
                 f"Ops on the accelerator: {decisions['accelerator']}; on the host: "
                 f"{decisions['host']}. `--sd-partition` cuts the accelerator ops into "
                 f"{result['segments']} segments; {len(on_accel)} run on sd-sim, "
                 f"{len(manifest['host_segments'])} stay on the host because the "
                 "program builder cannot map them (below).", "",
                 f"| per word, accelerator segments (first {nd} words) | SmartExchange "
                 "| dense 8-bit | dense / SE |",
                 "|---|---|---|---|",
                 f"| energy (uJ) | {pair['se']['energy_pj'] / max(nd, 1) * 1e-6:.2f} | "
                 f"{dense_per.get('energy_pj', 0) * 1e-6:.2f} | "
                 f"{result['dense_over_smartexchange_energy']:.2f}x |",
                 f"| cycles | {pair['se']['cycles'] // max(nd, 1)} | "
                 f"{int(dense_per.get('cycles', 0))} | "
                 f"{result['dense_over_smartexchange_cycles']:.2f}x |",
                 f"| DRAM bytes | {pair['se']['dram'] // max(nd, 1)} | "
                 f"{int(dense_per.get('dram', 0))} | "
                 f"{result['dense_over_smartexchange_dram']:.2f}x |", "",
                 f"Over all {n_hybrid} hybrid words: {energy / per * 1e-6:.2f} uJ, "
                 f"{cycles // per} cycles, {dram // per} DRAM bytes per word.", "",
                 f"Simulator throughput: {result['simulated_macs_per_second'] / 1e6:.1f} M "
                 f"simulated MAC/s; {result['hybrid_seconds_per_word']:.1f} s per word for "
                 f"the whole hybrid run (the first {nd} with the dense baseline too).", "",
                 "Segments left on the host:", "", "| segment | reason |", "|---|---|"]
        lines += [f"| {n} | {r} |" for n, r in manifest["host_segments"].items()]
        lines += ["", "| target | op | count |", "|---|---|---|"]
        lines += [f"| {t} | `{o}` | {n} |" for (t, o), n in sorted(by_op.items())]
        lines += ["", "Why ops stay on the host:", "", "| reason | ops |", "|---|---|"]
        lines += [f"| {r} | {n} |" for r, n in reasons.most_common()]
        Path(args.out + ".md").write_text("\n".join(lines) + "\n")
        if final:
            print("\n".join(lines))

    for i, (s, want) in enumerate(zip(test[:n_hybrid], outputs["quantized"])):
        got, rep = hybrid.run(artifact, [s.x], 3, compare_dense=i < n_dense)
        hybrid_outputs.append(got)
        equal += bool(np.array_equal(np.asarray(got, np.float32).view(np.uint32),
                                     np.asarray(want, np.float32).view(np.uint32)))
        tot = rep["total"]
        costs = lambda t: {"energy_pj": t["energy_pj"], "cycles": t["cycles"],
                           "dram": t["dram_read_bytes"] + t["dram_write_bytes"]}
        se.update(costs(tot))
        if i < n_dense:
            pair["se"].update(costs(tot))
            pair["dense"].update(costs(tot["dense"]))
        macs += tot["macs"]
        sim_s += tot["seconds"]
        first = first or rep
        if (i + 1) % 10 == 0:
            write(False)
            print(f"hybrid: {i + 1}/{n_hybrid} words, {equal} bit-identical, "
                  f"{time.time() - t1:.0f} s", file=sys.stderr, flush=True)
    write(True)


if __name__ == "__main__":
    main()
