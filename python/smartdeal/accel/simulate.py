"""The accelerator step of the driver: each compressed layer on sd-sim.

The SmartExchange and permuted-diagonal layers of a compressed model are
quantized one by one (sd.quantized_conv2d / sd.quantized_matmul on int8
activations, the integer format of docs/QuantizedArithmetic.md), translated into accelerator programs
with `sd-translate --sd-to-sdacc`, and simulated with `sd-sim --compare
dense`, which also runs the same layer with raw 8-bit weights on the same
array. Cycles, DRAM traffic and energy add up over the layers; layers the
accelerator has no form for (depthwise, 5x5, attention) are not counted.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Dict, List

import numpy as np

from ..ir.emitter import (blob_hex, dense_resource, func_module,
                          permdiag_constant, sd_op, se_constant, tensor_type)
from ..ir.resources import parse_resource_section
from ..runtime.compressed import se_arrays

__all__ = ["layer_modules", "permdiag_modules", "simulate"]

_OP = re.compile(
    r"sd\.(shift_add_conv2d|shift_add_matmul)\s*(\{[^}]*\})?\s*ins\(%[\w.]+, %[\w.]+ : "
    r"tensor<([0-9x]+)xf32>, (!sd\.se<[^>]*>)\)")
_EXP = re.compile(r"exponents = \[(-?\d+), (-?\d+)\]")


def levels_config(default_json: str, levels: int, destination: Path) -> Path:
    """The default hardware configuration with Ce codes and rebuild registers
    wide enough for `levels` exponent levels (the decomposition's default
    range has 14; the published 4-bit Ce holds 7)."""
    config = json.loads(default_json)
    bits = 2
    while (1 << (bits - 1)) - 1 < levels:
        bits += 1
    precision = config["precision"]
    precision["ce_bits"] = max(precision["ce_bits"], bits)
    # |W| < 3 * 127 * 2^(levels - 1): the rebuild registers must hold it.
    need = precision["basis_bits"] + levels - 1 + 2
    precision["rebuilt_weight_bits"] = max(precision["rebuilt_weight_bits"], need)
    config["name"] = config.get("name", "config") + f"-ce{bits}"
    destination.write_text(json.dumps(config, indent=2))
    return destination


_PD_OP = re.compile(r"sd\.permdiag_matmul\s*ins\(%[\w.]+, %[\w.]+ : "
                   r"tensor<([0-9x]+)xf32>, (!sd\.permdiag<[^>]*>)\)")


def _module(x_shape, y_shape, weight: str, wtype: str, op: str, extra: dict,
            blobs: Dict[str, str]) -> str:
    """A single quantized layer `op` on int8 input `x_shape`; `weight` is the
    constant defining its weight of type `wtype`."""
    tx, ty = tensor_type(x_shape, "i8"), tensor_type(y_shape, "i8")
    layer = sd_op(op, [("%x", tx), ("%w", wtype)], ty,
                  attrs={"input_scale": 0.05, "output_scale": 0.5, **extra})
    return func_module([("%x", tx)], ("%y", ty),
                       [f"%w = {weight}", f"%y = {layer}"], blobs)


def permdiag_modules(compressed_text: str, permdiag) -> List[dict]:
    """One quantized single-layer module per permuted-diagonal layer
    (`compressed.load_permdiag` layers, in the order of the IR)."""
    ops = _PD_OP.findall(compressed_text)
    if len(ops) != len(permdiag):
        raise ValueError(f"{len(ops)} permdiag ops but {len(permdiag)} layers")
    out = []
    for layer, (in_shape, wtype) in zip(permdiag, ops):
        dims = [int(d) for d in in_shape.split("x")]
        m = int(np.prod(dims[:-1]))
        rb, cb, p = layer.values.shape
        weight = permdiag_constant(dense_resource("off", [rb, cb], "i32"),
                                   dense_resource("v", [rb, cb, p], "f32"), wtype)
        blobs = {"off": blob_hex(layer.offsets.astype("<i4")),
                 "v": blob_hex(layer.values.astype("<f4"))}
        out.append({"name": layer.name, "x_shape": [m, dims[-1]], "levels": 1,
                    "text": _module([m, dims[-1]], [m, layer.shape[0]], weight, wtype,
                                    "quantized_matmul", {}, blobs)})
    return out


def layer_modules(compressed_text: str, report: dict) -> List[dict]:
    """One quantized single-layer module per SmartExchange layer."""
    blobs = parse_resource_section(compressed_text)
    layers = [l for l in report["layers"] if l["form"] == "se"]
    ops = _OP.findall(compressed_text)
    if len(ops) != len(layers):
        raise ValueError(f"{len(ops)} compute ops but {len(layers)} layers")
    out = []
    for layer, (kind, attrs, in_shape, se_type) in zip(layers, ops):
        dims = [int(d) for d in in_shape.split("x")]
        shape = layer["shape"]
        lo, hi = (int(v) for v in _EXP.search(se_type).groups())
        o, nb, rows = shape[0], layer["blocks"], layer["block_rows"]
        # Small bases (and codes) are written inline, the rest as blobs.
        codes, basis = se_arrays(layer, blobs, "the compressed module", compressed_text)
        if kind == "shift_add_matmul":
            m = int(np.prod(dims[:-1]))
            x_shape, y_shape = [m, dims[-1]], [m, o]
            op = "quantized_matmul"
            extra = {}
        else:
            if "nhwc" in (attrs or ""):
                continue  # the accelerator reads NCHW activations
            strides = re.search(r"strides = array<i64: (\d+), (\d+)>", attrs or "")
            sh, sw = (int(strides.group(1)), int(strides.group(2))) if strides else (1, 1)
            if "dilations" in (attrs or "") and "dilations = array<i64: 1, 1>" not in attrs:
                continue
            n, c, h, w = dims
            oh = (h - shape[2]) // sh + 1
            ow = (w - shape[3]) // sw + 1
            x_shape, y_shape = [n, c, h, w], [n, o, oh, ow]
            op = "quantized_conv2d"
            extra = {"strides": (sh, sw)}
        weight = se_constant(dense_resource("ce", [o, nb, rows, 3], "i8"),
                             dense_resource("b", [o, nb, 3, 3], "f32"), se_type)
        text = _module(x_shape, y_shape, weight, se_type, op, extra,
                       {"ce": blob_hex(codes.astype(np.int8)),
                        "b": blob_hex(basis.astype("<f4"))})
        out.append({"name": layer["name"], "text": text, "x_shape": x_shape,
                    "levels": hi - lo + 1})
    return out


def simulate(compressed: Path, report: dict, work: Path, sd_translate: str,
             sd_sim: str, permdiag=()) -> Dict[str, object]:
    """Simulates every SmartExchange layer and every permuted-diagonal one
    (`permdiag`: `compressed.load_permdiag` layers); returns totals and
    per-layer rows."""
    text = compressed.read_text()
    modules = layer_modules(text, report) + permdiag_modules(text, list(permdiag))
    folder = work / "accelerator"
    folder.mkdir(exist_ok=True)
    if not modules:
        return {"layers": [], "note": "no layer the accelerator runs"}
    default = subprocess.run([sd_sim, "--print-config"], capture_output=True,
                             text=True)
    config = None
    if default.returncode == 0 and default.stdout.strip().startswith("{"):
        config = levels_config(default.stdout, max(m["levels"] for m in modules),
                                folder / "config.json")
    rng = np.random.default_rng(0)
    rows, totals = [], {"se": {"cycles": 0, "energy_pj": 0.0, "dram_bytes": 0},
                        "dense": {"cycles": 0, "energy_pj": 0.0, "dram_bytes": 0}}
    breakdown = {"SmartExchange": {}, "dense 8-bit": {}}
    for i, m in enumerate(modules):
        src = folder / f"layer{i}.mlir"
        src.write_text(m["text"])
        prog = folder / f"layer{i}.sdacc"
        cfg = ["--config", str(config)] if config else []
        _check([sd_translate, "--sd-to-sdacc", str(src), "-o", str(prog)]
               + ([f"--sdacc-config={config}"] if config else []), m["name"])
        x = rng.integers(-127, 128, size=m["x_shape"]).astype(np.int8)
        np.save(folder / f"layer{i}-x.npy", x)
        rep = folder / f"layer{i}.json"
        _check([sd_sim, str(prog), "--input", f"arg0={folder}/layer{i}-x.npy",
                "--report", str(rep), "--compare", "dense"] + cfg, m["name"])
        r = json.loads(rep.read_text())
        base = r["baseline"]
        for mode, data in (("se", r), ("dense", base)):
            totals[mode]["cycles"] += data["cycles"]
            totals[mode]["energy_pj"] += data["energy_pj"]["total"]
            totals[mode]["dram_bytes"] += sum(
                v for v in data.get("dram_bytes_by_kind", {}).values()
                if isinstance(v, (int, float)))
        for label, data in (("SmartExchange", r), ("dense 8-bit", base)):
            for part, v in data["energy_pj"]["by_level"].items():
                breakdown[label][part] = breakdown[label].get(part, 0.0) + v / 1e6
            for part, v in data["energy_pj"]["by_operation"].items():
                breakdown[label][part] = breakdown[label].get(part, 0.0) + v / 1e6
        rows.append({"name": m["name"], "cycles": r["cycles"],
                     "dense_cycles": base["cycles"],
                     "energy_uj": r["energy_pj"]["total"] / 1e6,
                     "dense_energy_uj": base["energy_pj"]["total"] / 1e6})
    return {"layers": rows, "totals": totals, "breakdown_uj": breakdown,
            "config": str(config) if config else "default"}


def _check(cmd, what):
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"accelerator step for layer '{what}' failed: "
                           f"{proc.stderr.strip()}")
