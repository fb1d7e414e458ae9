#!/usr/bin/env python3
"""Helpers for the sd-sim lit tests.

    sdacc_util.py make-net DIR [--kind conv|fc|both]
        writes DIR/spec.json, DIR/x.npy and the weights of a small fixed
        network (seeded), plus DIR/expected_<tensor>.npy from the NumPy
        reference in python/tests/sdacc_reference.py
    sdacc_util.py corrupt MODE IN OUT
        truncate | flip | version: damages a binary program file;
        dim=VALUE sets the first dimension of the first tensor (the
        checksum is updated, so only the declared size is wrong)
    sdacc_util.py edit-text IN OUT OLD NEW
        replaces the first line of IN starting with OLD by NEW
    sdacc_util.py same A B        byte-identical files
    sdacc_util.py equal-npy A B   identical int8 arrays
    sdacc_util.py absent PATH...  none of the paths exists
"""

import os
import struct
import sys
import zlib

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
sys.path.insert(0, os.path.join(ROOT, "python", "tests"))

import sdacc_reference as ref  # noqa: E402


def make_net(out, kind):
    rng = np.random.default_rng(1234)
    os.makedirs(out, exist_ok=True)
    x = rng.integers(-127, 128, size=(1, 16, 12, 12)).astype(np.int8)
    layers = []
    cur, shape = x, list(x.shape)
    plan = {"conv": ["conv"], "fc": ["fc"], "both": ["conv", "fc"]}[kind]
    if kind == "fc":
        cur = x.reshape(1, -1)
        x = cur
        shape = list(cur.shape)
    for i, k in enumerate(plan):
        made = None
        while not made:
            made = ref.random_layer(rng, f"l{i}", shape, k, "se", 192, 4)
        layer, weights = made
        layer["input"] = "x" if i == 0 else f"t{i - 1}"
        layer["output"] = f"t{i}"
        acc = (cur.reshape(cur.shape[0], -1).astype(np.int64) @ weights.T
               if k == "fc" else
               ref.conv_acc(cur, weights.reshape(layer["out_channels"],
                                                 shape[1], *layer["kernel"]),
                            layer["stride"], layer["pad"]))
        layer["shift"] = ref.pick_shift(acc, layer["multiplier"])
        y = ref.layer_forward(cur, layer, weights)
        layers.append((layer, y))
        np.save(os.path.join(out, f"expected_t{i}.npy"), y)
        cur, shape = y, list(y.shape)
    ref.write_network(out, x, layers)


def corrupt(mode, src, dst):
    data = bytearray(open(src, "rb").read())
    if mode == "truncate":
        data = data[:len(data) * 2 // 3]
    elif mode == "flip":
        data[len(data) // 2] ^= 0x40
    elif mode == "version":
        data[8] = 2
    elif mode.startswith("dim="):
        sections = struct.unpack_from("<I", data, 36)[0]
        for i in range(sections):
            kind, _, offset, _ = struct.unpack_from("<IIQQ", data, 48 + 24 * i)
            if kind == 1:  # tensors: count, 0, then role, rank, name, 0, addr
                struct.pack_into("<q", data, offset + 8 + 16, int(mode[4:]))
        struct.pack_into("<I", data, len(data) - 4,
                         zlib.crc32(bytes(data[:-4])))
    else:
        sys.exit(f"unknown corruption {mode}")
    open(dst, "wb").write(bytes(data))


def edit_text(src, dst, old, new):
    lines = open(src).read().split("\n")
    for i, line in enumerate(lines):
        if line.strip().startswith(old):
            lines[i] = "  " + new
            break
    else:
        sys.exit(f"no line starts with {old!r}")
    open(dst, "w").write("\n".join(lines))


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "make-net":
        kind = "both"
        if "--kind" in args:
            kind = args[args.index("--kind") + 1]
        make_net(args[0], kind)
    elif cmd == "corrupt":
        corrupt(*args)
    elif cmd == "edit-text":
        edit_text(*args)
    elif cmd == "same":
        if open(args[0], "rb").read() != open(args[1], "rb").read():
            sys.exit(f"{args[0]} and {args[1]} differ")
    elif cmd == "equal-npy":
        a, b = np.load(args[0]), np.load(args[1])
        if a.dtype != np.int8 or a.shape != b.shape or not np.array_equal(a, b):
            sys.exit(f"{args[0]} and {args[1]} differ")
    elif cmd == "absent":
        present = [p for p in args if os.path.exists(p)]
        if present:
            sys.exit("unexpected output: " + ", ".join(present))
    else:
        sys.exit(f"unknown command {cmd}")


if __name__ == "__main__":
    main()
