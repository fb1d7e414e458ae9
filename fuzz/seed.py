#!/usr/bin/env python3
"""Seeds a fuzz corpus from the project's test inputs.

    seed.py npy|program|sim|ir|plan DIR

ir: every test .mlir file, cut at `// -----` into its cases; plan: the
plan files of the tests (every .json under a `plans` folder of test/) and
the plan benchmark results; program, sim:
the program files (binary and text) the Simulator and Target lit tests
leave in build/test (run lit first) plus one small network built here;
npy: arrays of every dtype the reader takes. Existing files are kept;
seeds are named by content hash, so reseeding adds nothing twice."""

import hashlib
import io
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def put(out: Path, data: bytes):
    if 0 < len(data) <= 256 * 1024:
        (out / hashlib.sha1(data).hexdigest()).write_bytes(data)


def seed_ir(out: Path):
    for path in sorted((ROOT / "test").rglob("*.mlir")):
        for case in path.read_text().split("// -----"):
            put(out, case.encode())


def seed_plan(out: Path):
    for path in sorted((ROOT / "test").rglob("*.json")):
        if "plans" in path.parts:
            put(out, path.read_bytes())
    for path in sorted((ROOT / "benchmarks" / "results").glob("*plan*.json")):
        put(out, path.read_bytes())


def seed_program(out: Path):
    found = 0
    for build in (ROOT / "build", ROOT / "build-sanitize"):
        for path in (build / "test").rglob("*") if (build / "test").exists() else []:
            if not path.is_file() or path.stat().st_size > 256 * 1024:
                continue
            head = path.open("rb").read(13)
            if head.startswith(b"SDACCPRG") or head == b"sdacc-program":
                put(out, path.read_bytes())
                found += 1
    # One small network, built with the test driver when it is there.
    driver = ROOT / "build" / "bin" / "sd-acc-build-driver"
    if driver.exists():
        with tempfile.TemporaryDirectory() as tmp:
            util = ROOT / "test" / "Simulator" / "Inputs" / "sdacc_util.py"
            subprocess.run([sys.executable, str(util), "make-net", tmp, "--kind", "both"],
                           check=True, capture_output=True)
            subprocess.run([str(driver), "build", f"{tmp}/spec.json", "-o", f"{tmp}/n.sdacc"],
                           check=True, capture_output=True)
            subprocess.run([str(driver), "convert", f"{tmp}/n.sdacc", "-o", f"{tmp}/n.txt",
                            "--text"], check=True, capture_output=True)
            put(out, Path(f"{tmp}/n.sdacc").read_bytes())
            put(out, Path(f"{tmp}/n.txt").read_bytes())
            found += 2
    if not found:
        print("seed.py: no program files found; run the Simulator lit tests "
              "or build sd-acc-build-driver first", file=sys.stderr)


def seed_npy(out: Path):
    import numpy as np

    rng = np.random.default_rng(0)
    for dtype in ("f4", "f8", "i1", "u1", "i4", "i8"):
        for shape in ((), (0,), (3,), (2, 3), (1, 2, 2, 2)):
            buf = io.BytesIO()
            np.save(buf, (rng.standard_normal(shape) * 10).astype(dtype))
            put(out, buf.getvalue())


def main():
    target, out = sys.argv[1], Path(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)
    {"ir": seed_ir, "plan": seed_plan, "program": seed_program, "sim": seed_program,
     "npy": seed_npy}[target](out)


if __name__ == "__main__":
    main()
