#!/usr/bin/env python3
"""Accuracy against compression on a real pretrained model (PP-OCRv4 rec).

For the layers sd-decompose compresses, compares at each threshold:
weight-only SmartExchange (the reference algorithm), data-aware
SmartExchange (bases refit to layer outputs on calibration words), and
per-output-channel symmetric int8/int6/int5 quantization of the same layers.
Accuracy is exact-match word accuracy on words from Debian's word list
rendered in DejaVu Sans (evaluation seed 0, calibration seed 1, disjoint
samples). Compression counts all candidate weight layers (those left dense
at 32 bits). Writes benchmarks/results/ocr_frontier.md.

Usage: ocr_frontier.py [--words 50] [--calibration 20]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "python"))

from smartdeal import calibrate, compressed, export, importers, models, ocr  # noqa
from smartdeal.compressed import CompressedLayer  # noqa
from smartdeal.importers.onnx_reference import OnnxReference  # noqa
from smartdeal.runner import find_sd_opt  # noqa


def accuracy(model_proto, path, sample):
    ref = OnnxReference(model_proto)
    name = ref.input_names[0]
    return ocr.word_accuracy(lambda x: ref.run({name: x})[0], path, sample)


def quantized_layers(layers, bits):
    """Per-output-channel symmetric quantize-dequantize of the same weights."""
    out = []
    q = (1 << (bits - 1)) - 1
    for l in layers:
        w = l.original.reshape(l.original.shape[0], -1)
        scale = np.maximum(np.abs(w).max(axis=1, keepdims=True), 1e-30) / q
        deq = (np.clip(np.round(w / scale), -q, q) * scale).reshape(l.original.shape)
        out.append(CompressedLayer(l.name, l.shape, deq.astype(np.float32), 0, 0))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--words", type=int, default=50)
    ap.add_argument("--calibration", type=int, default=20)
    ap.add_argument("--thresholds", default="1e-3,4e-3,2e-2")
    args = ap.parse_args()
    real = models.MODELS["ocr-rec"]
    path = real.path
    sd_opt = find_sd_opt()
    sample = ocr.words(args.words, seed=0)
    calib = [{"x": ocr.render(w)} for w in ocr.words(args.calibration, seed=1)]
    base = onnx.load(str(path))
    rows = []
    base_acc = accuracy(base, path, sample)
    rows.append(("dense fp32", "-", 1.0, base_acc))
    print(f"dense: {base_acc:.1%}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        mlir = tmp / "model.mlir"
        importers.import_onnx(str(path), output=str(mlir), input_shapes=real.input_shapes,
                              fold_batchnorm=False)
        for t in args.thresholds.split(","):
            out, rep = tmp / f"c{t}.mlir", tmp / f"r{t}.json"
            subprocess.run([sd_opt, str(mlir), f"--sd-decompose=threshold={t} report={rep}",
                            "-o", str(out)], check=True, capture_output=True)
            report = json.loads(rep.read_text())
            ratio = report["totals"]["compression_ratio"]
            layers = compressed.load(rep, out)
            m = onnx.load(str(path))
            export.replace_weights(m, layers)
            acc_w = accuracy(m, path, sample)
            rows.append(("SmartExchange, weight-only", t, ratio, acc_w))
            print(f"theta {t}: weight-only {ratio:.2f}x {acc_w:.1%}", flush=True)
            calibrate.refit(path, out, rep, calib)
            layers = compressed.load(rep, out)
            m = onnx.load(str(path))
            export.replace_weights(m, layers)
            acc_d = accuracy(m, path, sample)
            rows.append(("SmartExchange, data-aware", t, ratio, acc_d))
            print(f"theta {t}: data-aware {ratio:.2f}x {acc_d:.1%}", flush=True)
            if t == args.thresholds.split(",")[0]:
                # int-b over the same layers, storage with a 32-bit scale per row.
                inits = {i.name: numpy_helper.to_array(i) for i in base.graph.initializer}
                consts = {n.output[0]: n for n in base.graph.node if n.op_type == "Constant"}
                nodes = {n.name: n for n in base.graph.node}
                for l in layers:
                    node = nodes[l.name]
                    wn = node.input[1]
                    w = (inits[wn] if wn in inits else numpy_helper.to_array(
                        next(a.t for a in consts[wn].attribute if a.name == "value")))
                    # Canonical layout (outputs first), as the exporter expects.
                    trans_b = any(a.name == "transB" and a.i for a in node.attribute)
                    if node.op_type == "MatMul" or (node.op_type == "Gemm" and not trans_b):
                        w = w.T
                    l.original = np.ascontiguousarray(w)
                dense_bits = report["totals"]["dense_bits"]
                se_layers = {l["name"]: l for l in report["layers"] if l["form"] == "se"}
                other_bits = dense_bits - sum(l["dense_bits"] for l in se_layers.values())
                for bits in (8, 6, 5):
                    qbits = sum(l.original.size * bits + l.original.shape[0] * 32
                                for l in layers)
                    q_ratio = dense_bits / (other_bits + qbits)
                    m = onnx.load(str(path))
                    export.replace_weights(m, quantized_layers(layers, bits))
                    acc_q = accuracy(m, path, sample)
                    rows.append((f"per-channel int{bits}", "-", q_ratio, acc_q))
                    print(f"int{bits}: {q_ratio:.2f}x {acc_q:.1%}", flush=True)
    lines = ["# Accuracy against compression: PP-OCRv4 text recognizer", "",
             f"Word accuracy on {args.words} rendered words (exact match); data-aware "
             f"fits use {args.calibration} other words. Compression is over all "
             "51 candidate weight layers (layers left dense count at 32 bits).", "",
             "| method | threshold | compression | word accuracy |",
             "|---|---|---|---|"]
    for name, t, ratio, acc in rows:
        lines.append(f"| {name} | {t} | {ratio:.2f}x | {acc:.1%} |")
    out = ROOT / "benchmarks" / "results" / "ocr_frontier.md"
    out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
