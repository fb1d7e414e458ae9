"""Whole partitioned models on the host CPU and the accelerator simulator.

`build` turns a module after `sd-opt --sd-quantize --sd-partition` into one
artifact folder:

    manifest.json     segment names, input and output shapes
    model.so          the host code (CPU backend, scripts/sd-compile.sh) of
                      `sd-opt --sd-offload`: every accelerator segment is a
                      call into the accelerator runtime
    <segment>.sdacc   one program per segment (sd-translate --sd-to-sdacc)

`run` loads the accelerator runtime (build/lib/libSDAccelRuntime.so, or
$SD_ACCEL_RUNTIME), points it at the folder, calls the model's `main` on
float32 inputs and returns its output and the runtime's report (cycles,
energy, DRAM traffic per segment; with `compare_dense`, the same for the
dense 8-bit baseline of every segment).

    python3 -m smartdeal.runtime.hybrid build Q.mlir ARTIFACT
    python3 -m smartdeal.runtime.hybrid run ARTIFACT --input x.npy \\
        --output y.npy --report report.json [--compare-dense]
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

import numpy as np

from . import aot, runner

__all__ = ["segment_names", "build", "compile_library", "run", "main"]

# `func.func private @main_acc0(...) -> ... attributes {sd.accelerator} {`
_SEGMENT = re.compile(r"func\.func private @([\w$.]+)\((?:[^{}]|\{[^{}]*\})*?"
                      r"attributes \{[^}]*\bsd\.accelerator\b")


def _tools() -> Path:
    return Path(runner.find_sd_opt()).parent


def runtime_library() -> str:
    path = os.environ.get("SD_ACCEL_RUNTIME") or str(
        runner.REPO_ROOT / "build" / "lib" / "libSDAccelRuntime.so")
    if not os.access(path, os.R_OK):
        raise runner.RunError(f"accelerator runtime not found at {path} (build "
                              "SDAccelRuntime or set SD_ACCEL_RUNTIME)")
    return path


def _run(cmd: List[str]) -> None:
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True)
    if proc.returncode:
        tail = "\n".join(proc.stderr.strip().splitlines()[-20:])
        raise runner.RunError(f"{Path(cmd[0]).name} failed (exit {proc.returncode}):\n{tail}")


def segment_names(module_text: str) -> List[str]:
    """The `sd.accelerator` functions of a partitioned module, in order."""
    return _SEGMENT.findall(module_text)


def compile_library(module: Path, out: Path, extra: Sequence[str] = ()) -> None:
    """`module` (after the sd-opt passes `extra`) compiled by the CPU backend."""
    with tempfile.TemporaryDirectory(prefix="sd-hybrid-") as tmp:
        src = module
        if extra:
            src = Path(tmp) / "host.mlir"
            _run([runner.find_sd_opt(), str(module), *extra, "-o", str(src)])
        _run([str(runner.REPO_ROOT / "scripts" / "sd-compile.sh"), str(src), str(out)])


def build(partitioned: Path, artifact: Path, config: Optional[str] = None
          ) -> List[str]:
    """Writes the artifact folder of a partitioned module; returns the
    segments on the accelerator. A segment `sd-translate` cannot turn into
    a program (for `config`, default the built-in one) stays on the host
    (`--sd-offload=host=...`), its reason in the manifest."""
    artifact.mkdir(parents=True, exist_ok=True)
    text = Path(partitioned).read_text()
    args, results = runner.main_signature(text)
    accel, host = [], {}
    for name in segment_names(text):
        cmd = [str(_tools() / "sd-translate"), "--sd-to-sdacc",
               f"--sdacc-function={name}", str(partitioned),
               "-o", str(artifact / f"{name}.sdacc")]
        if config:
            cmd.insert(2, f"--sdacc-config={config}")
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode == 0:
            accel.append(name)
        else:
            lines = proc.stderr.strip().splitlines()
            host[name] = lines[0] if lines else f"sd-translate exit {proc.returncode}"
    passes = ["--sd-offload" + (f"=host={','.join(host)}" if host else "")]
    compile_library(Path(partitioned), artifact / "model.so", passes)
    (artifact / "manifest.json").write_text(json.dumps(
        {"format": "sd-hybrid-artifact", "segments": accel, "host_segments": host,
         "config": config, "inputs": [list(a) for a in args],
         "outputs": [list(r) for r in results]}, indent=1))
    return accel


class _Runtime:
    """The process's one accelerator runtime (its state is global)."""
    lib = None

    @classmethod
    def get(cls):
        if cls.lib is None:
            lib = ctypes.CDLL(runtime_library(), mode=ctypes.RTLD_GLOBAL)
            lib.sdaccRuntimeInit.argtypes = [ctypes.c_char_p, ctypes.c_char_p,
                                             ctypes.c_int]
            lib.sdaccRuntimeInit.restype = ctypes.c_int
            lib.sdaccRuntimeError.restype = ctypes.c_char_p
            lib.sdaccRuntimeReport.restype = ctypes.c_char_p
            cls.lib = lib
        return cls.lib


def run(artifact: Path, inputs: Sequence[np.ndarray], result_rank: int,
        compare_dense: bool = False, config: Optional[str] = None
        ) -> Tuple[np.ndarray, dict]:
    """The model's output on `inputs` and the runtime's report; `config`
    defaults to the one the artifact was built for."""
    lib = _Runtime.get()
    if config is None:
        config = json.loads((Path(artifact) / "manifest.json").read_text()).get("config")
    if lib.sdaccRuntimeInit(str(artifact).encode(), (config or "").encode(),
                            int(compare_dense)) != 0:
        raise runner.RunError(lib.sdaccRuntimeError().decode())
    out = aot.call(str(Path(artifact) / "model.so"), "main", inputs, result_rank)
    error = lib.sdaccRuntimeError().decode()
    if error:
        raise runner.RunError(f"accelerator runtime: {error}")
    return out, json.loads(lib.sdaccRuntimeReport().decode())


def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="artifact folder of a partitioned module")
    b.add_argument("module", type=Path)
    b.add_argument("artifact", type=Path)
    b.add_argument("--config", help="hardware configuration JSON")
    r = sub.add_parser("run", help="run an artifact on .npy inputs")
    r.add_argument("artifact", type=Path)
    r.add_argument("--input", action="append", default=[], type=Path)
    r.add_argument("--output", type=Path, required=True, help=".npy of the output")
    r.add_argument("--report", type=Path, help="JSON report (default: stdout)")
    r.add_argument("--compare-dense", action="store_true")
    r.add_argument("--config", help="hardware configuration JSON")
    args = ap.parse_args(argv)
    try:
        if args.command == "build":
            names = build(args.module, args.artifact, args.config)
            print(f"{args.artifact}: model.so and {len(names)} segment programs")
            return 0
        manifest = json.loads((args.artifact / "manifest.json").read_text())
        if len(manifest["outputs"]) != 1:
            raise runner.RunError("only models with one output can be run")
        rank = len(manifest["outputs"][0])
        inputs = [np.load(p) for p in args.input]
        out, report = run(args.artifact, inputs, rank, args.compare_dense, args.config)
    except (runner.RunError, OSError, ValueError) as e:
        print(f"hybrid: error: {e}", file=sys.stderr)
        return 1
    np.save(args.output, out)
    text = json.dumps(report, indent=1)
    if args.report:
        args.report.write_text(text)
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
