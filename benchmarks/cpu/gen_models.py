#!/usr/bin/env python3
"""Writes the CPU benchmark's MLIR models into a work folder.

For every fully connected shape N x K and batch B:
  fc_se_<N>x<K>_b<B>:    a SmartExchange layer (sd.shift_add_matmul) with
                         random codes (about 85 % non-zero, exponents as the
                         decomposition produces them) and random bases;
  fc_dense_<N>x<K>_b<B>: the same layer dense in linalg, with W passed in, so
                         upstream MLIR's default lowering is the baseline;
  fc_pd<P>_<N>x<K>_b<B>: a PermDNN layer (sd.permdiag_matmul) with p = P,
                         random offsets and values. p = 4 stores about as many
                         bytes as the SE layer (4 bytes per 4 weights against
                         one code byte per weight); 8 and 16 store less.
Weights are dense_resource blobs written here, never committed.
Usage: gen_models.py OUTDIR
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "python"))
from smartdeal.ir.emitter import (blob_hex, dense_resource, func_module,  # noqa: E402
                                  permdiag_constant, permdiag_type, sd_op, se_constant,
                                  se_type, tensor_type)

FC_SHAPES = [(4096, 4096), (4096, 1024), (1024, 4096)]
BATCHES = [1, 64]
PERMDIAG_PS = [4, 8, 16]
rng = np.random.default_rng(0)


def fc_body(name, x_shape, n, weight_decl, weight_type, op, blobs):
    """`@name(%x) -> x W^T` on the sd weight `weight_decl`, zero init."""
    b = x_shape[0]
    x, y = tensor_type(x_shape), tensor_type([b, n])
    lines = [f"%w = {weight_decl}",
             "%zero = arith.constant 0.0 : f32",
             f"%e = tensor.empty() : {y}",
             f"%init = linalg.fill ins(%zero : f32) outs(%e : {y}) -> {y}",
             "%y = " + sd_op(op, [("%x", x), ("%w", weight_type)], y, init=("%init", y))]
    return func_module([("%x", x)], ("%y", y), lines, blobs, name=name)


def fc_permdiag(n, k, b, p):
    rb, cb = -(-n // p), -(-k // p)
    offsets = rng.integers(0, p, size=(rb, cb)).astype(np.int32)
    values = rng.standard_normal((rb, cb, p)).astype(np.float32)
    name = f"fc_pd{p}_{n}x{k}_b{b}"
    t = permdiag_type((n, k), p)
    decl = permdiag_constant(dense_resource(f"{name}_k", [rb, cb], "i32"),
                             dense_resource(f"{name}_v", [rb, cb, p], "f32"), t)
    text = fc_body(name, [b, k], n, decl, t, "permdiag_matmul",
                   {f"{name}_k": blob_hex(offsets), f"{name}_v": blob_hex(values)})
    # The kernel keeps offsets as one byte each (p <= 128).
    return name, text, values.nbytes + offsets.size


def layout(k, max_rows=192):
    m0 = -(-k // 3)
    nb = -(-m0 // max_rows)
    return nb, -(-m0 // nb)


def fc_se(n, k, b):
    nb, rows = layout(k)
    codes = rng.integers(6, 12, size=(n, nb, rows, 3)) * rng.choice([-1, 1], size=(n, nb, rows, 3))
    codes[rng.random(codes.shape) < 0.15] = 0
    codes = codes.astype(np.int8)
    basis = rng.standard_normal((n, nb, 3, 3)).astype(np.float32)
    name = f"fc_se_{n}x{k}_b{b}"
    se = se_type((n, k), nb, rows, -8, 5)
    decl = se_constant(dense_resource(f"{name}_ce", [n, nb, rows, 3], "i8"),
                       dense_resource(f"{name}_b", [n, nb, 3, 3], "f32"), se)
    text = fc_body(name, [b, k], n, decl, se, "shift_add_matmul",
                   {f"{name}_ce": blob_hex(codes), f"{name}_b": blob_hex(basis)})
    # The kernel stores the codes (6 magnitudes here) as 4-bit nibbles in
    # planes of 16-row groups: n * nb * 3 * align16(rows) / 2 bytes.
    planes = n * nb * 3 * (-(-rows // 16) * 16) // 2
    return name, text, planes + basis.nbytes


def fc_dense(n, k, b):
    name = f"fc_dense_{n}x{k}_b{b}"
    text = f"""func.func @{name}(%x: tensor<{b}x{k}xf32>, %w: tensor<{n}x{k}xf32>) -> tensor<{b}x{n}xf32> {{
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<{b}x{n}xf32>
  %init = linalg.fill ins(%zero : f32) outs(%e : tensor<{b}x{n}xf32>) -> tensor<{b}x{n}xf32>
  %y = linalg.matmul indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d2)>, affine_map<(d0, d1, d2) -> (d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1)>]
         ins(%x, %w : tensor<{b}x{k}xf32>, tensor<{n}x{k}xf32>) outs(%init : tensor<{b}x{n}xf32>) -> tensor<{b}x{n}xf32>
  return %y : tensor<{b}x{n}xf32>
}}
"""
    return name, text


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    manifest = []
    for n, k in FC_SHAPES:
        for b in BATCHES:
            name, text, nbytes = fc_se(n, k, b)
            with open(os.path.join(out, name + ".mlir"), "w") as f:
                f.write(text)
            manifest.append(f"se {name} {n} {k} {b} {nbytes}")
            name, text = fc_dense(n, k, b)
            with open(os.path.join(out, name + ".mlir"), "w") as f:
                f.write(text)
            manifest.append(f"dense {name} {n} {k} {b} {n * k * 4}")
            for p in PERMDIAG_PS:
                name, text, nbytes = fc_permdiag(n, k, b, p)
                with open(os.path.join(out, name + ".mlir"), "w") as f:
                    f.write(text)
                manifest.append(f"pd {name} {n} {k} {b} {nbytes}")
    with open(os.path.join(out, "manifest.txt"), "w") as f:
        f.write("\n".join(manifest) + "\n")


if __name__ == "__main__":
    main()
