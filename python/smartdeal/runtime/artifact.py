"""What a compiled library stores and how fast it runs, measured, beside ONNX Runtime.

Weight bytes: every weight the CPU backend keeps is an MLIR `memref.global`
constant, which becomes a private LLVM global in the read-only data sections
of the shared library (no symbol of its own). `weight_bytes` sums the sizes
of those sections (`llvm-size -A`: .rodata*, .lrodata*, .data*), so the
figure is what the artifact stores, not what a report says; the few vector
constants of the code itself are counted too (tens of bytes per kernel).

Latency: `library_ms` calls `_mlir_ciface_main` of a library on one fixed
input and `ort_ms` runs the ONNX model under onnxruntime-node (ort_time.js),
each in its own process so that the thread count (OMP_NUM_THREADS, ONNX
Runtime's intra-op threads) is set before either runtime starts. Both take
the median of a few calls after warm-up. The driver's report and
benchmarks/cpu/whole_model.py both use these.
"""

from __future__ import annotations

import ctypes
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from . import ort

SIZE = "/usr/lib/llvm-22/bin/llvm-size"
DATA_SECTIONS = (".rodata", ".lrodata", ".data", ".ldata")
ORT_TIME = Path(__file__).with_name("ort_time.js")

__all__ = ["library_sections", "weight_bytes", "Library", "input_tensor",
           "median_ms", "library_ms", "ort_ms", "measure", "describe"]


def library_sections(path):
    """(section, bytes) of the library's constant-data sections."""
    out = subprocess.run([SIZE, "-A", str(path)], check=True, capture_output=True,
                         text=True).stdout
    sections = []
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0].startswith(DATA_SECTIONS) and \
                not parts[0].startswith(".data.rel"):
            sections.append((parts[0], int(parts[1])))
    return sections


def weight_bytes(path) -> int:
    """Bytes of constant data (weights, codes, bases, scales, biases) in `path`."""
    return sum(size for _, size in library_sections(path))


def _memref(rank):
    class MemRef(ctypes.Structure):
        _fields_ = [("allocated", ctypes.c_void_p), ("aligned", ctypes.c_void_p),
                    ("offset", ctypes.c_int64), ("sizes", ctypes.c_int64 * rank),
                    ("strides", ctypes.c_int64 * rank)]
    return MemRef


class Library:
    """A library's `_mlir_ciface_main` on one fixed input, called repeatedly."""

    def __init__(self, path, x: np.ndarray, result_rank: int):
        self.lib = ctypes.CDLL(str(path))
        self.fn = self.lib._mlir_ciface_main
        self.fn.restype = None
        self.x = np.ascontiguousarray(x, dtype=np.float32)
        d = _memref(self.x.ndim)()
        d.allocated = d.aligned = self.x.ctypes.data
        d.offset = 0
        for i, (s, st) in enumerate(zip(self.x.shape, self.x.strides)):
            d.sizes[i], d.strides[i] = s, st // 4
        self.arg = d
        self.rank = result_rank
        self.free = ctypes.CDLL(None).free

    def __call__(self, keep=False):
        result = _memref(self.rank)()
        self.fn(ctypes.byref(result), ctypes.byref(self.arg))
        out = None
        if keep:
            shape = tuple(result.sizes)
            n = int(np.prod(shape))
            base = ctypes.cast(result.aligned, ctypes.POINTER(ctypes.c_float))
            out = np.ctypeslib.as_array(base, shape=(result.offset + n,))[
                result.offset:].reshape(shape).copy()
        self.free(ctypes.c_void_p(result.allocated))
        return out


def input_tensor(shape):
    """The same pseudo-random input for every engine."""
    return np.random.default_rng(0).uniform(-0.5, 0.5, shape).astype(np.float32)


def median_ms(fn, iters, warmup=2):
    """Median wall time of `fn()` in milliseconds over `iters` calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(iters):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def _thread_env(threads: int) -> dict:
    return dict(os.environ, OMP_NUM_THREADS=str(threads),
                OPENBLAS_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))


def library_ms(path, shape: Sequence[int], result_rank: int, threads: int = 1,
               iters: int = 5) -> float:
    """Median latency of the library on `threads` OpenMP threads."""
    cmd = [sys.executable, "-m", "smartdeal.runtime.artifact", str(path),
           ",".join(map(str, shape)), str(result_rank), str(iters)]
    env = _thread_env(threads)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(Path(__file__).resolve().parents[2])] +
        ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    out = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if out.returncode:
        raise RuntimeError(f"timing {path} failed: {out.stderr.strip()[-2000:]}")
    return float(out.stdout.strip().splitlines()[-1])


def ort_ms(model, shape: Sequence[int], threads: int = 1,
           iters: int = 5) -> Optional[float]:
    """Median latency of the ONNX model under onnxruntime-node on `threads`
    intra-op threads, or None when it is not installed."""
    where = ort.location()
    if where is None:
        return None
    cmd = ["node", str(ORT_TIME), str(where / "node_modules" / "onnxruntime-node"),
           str(model), ",".join(map(str, shape)), str(threads), str(iters)]
    out = subprocess.run(cmd, capture_output=True, text=True, env=_thread_env(threads))
    if out.returncode:
        raise RuntimeError(f"onnxruntime-node failed: {out.stderr.strip()}")
    return json.loads(out.stdout.strip().splitlines()[-1])["median_ms"]


def measure(library, report_bits: int, onnx_model=None, shape=None,
            result_rank: Optional[int] = None, threads: int = 1,
            iters: int = 3) -> dict:
    """The library's weight bytes beside the report's count and, given the
    original ONNX model and the input shape, its latency beside ONNX
    Runtime's on the same input shape and thread count, in the same run."""
    out = {"weight_bytes": weight_bytes(library), "report_bytes": report_bits / 8}
    out["bytes_over_report"] = out["weight_bytes"] / max(out["report_bytes"], 1)
    if shape is not None and result_rank is not None:
        out["threads"] = threads
        out["library_ms"] = library_ms(library, shape, result_rank, threads, iters)
        if onnx_model is not None:
            out["ort_ms"] = ort_ms(onnx_model, shape, threads, iters)
    return out


def describe(m: dict) -> list:
    """Report lines for `measure`'s figures."""
    lines = [f"- libmodel.so stores {m['weight_bytes'] / 1e6:.3f} MB of weight data "
             f"(measured: its constant-data sections) against the "
             f"{m['report_bytes'] / 1e6:.3f} MB the ratio counts: "
             f"{m['bytes_over_report']:.2f}x"]
    if "library_ms" in m:
        line = (f"- latency, batch as imported, {m['threads']} thread(s): libmodel.so "
                f"{m['library_ms']:.1f} ms")
        if m.get("ort_ms") is not None:
            line += (f", ONNX Runtime on the original model {m['ort_ms']:.1f} ms "
                     f"(ORT / ours {m['ort_ms'] / m['library_ms']:.2f}x, same run)")
        lines.append(line)
    return lines


if __name__ == "__main__":
    # Worker of library_ms: LIB SHAPE RANK ITERS -> the median in ms.
    lib, shape, rank, iters = sys.argv[1:5]
    f = Library(lib, input_tensor([int(s) for s in shape.split(",")]), int(rank))
    print(median_ms(f, int(iters)))
