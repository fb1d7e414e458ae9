#!/usr/bin/env python3
"""One real model (smartdeal.models) through the driver under its documented
name: python3 test_real_model.py NAME [driver flags...]. Passes when the
driver exits 0, at least one layer is compressed, the output fidelity was
measured and the compiled CPU code agrees with the exported model within
1e-4. Run with /usr/bin/python3; exits non-zero on failure."""

import json
import math
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
PYTHON_DIR = HERE.parent

name, flags = sys.argv[1], sys.argv[2:]
with tempfile.TemporaryDirectory() as tmp:
    out = Path(tmp) / "out"
    env = dict(os.environ, PYTHONPATH=str(PYTHON_DIR))
    proc = subprocess.run([sys.executable, "-m", "smartdeal", name, "-o", str(out), *flags],
                          capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        sys.exit(f"{name}: driver failed (exit {proc.returncode}):\n{proc.stderr}")
    summary = json.loads((out / "summary.json").read_text())
    compressed = summary["totals"]["compressed_layers"]
    fidelity = summary["quality"].get("output_relative_error")
    cpu = summary["cpu"].get("relative_error")
    print(f"{name}: {compressed} of {summary['totals']['candidate_layers']} layers "
          f"compressed, output relative error {fidelity}, CPU code vs exported {cpu}")
    problems = []
    if compressed < 1:
        problems.append("no layer compressed")
    if fidelity is None or not math.isfinite(fidelity):
        problems.append("output fidelity not measured")
    if cpu is None or not cpu <= 1e-4:
        problems.append("compiled CPU code not checked or differs")
    if problems:
        sys.exit(f"{name}: " + "; ".join(problems))
