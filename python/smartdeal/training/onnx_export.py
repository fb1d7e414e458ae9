"""Export a fine-tuned OnnxModule into sd IR with its trained Ce and B, and run it on the backends.

`export_module(module, plan, folder, input_shapes)` takes a trained
`training.onnx_module.OnnxModule` and the per-layer plan it was built from
(layer name -> the plan entry: `{"form": "se", "threshold": .., "min-exp":
.., "max-exp": ..}`, `{"form": "int", "bits": k}`, `{"form": "dense"}`;
docs/Driver.md) and writes, the way the driver does for a plan:

* `model.onnx`: the trained model (`OnnxModule.to_onnx()`: trained biases,
  batch-norm and affine constants, SE weights Ce·B, int-k weights
  dequantized, dense weights), with the int-k layers passed through
  `plan.planfile.quantize_int_layers` (the trained values are already on its grid:
  checked);
* `plan.json`: the plan file (every weight layer, SE entries with the
  trained exponent range);
* `compressed.mlir` / `layers.json`: that ONNX imported (`import_onnx`,
  batch norm not folded), `sd-opt --sd-decompose` with the plan's options
  (`planfile.compress_command`: the plan file the passes read) to create each SE
  layer's `sd.se_constant` with the plan's block layout and exponent range,
  then every SE layer's codes and bases overwritten by the TRAINED ones
  (`plan.fits.write_fits`): the decomposition sd-decompose made of the
  trained weight is thrown away, so nothing is re-decomposed. A layer whose
  layout (shape, blocks, exponents) differs from the trained one stops the
  export with an `ExportError`.

`CpuModel(exported)` compiles the IR like the driver (scripts/sd-compile.sh,
the CPU backend's kernels) and calls it per input; `run_jit` is the driver's
"compiled code vs export" check (`--sd-cpu-to-llvm`, JIT); `simulate` runs
each SE layer on the accelerator simulator as the driver does (`accel`) and
checks sd-sim's int8 outputs against the CPU backend's quantized mode.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np
import onnx

from .. import importers
from ..accel import network as accelnet
from ..accel import simulate as accel
from ..ir.resources import identifier_safe, parse_resource_section
from ..plan.fits import write_fits
from ..plan import planfile
from ..plan.graph import weight_layers
from ..runtime import aot, runner
from ..runtime import compressed as compressed_mod
from ..runtime.export import ExportError
from ..runtime.runner import REPO_ROOT
from .onnx_module import DenseWeight, IntWeight, OnnxModule, SEWeight

__all__ = [
    "CpuModel",
    "Exported",
    "check_blobs",
    "check_layout",
    "export_module",
    "plan_config",
    "run_jit",
    "simulate",
    "trained_fits",
]


@dataclass
class Exported:
    folder: Path
    onnx: Path                      # the trained model (model.onnx)
    mlir: Path                      # compressed.mlir, trained codes and bases
    report: Path                    # layers.json
    plan: dict                      # the plan file written to plan.json
    fits: Dict[str, Tuple[np.ndarray, np.ndarray]]  # SE layer -> trained (codes, basis)
    # Largest relative change of an SE layer's weight rebuilt from the IR's
    # blobs against the module's, and of an int-k layer's by the driver's
    # re-quantization (both ~1e-7: float rounding only).
    se_weight_error: float = 0.0
    int_weight_error: float = 0.0
    int_entries: List[dict] = field(default_factory=list)


def plan_config(module: OnnxModule, plan: Mapping[str, dict]) -> dict:
    """The driver's plan file for the module: every weight layer with its
    form, checked against the module's weight modules. SE entries carry the
    trained exponent range explicitly (sd-decompose's own default may
    differ from the plan's omission)."""
    names = list(module.layer_nodes)
    unknown = sorted(set(plan) - set(names))
    if unknown:
        raise ExportError(f"plan layers not in the model: {', '.join(unknown[:5])}")
    layers = {}
    for name in names:
        entry = dict(plan.get(name, {"form": "dense"}))
        form = "dense" if entry.get("skip") else entry.get("form", "se")
        layer = module.layer(name)
        if isinstance(layer, SEWeight):
            if form != "se":
                raise ExportError(f"layer '{name}': trained as SE, plan form '{form}'")
            exps = (entry.get("min-exp", layer.lo), entry.get("max-exp", layer.hi))
            if exps != (layer.lo, layer.hi):
                raise ExportError(f"layer '{name}': plan exponents {list(exps)}, trained "
                                  f"[{layer.lo}, {layer.hi}]")
            entry.update({"form": "se", "min-exp": layer.lo, "max-exp": layer.hi})
        elif isinstance(layer, IntWeight):
            if form != "int" or entry.get("bits") != layer.bits:
                raise ExportError(f"layer '{name}': trained as int{layer.bits}, plan "
                                  f"{entry}")
            # Training keeps the values on IntWeight's round-to-nearest grid,
            # so rounding them to nearest again changes nothing, whatever
            # rounding the start of training used.
            entry = {"form": "int", "bits": layer.bits}
        elif isinstance(layer, DenseWeight):
            if form != "dense":
                raise ExportError(f"layer '{name}': trained dense, plan form '{form}'")
            entry = {"form": "dense"}
        else:
            raise ExportError(f"layer '{name}': no export for {type(layer).__name__}")
        layers[name] = entry
    return {"layers": layers}


def trained_fits(module: OnnxModule) -> Dict[str, Tuple[np.ndarray, np.ndarray]]:
    """SE layer -> (codes [O, nb, rows, 3] int8, bases [O, nb, 3, 3] f32) as
    trained: `SEWeight.codes()` is the quantized Ce in the sd code
    convention (0, or sign * (e - min_exp + 1)), which `ir.codes.decode_codes`
    reads back with the layer's min-exp."""
    return {name: (module.layer(name).codes(), module.layer(name).basis_array())
            for name in module.layer_nodes if isinstance(module.layer(name), SEWeight)}


def _weights(model: onnx.ModelProto, names: Sequence[str]) -> Dict[str, np.ndarray]:
    return {n.name: w for n, w, _ in weight_layers(model) if n.name in names}


def _relative(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a - b).max() / max(float(np.abs(b).max()), 1e-30))


def export_module(module: OnnxModule, plan: Mapping[str, dict], folder: Path,
                  input_shapes: Dict[str, List[int]],
                  constant_inputs: Optional[dict] = None,
                  sd_opt: Optional[str] = None) -> Exported:
    """Writes model.onnx, plan.json, compressed.mlir and layers.json into
    `folder` (see the module docstring); returns what was written."""

    sd_opt = sd_opt or runner.find_sd_opt()
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    config = plan_config(module, plan)
    fits = trained_fits(module)
    (folder / "plan.json").write_text(json.dumps(config, indent=2) + "\n")
    onnx_path = folder / "model.onnx"
    with tempfile.TemporaryDirectory(prefix="sd-export-") as tmp:
        trained = module.to_onnx()
        trained_path = Path(tmp) / "trained.onnx"
        onnx.save(trained, str(trained_path))
        # The driver's int-k step, so the IR's int layers are exactly the
        # driver's kind; the trained values are on its grid already, which
        # the comparison below checks.
        int_entries = planfile.quantize_int_layers(trained_path, config, onnx_path)
        if not int_entries:
            shutil.copyfile(trained_path, onnx_path)
        int_names = [n for n, e in config["layers"].items() if e["form"] == "int"]
        before = _weights(trained, int_names)
        after = _weights(onnx.load(str(onnx_path)), int_names)
        int_error = max([_relative(after[n], before[n]) for n in int_names], default=0.0)
        if int_error > 1e-5:
            raise ExportError(f"int-k layers: the trained weights are not on the driver's "
                              f"int-k grid (relative change {int_error:.2e})")

        model_mlir = Path(tmp) / "model.mlir"
        # BatchNorm stays separate, as in the driver: folding it would change
        # the conv weights whose trained codes are written below.
        importers.import_onnx(str(onnx_path), output=str(model_mlir),
                              input_shapes=input_shapes, constant_inputs=constant_inputs,
                              fold_batchnorm=False)
        # min-size at the smallest SE layer, so no plan layer is left out for
        # its size; every other weight layer is in the plan as int or dense.
        sizes = [int(np.prod(module.layer(n).weight_shape)) for n in fits]
        proc = subprocess.run(planfile.compress_command(sd_opt, model_mlir, config,
                                                        min(sizes, default=1), None, folder),
                              capture_output=True, text=True)
        if proc.returncode != 0:
            raise ExportError(f"sd-decompose failed:\n{proc.stderr.strip()}")
    mlir = folder / "compressed.mlir"
    report_path = folder / "layers.json"
    check_layout(json.loads(report_path.read_text()), module, fits)
    written = write_fits(mlir, report_path, fits)
    if written != len(fits):
        raise ExportError(f"{written} of {len(fits)} SE layers written")
    report = planfile.merge_entries(json.loads(report_path.read_text()), int_entries)
    report_path.write_text(json.dumps(report, indent=2) + "\n")
    se_error = check_blobs(mlir, report_path, module, fits)
    return Exported(folder, onnx_path, mlir, report_path, config, fits, se_error,
                    int_error, int_entries)


def check_layout(report: dict, module: OnnxModule,
                 fits: Mapping[str, Tuple[np.ndarray, np.ndarray]]) -> None:
    """Raises ExportError unless sd-decompose made exactly the trained SE
    layers, each with the trained shape, block layout and exponent range
    (the codes are only meaningful in those)."""
    se = {e["name"]: e for e in report["layers"] if e["form"] == "se"}
    if set(se) != set(fits):
        missing = sorted(set(fits) - set(se))
        extra = sorted(set(se) - set(fits))
        raise ExportError("sd-decompose's SE layers differ from the trained ones: "
                          f"not decomposed {missing[:5]}, not trained as SE {extra[:5]}")
    for name, (codes, _) in fits.items():
        e, layer = se[name], module.layer(name)
        exps = [int(v) for v in e["settings"]["exponents"].strip("[]").split(",")]
        got = (list(e["shape"]), e["blocks"], e["block_rows"], exps)
        want = (list(layer.weight_shape), codes.shape[1], codes.shape[2],
                [layer.lo, layer.hi])
        if got != want:
            raise ExportError(f"layer '{name}': the decomposition's layout (shape, blocks, "
                              f"block rows, exponents) {got} differs from the trained "
                              f"one {want}")


def check_blobs(mlir: Path, report_path: Path, module: OnnxModule,
                fits: Mapping[str, Tuple[np.ndarray, np.ndarray]]) -> float:
    """Reads the SE blobs back: codes and bases must be the trained ones bit
    for bit; returns the largest relative difference of a weight rebuilt
    from them (`compressed.load`, NumPy) against the module's."""
    blobs = parse_resource_section(mlir.read_text())
    for name, (codes, basis) in fits.items():
        key = identifier_safe(name)
        if (blobs.get(key + "_ce") != codes.astype(np.int8).tobytes()
                or blobs.get(key + "_b") != basis.astype("<f4").tobytes()):
            raise ExportError(f"layer '{name}': the IR's codes or bases are not the trained ones")
    worst = 0.0
    for layer in compressed_mod.load(report_path, mlir):
        if layer.name in fits:
            want = module.layer(layer.name).weight().detach().numpy()
            worst = max(worst, _relative(layer.weight.reshape(want.shape), want))
    return worst


# ---------------------------------------------------------------------------
# Running the export
# ---------------------------------------------------------------------------

class CpuModel:
    """The exported IR compiled by scripts/sd-compile.sh (the driver's
    compile step: the CPU backend's kernels, `_mlir_ciface_main`), called
    through `aot`; one compile, then one call per input."""

    def __init__(self, exported: Exported, sd_opt: Optional[str] = None):
        self.library = exported.folder / "libmodel.so"
        env = dict(os.environ, SD_OPT=sd_opt or runner.find_sd_opt())
        proc = subprocess.run([str(REPO_ROOT / "scripts" / "sd-compile.sh"),
                               str(exported.mlir), str(self.library)],
                              capture_output=True, text=True, env=env)
        if proc.returncode != 0:
            raise ExportError(f"CPU compilation failed:\n{proc.stderr.strip()}")
        _, results = runner.main_signature(exported.mlir.read_text())
        self.rank = len(results[0])

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return aot.call(str(self.library), "main", [x], self.rank)


def run_jit(exported: Exported, x: np.ndarray, sd_opt: Optional[str] = None) -> np.ndarray:
    """`@main(x)` through the driver's check path (--sd-cpu-to-llvm, JIT)."""
    return runner.run_mlir(exported.mlir, [x], sd_opt=sd_opt,
                           pipeline="--sd-cpu-to-llvm").outputs[0]


def simulate(exported: Exported, sd_opt: Optional[str] = None,
             layers: Optional[int] = None) -> dict:
    """Every SE layer on sd-sim as the driver runs it (`accel.simulate`:
    quantized single-layer programs on random int8 inputs, cycles and energy
    against 8-bit dense weights), then each program's int8 output against
    the CPU backend's quantized mode of the same module on the same input
    (`accelnet.run_cpu`): they must agree bit for bit. `layers` limits the
    bit-exact check to the first few layers (it JIT-compiles each)."""

    sd_opt = sd_opt or runner.find_sd_opt()
    tools = Path(sd_opt).parent
    sd_sim, sd_translate = str(tools / "sd-sim"), str(tools / "sd-translate")
    report = json.loads(exported.report.read_text())
    result = accel.simulate(exported.mlir, report, exported.folder, sd_translate, sd_sim)
    result.pop("breakdown_uj", None)
    folder = exported.folder / "accelerator"
    config = result.get("config")
    config = None if config in (None, "default") else config
    checks = []
    for i, row in enumerate(result["layers"][:layers]):
        x = np.load(folder / f"layer{i}-x.npy")
        work = folder / f"check{i}"
        work.mkdir(exist_ok=True)
        y_sim, _ = accelnet.run_sim(folder / f"layer{i}.sdacc", x, work, sd_sim, config)
        y_cpu = accelnet.run_cpu((folder / f"layer{i}.mlir").read_text(), x, y_sim.shape,
                                 work, sd_opt)
        checks.append({"name": row["name"], "outputs": int(y_sim.size),
                       "mismatches": int((y_sim != y_cpu).sum()),
                       "saturated": float(np.mean(np.abs(y_sim.astype(int)) == 127))})
        shutil.rmtree(work, ignore_errors=True)
    result["checks"] = checks
    result["bit_exact"] = all(c["mismatches"] == 0 for c in checks)
    return result
