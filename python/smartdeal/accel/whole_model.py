"""The driver's accelerator step: the whole compressed model through the compiler's passes.

From the imported model: calibration statistics of the float ONNX model
(`calibration_stats`), then one sd-opt call — the compression passes of the
plan, then the named pipeline `--sd-to-accelerator` (quantize, schedule,
partition, contract check; one call, because the statistics find tensors by
the importer's locations) — then the hybrid
artifact (`smartdeal.runtime.hybrid`: host library + one program per
segment) run on one input, every segment also on its dense 8-bit
baseline. What runs where, and why, is in quantize.json and the artifact's
manifest.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Dict, List, Sequence

import numpy as np

from ..runtime import hybrid
from . import calibration_stats
from .simulate import levels_config

__all__ = ["simulate"]

# Ce codes and rebuild registers for the decomposition's widest exponent
# range (14 levels); the program's configuration, used by every step.
LEVELS = 14


def simulate(sd_opt: str, model_mlir: Path, compress_passes: Sequence[str],
             onnx_path: Path, calibration: List[Dict[str, np.ndarray]],
             example: Sequence[np.ndarray], work: Path) -> Dict[str, object]:
    """Quantizes, schedules and partitions the model, builds the hybrid
    artifact in `work/accelerator` and runs it on `example`; returns per
    segment and total cycles, energy and DRAM bytes beside the dense
    baseline, and the placement of every op and segment."""
    folder = work / "accelerator"
    folder.mkdir(exist_ok=True)
    tools = Path(sd_opt).parent
    default = subprocess.run([str(tools / "sd-sim"), "--print-config"], check=True,
                             capture_output=True, text=True).stdout
    config = levels_config(default, LEVELS, folder / "config.json")
    stats = folder / "stats.json"
    # The reference executor takes the graph's inputs in graph order (the
    # calibration feeds include fixed inputs the import folded away).
    import onnx

    graph = onnx.load(str(onnx_path)).graph
    skip = {i.name for i in graph.initializer}
    names = [i.name for i in graph.input if i.name not in skip]
    feeds = [tuple(c[n] for n in names) for c in calibration]
    calibration_stats.write_stats(stats, calibration_stats.onnx_stats(onnx_path, feeds),
                                  len(feeds))
    quantized, decisions = folder / "quantized.mlir", folder / "quantize.json"
    proc = subprocess.run([sd_opt, str(model_mlir), *compress_passes,
                           f"--sd-to-accelerator=stats={stats} report={decisions} "
                           f"config={config}",
                           "-o", str(quantized)], capture_output=True, text=True)
    if proc.returncode:
        raise RuntimeError(f"accelerator step: sd-opt failed: {proc.stderr.strip()}")
    on_accel = hybrid.build(quantized, folder / "artifact", str(config))
    manifest = json.loads((folder / "artifact" / "manifest.json").read_text())
    ops = json.loads(decisions.read_text())
    result = {"ops_on_accelerator": ops["accelerator"], "ops_on_host": ops["host"],
              "segments": on_accel, "host_segments": manifest["host_segments"],
              "config": str(config.relative_to(work)), "layers": []}
    if not on_accel:
        result["note"] = "no segment the accelerator runs"
        return result
    if len(manifest["outputs"]) != 1:
        result["note"] = ("the hybrid run covers models with one output; this one has "
                          f"{len(manifest['outputs'])}")
        return result
    _, report = hybrid.run(folder / "artifact", list(example),
                           len(manifest["outputs"][0]), compare_dense=True)
    (folder / "report.json").write_text(json.dumps(report, indent=1) + "\n")

    def costs(t):
        return {"cycles": t["cycles"], "energy_pj": t["energy_pj"],
                "dram_bytes": t["dram_read_bytes"] + t["dram_write_bytes"]}
    result["layers"] = [{"name": s["name"], "cycles": s["cycles"],
                         "dense_cycles": s["dense"]["cycles"],
                         "energy_uj": s["energy_pj"] / 1e6,
                         "dense_energy_uj": s["dense"]["energy_pj"] / 1e6}
                        for s in report["segments"]]
    result["totals"] = {"se": costs(report["total"]),
                        "dense": costs(report["total"]["dense"])}
    return result
