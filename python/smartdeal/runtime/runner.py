"""Run a module's `@main` on the CPU (sd-opt + mlir-runner) and read its outputs back.

The module is wrapped with a `func.func @entry()` that materializes the
example inputs as constants, calls `@main`, and prints every result with
`printMemrefF32`; the wrapped module is lowered with
`sd-opt --sd-tensor-to-llvm`, JIT-run by mlir-runner, and the printed
numbers are parsed into numpy arrays. This is how the importers are checked
against PyTorch, and how the driver runs compressed models.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np

LLVM_PREFIX = Path(os.environ.get("SD_LLVM_PREFIX", "/usr/lib/llvm-22"))
REPO_ROOT = Path(__file__).resolve().parents[3]

__all__ = [
    "LLVM_PREFIX",
    "REPO_ROOT",
    "RunError",
    "RunResult",
    "find_sd_opt",
    "main",
    "main_signature",
    "parse_printed_memrefs",
    "parse_tensor_type",
    "relative_error",
    "run_mlir",
    "wrap_with_entry",
]

_SIG = (r"func\.func\s+@{name}\s*\((?P<args>[^)]*)\)\s*->\s*"
        r"(?P<res>\([^)]*\)|tensor<[^>]*>)")
_PUBLIC_FUNC = re.compile(r"func\.func\s+@([\w$.]+)\s*\(")
_TENSOR = re.compile(r"tensor<([^>]*)>")
_NUMBER = re.compile(r"[-+]?(?:nan|inf|\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)", re.IGNORECASE)


class RunError(RuntimeError):
    """A lowering or execution step failed; the message carries its stderr."""


def find_sd_opt() -> str:
    """$SD_OPT, else the repository's build/bin/sd-opt, else sd-opt on PATH."""
    candidates = [os.environ.get("SD_OPT"), str(REPO_ROOT / "build" / "bin" / "sd-opt")]
    for c in candidates:
        if c and os.access(c, os.X_OK):
            return c
    found = shutil.which("sd-opt")
    if found:
        return found
    raise RunError("sd-opt not found: build it (ninja -C build sd-opt) or set SD_OPT")


def _tool(name: str, env: str) -> str:
    path = os.environ.get(env) or str(LLVM_PREFIX / "bin" / name)
    if not os.access(path, os.X_OK):
        raise RunError(f"{name} not found at {path} (set {env})")
    return path


def parse_tensor_type(text: str) -> Tuple[Tuple[int, ...], str]:
    """`2x3xf32` -> ((2, 3), 'f32')."""
    parts = text.split("x")
    return tuple(int(p) for p in parts[:-1]), parts[-1]


def entry_name(module: str) -> str:
    """The function a run calls: `@main` (our importers, torch-mlir's FX
    path), else the module's only public function (`@forward` from
    torch-mlir's TorchScript path)."""
    names = _PUBLIC_FUNC.findall(module)
    if "main" in names or not names:
        return "main"
    if len(set(names)) == 1:
        return names[0]
    raise RunError(f"no @main and several public functions ({', '.join(names)}): "
                   "which one to run is ambiguous")


def main_signature(module: str) -> Tuple[List[Tuple[int, ...]], List[Tuple[int, ...]]]:
    """Argument and result shapes of the entry function (entry_name; all
    must be f32 tensors)."""
    name = entry_name(module)
    m = re.search(_SIG.format(name=re.escape(name)), module)
    if not m:
        raise RunError(f"no func.func @{name}(...) -> ... in the module")
    args = [parse_tensor_type(t) for t in _TENSOR.findall(m.group("args"))]
    res = [parse_tensor_type(t) for t in _TENSOR.findall(m.group("res"))]
    for shape, elem in args + res:
        if elem != "f32":
            raise RunError(f"@{name} uses {elem}; only f32 tensors are supported")
    return [s for s, _ in args], [s for s, _ in res]


def _ttype(shape: Sequence[int]) -> str:
    return "tensor<" + "".join(f"{d}x" for d in shape) + "f32>"


def wrap_with_entry(module: str, inputs: Sequence[np.ndarray]) -> str:
    """Insert `@entry` (inputs as constants, call @main, print results).

    It goes just before the module's closing brace, i.e. before the
    `{-# dialect_resources #-}` trailer when there is one.
    """
    arg_shapes, res_shapes = main_signature(module)
    callee = entry_name(module)
    if len(inputs) != len(arg_shapes):
        raise RunError(f"@main takes {len(arg_shapes)} inputs, got {len(inputs)}")
    lines = [
        "  func.func private @printMemrefF32(tensor<*xf32>)",
        "  func.func @entry() {",
    ]
    names = []
    for i, (x, shape) in enumerate(zip(inputs, arg_shapes)):
        x = np.ascontiguousarray(x, dtype="<f4")
        if tuple(x.shape) != tuple(shape):
            raise RunError(f"input {i} has shape {x.shape}, @main expects {shape}")
        hexdata = "0x" + x.tobytes().hex().upper()
        lines.append(
            f'    %in{i} = arith.constant dense<"{hexdata}"> : {_ttype(shape)}'
        )
        names.append(f"%in{i}")
    arg_types = ", ".join(_ttype(s) for s in arg_shapes)
    res_types = ", ".join(_ttype(s) for s in res_shapes)
    n = len(res_shapes)
    result = "%r" if n == 1 else f"%r:{n}"
    lines.append(
        f"    {result} = func.call @{callee}({', '.join(names)}) : "
        f"({arg_types}) -> ({res_types})"
    )
    for i, shape in enumerate(res_shapes):
        ref = "%r" if n == 1 else f"%r#{i}"
        lines.append(
            f"    %u{i} = tensor.cast {ref} : {_ttype(shape)} to tensor<*xf32>"
        )
        lines.append(f"    func.call @printMemrefF32(%u{i}) : (tensor<*xf32>) -> ()")
    lines += ["    return", "  }"]
    entry = "\n".join(lines) + "\n"
    end = module.rfind("{-#")
    if end < 0:
        end = len(module)
    close = module.rfind("}", 0, end)
    if close < 0 or "module" not in module[:close]:
        # A bare list of functions: give it a module of its own.
        return "module {\n" + module[:end] + entry + "}\n" + module[end:]
    return module[:close] + entry + module[close:]


def parse_printed_memrefs(stdout: str) -> List[np.ndarray]:
    """Arrays printed by printMemrefF32, in order."""
    outs = []
    for chunk in stdout.split("Unranked Memref")[1:]:
        sizes = re.search(r"sizes\s*=\s*\[([^\]]*)\]", chunk)
        shape = (
            tuple(int(s) for s in sizes.group(1).split(",") if s.strip())
            if sizes
            else ()
        )
        data = chunk.split("data =", 1)[1] if "data =" in chunk else ""
        values = np.array([float(v) for v in _NUMBER.findall(data)], dtype=np.float32)
        if values.size != int(np.prod(shape, dtype=np.int64)):
            raise RunError(f"printed memref has {values.size} values for shape {shape}")
        outs.append(values.reshape(shape))
    return outs


@dataclass
class RunResult:
    outputs: List[np.ndarray]
    seconds_lower: float = 0.0
    seconds_run: float = 0.0
    commands: List[List[str]] = field(default_factory=list)


def _check(
    cmd: List[str], timeout: Optional[float], **kw
) -> subprocess.CompletedProcess:
    try:
        proc = subprocess.run(
            cmd, capture_output=True, text=True, timeout=timeout, **kw
        )
    except subprocess.TimeoutExpired as e:
        raise RunError(f"timed out after {timeout}s: {' '.join(cmd)}") from e
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.strip().splitlines()[-30:])
        raise RunError(
            f"{' '.join(cmd[:2])} ... failed (exit {proc.returncode}):\n{tail}"
        )
    return proc


def run_mlir(
    module: Union[str, os.PathLike],
    inputs: Sequence[np.ndarray],
    sd_opt: Optional[str] = None,
    pipeline: str = "--sd-tensor-to-llvm",
    timeout: Optional[float] = 1800,
    workdir: Optional[str] = None,
) -> RunResult:
    """Run `@main(inputs)` of an MLIR module (text or a .mlir path).

    `pipeline` is the sd-opt pipeline that lowers the wrapped module to LLVM:
    --sd-tensor-to-llvm for plain linalg, --sd-cpu-to-llvm for compressed
    models on the CPU backend, --sd-reference-to-llvm for the oracle.
    """
    if isinstance(module, os.PathLike) or (
        isinstance(module, str) and "\n" not in module and module.endswith(".mlir")
    ):
        module = Path(module).read_text()
    sd_opt = sd_opt or find_sd_opt()
    runner = _tool("mlir-runner", "MLIR_RUNNER")
    libs = ",".join(
        str(LLVM_PREFIX / "lib" / n)
        for n in ("libmlir_runner_utils.so", "libmlir_c_runner_utils.so")
    )
    tmp = tempfile.mkdtemp(prefix="sd-run-", dir=workdir)
    try:
        src = os.path.join(tmp, "wrapped.mlir")
        Path(src).write_text(wrap_with_entry(module, inputs))
        cmds = []
        t0 = time.time()
        lowered = os.path.join(tmp, "lowered.mlir")
        cmd = [sd_opt, src, pipeline, "-o", lowered]
        _check(cmd, timeout)
        cmds.append(cmd)
        t1 = time.time()
        cmd = [
            runner,
            lowered,
            "-e",
            "entry",
            "-entry-point-result=void",
            f"-shared-libs={libs}",
        ]
        proc = _check(cmd, timeout)
        cmds.append(cmd)
        t2 = time.time()
        return RunResult(parse_printed_memrefs(proc.stdout), t1 - t0, t2 - t1, cmds)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def relative_error(actual: np.ndarray, expected: np.ndarray) -> float:
    """max |actual - expected| / max |expected| (one number per tensor).

    Normalising by the largest reference magnitude, not element by element,
    keeps near-zero outputs from dominating while still catching any wrong
    element; printMemrefF32 prints 6 significant digits, so ~1e-6 is the
    floor.
    """
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    if actual.shape != expected.shape:
        return float("inf")
    scale = max(float(np.max(np.abs(expected))) if expected.size else 0.0, 1e-30)
    return float(np.max(np.abs(actual - expected))) / scale if expected.size else 0.0


def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("module", help=".mlir file with func.func @main")
    ap.add_argument("--input", action="append", default=[], help=".npy input (repeat)")
    ap.add_argument("--random-inputs", action="store_true", help="seeded N(0,1) inputs")
    ap.add_argument("--save", help="prefix for .npy outputs")
    args = ap.parse_args(argv)
    text = Path(args.module).read_text()
    if args.random_inputs:
        shapes, _ = main_signature(text)
        rng = np.random.default_rng(0)
        inputs = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    else:
        inputs = [np.load(p) for p in args.input]
    try:
        res = run_mlir(text, inputs)
    except RunError as e:
        print(f"runner: {e}", file=sys.stderr)
        return 1
    for i, out in enumerate(res.outputs):
        print(f"output {i}: shape {out.shape}")
        print(out)
        if args.save:
            np.save(f"{args.save}{i}.npy", out)
    print(
        f"lower {res.seconds_lower:.1f}s, run {res.seconds_run:.1f}s", file=sys.stderr
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
