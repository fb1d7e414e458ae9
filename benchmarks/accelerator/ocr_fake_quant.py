#!/usr/bin/env python3
"""Which int8 tensors cost the PP-OCRv4 recognizer words: fake quantization in ONNX Runtime.

A diagnosis aid for `--sd-quantize` (benchmarks/results/accelerator-ocr-
quantized.md, "What cost the points"): the driver's float compressed model
(compressed.onnx) gets the accelerator's int8 rounding (round half away,
clamp +-127) inserted as plain ONNX ops on chosen tensors, and depthwise
weights rounded the way the format does (one power-of-two scale per layer,
or per channel, or after channel equalization), so one variant reads 200
words in seconds instead of minutes through the compiled libraries. SE
bases are not rounded here; the compiled pipeline
(ocr_quantize_diagnosis.py, ocr_quantized.py) is the measurement.

Reads $SD_DRIVER_OUT (default ~/.cache/smartdeal/ocr-quantized/driver) and,
from ocr_quantize_diagnosis.py's work folder $SD_DIAG_WORK, q-all.json (which
layers the pass quantizes) and stats-channels.json (calibration statistics
with per-channel ranges).

Usage: ocr_fake_quant.py MODE [WORDS]     SPLIT=test|validation, HEAD=x (range
  headroom), LAYERS=a,b (for one/except), CAP (equalization cap)
  MODE: "CLASSES:FLAGS;..." (classes dw,se,add; flags a = activations,
        w = per-layer power-of-two weights, l = per-layer, c = per-channel,
        2 = per-channel power-of-two), eq, eqio, eqlayer, one, except
"""
import json, os, sys, copy
from pathlib import Path
import numpy as np
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "python"))
import onnx
from onnx import helper, numpy_helper, TensorProto
from smartdeal import models
from smartdeal.data import ocr_rec
from smartdeal.runtime import ort

D = Path(os.environ.get("SD_DRIVER_OUT",
                        Path.home() / ".cache/smartdeal/ocr-quantized/driver"))
W = Path(os.environ.get("SD_DIAG_WORK", Path.home() / ".cache/smartdeal/ocr-diagnosis"))
base = onnx.load(str(D / "compressed.onnx"))
stats = json.loads((W / "stats-channels.json").read_text())["tensors"]
CAP = float(__import__("os").environ.get("CAP", "1e9"))
dec = json.loads((W / "q-all.json").read_text())
accel = [o for o in dec["ops"] if o["target"] == "accelerator"]
real = models.MODELS["ocr-rec"]
N = int(sys.argv[2]) if len(sys.argv) > 2 else 200
test = ocr_rec.samples(__import__("os").environ.get("SPLIT", "test"), N)
xs = [s.x for s in test]

def acc(model):
    outs = ort.run_many(model, xs)
    return ocr_rec.word_accuracy(lambda x, it=iter(outs): next(it), real.path, test).value

def fq(model, tensor, scale, tag):
    """Inserts Q/DQ on `tensor` (all consumers read the fake-quantized one)."""
    g = model.graph
    s = numpy_helper.from_array(np.asarray(scale, np.float32), f"{tag}_s")
    h = numpy_helper.from_array(np.array(0.5, np.float32), f"{tag}_h")
    g.initializer.extend([s, h])
    t = f"{tag}_"
    nodes_ = [helper.make_node("Div", [tensor, s.name], [t + "t"]),
              helper.make_node("Abs", [t + "t"], [t + "a"]),
              helper.make_node("Add", [t + "a", h.name], [t + "ah"]),
              helper.make_node("Floor", [t + "ah"], [t + "f"]),
              helper.make_node("Sign", [t + "t"], [t + "sg"]),
              helper.make_node("Mul", [t + "sg", t + "f"], [t + "r"]),
              helper.make_node("Clip", [t + "r"], [t + "c"], min=-127.0, max=127.0),
              helper.make_node("Mul", [t + "c", s.name], [f"{tag}_dq"])]
    for n in g.node:
        for i, inp in enumerate(n.input):
            if inp == tensor:
                n.input[i] = f"{tag}_dq"

    for o in g.output:
        if o.name == tensor:
            raise SystemExit("output")
    # insert after producer
    idx = next((i for i, n in enumerate(g.node) if tensor in n.output), -1)
    for k, nd in enumerate(nodes_):
        g.node.insert(idx + 1 + k, nd)

def pow2_round(w):
    m = float(np.abs(w).max())
    f = 30
    while f > -24 and m * 2.0 ** f > 127:
        f -= 1
    return np.clip(np.round(w * 2.0 ** f), -127, 127) / 2.0 ** f

def per_channel(w, pow2):
    out = np.empty_like(w)
    for c in range(w.shape[0]):
        m = float(np.abs(w[c]).max()) or 1.0
        if pow2:
            out[c] = pow2_round(w[c])
        else:
            s = m / 127
            out[c] = np.clip(np.round(w[c] / s), -127, 127) * s
    return out

def layer_arbitrary(w):
    s = float(np.abs(w).max()) / 127
    return np.clip(np.round(w / s), -127, 127) * s

WMODE = "w"
def quant_weight(model, node_name):
    g = model.graph
    n = next(n for n in g.node if n.name == node_name)
    c = next(c for c in g.node if c.op_type == "Constant" and c.output[0] == n.input[1])
    attr = c.attribute[0]
    w = numpy_helper.to_array(attr.t)
    q = {"w": pow2_round, "l": layer_arbitrary, "c": lambda w: per_channel(w, False),
         "2": lambda w: per_channel(w, True)}[WMODE](w).astype(np.float32)
    attr.t.CopyFrom(numpy_helper.from_array(q, n.input[1]))

nodes = {n.name: n for n in base.graph.node}
def variant(classes, acts=True, weights=True, scale_of=None):
    m = copy.deepcopy(base)
    done = set()
    k = 0
    for o in accel:
        op = o["op"]
        cls = ("dw" if "depthwise" in op else "se" if "shift_add" in op else
               "dense" if op == "linalg.conv_2d_nchw_fchw" else
               "fc" if op in ("linalg.batch_matmul", "linalg.matmul") else "add")
        if cls not in classes:
            continue
        n = nodes[o["name"]]
        if weights and cls in ("dw", "dense", "fc"):
            quant_weight(m, o["name"])
        if acts:
            ins = [n.input[0]] if cls != "add" else list(n.input[:2])
            for t in ins + [n.output[0]]:
                if t in done:
                    continue
                done.add(t)
                # scale from the producer's stats name
                prod = next((p.name for p in m.graph.node if t in p.output), None)
                name = prod if prod in stats else ("arg0" if prod is None else None)
                if name is None:
                    print("no stats for", t, prod); continue
                sc = (scale_of or (lambda nm: stats[nm]["max_abs"] / 127))(name)
                fq(m, t, sc, f"fq{k}"); k += 1
    return m

def factors(name):
    r = np.asarray(stats[name]["channel_max_abs"])
    R = r.max()
    f = np.where(r > 0, R / np.maximum(r, 1e-30), 1.0)
    return np.minimum(f, CAP)

def equalized_dw(classes_acts=True, which=("in", "out"), layers=None):
    m = copy.deepcopy(base)
    k = 0
    done = set()
    for o in accel:
        if "depthwise" not in o["op"]:
            continue
        if layers is not None and o["name"] not in layers:
            continue
        n = nodes[o["name"]]
        xin = n.input[0]
        prod = next((p.name for p in m.graph.node if xin in p.output), None)
        beta = factors(prod)
        alpha = factors(o["name"])
        c = next(c for c in m.graph.node if c.op_type == "Constant" and c.output[0] == n.input[1])
        w = numpy_helper.to_array(c.attribute[0].t)
        sh = (-1,) + (1,) * (w.ndim - 1)
        wp = w * (alpha / beta).reshape(sh)
        wq = pow2_round(wp) * (beta / alpha).reshape(sh)
        c.attribute[0].t.CopyFrom(numpy_helper.from_array(wq.astype(np.float32), n.input[1]))
        if classes_acts:
            for t, nm, f, wh in ((xin, prod, beta, "in"), (n.output[0], o["name"], alpha, "out")):
                if t in done or wh not in which: continue
                done.add(t)
                sc = (float(__import__("os").environ.get("HEAD", "1")) * stats[nm]["max_abs"] / 127 / f).astype(np.float32).reshape(1, -1, 1, 1)
                fq(m, t, sc, f"fq{k}"); k += 1
    return m

def equalized_dense(kind, layers=None):
    """Dense convolutions with row equalization: `weights` (alpha from the
    weight rows, as --sd-quantize does) or `acts` (alpha from the output
    channel ranges); weights per layer power of two, activations in and out
    per tensor (outputs in the alpha-scaled domain)."""
    m = copy.deepcopy(base)
    k = 0
    done = set()
    for o in accel:
        if o["op"] != "linalg.conv_2d_nchw_fchw" or not o.get("channels_equalized"):
            continue
        if layers is not None and o["name"] not in layers:
            continue
        n = nodes[o["name"]]
        c = next(c for c in m.graph.node if c.op_type == "Constant" and c.output[0] == n.input[1])
        w = numpy_helper.to_array(c.attribute[0].t)
        rows = np.abs(w.reshape(w.shape[0], -1)).max(axis=1)
        r = np.asarray(stats[o["name"]]["channel_max_abs"])
        if kind == "weights":
            alpha = np.minimum(np.where(rows > 0, rows.max() / np.maximum(rows, 1e-30), 1), 1024)
            kappa = float(os.environ.get("KAPPA", "0"))
            if kappa:
                alpha = np.maximum(np.minimum(alpha, kappa * r.max() / np.maximum(r, 1e-30)), 1)
        else:
            alpha = np.minimum(np.where(r > 0, r.max() / np.maximum(r, 1e-30), 1), 1024)
        sh = (-1,) + (1,) * (w.ndim - 1)
        wq = pow2_round(w * alpha.reshape(sh)) / alpha.reshape(sh)
        c.attribute[0].t.CopyFrom(numpy_helper.from_array(wq.astype(np.float32), n.input[1]))
        xin = n.input[0]
        prod = next((p.name for p in m.graph.node if xin in p.output), None)
        if xin not in done and prod in stats:
            done.add(xin)
            fq(m, xin, stats[prod]["max_abs"] / 127, f"fd{k}"); k += 1
        out = n.output[0]
        if out not in done:
            done.add(out)
            sc = (np.max(alpha * r) / 127 / alpha).astype(np.float32).reshape(1, -1, 1, 1)
            fq(m, out, sc, f"fd{k}"); k += 1
    return m

def main():
    global WMODE
    print("float", acc(base), flush=True)
    if sys.argv[1] == "eq":
        print("eq w", acc(equalized_dw(False)), flush=True)
        print("eq aw", acc(equalized_dw(True)), flush=True)
        return
    if sys.argv[1] == "denselayer":
        for o in accel:
            if o["op"] == "linalg.conv_2d_nchw_fchw" and o.get("channels_equalized"):
                print(o["name"], acc(equalized_dense("weights", {o["name"]})), flush=True)
        return
    if sys.argv[1] == "eqdense":
        print("dense rows from weights", acc(equalized_dense("weights")), flush=True)
        print("dense rows from outputs", acc(equalized_dense("acts")), flush=True)
        return
    if sys.argv[1] == "eqio":
        print("eq in", acc(equalized_dw(True, ("in",))), flush=True)
        print("eq out", acc(equalized_dw(True, ("out",))), flush=True)
        return
    if sys.argv[1] == "except":
        import os
        skip = set(os.environ["LAYERS"].split(","))
        keep = {o["name"] for o in accel if "depthwise" in o["op"]} - skip
        print("all dw except", sorted(skip), acc(equalized_dw(True, ("in", "out"), keep)), flush=True)
        return
    if sys.argv[1] == "one":
        import os
        names = set(os.environ["LAYERS"].split(","))
        for wh in (("in",), ("out",)):
            print(sorted(names), wh, acc(equalized_dw(True, wh, names)), flush=True)
        return
    if sys.argv[1] == "eqlayer":
        for o in accel:
            if "depthwise" in o["op"]:
                print(o["name"], acc(equalized_dw(True, ("in", "out"), {o["name"]})), flush=True)
        return
    for spec in sys.argv[1].split(";"):
        cls, mode = spec.split(":")

        wm = [c for c in mode if c in "wlc2"]
        WMODE = wm[0] if wm else "w"
        m = variant(set(cls.split(",")), acts="a" in mode, weights=bool(wm))
        print(spec, acc(m), flush=True)
if __name__ == "__main__":
    main()
