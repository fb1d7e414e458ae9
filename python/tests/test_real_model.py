#!/usr/bin/env python3
"""One real model (smartdeal.models) through the driver under its documented
name: python3 test_real_model.py NAME [--plan-layers N] [driver flags...].
Passes when the driver exits 0, the output fidelity was measured and the
compiled CPU code agrees with the exported model within 1e-4, and either at
least one layer is compressed (plain runs) or, for the budgeted search (a
real model's default), plan.json gives a form to each of the model's N
weight layers and the search measured at least one candidate plan.
Run with /usr/bin/python3; exits non-zero on failure."""

import json
import math
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
PYTHON_DIR = HERE.parent

# The driver's default for a real model is the budgeted per-layer search:
# seconds for the audio models, minutes to an hour for the OCR models, whose
# .test files ask for the plain weight-only run and accept a broken result
# (their accuracy is the benchmarks' business: ocr_frontier.py).
name, flags = sys.argv[1], sys.argv[2:]
plan_layers = None
if flags[:1] == ["--plan-layers"]:
    plan_layers, flags = int(flags[1]), flags[2:]
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
    search = summary.get("search")
    print(f"{name}: {compressed} of {summary['totals']['candidate_layers']} layers "
          f"compressed, output relative error {fidelity}, CPU code vs exported {cpu}")
    problems = []
    if search:
        plan = json.loads((out / "plan.json").read_text())["layers"]
        forms = search["totals"]["forms"]
        print(f"{name}: search plan {forms}, {len(search['trace'])} candidate plans measured")
        if plan_layers is not None and len(plan) != plan_layers:
            problems.append(f"plan names {len(plan)} layers, expected {plan_layers}")
        if sum(forms.values()) != len(plan):
            problems.append("the search totals do not cover the plan")
        if not search["trace"]:
            problems.append("the search measured no candidate plan")
    elif compressed < 1:
        problems.append("no layer compressed")
    if fidelity is None or not math.isfinite(fidelity):
        problems.append("output fidelity not measured")
    if cpu is None or not cpu <= 1e-4:
        problems.append("compiled CPU code not checked or differs")
    if problems:
        sys.exit(f"{name}: " + "; ".join(problems))
