#!/usr/bin/env python3
"""NumPy reference of the accelerator's integer arithmetic, and the
differential test of sd-sim against it.

The reference implements docs/QuantizedArithmetic.md on its own (it shares
no code with the C++ simulator): Ce codes and int8 bases rebuild int64
weights by shifts and adds, convolutions and fully connected layers sum
int8 activations times those weights exactly in int64, the bias is added,
the accumulator saturated to +-(2^47 - 1), multiplied by M, rounded half up
by an arithmetic shift of S and clamped to [-127 or 0, 127].

    sdacc_reference.py diff --work DIR [--seed N] [--count N]
        [--config CFG.json] [--loop-order auto|bands|groups] [--tools DIR]

generates random networks (convolutions with 1x1, 3x3 and 5x1 kernels,
strides, asymmetric zero padding, fully connected layers, SmartExchange and
dense weights, sparse Ce rows, several blocks, batches), builds each with
sd-acc-build-driver, runs sd-sim and requires every output to equal the
reference bit for bit. --config runs on another hardware configuration (the
tests use tiny buffers so every tiling path is taken). Tools are found on
PATH or in --tools.

    sdacc_reference.py example --work DIR [--sparsity 0.5] [--tools DIR]

prints cycles, utilization, DRAM bytes and energy of a 64-channel 3x3
convolution on 28x28 and of a 1024 x 1024 fully connected layer, with
structured Ce-row sparsity, against the dense baseline.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys

import numpy as np

ACC_LIMIT = (1 << 47) - 1


# --------------------------------------------------------------------------
# The arithmetic contract
# --------------------------------------------------------------------------

def rebuild(codes, basis, row_length):
    """Rebuilt integer weights [K, L] from codes [K, nb, rows, 3] and bases
    [K, nb, 3, 3]: W[j] = sum_k sign(c_k) * (b[k, j] << (|c_k| - 1))."""
    codes = codes.astype(np.int64)
    basis = basis.astype(np.int64)
    mag = np.abs(codes)
    shifted = np.where(mag > 0, np.left_shift(1, np.maximum(mag - 1, 0)), 0)
    coeff = np.sign(codes) * shifted  # [K, nb, rows, 3] exact powers of two
    rows = np.einsum("obrk,obkj->obrj", coeff, basis)  # int64, exact
    k = codes.shape[0]
    flat = rows.reshape(k, -1)
    return flat[:, :row_length]


def requantize(acc, multiplier, shift, relu):
    acc = np.clip(acc, -ACC_LIMIT, ACC_LIMIT).astype(np.int64)
    t = acc * np.int64(multiplier)
    y = (t + (np.int64(1) << np.int64(shift - 1))) >> np.int64(shift)
    lo = 0 if relu else -127
    return np.clip(y, lo, 127).astype(np.int8)


def conv_acc(x, w, stride, pad):
    """int64 accumulators of a convolution. x [N, C, H, W] int8, w [K, C, R, S]
    int64, pad (top, left, bottom, right)."""
    n, c, h, wd = x.shape
    k, _, r, s = w.shape
    top, left, bottom, right = pad
    xp = np.zeros((n, c, h + top + bottom, wd + left + right), np.int64)
    xp[:, :, top:top + h, left:left + wd] = x
    oh = (h + top + bottom - r) // stride[0] + 1
    ow = (wd + left + right - s) // stride[1] + 1
    acc = np.zeros((n, k, oh, ow), np.int64)
    for i in range(r):
        for j in range(s):
            patch = xp[:, :, i:i + stride[0] * oh:stride[0],
                       j:j + stride[1] * ow:stride[1]]
            acc += np.einsum("nchw,kc->nkhw", patch, w[:, :, i, j])
    return acc


def layer_forward(x, layer, weights):
    """One layer: x int8, weights int64 [K, L]."""
    k = layer["out_channels"]
    bias = layer.get("_bias")
    if layer["kind"] == "fc":
        xf = x.reshape(x.shape[0], -1).astype(np.int64)
        acc = xf @ weights.T
        if bias is not None:
            acc = acc + bias[None, :]
    else:
        r, s = layer["kernel"]
        c = x.shape[1]
        acc = conv_acc(x, weights.reshape(k, c, r, s), layer["stride"],
                       layer["pad"])
        if bias is not None:
            acc = acc + bias[None, :, None, None]
    return requantize(acc, layer["multiplier"], layer["shift"],
                      layer["relu"])


# --------------------------------------------------------------------------
# Random networks
# --------------------------------------------------------------------------

def canonical_blocks(rows, max_rows):
    nb = -(-rows // max_rows)
    return nb, -(-rows // nb)


def pick_shift(acc_sample, multiplier):
    """A shift that maps typical accumulators to int8 without saturating
    everything (any value is legal; this keeps the outputs informative)."""
    spread = float(np.percentile(np.abs(acc_sample), 90)) + 1.0
    shift = int(round(np.log2(spread * multiplier / 60.0)))
    return int(min(max(shift, 1), 62))


def random_layer(rng, name, x_shape, kind, fmt, max_block_rows, code_bits):
    n = x_shape[0]
    layer = {"name": name, "kind": kind, "format": fmt,
             "relu": bool(rng.random() < 0.5)}
    k = int(rng.integers(1, 24))
    layer["out_channels"] = k
    if kind == "fc":
        c, r, s = int(np.prod(x_shape[1:])), 1, 1
        layer["kernel"], layer["stride"], layer["pad"] = [1, 1], [1, 1], [
            0, 0, 0, 0]
    else:
        c = x_shape[1]
        r, s = [(1, 1), (3, 3), (3, 3), (5, 1), (2, 3)][int(rng.integers(5))]
        sh, sw = int(rng.integers(1, 3)), int(rng.integers(1, 3))
        pad = [int(rng.integers(0, r)), int(rng.integers(0, s)),
               int(rng.integers(0, r)), int(rng.integers(0, s))]
        h, w = x_shape[2], x_shape[3]
        # Keep the window inside the padded input.
        while h + pad[0] + pad[2] < r:
            pad[2] += 1
        while w + pad[1] + pad[3] < s:
            pad[3] += 1
        if pad[2] >= r or pad[3] >= s:
            return None
        oh = (h + pad[0] + pad[2] - r) // sh + 1
        ow = (w + pad[1] + pad[3] - s) // sw + 1
        # The last window must hold a real row and column.
        if (oh - 1) * sh - pad[0] > h - 1 or (ow - 1) * sw - pad[1] > w - 1:
            return None
        layer["kernel"], layer["stride"], layer["pad"] = [r, s], [sh, sw], pad
    row_length = c * r * s
    rows = -(-row_length // 3)
    if fmt == "se":
        nb, br = canonical_blocks(rows, max_block_rows)
        levels = int(rng.integers(1, (1 << (code_bits - 1))))
        min_exp = int(rng.integers(-8, 1))
        layer.update(blocks=nb, block_rows=br, min_exp=min_exp,
                     max_exp=min_exp + levels - 1, code_bits=code_bits,
                     frac_bits_b=6)
        codes = rng.integers(-levels, levels + 1, size=(k, nb, br, 3))
        codes[rng.random((k, nb, br, 3)) < 0.3] = 0
        # Vector-wise sparsity: whole zero rows, shared by all outputs of a
        # layer half the time (as SmartDeal's structured pruning does).
        frac = rng.random() * 0.9
        if rng.random() < 0.5:
            zero = rng.random((1, nb, br, 1)) < frac
            codes = codes * ~zero
        else:
            codes[rng.random((k, nb, br)) < frac] = 0
        # Padding rows carry no weights; the builder drops them anyway.
        flat = codes.reshape(k, nb * br, 3)
        flat[:, rows:, :] = 0
        codes = flat.reshape(k, nb, br, 3).astype(np.int8)
        basis = rng.integers(-127, 128, size=(k, nb, 3, 3)).astype(np.int8)
        layer["_codes"], layer["_basis"] = codes, basis
        weights = rebuild(codes, basis, row_length)
    else:
        weights8 = rng.integers(-127, 128, size=(k, row_length)).astype(np.int8)
        layer["_weights"] = weights8
        weights = weights8.astype(np.int64)
    layer["multiplier"] = int(rng.integers(1 << 14, 1 << 15))
    return layer, weights


def random_network(rng, max_block_rows, code_bits):
    n = int(rng.integers(1, 4))
    if rng.random() < 0.3:
        x_shape = [n, int(rng.integers(1, 300))]
        kinds = ["fc"] * int(rng.integers(1, 3))
    else:
        x_shape = [n, int(rng.integers(1, 40)), int(rng.integers(1, 14)),
                   int(rng.integers(1, 14))]
        kinds = ["conv"] * int(rng.integers(1, 3))
        if rng.random() < 0.4:
            kinds.append("fc")
    x = rng.integers(-127, 128, size=x_shape).astype(np.int8)
    layers, shape, cur = [], list(x_shape), x
    for i, kind in enumerate(kinds):
        fmt = "se" if rng.random() < 0.75 else "dense"
        made = None
        for _ in range(20):
            made = random_layer(rng, f"l{i}", shape, kind, fmt,
                                max_block_rows, code_bits)
            if made:
                break
        if not made:
            break
        layer, weights = made
        layer["input"] = "x" if i == 0 else f"t{i - 1}"
        layer["output"] = f"t{i}"
        # Bias and shift sized from this layer's real accumulators, so the
        # outputs neither vanish nor all saturate.
        acc_probe = (cur.reshape(cur.shape[0], -1).astype(np.int64) @
                     weights.T if kind == "fc" else
                     conv_acc(cur, weights.reshape(
                         layer["out_channels"], shape[1], *layer["kernel"]),
                         layer["stride"], layer["pad"]))
        spread = int(np.abs(acc_probe).max()) + 1
        if rng.random() < 0.8:
            layer["_bias"] = rng.integers(-spread, spread + 1,
                                          size=layer["out_channels"]
                                          ).astype(np.int64)
        layer["shift"] = pick_shift(acc_probe, layer["multiplier"])
        out = layer_forward(cur, layer, weights)
        layers.append((layer, out))
        cur, shape = out, list(out.shape)
    return x, layers


def write_network(work, x, layers):
    os.makedirs(work, exist_ok=True)
    np.save(os.path.join(work, "x.npy"), x)
    spec = {"inputs": [{"name": "x", "shape": list(x.shape)}], "layers": [],
            "outputs": []}
    for layer, _ in layers:
        entry = {k: v for k, v in layer.items() if not k.startswith("_")}
        name = layer["name"]
        for key in ("codes", "basis", "weights", "bias"):
            arr = layer.get("_" + key)
            if arr is not None:
                np.save(os.path.join(work, f"{name}_{key}.npy"), arr)
                entry[key] = f"{name}_{key}.npy"
        spec["layers"].append(entry)
        spec["outputs"].append(layer["output"])
    with open(os.path.join(work, "spec.json"), "w") as f:
        json.dump(spec, f, indent=1)


# --------------------------------------------------------------------------
# Differential test
# --------------------------------------------------------------------------

def tool(name, tools_dir):
    if tools_dir:
        for sub in ("", "bin"):
            path = os.path.join(tools_dir, sub, name)
            if os.access(path, os.X_OK):
                return path
    found = shutil.which(name)
    if not found:
        sys.exit(f"error: {name} not found on PATH or in --tools")
    return found


def run(cmd):
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit("error: command failed: " + " ".join(cmd) + "\n" +
                 proc.stdout + proc.stderr)
    return proc


def diff(args):
    driver = tool("sd-acc-build-driver", args.tools)
    sim = tool("sd-sim", args.tools)
    config_args = ["--config", args.config] if args.config else []
    code_bits, row_limit = 4, 192
    if args.config:
        with open(args.config) as f:
            cfg = json.load(f)
        code_bits = cfg["precision"]["ce_bits"]
        # Blocks must fit the PE lines' weight register files.
        row_limit = min(192, cfg["pe_array"]["dim_c"] *
                        cfg["rebuild_engine"]["weight_rf_rows"])
    rng = np.random.default_rng(args.seed)
    checked = layers_checked = 0
    for case in range(args.count):
        work = os.path.join(args.work, f"case{case}")
        if os.path.isdir(work):
            shutil.rmtree(work)
        max_rows = min(row_limit, [192, 7, 16, 40][case % 4])
        x, layers = random_network(rng, max_rows, code_bits)
        if not layers:
            continue
        write_network(work, x, layers)
        program = os.path.join(work, "net.sdacc")
        run([driver, "build", os.path.join(work, "spec.json"), "-o", program,
             "--schedule", os.path.join(work, "schedule.json"),
             "--loop-order", args.loop_order] + config_args)
        out_dir = os.path.join(work, "out")
        report = os.path.join(work, "report.json")
        run([sim, program, "--input", "x=" + os.path.join(work, "x.npy"),
             "--output-dir", out_dir, "--report", report] + config_args)
        for layer, expected in layers:
            got = np.load(os.path.join(out_dir, layer["output"] + ".npy"))
            if got.dtype != np.int8 or got.shape != expected.shape or \
                    not np.array_equal(got, expected):
                bad = np.argwhere(got != expected) if got.shape == \
                    expected.shape else "shape"
                sys.exit(f"MISMATCH case {case} layer {layer['name']} "
                         f"({layer['kind']}, {layer['format']}): first "
                         f"differences at {bad[:5] if len(bad) else bad}; "
                         f"work dir {work}")
            layers_checked += 1
        with open(report) as f:
            rep = json.load(f)
        assert rep["cycles"] > 0 and rep["energy_pj"]["total"] > 0
        checked += 1
    print(f"sdacc differential: {checked} networks, {layers_checked} layers "
          f"bit-exact")


def structured_layer(rng, name, kind, c, k, sparsity, hw=None):
    """A se layer with 4-bit codes over [-6, 0] and SmartDeal's structured
    sparsity: each group of 32 output filters shares its zero Ce rows."""
    r = s = 3 if kind == "conv" else 1
    row_length = c * r * s
    rows = -(-row_length // 3)
    nb, br = canonical_blocks(rows, 192)
    codes = rng.integers(-7, 8, size=(k, nb, br, 3))
    codes[rng.random((k, nb, br, 3)) < 0.3] = 0
    for g in range(0, k, 32):
        zero = rng.random((1, nb, br, 1)) < sparsity
        codes[g:g + 32] = codes[g:g + 32] * ~zero
    flat = codes.reshape(k, nb * br, 3)
    flat[:, rows:, :] = 0
    layer = {"name": name, "kind": kind, "format": "se", "out_channels": k,
             "kernel": [r, s], "stride": [1, 1],
             "pad": [r // 2, s // 2, r // 2, s // 2], "blocks": nb,
             "block_rows": br, "min_exp": -6, "max_exp": 0, "code_bits": 4,
             "frac_bits_b": 6, "multiplier": 20000, "shift": 30,
             "relu": True,
             "_codes": flat.reshape(k, nb, br, 3).astype(np.int8),
             "_basis": rng.integers(-127, 128, size=(k, nb, 3, 3)
                                    ).astype(np.int8)}
    return layer


def example(args):
    """Cycles and energy of a 3x3 convolution and a fully connected layer,
    SmartExchange against the dense baseline (docs/Accelerator.md)."""
    driver = tool("sd-acc-build-driver", args.tools)
    sim = tool("sd-sim", args.tools)
    rng = np.random.default_rng(0)
    cases = [("conv3x3", "conv", [1, 64, 28, 28], 64),
             ("fc", "fc", [1, 1024], 1024)]
    print("| layer | mode | cycles | utilization | DRAM bytes | energy (uJ) "
          "|")
    print("|---|---|---|---|---|---|")
    for name, kind, shape, k in cases:
        work = os.path.join(args.work, name)
        os.makedirs(work, exist_ok=True)
        layer = structured_layer(rng, name, kind, shape[1], k, args.sparsity)
        layer["input"], layer["output"] = "x", "y"
        x = rng.integers(-127, 128, size=shape).astype(np.int8)
        write_network(work, x, [(layer, None)])
        program = os.path.join(work, "net.sdacc")
        run([driver, "build", os.path.join(work, "spec.json"), "-o", program])
        report = os.path.join(work, "report.json")
        run([sim, program, "--input", "x=" + os.path.join(work, "x.npy"),
             "--report", report, "--compare", "dense"])
        with open(report) as f:
            rep = json.load(f)
        for mode, r in (("smartexchange", rep), ("dense", rep["baseline"])):
            dram = r["traffic_bytes"]["dram"]
            print(f"| {name} | {mode} | {r['cycles']} | "
                  f"{r['utilization']:.3f} | {dram['read'] + dram['write']} | "
                  f"{r['energy_pj']['total'] / 1e6:.2f} |")
        ratio = rep["dense_over_smartexchange"]
        print(f"| {name} | dense / se | {ratio['cycles']:.2f}x | | "
              f"{ratio['dram_bytes']:.2f}x | {ratio['energy']:.2f}x |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    d = sub.add_parser("diff", help="random networks: sd-sim vs NumPy")
    d.add_argument("--work", required=True)
    d.add_argument("--seed", type=int, default=1)
    d.add_argument("--count", type=int, default=20)
    d.add_argument("--config")
    d.add_argument("--loop-order", default="auto",
                   choices=["auto", "bands", "groups"])
    d.add_argument("--tools")
    e = sub.add_parser("example", help="conv and FC: se vs dense baseline")
    e.add_argument("--work", required=True)
    e.add_argument("--sparsity", type=float, default=0.5,
                   help="fraction of zero Ce rows")
    e.add_argument("--tools")
    args = parser.parse_args()
    if args.command == "diff":
        diff(args)
    elif args.command == "example":
        example(args)


if __name__ == "__main__":
    main()
