"""The one-command driver: a model in, a compressed model and its artifacts out.

    python3 -m smartdeal [MODEL] [-o OUTDIR] [--config plan.json] ...

MODEL is an .onnx file, an .mlir file in the torch-mlir linalg contract, a
real model name (`ocr-rec`, the default, and the others in
smartdeal.models), or `torchvision:NAME`. The driver imports the model,
compresses it with `sd-opt --sd-decompose`, exports the compressed model in
its source format, compiles it for the CPU (a shared library with a C entry
point), checks the compiled code against the exported model, measures
accuracy or output fidelity on real inputs, and writes a report with plots.
Every file goes to a temporary folder first and is moved into OUTDIR only
when all steps succeed, so a failure leaves no partial output.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import List, Optional

import numpy as np
import onnx

from .. import importers, models
from ..accel import whole_model
from ..plan import fits, graph, menus, sensitivity
from ..plan.planfile import (compress_command, compress_passes, layers_of_form,
                              load_plan, merge_entries, quantize_int_layers)
from ..runtime import compressed as compressed_mod
from ..runtime import artifact, runner, source_export
from ..runtime.runner import REPO_ROOT
from . import checks, fidelity, plots

__all__ = ["DriverError", "main"]
# Calibration inputs whose mean output shift corrects the biases of
# compressed layers (menus.capture_raw).
BIAS_INPUTS = 16


class DriverError(RuntimeError):
    """A step failed; the message says which and why."""


class Progress:
    """One line per step, with its time, so long runs show where they are."""

    def __init__(self, total: int):
        self.total, self.step, self.t0 = total, 0, time.time()

    def __call__(self, message: str) -> None:
        self.step += 1
        print(f"[{self.step}/{self.total}] {message} "
              f"(t = {time.time() - self.t0:.0f} s)", flush=True)


def _run(cmd: List[str], what: str) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise DriverError(f"{what} failed:\n{proc.stderr.strip()}")
    return proc


def resolve_model(spec: str):
    """(kind, path, input shapes, real model or None) for a MODEL argument."""
    if spec.startswith("torchvision:"):
        return "torchvision", spec.split(":", 1)[1], None, None
    path = Path(spec)
    if path.suffix in (".onnx", ".mlir"):
        if not path.exists():
            raise DriverError(f"model file not found: {path}")
        return path.suffix[1:], path, None, None
    real = models.lookup(spec)
    if real is not None:
        if not real.path.exists():
            subprocess.run([str(models.FETCH_SCRIPT), real.fetch_key],
                           check=False, capture_output=True)
        if not real.path.exists():
            raise DriverError(f"model '{spec}' is not cached and could not be "
                              f"fetched (run scripts/fetch-models.sh)")
        return "onnx", real.path, real.input_shapes, real
    raise DriverError(f"unknown model '{spec}': give an .onnx or .mlir file, "
                      f"torchvision:NAME, or one of {', '.join(models.MODELS)}"
                      f" (short names: {', '.join(models.ALIASES)})")


def import_model(kind, path, shapes, real, work: Path) -> Path:
    """The model in the torch-mlir contract; any failure is the input's."""
    try:
        return _import_model(kind, path, shapes, real, work)
    except DriverError:
        raise
    except Exception as e:  # unreadable files, unsupported ops and shapes
        message = str(e).strip() or type(e).__name__
        raise DriverError(f"cannot import {path}: {message}") from e


def _import_model(kind, path, shapes, real, work: Path) -> Path:
    out = work / "model.mlir"
    if kind == "mlir":
        shutil.copyfile(path, out)
    elif kind == "onnx":
        # BatchNorm stays separate: folding it would change the conv weights
        # that the compressed model is exported with.
        importers.import_onnx(str(path), output=str(out), input_shapes=shapes,
                              constant_inputs=real.constant_inputs if real else None,
                              fold_batchnorm=False)
    else:
        import torch
        import torchvision

        module = getattr(torchvision.models, path)(weights=None).eval()
        importers.import_torch(module, (torch.randn(1, 3, 32, 32),), output=str(out),
                               fold_batchnorm=False)
        torch.save(module.state_dict(), work / "model.pt")
    return out


def evaluate_torch(name: str, work: Path, exported: Path) -> dict:
    """Output fidelity of a torchvision model with its compressed weights."""
    import torch
    import torchvision

    original = getattr(torchvision.models, name)(weights=None).eval()
    original.load_state_dict(torch.load(work / "model.pt"))
    compressed = getattr(torchvision.models, name)(weights=None).eval()
    compressed.load_state_dict(torch.load(exported))
    x = torch.randn(1, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        ya, yb = original(x).numpy(), compressed(x).numpy()
    return {"metric": "output fidelity on a random input",
            "output_relative_error": float(np.linalg.norm(yb - ya) /
                                           max(np.linalg.norm(ya), 1e-30)),
            "example_input": x.numpy(), "example_output": yb}


def calibration_inputs(path: Path, real, args) -> List[dict]:
    """Calibration inputs (input name -> array, every graph input the model
    reads): the realistic calibration split for the OCR models
    (smartdeal.cli.fidelity), seeded noise for the others, with the real
    model's constant inputs (Silero's sample rate) at their fixed values."""
    consts = fidelity.constant_feeds(real)
    return [dict(consts, **x)
            for x in fidelity.split_inputs(path, real, "calibration", _count(real, args))]


def plan_metric(path: Path, real, args):
    """(model, metric) for budgets: metric(onnx model) is higher-is-better on
    validation inputs (never the calibration or test inputs): the
    recognizer's word accuracy on fidelity.VALIDATION_WORDS words."""
    count = (fidelity.VALIDATION_WORDS if fidelity.task(real) == "words"
             else _count(real, args))
    return fidelity.search_metric(path, real, count)


def _count(real, args) -> int:
    """Calibration (and validation) inputs: --calibration for the OCR text
    line models; a quarter for the detector's pages; a fifth of it for models
    fed seeded noise."""
    kind = fidelity.task(real)
    div = {"words": 1, "orientation": 1, "regions": 4}.get(kind, 5)
    return max(args.calibration // div, 1)


def choose_plan(path: Path, real, layers, report, args):
    """Runs the sensitivity pass and the greedy selection (smartdeal.plan.menus)."""
    model, metric = plan_metric(path, real, args)
    by_name = {l["name"]: l for l in report["layers"] if l["form"] == "se"}
    return menus.select_layers(
        model, layers, metric, args.budget,
        {n: l["dense_bits"] for n, l in by_name.items()},
        {n: l["bits"] for n, l in by_name.items()})


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(prog="python3 -m smartdeal", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", nargs="?", default="ocr-rec")
    p.add_argument("-o", "--output", type=Path, default=None,
                   help="output folder (default: sd-out/<model name>)")
    p.add_argument("--config", type=Path, help="JSON plan: {defaults: {...}, "
                   "layers: {name: {threshold: .., skip: true, ...}}}")
    p.add_argument("--threshold", type=float, help="Ce threshold (default 1e-3)")
    p.add_argument("--min-size", type=int, default=1024,
                   help="leave weights with fewer values dense")
    p.add_argument("--samples", type=int, default=None,
                   help="test-split inputs for the accuracy measurement (default "
                   "1000 text lines for ocr-rec/ocr-cls, 20 pages for ocr-det, 5 "
                   "for models measured by their outputs)")
    p.add_argument("--allow-broken", action="store_true",
                   help="exit 0 even when the compressed model is broken (its "
                   "accuracy drops by more than 5 points on the test split, or its "
                   "output error exceeds 0.1)")
    p.add_argument("--budget", type=float, default=None,
                   help="compress only what keeps the model within this budget on "
                   "validation inputs: the drop in word accuracy (OCR recognizer, "
                   "default 0.005 on 1000 validation words), in the probability of "
                   "the original's class (orientation classifier), or the output "
                   "relative error (other models)")
    p.add_argument("--data-aware", action="store_true",
                   help="refit each layer's bases to its outputs on calibration "
                   "inputs (ONNX models; same storage, smaller output error)")
    p.add_argument("--search", action="store_true",
                   help="with --budget: choose per layer among SmartExchange settings, "
                   "int8/6/5/4 and dense (data-aware fits; the plan goes to plan.json)")
    p.add_argument("--rounds", type=int, default=1,
                   help="data-aware fits: rounds of code re-selection after the "
                   "basis refit (0: bases only)")
    p.add_argument("--calibration", type=int, default=16,
                   help="calibration inputs for --budget (distinct from the "
                   "evaluation inputs)")
    p.add_argument("--plain", action="store_true",
                   help="real models: decompose every eligible layer weight-only "
                   "instead of the default budgeted search")
    p.add_argument("--no-accelerator", action="store_true",
                   help="skip the accelerator programs and simulation")
    p.add_argument("--no-cpu-check", action="store_true",
                   help="skip running the compiled model on the CPU")
    p.add_argument("--round-basis", action="store_true",
                   help="round the SmartExchange bases to the 8 bits the report "
                   "counts (sd-round-basis) before the export, so libmodel.so "
                   "stores them in 8 bits; the per-layer weight errors in the "
                   "report are those before the rounding")
    args = p.parse_args(argv)

    created: List[Path] = []
    try:
        # Everything that can be checked before the work starts is, so bad
        # input fails at once and creates nothing.
        checks.check_numbers(args)
        kind, path, shapes, real = resolve_model(args.model)
        if kind in ("onnx", "mlir") and not real:
            checks.check_model_file(path)
        apply_model_defaults(args, real)
        stem = real.name if real else Path(str(path)).stem
        out_dir = args.output or Path("sd-out") / stem
        sd_opt = runner.find_sd_opt()
        config = load_plan(args.config, sd_opt) if args.config else None
        created = checks.missing_folders(out_dir)
        # Import, decompose, export, compile, measure, check, accelerator,
        # the libmodel.so measurement, and the optional steps.
        progress = Progress(7 + (not args.no_cpu_check)
                            + (args.budget is not None and not args.search)
                            + args.data_aware + args.search)
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=".sd-driver-", dir=out_dir.parent))
        try:
            summary = run_steps(args, kind, path, shapes, real, config, sd_opt,
                                progress, work)
            if out_dir.exists():
                shutil.rmtree(out_dir)
            os.replace(work, out_dir)
            created = []
        finally:
            if work.exists():
                shutil.rmtree(work, ignore_errors=True)
    except (DriverError, runner.RunError, source_export.ExportError, OSError, ValueError,
            RuntimeError, json.JSONDecodeError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    finally:
        checks.remove_folders(created)
    print()
    print(summary)
    print(f"\nwrote {out_dir}/")
    if summary.startswith("BROKEN") and not args.allow_broken:
        return 3
    return 0


def apply_model_defaults(args, real) -> None:
    """A real model given without a plan, budget or --data-aware gets the
    budgeted per-layer search with its model's fidelity budget
    (smartdeal.cli.fidelity.DEFAULT_BUDGETS): weight-only decomposition of
    every eligible layer breaks most real models."""
    if (real is None or args.plain or args.budget is not None or args.config
            or args.data_aware):
        return
    args.budget = fidelity.DEFAULT_BUDGETS[fidelity.task(real)]
    args.search = True


def search_plan(args, path, shapes, real, config, sd_opt, progress, work):
    """--search: every weight layer's menu (SE settings, int-k, dense), each
    entry's measured effect on the whole model (smartdeal.plan.sensitivity), and
    the most compressed allocation within the budget. Returns the plan
    (merged over `config`) and a summary."""
    progress(f"searching per-layer settings within budget {args.budget} "
             f"({args.calibration} calibration inputs)")
    say = lambda m: print(f"    {m}", flush=True)  # noqa: E731
    model_mlir = import_model("onnx", path, shapes, real, work)
    calib = calibration_inputs(path, real, args)
    model, layer_menus = sensitivity.measured_menus(path, model_mlir, calib, sd_opt, BIAS_INPUTS,
                                                    rounds=args.rounds,
                                                    min_size=args.min_size, log=say)
    _, metric = plan_metric(path, real, args)
    raw = menus.capture_raw(model, layer_menus, calib, BIAS_INPUTS)
    found = sensitivity.search(
        model, layer_menus, metric, args.budget, raw, log=say,
        extra=sensitivity.uniform_choices(layer_menus),
        finish=lambda ch: fits.sequential(model, layer_menus, ch, calib[:BIAS_INPUTS],
                                          rounds=args.rounds))
    choice = found["choice"]
    plan = menus.plan_config(layer_menus, choice)
    merged = dict(config or {})
    merged["layers"] = dict(merged.get("layers", {}), **plan["layers"])
    info = {"lam": found["lam"], "picked": found["picked"], "score": found["score"],
            "baseline": found["baseline"],
            "trace": found["trace"], "totals": menus.plan_totals(layer_menus, choice),
            "shifts": found["shifts"],
            # The evaluated fits themselves: the driver puts exactly these
            # codes, bases and integers into the compiled model (the bias
            # corrections were measured for them).
            "fits": {m.name: (choice[m.name]["codes"], choice[m.name]["basis"])
                     for m in layer_menus if "codes" in choice[m.name]},
            "int_weights": {m.name: choice[m.name]["weight"] for m in layer_menus
                            if choice[m.name]["plan"].get("rounding") == "data"}}
    return merged, info


def run_steps(args, kind, path, shapes, real, config, sd_opt, progress, work):
    search = None
    if kind == "onnx" and real is not None and real.constant_inputs:
        # Silero's graph is one If on its sample rate; with the rate fixed
        # the branch taken becomes the graph, so its layers are nodes of the
        # main graph for the search, the export and the measurements, and
        # `path` (the accuracy reference) computes what the original does
        # at that rate.
        fixed = work / "specialized.onnx"
        onnx.save(graph.inline_constant_branches(onnx.load(str(path)),
                                                 fidelity.constant_feeds(real)), str(fixed))
        path = fixed
    if args.search:
        if kind != "onnx" or args.budget is None:
            raise DriverError("--search needs an ONNX model and --budget")
        if args.data_aware:
            raise DriverError("--search makes its own data-aware fits; "
                              "drop --data-aware")
        config, search = search_plan(args, path, shapes, real, config, sd_opt, progress,
                                     work)
        (work / "plan.json").write_text(json.dumps(config, indent=2) + "\n")
    # Layers the plan quantizes to int-k are quantized in the source model
    # itself, so every later step (IR, compiled code, export) carries them;
    # `path` stays the original, the accuracy reference.
    source = path
    int_entries: List[dict] = []
    shifts = search.pop("shifts") if search else None
    search_fits = search.pop("fits") if search else None
    int_weights = search.pop("int_weights") if search else None
    int_layers = layers_of_form(config, "int")
    if int_layers or shifts:
        if kind != "onnx":
            raise DriverError("plan entries with form int need an ONNX model")
        int_entries = quantize_int_layers(
            path, config, work / "source.onnx", shifts, int_weights,
            calibration_inputs(path, real, args) if any(
                e.get("rounding") == "data" for e in int_layers.values()) else None)
        if int_entries or shifts:
            source = work / "source.onnx"

    progress(f"importing {path}")
    model_mlir = import_model(kind, source, shapes, real, work)

    progress("decomposing weights (sd-opt --sd-decompose)")
    compressed = work / "compressed.mlir"
    report_json = work / "layers.json"
    _run(compress_command(sd_opt, model_mlir, config, args.min_size, args.threshold, work),
         "sd-decompose")
    if search_fits:
        fits.write_fits(compressed, report_json, search_fits)
    report = json.loads(report_json.read_text())
    empty = checks.no_layers_message(path, report)
    if empty and not int_entries:
        raise DriverError(empty)
    layers = compressed_mod.load(report_json, compressed)
    refits: List[dict] = []

    def data_aware():
        if not args.data_aware:
            return compressed_mod.load(report_json, compressed)
        if kind != "onnx":
            raise DriverError("--data-aware needs an ONNX model")
        refits[:] = fits.refit(source, compressed, report_json,
                               calibration_inputs(path, real, args),
                               rounds=args.rounds)
        return compressed_mod.load(report_json, compressed)

    if args.data_aware:
        progress(f"refitting bases to layer outputs ({args.calibration} "
                 "calibration inputs)")
        layers = data_aware()

    plan = None
    if args.budget is not None and search is None:
        if kind != "onnx":
            raise DriverError("--budget needs an ONNX model (its metric runs the "
                              "ONNX reference executor)")
        progress(f"choosing layers within budget {args.budget} "
                 f"({len(layers)} layers, {args.calibration} calibration inputs)")
        plan = choose_plan(path, real, layers, report, args)
        merged = dict(config or {})
        merged_layers = dict(merged.get("layers", {}))
        for name, settings in plan.as_config()["layers"].items():
            merged_layers.setdefault(name, {}).update(settings)
        merged["layers"] = merged_layers
        (work / "plan.json").write_text(json.dumps(merged, indent=2) + "\n")
        _run(compress_command(sd_opt, model_mlir, merged, args.min_size, args.threshold,
                              work),
             "sd-decompose with the budgeted plan")
        report = json.loads(report_json.read_text())
        layers = data_aware()

    pd_layers: List[compressed_mod.CompressedLayer] = []
    pd_entries: List[dict] = []
    if (work / "permdiag.json").exists():
        pd_layers = compressed_mod.load_permdiag(work / "permdiag.json", compressed)
        pd_entries = [l for l in json.loads((work / "permdiag.json").read_text())["layers"]
                      if l["form"] == "permdiag"]
    report = merge_entries(json.loads(report_json.read_text()), int_entries + pd_entries)
    report_json.write_text(json.dumps(report, indent=2) + "\n")
    others = int_entries + pd_entries
    if others and (work / "layers.md").exists():
        # sd-decompose's table lists int-k layers as skipped and does not see
        # the permuted-diagonal ones; say what they are.
        rows = ["", "Layers the plan gave other forms (int-k: quantized before the "
                "import; permdiag: sd-permdiag):", "",
                "| layer | form | shape | bits | ratio | rel. weight error |",
                "|---|---|---|---|---|---|"]
        rows += [f"| {e['name']} | {e['form']}{' p=' + str(e['p']) if 'p' in e else ''} | "
                 f"{'x'.join(map(str, e['shape']))} | {e['bits']} | "
                 f"{e['compression_ratio']:.2f}x | {e['relative_error']:.4f} |"
                 for e in others]
        with open(work / "layers.md", "a") as f:
            f.write("\n".join(rows) + "\n")

    if args.round_basis:
        # The report counts each basis entry at 8 bits: from here on (export,
        # accuracy, libmodel.so) the model computes with such bases.
        progress("rounding the bases to the 8 bits the report counts "
                 "(sd-round-basis)")
        rounded = work / "compressed.rounded.mlir"
        _run([sd_opt, str(compressed), "--sd-round-basis", "-o", str(rounded)],
             "sd-round-basis")
        rounded.replace(compressed)
        layers = compressed_mod.load(report_json, compressed)

    progress("exporting the compressed model")
    exported = None
    if kind == "onnx":
        exported = work / "compressed.onnx"
        source_export.export_onnx(source, layers + pd_layers, exported)
    elif kind == "torchvision":
        import torch

        exported = work / "compressed_state_dict.pt"
        source_export.export_state_dict(torch.load(work / "model.pt"), layers + pd_layers,
                                 exported)

    progress("compiling for the CPU (libmodel.so, C entry points)")
    env = dict(os.environ, SD_OPT=sd_opt)
    proc = subprocess.run([str(REPO_ROOT / "scripts" / "sd-compile.sh"),
                           str(compressed), str(work / "libmodel.so")],
                          capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise DriverError(f"CPU compilation failed:\n{proc.stderr.strip()}")

    progress("measuring accuracy on the realistic test split (exported model and "
             "libmodel.so)")
    quality = {}
    if kind == "torchvision":
        quality = evaluate_torch(path, work, exported)
    if kind == "onnx":
        input_shapes, result_shapes = runner.main_signature(model_mlir.read_text())
        samples = args.samples or fidelity.DEFAULT_SAMPLES[fidelity.task(real)]
        quality = fidelity.evaluate(
            path, exported, real, samples,
            # aot.call reads one result memref; a model with several
            # results (Silero: probability and state) is checked by the JIT
            # step below instead.
            library=None if args.no_cpu_check or len(result_shapes) > 1
            else work / "libmodel.so",
            result_rank=len(result_shapes[0]), log=lambda m: print(m, flush=True),
            shapes=input_shapes)
    if kind == "mlir":
        from ..runtime.mlir_quality import evaluate_mlir

        quality = evaluate_mlir(model_mlir, compressed, sd_opt)

    progress("checking the compiled CPU code against the exported model")
    cpu = {}
    if not args.no_cpu_check and "example_input" in quality:
        x = quality["example_input"]
        run = runner.run_mlir(compressed, x if isinstance(x, list) else [x],
                              sd_opt=sd_opt, pipeline="--sd-cpu-to-llvm")
        cpu["relative_error"] = runner.relative_error(run.outputs[0],
                                                      quality["example_output"])
        cpu["seconds"] = run.seconds_run

    if not args.no_cpu_check:
        progress("measuring libmodel.so: weight bytes and latency beside ONNX Runtime")
        whole_bits = (menus.whole_model(report["totals"], onnx.load(str(path)))["bits"]
                      if kind == "onnx" else report["totals"]["bits"])
        shapes = runner.main_signature(model_mlir.read_text()) if kind == "onnx" else None
        timed = shapes and len(shapes[0]) == 1 and len(shapes[1]) == 1
        cpu["artifact"] = artifact.measure(
            work / "libmodel.so", whole_bits, onnx_model=path if timed else None,
            shape=shapes[0][0] if timed else None,
            result_rank=len(shapes[1][0]) if timed else None)

    progress("accelerator: --sd-quantize, --sd-schedule, --sd-partition, hybrid run "
             "on sd-sim")
    acc = {}
    if not args.no_accelerator:
        if kind != "onnx" or "example_input" not in quality:
            acc = {"layers": [], "note": "the accelerator step needs an ONNX model "
                   "(calibration statistics come from the float model)"}
        else:
            x = quality["example_input"]
            acc = whole_model.simulate(
                sd_opt, model_mlir, compress_passes(config, work / "sd-opt-plan.json"),
                source, calibration_inputs(path, real, args),
                x if isinstance(x, list) else [x], work)

    plots.layer_plot(report["layers"], work / "layers.png")
    totals = report["totals"]
    whole = None
    if kind == "onnx":
        whole = menus.whole_model(totals, onnx.load(str(path)))
        totals["whole_model"] = whole
    lines = []
    if quality.get("broken"):
        lines += [f"BROKEN: the compressed {real.name if real else path} does not keep "
                  f"the model working ({fidelity.broken_reason(quality)}); lower the "
                  "budget or leave more layers dense", ""]
    lines += [f"# SmartDeal-MLIR: {real.name if real else path}", ""]
    lines.append(f"- compressed layers: {totals['compressed_layers']} of "
                 f"{totals['candidate_layers']} candidates")
    if whole:
        lines.append(f"- whole-model compression (every parameter of the file: "
                     f"{whole['parameters']} values, depthwise, biases and norms "
                     f"included): {whole['compression_ratio']:.2f}x")
    lines.append(f"- compression over all candidate layers: "
                 f"{totals['compression_ratio']:.2f}x; over the compressed "
                 f"layers: {totals['compressed_layers_ratio']:.2f}x")
    if refits:
        before = np.mean([r["output_error_before"] for r in refits])
        after = np.mean([r["output_error_after"] for r in refits])
        lines.append(f"- data-aware bases: mean layer output error {before:.4f} "
                     f"-> {after:.4f} over {len(refits)} layers (calibration "
                     "activations; storage unchanged)")
    if pd_entries:
        lines.append(f"- permuted-diagonal layers (plan): {len(pd_entries)} ("
                     + ", ".join(f"{e['name']} p={e['p']}" for e in pd_entries[:8])
                     + (", ..." if len(pd_entries) > 8 else "") + ")")
    if int_entries:
        lines.append(f"- int-k layers (plan): {len(int_entries)} ("
                     + ", ".join(f"{e['name']} {e['form']}" for e in int_entries[:8])
                     + (", ..." if len(int_entries) > 8 else "") + ")")
    if search is not None:
        forms = ", ".join(f"{k} {v}" for k, v in sorted(search["totals"]["forms"].items()))
        lines.append(f"- per-layer search, budget {args.budget}: measured sensitivity, "
                     f"{search['picked']}, layers {forms}; validation score "
                     f"{search['baseline']:.4f} -> {search['score']:.4f}; plan in plan.json")
    if plan is not None:
        lines.append(f"- budget {args.budget}: kept {len(plan.chosen)} layers, left "
                     f"{len(plan.skipped)} dense (validation score "
                     f"{plan.baseline:.3f} -> {plan.score:.3f}, "
                     f"{plan.evaluations} evaluations); plan in plan.json")
    if kind == "onnx":
        lines += fidelity.describe(quality)
    if quality:
        lines.append(f"- output relative error of the compressed model: "
                     f"{quality['output_relative_error']:.4f}")
    if cpu:
        lines.append(f"- compiled CPU code vs exported model: max relative "
                     f"difference {cpu['relative_error']:.2e}")
    if cpu.get("artifact"):
        lines += artifact.describe(cpu["artifact"])
    if acc.get("totals"):
        se, dense = acc["totals"]["se"], acc["totals"]["dense"]
        lines.append(f"- accelerator: {acc['ops_on_accelerator']} ops quantized to int8 "
                     f"in {len(acc['segments'])} segments on sd-sim "
                     f"({len(acc['host_segments'])} more segments and "
                     f"{acc['ops_on_host']} ops on the host), the whole model run on "
                     f"one input: {se['cycles']} cycles and {se['energy_pj'] / 1e6:.1f} uJ "
                     f"against {dense['cycles']} cycles and "
                     f"{dense['energy_pj'] / 1e6:.1f} uJ for 8-bit dense weights: "
                     f"{dense['energy_pj'] / max(se['energy_pj'], 1e-9):.2f}x less "
                     f"energy, {dense['cycles'] / max(se['cycles'], 1):.2f}x fewer "
                     f"cycles")
    lines += ["", "## Layers", "", (work / "layers.md").read_text()
              if (work / "layers.md").exists() else ""]
    summary_md = "\n".join(lines)
    (work / "summary.md").write_text(summary_md + "\n")
    clean = {k: v for k, v in quality.items() if not k.startswith("example")}
    (work / "summary.json").write_text(json.dumps(
        {"totals": totals, "quality": clean, "cpu": cpu, "data_aware": refits,
         "search": search, "int_layers": int_entries,
         "accelerator": {k: v for k, v in acc.items() if k != "breakdown_uj"}},
        indent=2) + "\n")
    return "\n".join(lines[:lines.index("## Layers") - 1])
