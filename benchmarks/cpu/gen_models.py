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

FC_SHAPES = [(4096, 4096), (4096, 1024), (1024, 4096)]
BATCHES = [1, 64]
PERMDIAG_PS = [4, 8, 16]
rng = np.random.default_rng(0)


def blob(a):
    return "0x" + ("04000000" if a.dtype != np.int8 else "01000000") + \
        a.tobytes().hex().upper()


def fc_permdiag(n, k, b, p):
    rb, cb = -(-n // p), -(-k // p)
    offsets = rng.integers(0, p, size=(rb, cb)).astype(np.int32)
    values = rng.standard_normal((rb, cb, p)).astype(np.float32)
    name = f"fc_pd{p}_{n}x{k}_b{b}"
    t = f"!sd.permdiag<{n}x{k}xf32, p = {p}>"
    text = f"""func.func @{name}(%x: tensor<{b}x{k}xf32>) -> tensor<{b}x{n}xf32> {{
  %w = sd.permdiag_constant offsets(dense_resource<{name}_k> : tensor<{rb}x{cb}xi32>)
         values(dense_resource<{name}_v> : tensor<{rb}x{cb}x{p}xf32>) : {t}
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<{b}x{n}xf32>
  %init = linalg.fill ins(%zero : f32) outs(%e : tensor<{b}x{n}xf32>) -> tensor<{b}x{n}xf32>
  %y = sd.permdiag_matmul ins(%x, %w : tensor<{b}x{k}xf32>, {t})
         outs(%init : tensor<{b}x{n}xf32>) -> tensor<{b}x{n}xf32>
  return %y : tensor<{b}x{n}xf32>
}}

{{-#
  dialect_resources: {{
    builtin: {{
      {name}_k: "{blob(offsets)}",
      {name}_v: "{blob(values)}"
    }}
  }}
#-}}
"""
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
    se = f"!sd.se<{n}x{k}xf32, blocks = {nb}x{rows}, exponents = [-8, 5]>"
    text = f"""func.func @{name}(%x: tensor<{b}x{k}xf32>) -> tensor<{b}x{n}xf32> {{
  %w = sd.se_constant codes(dense_resource<{name}_ce> : tensor<{n}x{nb}x{rows}x3xi8>)
         basis(dense_resource<{name}_b> : tensor<{n}x{nb}x3x3xf32>) : {se}
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<{b}x{n}xf32>
  %init = linalg.fill ins(%zero : f32) outs(%e : tensor<{b}x{n}xf32>) -> tensor<{b}x{n}xf32>
  %y = sd.shift_add_matmul ins(%x, %w : tensor<{b}x{k}xf32>, {se})
         outs(%init : tensor<{b}x{n}xf32>) -> tensor<{b}x{n}xf32>
  return %y : tensor<{b}x{n}xf32>
}}

{{-#
  dialect_resources: {{
    builtin: {{
      {name}_ce: "{blob(codes)}",
      {name}_b: "{blob(basis)}"
    }}
  }}
#-}}
"""
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
