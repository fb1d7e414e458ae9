#!/usr/bin/env python3
"""Whole-model CPU latency: our compressed libmodel.so vs PyTorch eager vs ONNX Runtime.

For each model (the PP-OCRv4 text recognizer as the main job compressed it,
sd-out/ocr-rec or SD_OCR_RUN, see `ocr_run`; torchvision ResNet-18 at 224x224, an MLP of
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
within 1e-5 relative L2 on the real shapes (batch 1) and fails otherwise;
a final softmax is cut off for that check (see `without_softmax`). The FC
micro-benchmark (our kernels vs OpenBLAS, stream bandwidth) comes from
benchmarks/cpu/run.sh limited to the 4096x4096 batch-1 layer. It
also reports the bytes of weight data in the library (`smartdeal.runtime.artifact`).

Writes benchmarks/results/cpu_whole_model.md and cpu_whole_model.json.

    PYTHONPATH=python python3 benchmarks/cpu/whole_model.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
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


def ocr_run() -> Path:
    """The main job's OCR folder (`python3 -m smartdeal ocr-rec` writes
    sd-out/ocr-rec): its plan, its int-k source model and, at batch 1, its
    compressed model with the search's fits; SD_OCR_RUN overrides."""
    return Path(os.environ.get("SD_OCR_RUN", ROOT / "sd-out" / "ocr-rec"))


def compile_ours(name, batch, work: Path, sd_opt: str, reference=False) -> Path:
    """Import at this batch, compress, compile; cached in work/. The OCR
    recognizer at batch 1 is the main job's own compressed model; at batch 8
    its int-k source re-imported and decomposed with its plan (same layers
    and forms; the search's refitted bases are not re-applied)."""
    from smartdeal import importers
    from smartdeal.plan.planfile import compress_command

    d = work / f"{name}-b{batch}"
    lib = d / ("libref.so" if reference else "libmodel.so")
    if lib.exists():
        return lib
    d.mkdir(parents=True, exist_ok=True)
    shape = [batch] + MODELS[name][0][1:]
    model_mlir = d / "model.mlir"
    compressed = d / "compressed.mlir"
    if not compressed.exists():
        config = None
        if name == "ocr-rec":
            run = ocr_run()
            if not (run / "compressed.mlir").exists():
                raise SystemExit(f"no OCR run in {run}: run `python3 -m smartdeal "
                                 "ocr-rec` first or set SD_OCR_RUN")
            if batch == 1:
                shutil.copyfile(run / "compressed.mlir", compressed)
                shutil.copyfile(run / "layers.json", d / "layers.json")
            else:
                config = json.loads((run / "plan.json").read_text())
                importers.import_onnx(str(run / "source.onnx"), output=str(model_mlir),
                                      input_shapes={"x": shape}, fold_batchnorm=False)
        else:
            import torch

            importers.import_torch(torch_model(name, work),
                                   (torch.from_numpy(input_tensor(shape)),),
                                   output=str(model_mlir), fold_batchnorm=False)
        if not compressed.exists():
            cmd = compress_command(sd_opt, model_mlir, config, 1024, None, d)
            subprocess.run(cmd, check=True, capture_output=True)
    # sd-compile.sh's default is the CPU backend as the driver builds it.
    pipeline = ["--sd-reference-to-llvm"] if reference else []
    subprocess.run([str(ROOT / "scripts" / "sd-compile.sh"), str(compressed), str(lib)]
                   + pipeline, check=True, env=dict(os.environ, SD_OPT=sd_opt))
    return lib


def without_softmax(module: str) -> str:
    """The module returning the logits its final softmax normalizes: the
    recognizer ends in max, exp(x - max), sum, divide, and a probability's
    relative error is the absolute error of its logit, which for logits of
    tens is a few float32 ulps of the logit (rounding, not a wrong result)."""
    returns = list(re.finditer(r"return (%\w+) : (tensor<[^>]+>)", module))
    if not returns:
        return module
    ret = returns[-1]

    def generic(value, op):
        """The first input of the elementwise generic defining `value`, if its
        body has `op`."""
        m = re.search(re.escape(value) + r" = linalg\.generic [^\n]*? ins\((%\w+)[,: ]"
                      r"[^\n]*\{\n([^}]*)\} -> ", module)
        return m.group(1) if m and op in m.group(2) else None

    quotient = generic(ret.group(1), "arith.divf")
    logits = quotient and generic(quotient, "math.exp")
    if not logits:
        return module
    return module[:ret.start()] + f"return {logits} : {ret.group(2)}" + module[ret.end():]


def check_against_reference(name, work, sd_opt):
    """Ours vs the reference path on the batch-1 model, relative L2 error
    (and max |difference| / max |reference|) of the logits: a final softmax
    is cut off (`without_softmax`)."""
    shape, rank = MODELS[name]
    d = work / f"{name}-b1"
    compile_ours(name, 1, work, sd_opt)
    logits = d / "logits.mlir"
    logits.write_text(without_softmax((d / "compressed.mlir").read_text()))
    cut = logits.read_text() != (d / "compressed.mlir").read_text()
    out = {}
    for kind, pipeline in (("ours", []), ("ref", ["--sd-reference-to-llvm"])):
        lib = d / f"logits-{kind}.so"
        if kind == "ours" and not cut:
            lib = d / "libmodel.so"  # nothing cut: the library itself
        if not lib.exists():
            subprocess.run([str(ROOT / "scripts" / "sd-compile.sh"), str(logits), str(lib)]
                           + pipeline, check=True, env=dict(os.environ, SD_OPT=sd_opt))
        out[kind] = Library(lib, input_tensor(shape), rank)(keep=True).astype(np.float64)
    diff = out["ours"] - out["ref"]
    return {"l2": float(np.linalg.norm(diff) / max(np.linalg.norm(out["ref"]), 1e-30)),
            "max": float(np.abs(diff).max() / max(np.abs(out["ref"]).max(), 1e-30)),
            "softmax_cut": cut}


def fc_micro(work: Path) -> dict:
    """The batch-1 4096x4096 FC layer: our SmartExchange and PermDNN kernels
    vs OpenBLAS sgemv (one thread each), and the stream-copy bandwidth, from
    benchmarks/cpu/run.sh limited to that shape."""
    results = work / "fc"
    results.mkdir(parents=True, exist_ok=True)
    subprocess.run([str(HERE / "run.sh")], check=True, capture_output=True,
                   env=dict(os.environ, SD_BENCH_ONLY="4096x4096_b1",
                            SD_BENCH_RESULTS=str(results),
                            SD_BENCH_WORK=str(work / "fc-work")))
    bench = {b["name"]: b for b in json.loads((results / "cpu.json").read_text())["benchmarks"]}
    manifest = (work / "fc-work" / "manifest.txt").read_text().split("\n")
    weight_bytes_of = {l.split()[1]: int(l.split()[5]) for l in manifest if l.strip()}
    stream = bench["stream_copy"]["bytes_per_second"]
    rows = []
    for name in ("fc_se_4096x4096_b1", "fc_pd8_4096x4096_b1", "fc_blas_4096x4096_b1"):
        if name not in bench:
            continue
        ms = bench[name]["cpu_time"] * {"ns": 1e-6, "us": 1e-3, "ms": 1.0}[bench[name]["time_unit"]]
        nbytes = weight_bytes_of.get(name, 4096 * 4096 * 4)
        rows.append({"kernel": name, "ms": ms, "weight_bytes": nbytes,
                     "bandwidth_fraction": nbytes / (ms * 1e-3) / stream})
    blas = next(r["ms"] for r in rows if "blas" in r["kernel"])
    for r in rows:
        r["blas_over_ours"] = blas / r["ms"]
    return {"stream_bytes_per_second": stream, "rows": rows}


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
    p.add_argument("--no-fc", action="store_true",
                   help="skip the FC micro-benchmark (benchmarks/cpu/run.sh)")
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = p.parse_args()
    if args.worker:
        kind, a = args.worker[0], json.loads(args.worker[1])
        ms = worker_lib(*a) if kind == "lib" else worker_torch(*a)
        print(ms)
        return 0
    if args.quick:
        args.batches, args.rounds = "1", 1
    from smartdeal.runtime import runner

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
        print(f"{name}: ours vs reference path {checks[name]}", file=sys.stderr)
        if checks[name]["l2"] > TOLERANCE:
            raise SystemExit(f"{name}: compiled code differs from the reference path "
                             f"by {checks[name]['l2']:.2e} (> {TOLERANCE})")
        lib = compile_ours(name, 1, args.work, sd_opt)
        sizes[name] = {"library_weight_bytes": weight_bytes(lib),
                       "onnx_bytes": onnx_model(name, args.work).stat().st_size}
        report = args.work / f"{name}-b1" / "layers.json"
        if report.exists():
            sizes[name]["report"] = json.loads(report.read_text())["totals"]

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

    fc = None if args.no_fc else fc_micro(args.work)
    args.out.mkdir(parents=True, exist_ok=True)
    result = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
              "load_average": os.getloadavg(), "rows": rows, "checks": checks,
              "sizes": sizes, "fc": fc,
              "ocr_run": str(ocr_run()) if "ocr-rec" in names else None}
    (args.out / "cpu_whole_model.json").write_text(json.dumps(result, indent=1) + "\n")
    (args.out / "cpu_whole_model.md").write_text(render(result))
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
             "model. \"X / ours\" above 1 means ours is faster." + (
                 f" The OCR recognizer is the compressed model of {result['ocr_run']} "
                 "(its plan.json; batch 8 re-decomposed from its source.onnx with "
                 "that plan)." if result.get("ocr_run") else ""), "",
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
              "| model | ours vs reference path (rel. L2 / max) | report ratio | report bytes | "
              "constant bytes in libmodel.so | library / report | ONNX file bytes |",
              "|---|---|---|---|---|---|---|"]
    for name, s in result["sizes"].items():
        rep = s.get("report", {})
        rep_bytes = rep.get("bits", 0) / 8
        lib_bytes = s["library_weight_bytes"]
        c = result["checks"][name]
        lines.append(f"| {name} | {c['l2']:.1e} / {c['max']:.1e}"
                     f"{' (logits)' if c['softmax_cut'] else ''} | "
                     f"{rep.get('compression_ratio', 0):.2f}x | {rep_bytes:,.0f} | "
                     f"{lib_bytes:,} | {lib_bytes / max(rep_bytes, 1):.2f}x | "
                     f"{s['onnx_bytes']:,} |")
    fc = result.get("fc")
    if fc:
        lines += ["", f"FC 4096x4096, batch 1, one thread (benchmarks/cpu/run.sh, CPU "
                  f"time); stream copy {fc['stream_bytes_per_second'] / 1e9:.1f} GB/s:", "",
                  "| kernel | ms | weight bytes | OpenBLAS / kernel | share of stream "
                  "bandwidth on its bytes |", "|---|---|---|---|---|"]
        for r in fc["rows"]:
            lines.append(f"| {r['kernel']} | {r['ms']:.3f} | {r['weight_bytes']:,} | "
                         f"{r['blas_over_ours']:.2f}x | {100 * r['bandwidth_fraction']:.0f} % |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
