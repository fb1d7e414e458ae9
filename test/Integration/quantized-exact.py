# The CPU quantized mode computes docs/QuantizedArithmetic.md exactly: the
# int8 outputs of sd.quantized_matmul and sd.quantized_conv2d, through the
# reference and the CPU pipelines, equal bit for bit those of an independent
# NumPy implementation of the same rules (scales -> f_B, bq, bias, M, S).
#
# RUN: %PYTHON %s %t

import math
import os
import re
import subprocess
import sys

import numpy as np

work = sys.argv[1]
os.makedirs(work, exist_ok=True)
rng = np.random.default_rng(9)
MIN_EXP, MAX_EXP = -8, 5


def round_half_away(v):
    return np.where(v >= 0, np.floor(v + 0.5), np.ceil(v - 0.5)).astype(np.int64)


def quantize(basis, bias, sx, sy):
    max_abs = float(np.abs(basis).max())
    f = 30
    while f > -24 and max_abs * 2.0 ** f > 127.0:
        f -= 1
    bq = np.clip(round_half_away(basis.astype(np.float64) * 2.0 ** f), -127, 127)
    unit = sx * 2.0 ** (MIN_EXP - f)
    bi = round_half_away(bias.astype(np.float64) / unit)
    m = unit / sy
    s = 14 - math.floor(math.log2(m))
    mult = int(round_half_away(np.array(m * 2.0 ** s)))
    if mult >= 1 << 15:
        s -= 1
        mult = int(round_half_away(np.array(m * 2.0 ** s)))
    return bq.astype(np.int64), bi, mult, s


def rebuild_int(codes, bq, shape):
    c = codes.astype(np.int64)
    term_shift = np.maximum(np.abs(c) - 1, 0)
    # W[o,b,r,j] = sum_k sign(c[o,b,r,k]) * (bq[o,b,k,j] << (|c|-1))
    signed = np.where(c == 0, 0, np.sign(c) * (1 << term_shift))
    rows = np.einsum("obrk,obkj->obrj", signed, bq)
    o = shape[0]
    return rows.reshape(o, -1)[:, :int(np.prod(shape[1:]))].reshape(shape)


def requant(acc, mult, s, relu):
    lim = (1 << 47) - 1
    t = np.clip(acc, -lim, lim) * mult
    y = (t + (1 << (s - 1))) >> s
    return np.clip(y, 0 if relu else -127, 127)


def layer(o, nb, rows):
    codes = rng.integers(1, 15, size=(o, nb, rows, 3)) * rng.choice([-1, 1], size=(o, nb, rows, 3))
    codes[rng.random(codes.shape) < 0.2] = 0
    basis = (rng.standard_normal((o, nb, 3, 3)) * 0.4).astype(np.float32)
    bias = (rng.standard_normal(o) * 2).astype(np.float32)
    return codes.astype(np.int8), basis, bias


def lit(a, fmt=repr):
    a = np.asarray(a)
    if a.ndim == 0:
        return fmt(a.item())
    return "[" + ", ".join(lit(v, fmt) for v in a) + "]"


# Fully connected: N=10, K=20 (7 rows of 3, one padding value), batch 3.
fc_codes, fc_basis, fc_bias = layer(10, 1, 7)
fc_x = rng.integers(-127, 128, size=(3, 20)).astype(np.int8)
fc_sx, fc_sy = 0.03, 4.0
# 3x3 conv: F=6, C=4 (12 rows), input 1x4x7x7, stride 2 -> 3x3.
cv_codes, cv_basis, cv_bias = layer(6, 1, 12)
cv_x = rng.integers(-127, 128, size=(1, 4, 7, 7)).astype(np.int8)
cv_sx, cv_sy = 0.02, 4.0

se_fc = "!sd.se<10x20xf32, blocks = 1x7, exponents = [-8, 5]>"
se_cv = "!sd.se<6x4x3x3xf32, blocks = 1x12, exponents = [-8, 5]>"
model = f"""
func.func private @printMemrefF32(tensor<*xf32>)

func.func @main() {{
  %wf = sd.se_constant codes(dense<{lit(fc_codes)}> : tensor<10x1x7x3xi8>)
          basis(dense<{lit(fc_basis)}> : tensor<10x1x3x3xf32>) : {se_fc}
  %bf = arith.constant dense<{lit(fc_bias)}> : tensor<10xf32>
  %xf = arith.constant dense<{lit(fc_x)}> : tensor<3x20xi8>
  %yf = sd.quantized_matmul ins(%xf, %wf : tensor<3x20xi8>, {se_fc}) bias(%bf : tensor<10xf32>)
          {{input_scale = {fc_sx} : f64, output_scale = {fc_sy} : f64}} -> tensor<3x10xi8>
  %wc = sd.se_constant codes(dense<{lit(cv_codes)}> : tensor<6x1x12x3xi8>)
          basis(dense<{lit(cv_basis)}> : tensor<6x1x3x3xf32>) : {se_cv}
  %bc = arith.constant dense<{lit(cv_bias)}> : tensor<6xf32>
  %xc = arith.constant dense<{lit(cv_x)}> : tensor<1x4x7x7xi8>
  %yc = sd.quantized_conv2d ins(%xc, %wc : tensor<1x4x7x7xi8>, {se_cv}) bias(%bc : tensor<6xf32>)
          {{input_scale = {cv_sx} : f64, output_scale = {cv_sy} : f64, relu, strides = array<i64: 2, 2>}} -> tensor<1x6x3x3xi8>
  %ef = tensor.empty() : tensor<3x10xf32>
  %ff = arith.sitofp %yf : tensor<3x10xi8> to tensor<3x10xf32>
  %ec = tensor.empty() : tensor<1x6x3x3xf32>
  %fc = arith.sitofp %yc : tensor<1x6x3x3xi8> to tensor<1x6x3x3xf32>
  %u1 = tensor.cast %ff : tensor<3x10xf32> to tensor<*xf32>
  %u2 = tensor.cast %fc : tensor<1x6x3x3xf32> to tensor<*xf32>
  call @printMemrefF32(%u1) : (tensor<*xf32>) -> ()
  call @printMemrefF32(%u2) : (tensor<*xf32>) -> ()
  return
}}
"""
src = os.path.join(work, "quantized.mlir")
open(src, "w").write(model)

lib = "/usr/lib/llvm-22/lib"


def run(pipeline):
    llvm = subprocess.run(["sd-opt", src, pipeline],
                          check=True, capture_output=True, text=True).stdout
    out = subprocess.run(["mlir-runner", "-e", "main", "-entry-point-result=void",
                          f"-shared-libs={lib}/libmlir_runner_utils.so"],
                         input=llvm, check=True, capture_output=True, text=True).stdout
    blocks = out.split("Unranked Memref")[1:]
    return [np.array([float(v) for v in re.findall(r"-?\d+(?:\.\d+)?",
                                                   b.split("data =", 1)[1])])
            for b in blocks]


# NumPy, independently.
bq, bi, m, s = quantize(fc_basis, fc_bias, fc_sx, fc_sy)
w = rebuild_int(fc_codes, bq, (10, 20))
fc_expected = requant(fc_x.astype(np.int64) @ w.T + bi, m, s, False)
bq, bi, m, s = quantize(cv_basis, cv_bias, cv_sx, cv_sy)
w = rebuild_int(cv_codes, bq, (6, 4, 3, 3))
acc = np.zeros((1, 6, 3, 3), np.int64)
for i in range(3):
    for j in range(3):
        patch = cv_x[:, :, 2 * i:2 * i + 3, 2 * j:2 * j + 3].astype(np.int64)
        acc[:, :, i, j] = np.einsum("ncrs,fcrs->nf", patch, w)
cv_expected = requant(acc + bi[None, :, None, None], m, s, True)

failures = []
for pipeline in ["--sd-reference-to-llvm", "--sd-cpu-to-llvm"]:
    got_fc, got_cv = run(pipeline)
    for name, got, want in [("fc", got_fc, fc_expected), ("conv", got_cv, cv_expected)]:
        want = want.reshape(-1)
        mismatches = int((got != want).sum())
        print(f"{pipeline} {name}: {mismatches} of {want.size} outputs differ; "
              f"values span [{int(want.min())}, {int(want.max())}]")
        if mismatches:
            failures.append(f"{pipeline} {name}: {mismatches} mismatches")
for name, want in [("fc", fc_expected), ("conv", cv_expected)]:
    if len(set(want.reshape(-1))) < 5 or (np.abs(want) == 127).mean() > 0.2:
        failures.append(f"degenerate test: {name} outputs are too few or "
                        "mostly saturated")
if failures:
    print("\n".join(failures))
    sys.exit(1)
print("ok")
