#!/usr/bin/env python3
"""Benchmark: the C++ decomposition library against the NumPy reference.

Generates random Kaiming-normal float32 weights for ResNet-18 (CIFAR, 11.2 M
weights), ResNet-50 (ImageNet, every 1x1/3x3 conv and the FC; the 7x7 stem
stays dense) and a 4096 x 4096 FC, saves them as .npy, then in the same run:

  * times build/bin/sd-decompose-bench on all layers (1 and 2 threads);
  * times python/smartdeal/reference on a deterministic sample of blocks of
    every layer (single process) and extrapolates per layer by block count;
  * decomposes the sampled blocks with the C++ driver too and reports how
    many Ce codes are identical;

and writes a markdown table (default: benchmarks/decompose/RESULTS.md).

    /usr/bin/python3 benchmarks/decompose/run_benchmark.py \
        --build /path/to/build [--sample 32] [--repeat 3]
"""

import argparse
import datetime
import glob
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "python"))

from smartdeal.reference import smartexchange as se  # noqa: E402


# ---------------------------------------------------------------------------
# Models (name, shape); only 1x1 / 3x3 convs and FC layers are decomposed.


def resnet18_cifar():
    layers = [("conv1", (64, 3, 3, 3))]
    cin = 64
    for stage, width in enumerate((64, 128, 256, 512), start=1):
        for block in range(2):
            name = "layer%d.%d" % (stage, block)
            layers.append((name + ".conv1", (width, cin, 3, 3)))
            layers.append((name + ".conv2", (width, width, 3, 3)))
            if cin != width:
                layers.append((name + ".shortcut", (width, cin, 1, 1)))
            cin = width
    layers.append(("linear", (10, 512)))
    return layers


def resnet50_imagenet():
    layers = []  # conv1 64x3x7x7 stays dense
    cin = 64
    for stage, (width, blocks) in enumerate(
            ((64, 3), (128, 4), (256, 6), (512, 3)), start=1):
        for block in range(blocks):
            name = "layer%d.%d" % (stage, block)
            layers.append((name + ".conv1", (width, cin, 1, 1)))
            layers.append((name + ".conv2", (width, width, 3, 3)))
            layers.append((name + ".conv3", (4 * width, width, 1, 1)))
            if block == 0:
                layers.append((name + ".downsample", (4 * width, cin, 1, 1)))
            cin = 4 * width
    layers.append(("fc", (1000, 2048)))
    return layers


MODELS = [
    ("ResNet-18 (CIFAR)", resnet18_cifar()),
    ("ResNet-50 (ImageNet, no 7x7 stem)", resnet50_imagenet()),
    ("FC 4096x4096", [("fc", (4096, 4096))]),
]


# ---------------------------------------------------------------------------


def find_binary(build, subdir, name):
    candidates = [build] if build else []
    candidates += sorted(glob.glob(os.path.join(ROOT, "build*")))
    candidates += sorted(glob.glob(os.path.join(os.path.dirname(ROOT),
                                                "build*")))
    for b in candidates:
        path = os.path.join(b, subdir, name)
        if b and os.access(path, os.X_OK):
            return path
    sys.exit("run_benchmark: %s not found; pass --build" % name)


def sampled_blocks(layout, budget):
    """Deterministic sample: whole outputs spread evenly over the layer."""
    outputs = max(1, min(layout.outputs, -(-budget // layout.num_blocks)))
    return sorted(set(np.linspace(0, layout.outputs - 1, outputs)
                      .round().astype(int).tolist()))


def numpy_time(w, layout, outputs):
    """(wall, CPU) seconds of the reference on the sampled outputs, codes."""
    blocks = layout.to_blocks(w)
    codes = {}
    wall, cpu = time.perf_counter(), time.process_time()
    for o in outputs:
        for b in range(layout.num_blocks):
            frozen = b * layout.block_rows + np.arange(layout.block_rows) \
                >= layout.used_rows
            r = se.decompose_block(blocks[o, b], frozen=frozen)
            codes[o, b] = se.codes_from_values(r["ce"])
    return time.perf_counter() - wall, time.process_time() - cpu, codes


def cpp_codes(driver, path, tmpdir):
    subprocess.run([driver, "weight", "--input", path, "--out", tmpdir,
                    "--threads", "2"], check=True)
    return np.load(os.path.join(tmpdir, "codes.npy"))


HZ = os.sysconf("SC_CLK_TCK")


def busy_seconds():
    """CPU seconds spent busy by the whole machine since boot."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / HZ


def own_seconds():
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def wait_quiet(timeout):
    """Wait until the machine is idle (< 5 % of one core busy for 1 s)."""
    deadline = time.time() + timeout
    while True:
        b0, o0 = busy_seconds(), own_seconds()
        time.sleep(1.0)
        if busy_seconds() - b0 - (own_seconds() - o0) < 0.05:
            return True
        if time.time() > deadline:
            return False
        time.sleep(2.0)


class Quiet:
    """Re-run a measurement until no other process used the CPU during it."""

    def __init__(self, enabled, timeout=120, attempts=3):
        self.enabled, self.timeout, self.attempts = enabled, timeout, attempts
        self.disturbed = 0

    def measure(self, fn):
        result = None
        for _ in range(self.attempts if self.enabled else 1):
            if self.enabled:
                wait_quiet(self.timeout)
            b0, o0, w0 = busy_seconds(), own_seconds(), time.perf_counter()
            result = fn()
            other = busy_seconds() - b0 - (own_seconds() - o0)
            wall = time.perf_counter() - w0
            if other <= 0.03 * wall * (os.cpu_count() or 1) + 0.05:
                return result
        self.disturbed += 1
        return result


def load_average():
    try:
        with open("/proc/loadavg") as f:
            return float(f.read().split()[0])
    except OSError:
        return float("nan")


def machine():
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return "%s, %d cores; Python %s, NumPy %s" % (
        cpu, os.cpu_count(), platform.python_version(), np.__version__)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", help="build directory")
    parser.add_argument("--sample", type=int, default=32,
                        help="NumPy blocks per layer (default 32)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", default=os.path.join(HERE, "RESULTS.md"))
    parser.add_argument("--no-wait", action="store_true",
                        help="do not wait for an idle machine")
    args = parser.parse_args()
    quiet = Quiet(not args.no_wait)

    bench = find_binary(args.build, "bin", "sd-decompose-bench")
    driver = find_binary(args.build, "bin", "sd-decompose-ref-driver")
    rng = np.random.default_rng(args.seed)
    rows, per_layer = [], []
    load_before = load_average()
    with tempfile.TemporaryDirectory(prefix="sd-bench-") as tmp:
        for model, layers in MODELS:
            manifest = os.path.join(tmp, "manifest.txt")
            weights = {}
            with open(manifest, "w") as f:
                for name, shape in layers:
                    fan_in = int(np.prod(shape[1:]))
                    w = rng.normal(0.0, np.sqrt(2.0 / fan_in), size=shape)
                    w = w.astype(np.float32)
                    path = os.path.join(tmp, name + ".npy")
                    np.save(path, w)
                    weights[name] = (w, path)
                    f.write("%s %s\n" % (name, path))
            cpp = {}
            for threads in (2, 1):
                out = quiet.measure(lambda: subprocess.run(
                    [bench, manifest, "--threads", str(threads), "--repeat",
                     str(args.repeat)], check=True, capture_output=True,
                    text=True).stdout)
                cpp[threads] = json.loads(out)
            np_wall, np_cpu, np_sampled, same, compared = 0.0, 0.0, 0, 0, 0
            for info in cpp[2]["layers"]:
                w, path = weights[info["name"]]
                layout = se.BlockLayout(w.shape)
                outputs = sampled_blocks(layout, args.sample)
                wall, cpu, ref_codes = quiet.measure(
                    lambda: numpy_time(w, layout, outputs))
                n = len(outputs) * layout.num_blocks
                total_blocks = layout.outputs * layout.num_blocks
                np_wall += wall / n * total_blocks
                np_cpu += cpu / n * total_blocks
                np_sampled += n
                codes = cpp_codes(driver, path, os.path.join(tmp))
                for (o, b), c in ref_codes.items():
                    same += int(np.count_nonzero(codes[o, b] == c))
                    compared += c.size
                per_layer.append((model, info, cpu / n * total_blocks))
            layer_stats = cpp[2]["layers"]
            weights_total = sum(l["weights"] for l in layer_stats)
            blocks_total = sum(l["blocks"] for l in layer_stats)
            bits = sum(l["total_bits"] for l in layer_stats)
            err = np.sqrt(sum(l["relative_error"] ** 2 * l["weights"]
                              for l in layer_stats) / weights_total)
            iters = sum(l["mean_iterations"] * l["blocks"]
                        for l in layer_stats) / blocks_total
            rows.append(dict(
                model=model, layers=len(layer_stats), weights=weights_total,
                blocks=blocks_total, wall2=cpp[2]["model_seconds"],
                wall1=cpp[1]["model_seconds"],
                cpu1=cpp[1]["model_cpu_seconds"], np_wall=np_wall,
                np_cpu=np_cpu, sampled=np_sampled, iters=iters, err=err,
                ratio=32.0 * weights_total / bits, same=same,
                compared=compared))
            print("%s: C++ %.3f s wall (2 threads), %.3f s CPU; NumPy ~%.1f s"
                  " CPU" % (model, cpp[2]["model_seconds"],
                            cpp[1]["model_cpu_seconds"], np_cpu),
                  file=sys.stderr)

    lines = [
        "# Decomposition benchmark: C++ library vs NumPy reference",
        "",
        "Generated by `benchmarks/decompose/run_benchmark.py` on %s." %
        datetime.date.today().isoformat(),
        "Machine: %s. Load average %.2f before, %.2f after the run. Every "
        "timing first waited (up to 2 min) for an idle machine and was "
        "repeated (up to 3 times) if another process used the CPU meanwhile; "
        "%d timings stayed disturbed. Wall times suffer from other work on "
        "the machine; CPU times hardly do, so the speed-ups use CPU time "
        "where they can." % (machine(), load_before, load_average(),
                             quiet.disturbed),
        "",
        "Inputs: random Kaiming-normal float32 weights (seed %d), identical "
        "for both sides. Reference defaults (theta 1e-3, 30 iterations, "
        "exponents [-8, 5], blocks of <= 192 rows)." % args.seed,
        "",
        "- **C++**: `sd-decompose-bench`, every layer back to back, best of "
        "%d runs; `decomposeWeight` including its statistics (rebuild "
        "error). CPU = process CPU time of the 1-thread run." % args.repeat,
        "- **NumPy**: `python/smartdeal/reference` (numpy.linalg.lstsq per "
        "block, one process, OpenBLAS 1 thread) on **a sample of %d blocks "
        "per layer** (whole output filters spread over the layer); its CPU "
        "time per block is **extrapolated** to all blocks of the layer. "
        "*2-core NumPy* assumes the reference split perfectly over two "
        "processes (NumPy CPU / 2)." % args.sample,
        "- **Codes identical**: the C++ codes of the sampled blocks against "
        "the NumPy ones.",
        "",
        "| model | layers | weights | blocks | C++ wall, 2 threads (s) | "
        "C++ wall, 1 thread (s) | C++ CPU (s) | NumPy CPU, extrapolated (s) "
        "| speed-up per core (CPU / CPU) | 2-core NumPy / C++ 2 threads | "
        "mean iterations | rel. error | compression (bB = 8) | codes "
        "identical |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:"
        "|---:|",
    ]
    for r in rows:
        lines.append(
            "| %s | %d | %.2f M | %d | %.3f | %.3f | %.3f | %.1f (%d blocks "
            "run) | %.0fx | %.0fx | %.1f | %.3f | %.2fx | %.4f %% |" % (
                r["model"], r["layers"], r["weights"] / 1e6, r["blocks"],
                r["wall2"], r["wall1"], r["cpu1"], r["np_cpu"], r["sampled"],
                r["np_cpu"] / r["cpu1"], r["np_cpu"] / 2 / r["wall2"],
                r["iters"], r["err"], r["ratio"],
                100.0 * r["same"] / max(r["compared"], 1)))
    lines += [
        "",
        "Rel. error: weight-weighted RMS of the per-layer relative Frobenius "
        "errors of the rebuilt weights. Compression: 32 * weights / bits, "
        "reference formula (entry bitmap, adaptive Ce width, 8-bit B).",
        "",
        "## ResNet-18 per layer",
        "",
        "| layer | blocks x rows | C++ wall, 2 threads (ms) | C++ CPU, 2 "
        "threads (ms) | NumPy CPU est. (ms) | mean iterations | converged | "
        "rel. error | Ce density |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for model, info, estimate in per_layer:
        if not model.startswith("ResNet-18"):
            continue
        lines.append("| %s | %d x %d | %.2f | %.2f | %.0f | %.1f | %d / %d | "
                     "%.3f | %.2f |" % (
                         info["name"], info["blocks"], info["block_rows"],
                         1e3 * info["seconds"], 1e3 * info["cpu_seconds"],
                         1e3 * estimate, info["mean_iterations"],
                         info["converged_blocks"], info["blocks"],
                         info["relative_error"], info["density"]))
    with open(args.output, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("wrote %s" % args.output, file=sys.stderr)


if __name__ == "__main__":
    main()
