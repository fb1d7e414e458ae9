#!/usr/bin/env python3
"""Whole-model CPU latency: our compressed libmodel.so vs PyTorch eager vs ONNX Runtime.

For each model (the PP-OCRv4 text recognizer under the accuracy plan
benchmarks/results/ocr_plan.json, torchvision ResNet-18 at 224x224, an MLP of
4096-wide layers), batch 1 and 8, and 1 and 2 threads, this script times in
the same run:

* ours: the model compressed by sd-decompose with the plan, compiled by
  scripts/sd-compile.sh (the CPU backend) and called through its C entry
  point;
* PyTorch eager on the original (dense) model;
* ONNX Runtime (npm onnxruntime-node, installed by scripts/install-deps.sh)
  on the original ONNX model.

Each engine runs in its own process with the thread count fixed before it
starts; every configuration is measured `--rounds` times, the engines
interleaved, and the table gives the median of the per-round medians and the
ratios. Before timing, it checks that ours equals the reference path (the
same compressed model through --sd-reference-to-llvm, dense rebuilt weights)
within 1e-5 relative on the real shapes (batch 1), and fails otherwise. It
also reports the bytes of weight data in the library (`smartdeal.runtime.artifact`).

Writes benchmarks/results/whole_model.md and whole_model.json.

    PYTHONPATH=python python3 benchmarks/cpu/whole_model.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT / "python"))
sys.path.insert(0, str(HERE))

from smartdeal.runtime.artifact import (Library, input_tensor, median_ms,  # noqa: E402
                                        ort_ms, weight_bytes)

TOLERANCE = 1e-5


# --------------------------------------------------------------------------
# Timing workers (each runs in a fresh process so thread settings hold)
# --------------------------------------------------------------------------

def worker_lib(lib, shape, rank, iters):
    return median_ms(Library(lib, input_tensor(shape), rank), iters)


def worker_torch(model, shape, threads, iters, work):
    import torch

    torch.set_num_threads(threads)
    module = torch_model(model, Path(work))
    x = torch.from_numpy(input_tensor(shape))
    with torch.no_grad():
        return median_ms(lambda: module(x), iters)


def run_worker(kind, args, threads):
    env = dict(os.environ, OMP_NUM_THREADS=str(threads),
               OPENBLAS_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    if kind == "ort":
        model, shape, threads, iters = args
        ms = ort_ms(model, [int(s) for s in shape.split(",")], threads, iters)
        if ms is None:
            raise RuntimeError("onnxruntime-node is not installed (scripts/install-deps.sh)")
        return ms
    cmd = [sys.executable, str(Path(__file__)), "--worker", kind, json.dumps(args)]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if out.returncode:
        raise RuntimeError(f"{kind} worker failed: {out.stderr.strip()[-2000:]}")
    return float(out.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------

def ocr_path():
    from smartdeal import models

    return models.MODELS["ocr-rec"].path


def torch_model(name, work: Path):
    """The original model as a PyTorch eager module (eval mode)."""
    import torch

    if name == "ocr-rec":
        import onnx

        from smartdeal.training.onnx_module import OnnxModule

        return OnnxModule(onnx.load(str(ocr_path()))).eval()
    if name == "resnet18":
        import torchvision

        torch.manual_seed(0)
        return torchvision.models.resnet18(weights=None).eval()
    if name == "mlp4096":
        torch.manual_seed(0)
        layers = []
        for i in range(3):
            layers += [torch.nn.Linear(4096, 4096), torch.nn.ReLU()]
        return torch.nn.Sequential(*layers, torch.nn.Linear(4096, 1000)).eval()
    raise ValueError(name)


MODELS = {
    # name: (input shape at batch 1, result rank)
    "ocr-rec": ([1, 3, 48, 320], 3),
    "resnet18": ([1, 3, 224, 224], 2),
    "mlp4096": ([1, 4096], 2),
}


def onnx_model(name, work: Path) -> Path:
    """The original model as ONNX (for ONNX Runtime): the shipped file for the
    OCR recognizer, a torch.onnx export with a dynamic batch otherwise."""
    if name == "ocr-rec":
        return ocr_path()
    import torch

    out = work / f"{name}.onnx"
    if not out.exists():
        module = torch_model(name, work)
        shape = MODELS[name][0]
        torch.onnx.export(module, torch.from_numpy(input_tensor(shape)), str(out),
                          input_names=["x"], output_names=["y"],
                          dynamic_axes={"x": {0: "b"}, "y": {0: "b"}}, opset_version=13)
    return out


def plan_config(name):
    if name == "ocr-rec":
        return json.loads((ROOT / "benchmarks" / "results" / "ocr_plan.json").read_text())
    return None


def compile_ours(name, batch, work: Path, sd_opt: str, reference=False) -> Path:
    """Import at this batch, compress with the plan, compile; cached in work/."""
    from argparse import Namespace

    from smartdeal import driver, importers

    d = work / f"{name}-b{batch}"
    lib = d / ("libref.so" if reference else "libmodel.so")
    if lib.exists():
        return lib
    d.mkdir(parents=True, exist_ok=True)
    shape = [batch] + MODELS[name][0][1:]
    config = plan_config(name)
    model_mlir = d / "model.mlir"
    compressed = d / "compressed.mlir"
    if not compressed.exists():
        if name == "ocr-rec":
            source = work / "ocr-source.onnx"
            if not source.exists():
                # The plan's int-k layers are quantized in the ONNX model, as
                # the driver does.
                from smartdeal import models

                calib = driver.calibration_inputs(ocr_path(), models.MODELS["ocr-rec"],
                                                  Namespace(calibration=8))
                entries = driver.quantize_int_layers(ocr_path(), config, source,
                                                     calibration=calib)
                (work / "ocr-int-layers.json").write_text(json.dumps(entries))
            importers.import_onnx(str(source), output=str(model_mlir),
                                  input_shapes={"x": shape}, fold_batchnorm=False)
        else:
            import torch

            importers.import_torch(torch_model(name, work),
                                   (torch.from_numpy(input_tensor(shape)),),
                                   output=str(model_mlir), fold_batchnorm=False)
        options = driver.decompose_options(config, Namespace(min_size=1024, threshold=None))
        cmd = driver.compress_command(sd_opt, model_mlir, config, options, d)
        subprocess.run(cmd, check=True, capture_output=True)
    pipeline = "--sd-reference-to-llvm" if reference else "--sd-cpu-to-llvm"
    subprocess.run([str(ROOT / "scripts" / "sd-compile.sh"), str(compressed), str(lib),
                    pipeline], check=True, env=dict(os.environ, SD_OPT=sd_opt))
    return lib


def check_against_reference(name, work, sd_opt):
    """Ours vs the reference path on the batch-1 model: relative L2 error."""
    shape, rank = MODELS[name]
    fast = Library(compile_ours(name, 1, work, sd_opt), input_tensor(shape), rank)(keep=True)
    ref = Library(compile_ours(name, 1, work, sd_opt, reference=True),
                  input_tensor(shape), rank)(keep=True)
    return float(np.linalg.norm(fast - ref) / max(np.linalg.norm(ref), 1e-30))


# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------

def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    p.add_argument("--work", type=Path, default=Path(os.environ.get(
        "SD_BENCH_WORK", "/tmp/sd-bench-whole")))
    p.add_argument("--models", default="ocr-rec,resnet18,mlp4096")
    p.add_argument("--batches", default="1,8")
    p.add_argument("--threads", default="1,2")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--iters", type=int, default=10)
    p.add_argument("--quick", action="store_true", help="batch 1, one round")
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = p.parse_args()
    if args.worker:
        kind, a = args.worker[0], json.loads(args.worker[1])
        ms = worker_lib(*a) if kind == "lib" else worker_torch(*a)
        print(ms)
        return 0
    if args.quick:
        args.batches, args.rounds = "1", 1
    from smartdeal import runner

    sd_opt = runner.find_sd_opt()
    args.work.mkdir(parents=True, exist_ok=True)
    names = args.models.split(",")
    batches = [int(b) for b in args.batches.split(",")]
    threads = [int(t) for t in args.threads.split(",")]

    checks, sizes = {}, {}
    for name in names:
        for b in batches:
            print(f"compiling {name} batch {b}", file=sys.stderr, flush=True)
            compile_ours(name, b, args.work, sd_opt)
        checks[name] = check_against_reference(name, args.work, sd_opt)
        print(f"{name}: ours vs reference path {checks[name]:.2e}", file=sys.stderr)
        if checks[name] > TOLERANCE:
            raise SystemExit(f"{name}: compiled code differs from the reference path "
                             f"by {checks[name]:.2e} (> {TOLERANCE})")
        lib = compile_ours(name, 1, args.work, sd_opt)
        sizes[name] = {"library_weight_bytes": weight_bytes(lib),
                       "onnx_bytes": onnx_model(name, args.work).stat().st_size}
        report = args.work / f"{name}-b1" / "layers.json"
        if report.exists():
            from smartdeal import driver

            ints = args.work / "ocr-int-layers.json"
            entries = json.loads(ints.read_text()) if name == "ocr-rec" else []
            sizes[name]["report"] = driver.merge_entries(
                json.loads(report.read_text()), entries)["totals"]

    rows = []
    for name in names:
        shape1, rank = MODELS[name]
        for b in batches:
            shape = [b] + shape1[1:]
            lib = compile_ours(name, b, args.work, sd_opt)
            onnx_file = onnx_model(name, args.work)
            for t in threads:
                samples = {"ours": [], "torch": [], "ort": []}
                for _ in range(args.rounds):
                    samples["ours"].append(run_worker("lib", [str(lib), shape, rank,
                                                              args.iters], t))
                    samples["torch"].append(run_worker(
                        "torch", [name, shape, t, args.iters, str(args.work)], t))
                    samples["ort"].append(run_worker(
                        "ort", [onnx_file, ",".join(map(str, shape)), t, args.iters], t))
                med = {k: statistics.median(v) for k, v in samples.items()}
                row = {"model": name, "batch": b, "threads": t, **{
                    f"{k}_ms": v for k, v in med.items()},
                    "ort_over_ours": med["ort"] / med["ours"],
                    "torch_over_ours": med["torch"] / med["ours"], "samples": samples}
                rows.append(row)
                print(f"{name} b{b} t{t}: ours {med['ours']:.1f} ms, torch "
                      f"{med['torch']:.1f} ms, ort {med['ort']:.1f} ms", file=sys.stderr,
                      flush=True)

    args.out.mkdir(parents=True, exist_ok=True)
    result = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
              "load_average": os.getloadavg(), "rows": rows, "checks": checks,
              "sizes": sizes}
    (args.out / "whole_model.json").write_text(json.dumps(result, indent=1) + "\n")
    (args.out / "whole_model.md").write_text(render(result))
    print(render(result))
    return 0


def render(result):
    lines = ["# Whole models on the CPU: compressed libmodel.so vs PyTorch eager vs "
             "ONNX Runtime", "",
             f"Run {result['date']}, load average at the end "
             f"{result['load_average'][0]:.1f} (2-core machine shared with other "
             "jobs). Medians over rounds of per-process medians; engines "
             "interleaved. Ours is the compressed model (SmartExchange / int-k "
             "layers per plan); PyTorch and ONNX Runtime run the original fp32 "
             "model. \"X / ours\" above 1 means ours is faster.", "",
             "| model | batch | threads | ours ms | PyTorch ms | ONNX Runtime ms | "
             "PyTorch / ours | ORT / ours |", "|---|---|---|---|---|---|---|---|"]
    for r in result["rows"]:
        lines.append(f"| {r['model']} | {r['batch']} | {r['threads']} | {r['ours_ms']:.2f} | "
                     f"{r['torch_ms']:.2f} | {r['ort_ms']:.2f} | {r['torch_over_ours']:.2f}x | "
                     f"{r['ort_over_ours']:.2f}x |")
    lines += ["", "Sizes: the report's bytes are its count over the candidate layers "
              "(`totals.bits` / 8: Ce codes, index bits, 8-bit bases, int-k "
              "integers and scales); the library's are every constant-data "
              "section of libmodel.so (weights, biases, normalization "
              "parameters), as stored.", "",
              "| model | ours vs reference path (rel. L2) | report ratio | report bytes | "
              "constant bytes in libmodel.so | library / report | ONNX file bytes |",
              "|---|---|---|---|---|---|---|"]
    for name, s in result["sizes"].items():
        rep = s.get("report", {})
        rep_bytes = rep.get("bits", 0) / 8
        lib_bytes = s["library_weight_bytes"]
        lines.append(f"| {name} | {result['checks'][name]:.1e} | "
                     f"{rep.get('compression_ratio', 0):.2f}x | {rep_bytes:,.0f} | "
                     f"{lib_bytes:,} | {lib_bytes / max(rep_bytes, 1):.2f}x | "
                     f"{s['onnx_bytes']:,} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
