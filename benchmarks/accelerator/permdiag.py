#!/usr/bin/env python3
"""Accelerator benchmark: PermDNN against dense and SmartExchange on sd-sim.

The fully connected layers of real pretrained models -- the PaddleOCR PP-OCRv4
text recognizer `ocr-rec` (the qkv, projection and MLP matmuls of its two
SVTR transformer blocks and the 6625-class output layer, on the 40 positions
of a 48x320 text line), the openWakeWord 'hello' head (`wakeword-hello`) and
the Silero VAD LSTM (`silero-vad`, its input and hidden matmuls, one step) --
run on one simulator, one configuration (the default) and one energy table
in four forms:

  dense   raw int8 weights (the baseline every --compare dense run builds);
  SE      SmartExchange, decomposed by the C++ library to the published 4-bit
          Ce (exponents [-6, 0]), codes + index + B;
  PD p=4  PermDNN, the weight projected per 4x4 block onto its best permuted
  PD p=8  diagonal (the energy-keeping offset), int8 values + one offset per
          block, run by the PermDNN engine mode (pd_* instructions).

Activations are random int8 (seeded); a second pass sets 50 % of the inputs
to zero, which the PermDNN engine skips and the dense and SE engines do not.
Reports cycles and energy per layer and per model, the ratios, and the
projection error (the accuracy cost is not measured here: these are the
pretrained dense weights projected, not PermDNN-trained ones).

Usage: permdiag.py [--build build] [--check]
Writes benchmarks/results/accelerator-permdiag.md.
"""

import argparse
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "python"))
from smartdeal.ir.emitter import (blob_hex, dense_resource, func_module,  # noqa: E402
                                  permdiag_constant, permdiag_type, sd_op,
                                  se_constant, se_type, tensor_type)
from smartdeal.models import model_path  # noqa: E402

LO, HI = -6, 0  # the published 4-bit Ce: 7 exponent levels
# PP-OCRv4 rec on a 48x320 line: the SVTR neck and the head see 320/8 = 40
# positions (the imported model's matmuls are [1, 40, K] x [K, N]).
OCR_POSITIONS = 40


def fc_layers():
    """(model, layer, W [N, K] float32, positions) of every FC layer."""
    out = []
    missing = [n for n in ("ocr-rec", "wakeword-hello", "silero-vad") if not model_path(n)]
    if missing:
        sys.exit(f"models not in the cache: {', '.join(missing)} (scripts/fetch-models.sh "
                 "ocr wakeword vad)")
    m = onnx.load(str(model_path("ocr-rec")))
    consts = {n.output[0]: numpy_helper.to_array(n.attribute[0].t)
              for n in m.graph.node if n.op_type == "Constant"}
    for n in m.graph.node:
        if n.op_type == "MatMul" and n.input[1] in consts:
            w = consts[n.input[1]].astype(np.float32).T  # ONNX B is [K, N]
            out.append(("ocr-rec", n.input[1].replace(".w_0", ""), w, OCR_POSITIONS))
    m = onnx.load(str(model_path("wakeword-hello")))
    inits = {i.name: numpy_helper.to_array(i) for i in m.graph.initializer}
    for n in m.graph.node:
        if n.op_type == "Gemm":
            w = inits[n.input[1]].astype(np.float32)
            trans_b = any(a.name == "transB" and a.i for a in n.attribute)
            out.append(("wakeword-hello", n.name.strip("/").replace("/Gemm", ""),
                        w if trans_b else w.T, 1))
    m = onnx.load(str(model_path("silero-vad")))
    inits = {i.name: numpy_helper.to_array(i) for i in m.graph.initializer}
    for name in ("model.decoder.rnn.weight_ih", "model.decoder.rnn.weight_hh"):
        out.append(("silero-vad", name.split(".")[-1], inits[name].astype(np.float32), 1))
    return out


def project(w, p):
    """Per p x p block, the permuted diagonal (row c at column (c + k) mod p)
    keeping the most energy; returns offsets, values and the relative error."""
    n, k = w.shape
    rb, cb = -(-n // p), -(-k // p)
    pad = np.zeros((rb * p, cb * p), np.float32)
    pad[:n, :k] = w
    blocks = pad.reshape(rb, p, cb, p).transpose(0, 2, 1, 3)  # [rb, cb, c, col]
    c = np.arange(p)
    diag = np.stack([blocks[:, :, c, (c + s) % p] for s in range(p)], axis=2)  # [rb, cb, k, c]
    offsets = np.argmax((diag ** 2).sum(axis=3), axis=2).astype(np.int32)
    values = np.take_along_axis(diag, offsets[:, :, None, None], axis=2)[:, :, 0, :]
    kept = float((values ** 2).sum())
    err = np.sqrt(max(0.0, float((w ** 2).sum()) - kept) / float((w ** 2).sum()))
    return offsets, values.astype(np.float32), err


def module(weight_type, weight_decl, blobs, m, n, k):
    x, y = tensor_type([m, k], "i8"), tensor_type([m, n], "i8")
    layer = sd_op("quantized_matmul", [("%x", x), ("%w", weight_type)], y,
                  attrs={"input_scale": 0.05, "output_scale": 0.5})
    return func_module([("%x", x)], ("%y", y), [f"%w = {weight_decl}", f"%y = {layer}"],
                       blobs)


def permdiag_module(w, p, m):
    n, k = w.shape
    offsets, values, err = project(w, p)
    rb, cb = offsets.shape
    t = permdiag_type((n, k), p)
    decl = permdiag_constant(dense_resource("off", [rb, cb], "i32"),
                             dense_resource("val", [rb, cb, p], "f32"), t)
    blobs = {"off": blob_hex(offsets.astype("<i4")), "val": blob_hex(values.astype("<f4"))}
    return module(t, decl, blobs, m, n, k), err


def se_module(w, m, driver, tmp):
    n, k = w.shape
    np.save(tmp / "w.npy", np.ascontiguousarray(w))  # the driver reads C order
    (tmp / "d").mkdir(exist_ok=True)
    subprocess.run([str(driver), "weight", "--input", str(tmp / "w.npy"), "--out",
                    str(tmp / "d"), "--min-exp", str(LO), "--max-exp", str(HI)],
                   check=True, capture_output=True)
    codes = np.load(tmp / "d" / "codes.npy").astype(np.int8)
    basis = np.load(tmp / "d" / "basis.npy").astype("<f4")
    o, nb, rows, _ = codes.shape
    t = se_type((n, k), nb, rows, LO, HI)
    decl = se_constant(dense_resource("ce", [o, nb, rows, 3], "i8"),
                       dense_resource("b", [o, nb, 3, 3], "f32"), t)
    blobs = {"ce": blob_hex(codes), "b": blob_hex(basis)}
    err = json.loads((tmp / "d" / "stats.json").read_text())["relative_error"]
    return module(t, decl, blobs, m, n, k), err


def cpu_outputs(text, x, build, tmp):
    """The CPU quantized mode's int8 outputs (sd-opt --sd-cpu-to-llvm, JIT)."""
    m, k = x.shape
    n = int(re.search(r"-> tensor<\d+x(\d+)xi8>", text).group(1))
    x_lit = "[" + ", ".join("[" + ", ".join(map(str, r)) + "]" for r in x.tolist()) + "]"
    entry = f"""
func.func private @printMemrefF32(tensor<*xf32>)
func.func @entry() {{
  %x = arith.constant dense<{x_lit}> : tensor<{m}x{k}xi8>
  %y = call @main(%x) : (tensor<{m}x{k}xi8>) -> tensor<{m}x{n}xi8>
  %f = arith.sitofp %y : tensor<{m}x{n}xi8> to tensor<{m}x{n}xf32>
  %u = tensor.cast %f : tensor<{m}x{n}xf32> to tensor<*xf32>
  call @printMemrefF32(%u) : (tensor<*xf32>) -> ()
  return
}}
"""
    body, resources = text.split("{-#", 1)
    (tmp / "cpu.mlir").write_text(body + entry + "{-#" + resources)
    llvm = subprocess.run([str(build / "bin" / "sd-opt"), str(tmp / "cpu.mlir"),
                           "--sd-cpu-to-llvm"], check=True, capture_output=True,
                          text=True).stdout
    out = subprocess.run(["/usr/lib/llvm-22/bin/mlir-runner", "-e", "entry",
                          "-entry-point-result=void",
                          "-shared-libs=/usr/lib/llvm-22/lib/libmlir_runner_utils.so"],
                         input=llvm, check=True, capture_output=True, text=True).stdout
    data = out.split("data =", 1)[1]
    return np.array([int(float(v)) for v in re.findall(r"-?\d+(?:\.\d+)?", data)],
                    np.int8).reshape(m, n)


def simulate(text, x, build, tmp, tag):
    (tmp / f"{tag}.mlir").write_text(text)
    subprocess.run([str(build / "bin" / "sd-translate"), "--sd-to-sdacc",
                    str(tmp / f"{tag}.mlir"), "-o", str(tmp / f"{tag}.sdacc")], check=True)
    np.save(tmp / "x.npy", x)
    out = tmp / f"{tag}-out"
    subprocess.run([str(build / "bin" / "sd-sim"), str(tmp / f"{tag}.sdacc"),
                    "--input", f"arg0={tmp}/x.npy", "--report", str(tmp / f"{tag}.json"),
                    "--output-dir", str(out), "--compare", "dense"], check=True,
                   capture_output=True)
    r = json.loads((tmp / f"{tag}.json").read_text())
    r["outputs"] = np.load(next(out.glob("*.npy")))
    return r, r["baseline"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=str(ROOT / "build"))
    ap.add_argument("--check", action="store_true",
                    help="also run every PermDNN layer through the CPU quantized "
                    "mode and require the same int8 outputs as sd-sim")
    args = ap.parse_args()
    build = Path(args.build)
    driver = build / "bin" / "sd-decompose-ref-driver"
    rng = np.random.default_rng(0)
    forms = ["dense", "SE", "PD p=4", "PD p=8"]
    rows, totals, breakdown, exact = [], {}, {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for model, name, w, m in fc_layers():
            n, k = w.shape
            x = rng.integers(-127, 128, size=(m, k)).astype(np.int8)
            xs = x.copy()
            xs[rng.random(x.shape) < 0.5] = 0
            res, err = {}, {}
            for sparse, xin in ((False, x), (True, xs)):
                text, err["SE"] = se_module(w, m, driver, tmp)
                se, dense = simulate(text, xin, build, tmp, "se")
                res[("dense", sparse)], res[("SE", sparse)] = dense, se
                for p in (4, 8):
                    text, err[p] = permdiag_module(w, p, m)
                    r, _ = simulate(text, xin, build, tmp, f"pd{p}")
                    res[(f"PD p={p}", sparse)] = r
                    if args.check and not sparse:
                        # The done-means of PermDNN on the accelerator: the
                        # simulator and the CPU quantized mode agree bit for bit.
                        cpu = cpu_outputs(text, xin, build, tmp)
                        same = np.array_equal(cpu, r["outputs"])
                        exact[(model, name, p)] = same
                        if not same:
                            print(f"MISMATCH {model} {name} p={p}", flush=True)
            rows.append((model, name, f"{n}x{k}", m, res, err))
            t = totals.setdefault(model, {})
            b = breakdown.setdefault(model, {})
            for key, r in res.items():
                c, e = t.get(key, (0, 0.0))
                t[key] = (c + r["cycles"], e + r["energy_pj"]["total"])
                parts = b.setdefault(key, {})
                en = r["energy_pj"]
                for group, value in (
                        ("DRAM", en["by_level"]["dram"]),
                        ("global buffers", sum(en["by_level"][k] for k in (
                            "input_buffer", "output_buffer", "weight_buffer", "index_buffer"))),
                        ("register files", sum(en["by_level"][k] for k in (
                            "basis_rf", "weight_rf"))),
                        ("accumulators", en["by_level"]["accumulator_rf"]),
                        ("MACs", en["by_operation"]["mac"]),
                        ("shifts, adds, requant", en["by_operation"]["shift"] +
                         en["by_operation"]["add"] + en["by_operation"]["requant"])):
                    parts[group] = parts.get(group, 0.0) + value
            print(f"{model} {name} {n}x{k}: " + ", ".join(
                f"{f} {res[(f, False)]['cycles']} cyc" for f in forms), flush=True)

    lines = ["# Accelerator: PermDNN against dense and SmartExchange (sd-sim)", "",
             "Generated by `benchmarks/accelerator/permdiag.py`: the fully connected layers "
             "of the real pretrained models, default configuration "
             "(`lib/Accel/configs/smartdeal-default.json`: 16x8x8 MACs, the PermDNN "
             "engine mode as 128 PEs x 8 multipliers, 16 B/cycle DRAM), one energy table. "
             "SE is decomposed to 4-bit Ce (exponents [-6, 0]); PD is the weight "
             "projected onto p x p permuted diagonals (per block the offset keeping the "
             "most energy). `error` is the relative Frobenius error of the weight each "
             "form stores against the pretrained one (before int8 quantization). "
             "Random int8 activations (seeded), then the same with 50 % zero inputs.", "",
             "## Per layer (random activations)", "",
             "| model | layer | N x K | positions | dense cycles | SE cycles | PD4 cycles | PD8 cycles "
             "| dense uJ | SE uJ | PD4 uJ | PD8 uJ | SE error | PD4 error | PD8 error |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for model, name, shape, m, res, err in rows:
        cyc = " | ".join(str(res[(f, False)]["cycles"]) for f in forms)
        en = " | ".join(f"{res[(f, False)]['energy_pj']['total'] / 1e6:.2f}" for f in forms)
        lines.append(f"| {model} | {name} | {shape} | {m} | {cyc} | {en} | "
                     f"{err['SE']:.2f} | {err[4]:.2f} | {err[8]:.2f} |")
    for sparse in (False, True):
        lines += ["", "## Per model, " + ("50 % zero inputs" if sparse else "random activations"), "",
                  "| model | form | cycles | energy (uJ) | dense / form: cycles | dense / form: energy "
                  "| SE / form: cycles | SE / form: energy |",
                  "|---|---|---|---|---|---|---|---|"]
        for model, t in totals.items():
            dc, de = t[("dense", sparse)]
            sc, se_ = t[("SE", sparse)]
            for f in forms:
                c, e = t[(f, sparse)]
                lines.append(f"| {model} | {f} | {c} | {e / 1e6:.2f} | {dc / c:.2f}x | "
                             f"{de / e:.2f}x | {sc / c:.2f}x | {se_ / e:.2f}x |")
    lines += ["", "## Where the energy goes (uJ, random activations)", "",
              "| model | form | " + " | ".join(next(iter(next(iter(breakdown.values())).values()))) + " |",
              "|---|---|" + "---|" * 6]
    for model, b in breakdown.items():
        for f in forms:
            lines.append(f"| {model} | {f} | " + " | ".join(
                f"{v / 1e6:.2f}" for v in b[(f, False)].values()) + " |")
    if args.check:
        lines += ["", f"Bit-exact check (`--check`): sd-sim equals the CPU quantized mode "
                  f"(`sd-opt --sd-cpu-to-llvm`, JIT) on {sum(exact.values())} of "
                  f"{len(exact)} PermDNN layers (p = 4 and 8, random activations)."]
    out = ROOT / "benchmarks" / "results" / "accelerator-permdiag.md"
    out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
