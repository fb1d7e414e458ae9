# The fast paths of the dense ops in the CPU backend (sd-vectorize-dense,
# OpenMP) on layers shaped like the OCR recognizer's: each function is
# compiled by the CPU pipeline and by the reference lowering
# (--sd-tensor-to-llvm, scalar loops) and run on the same random input.
# Depthwise convolutions must give the reference's bits (same products,
# same order); every output must be within 1e-5 relative of the reference
# and of NumPy (float64). Contractions (1x1 and 3x3 convolutions, the
# recognizer's 6625-class head) use FMA in another order and must be within
# 1e-5 of both. The test also checks the fast paths are taken: after
# sd-vectorize-dense no depthwise op with unit width stride is left, and the
# contractions are plain 2-D vector.contracts on 4 x 24 (x 25) tiles.
# The library is built as scripts/sd-compile.sh builds it by default
# (cached-alloc=true: freed buffers are reused by the next call), so each
# function is called three times, interleaved, and must give the same bits
# every time; its buffer functions must be the library's own (local
# symbols), not exported. Loading the library sets the OpenMP block time of
# the loading thread to 0 (lib/CPURuntime/Threads.c) unless the process set
# KMP_BLOCKTIME or OMP_WAIT_POLICY.
#
# RUN: %PYTHON %s %t

import os
import re
import subprocess
import sys

import numpy as np

ROOT = os.environ.get("SD_SRC_ROOT") or os.path.join(os.path.dirname(__file__), "..", "..")
sys.path.insert(0, os.path.join(ROOT, "python"))
from smartdeal.runtime import aot  # noqa: E402

work = sys.argv[1]
os.makedirs(work, exist_ok=True)
rng = np.random.default_rng(17)


def lit(a):
    return "dense<" + np.array2string(a, separator=",", threshold=10 ** 9,
                                      floatmode="unique").replace("\n", "") + ">"


RESOURCES = {}


def resource(name, a):
    """`a` as a dense_resource blob (large weights print slowly as literals)."""
    RESOURCES[name] = "0x04000000" + a.astype("<f4").tobytes().hex().upper()
    return f"dense_resource<{name}>"


def ty(shape):
    return "tensor<" + "x".join(map(str, shape)) + "xf32>"


def depthwise_ref(x, w, stride):
    """NCHW depthwise convolution in float64 (x already padded)."""
    n, c, h, wd = x.shape
    _, kh, kw = w.shape
    oh, ow = (h - kh) // stride[0] + 1, (wd - kw) // stride[1] + 1
    y = np.zeros((n, c, oh, ow))
    for r in range(kh):
        for s in range(kw):
            y += x[:, :, r:r + stride[0] * (oh - 1) + 1:stride[0],
                   s:s + stride[1] * (ow - 1) + 1:stride[1]] * w[None, :, r, s, None, None]
    return y


# (name, input shape, channels' kernel, strides): the recognizer's depthwise
# layers (3x3 and 5x5, height stride 2, one width-strided layer that keeps
# the loops), and one whose padded input comes from an elementwise op.
CASES = [
    ("dw3_s1", (1, 16, 26, 162), 3, (1, 1)),
    ("dw3_h2", (1, 64, 26, 162), 3, (2, 1)),
    ("dw3_w2", (1, 128, 14, 162), 3, (1, 2)),
    ("dw5_s1", (1, 240, 16, 84), 5, (1, 1)),
    ("dw5_h2", (1, 240, 16, 84), 5, (2, 1)),
    ("dw5_b2", (2, 480, 7, 84), 5, (1, 1)),
]

funcs, inputs, wants, weights = [], {}, {}, {}
for name, shape, k, stride in CASES:
    n, c, h, wd = shape
    w = rng.standard_normal((c, k, k)).astype(np.float32)
    bias = rng.standard_normal((c,)).astype(np.float32)
    oh, ow = (h - k) // stride[0] + 1, (wd - k) // stride[1] + 1
    out = (n, c, oh, ow)
    funcs.append(f"""
func.func @{name}(%x: {ty(shape)}) -> {ty(out)} {{
  %w = arith.constant {lit(w)} : tensor<{c}x{k}x{k}xf32>
  %b = arith.constant {lit(bias)} : tensor<{c}xf32>
  %e = tensor.empty() : {ty(out)}
  %init = linalg.broadcast ins(%b : tensor<{c}xf32>) outs(%e : {ty(out)}) dimensions = [0, 2, 3]
  %y = linalg.depthwise_conv_2d_nchw_chw {{dilations = dense<1> : tensor<2xi64>, strides = dense<[{stride[0]}, {stride[1]}]> : tensor<2xi64>}} ins(%x, %w : {ty(shape)}, tensor<{c}x{k}x{k}xf32>) outs(%init : {ty(out)}) -> {ty(out)}
  return %y : {ty(out)}
}}""")
    x = rng.standard_normal(shape).astype(np.float32)
    inputs[name] = x
    wants[name] = depthwise_ref(x.astype(np.float64), w.astype(np.float64), stride) + \
        bias.astype(np.float64)[None, :, None, None]

# A padded input produced by an elementwise op (hardswish-like clamp), as
# in the recognizer: the pad becomes a filled buffer the producer writes into.
c, h, wd = 64, 24, 160
w = rng.standard_normal((c, 3, 3)).astype(np.float32)
funcs.append(f"""
func.func @pad_dw(%x: tensor<1x{c}x{h}x{wd}xf32>) -> tensor<1x{c}x{h}x{wd}xf32> {{
  %w = arith.constant {lit(w)} : tensor<{c}x3x3xf32>
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<1x{c}x{h}x{wd}xf32>
  %r = linalg.generic {{indexing_maps = [affine_map<(a, b, c, d) -> (a, b, c, d)>, affine_map<(a, b, c, d) -> (a, b, c, d)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}} ins(%x : tensor<1x{c}x{h}x{wd}xf32>) outs(%e : tensor<1x{c}x{h}x{wd}xf32>) {{
  ^bb0(%a: f32, %o: f32):
    %m = arith.maximumf %a, %z : f32
    linalg.yield %m : f32
  }} -> tensor<1x{c}x{h}x{wd}xf32>
  %p = tensor.pad %r low[0, 0, 1, 1] high[0, 0, 1, 1] {{
  ^bb0(%i: index, %j: index, %k: index, %l: index):
    tensor.yield %z : f32
  }} : tensor<1x{c}x{h}x{wd}xf32> to tensor<1x{c}x{h + 2}x{wd + 2}xf32>
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<1x{c}x{h}x{wd}xf32>) -> tensor<1x{c}x{h}x{wd}xf32>
  %y = linalg.depthwise_conv_2d_nchw_chw {{dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}} ins(%p, %w : tensor<1x{c}x{h + 2}x{wd + 2}xf32>, tensor<{c}x3x3xf32>) outs(%f : tensor<1x{c}x{h}x{wd}xf32>) -> tensor<1x{c}x{h}x{wd}xf32>
  return %y : tensor<1x{c}x{h}x{wd}xf32>
}}""")
x = rng.standard_normal((1, c, h, wd)).astype(np.float32)
inputs["pad_dw"] = x
xp = np.pad(np.maximum(x, 0).astype(np.float64), ((0, 0), (0, 0), (1, 1), (1, 1)))
wants["pad_dw"] = depthwise_ref(xp, w.astype(np.float64), (1, 1))
CASES.append(("pad_dw",))

# Contractions shaped like the recognizer's (1x1 convolution 480x480 at
# 6x80, the same at batch 2, a 3x3 convolution through im2col, the
# 6625-class head as a batch_matmul of one against a broadcast weight):
# their unit loops are dropped (at batch 2, the tile's) and the tile is 4
# rows by up to 3 vectors (24 columns; 25 where 8 does not divide). FMA order differs from the reference loops, so these
# are compared within 1e-5 relative, not bit for bit.
CONTRACTIONS = []
w1 = rng.standard_normal((480, 480, 1, 1)).astype(np.float32) / 20
w3 = rng.standard_normal((48, 24, 3, 3)).astype(np.float32) / 8
wh = rng.standard_normal((120, 6625)).astype(np.float32) / 10
wb = rng.standard_normal((96, 64, 1, 1)).astype(np.float32) / 8
funcs.append(f"""
func.func @conv1x1(%x: {ty((1, 480, 6, 80))}) -> {ty((1, 480, 6, 80))} {{
  %w = arith.constant {resource("w1", w1)} : {ty(w1.shape)}
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : {ty((1, 480, 6, 80))}
  %f = linalg.fill ins(%z : f32) outs(%e : {ty((1, 480, 6, 80))}) -> {ty((1, 480, 6, 80))}
  %y = linalg.conv_2d_nchw_fchw {{dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}} ins(%x, %w : {ty((1, 480, 6, 80))}, {ty(w1.shape)}) outs(%f : {ty((1, 480, 6, 80))}) -> {ty((1, 480, 6, 80))}
  return %y : {ty((1, 480, 6, 80))}
}}
func.func @conv3x3(%x: {ty((1, 24, 14, 42))}) -> {ty((1, 48, 12, 40))} {{
  %w = arith.constant {resource("w3", w3)} : {ty(w3.shape)}
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : {ty((1, 48, 12, 40))}
  %f = linalg.fill ins(%z : f32) outs(%e : {ty((1, 48, 12, 40))}) -> {ty((1, 48, 12, 40))}
  %y = linalg.conv_2d_nchw_fchw {{dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}} ins(%x, %w : {ty((1, 24, 14, 42))}, {ty(w3.shape)}) outs(%f : {ty((1, 48, 12, 40))}) -> {ty((1, 48, 12, 40))}
  return %y : {ty((1, 48, 12, 40))}
}}
func.func @conv1x1_b2(%x: {ty((2, 64, 6, 80))}) -> {ty((2, 96, 6, 80))} {{
  %w = arith.constant {resource("wb", wb)} : {ty(wb.shape)}
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : {ty((2, 96, 6, 80))}
  %f = linalg.fill ins(%z : f32) outs(%e : {ty((2, 96, 6, 80))}) -> {ty((2, 96, 6, 80))}
  %y = linalg.conv_2d_nchw_fchw {{dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}} ins(%x, %w : {ty((2, 64, 6, 80))}, {ty(wb.shape)}) outs(%f : {ty((2, 96, 6, 80))}) -> {ty((2, 96, 6, 80))}
  return %y : {ty((2, 96, 6, 80))}
}}
func.func @head(%x: {ty((1, 40, 120))}) -> {ty((1, 40, 6625))} {{
  %w = arith.constant {resource("wh", wh)} : {ty(wh.shape)}
  %z = arith.constant 0.0 : f32
  %eb = tensor.empty() : {ty((1, 120, 6625))}
  %b = linalg.broadcast ins(%w : {ty(wh.shape)}) outs(%eb : {ty((1, 120, 6625))}) dimensions = [0]
  %e = tensor.empty() : {ty((1, 40, 6625))}
  %f = linalg.fill ins(%z : f32) outs(%e : {ty((1, 40, 6625))}) -> {ty((1, 40, 6625))}
  %y = linalg.batch_matmul ins(%x, %b : {ty((1, 40, 120))}, {ty((1, 120, 6625))}) outs(%f : {ty((1, 40, 6625))}) -> {ty((1, 40, 6625))}
  return %y : {ty((1, 40, 6625))}
}}""")
x = rng.standard_normal((1, 480, 6, 80)).astype(np.float32)
CONTRACTIONS.append(("conv1x1", x, 4, np.einsum("fc,nchw->nfhw", w1[:, :, 0, 0].astype(np.float64), x)))
x = rng.standard_normal((1, 24, 14, 42)).astype(np.float32)
ref = np.zeros((1, 48, 12, 40))
for r in range(3):
    for s_ in range(3):
        ref += np.einsum("fc,nchw->nfhw", w3[:, :, r, s_].astype(np.float64),
                         x[:, :, r:r + 12, s_:s_ + 40])
CONTRACTIONS.append(("conv3x3", x, 4, ref))
x = rng.standard_normal((2, 64, 6, 80)).astype(np.float32)
CONTRACTIONS.append(("conv1x1_b2", x, 4, np.einsum("fc,nchw->nfhw", wb[:, :, 0, 0].astype(np.float64), x)))
x = rng.standard_normal((1, 40, 120)).astype(np.float32)
CONTRACTIONS.append(("head", x, 3, x.astype(np.float64) @ wh.astype(np.float64)))

src = os.path.join(work, "layers.mlir")
with open(src, "w") as f:
    f.write("\n".join(funcs) + "\n")
    f.write("{-#\n  dialect_resources: {\n    builtin: {\n" + ",\n".join(
        f'      {k}: "{v}"' for k, v in RESOURCES.items()) + "\n    }\n  }\n#-}\n")

sd_opt = os.environ.get("SD_OPT", "sd-opt")
env = dict(os.environ, SD_OPT=subprocess.run(["which", sd_opt], capture_output=True,
                                             text=True).stdout.strip() or sd_opt)

# The fast path is taken: only the width-strided depthwise op is left, and
# no pad.
vec = subprocess.run([env["SD_OPT"], src, "--sd-vectorize-dense"], check=True,
                     capture_output=True, text=True).stdout
left = re.findall(r"linalg\.depthwise_conv_2d_nchw_chw .*strides = dense<\[?(\d), (\d)", vec)
print("depthwise ops left:", left)
assert left == [("1", "2")], left
assert "tensor.pad" not in vec
# The contractions' tiles: plain (m, k) x (k, n) contracts, 4 rows by 24
# columns (1x1: 480 = 20 x 24; 3x3: 480 columns of 12x40 = 20 x 24) and by
# 25 for the head's 6625 classes; no transposes of unit-dim broadcasts.
contracts = re.findall(r"vector\.contract .*: (vector<[^>]*>), (vector<[^>]*>) into (vector<[^>]*>)", vec)
print("contractions:", contracts)
assert ("vector<4x16xf32>", "vector<16x24xf32>", "vector<4x24xf32>") in contracts, contracts
assert ("vector<4x15xf32>", "vector<15x25xf32>", "vector<4x25xf32>") in contracts, contracts
assert all(c[0].count("x") == 2 for c in contracts), contracts  # 2-D lhs

compile_sh = os.path.join(ROOT, "scripts", "sd-compile.sh")
ours, ref_lib = os.path.join(work, "ours.so"), os.path.join(work, "ref.so")
subprocess.run([compile_sh, src, ours], check=True, env=env)
subprocess.run([compile_sh, src, ref_lib, "--sd-tensor-to-llvm"], check=True, env=env)

nm = subprocess.run(["nm", ours], check=True, capture_output=True, text=True).stdout
local = re.findall(r" t (_mlir_memref_to_llvm_(?:alloc|aligned_alloc|free))$", nm, re.M)
print("buffer functions:", sorted(local))
assert sorted(local) == ["_mlir_memref_to_llvm_aligned_alloc", "_mlir_memref_to_llvm_alloc",
                         "_mlir_memref_to_llvm_free"], local
assert "_mlir_memref_to_llvm" not in subprocess.run(
    ["nm", "-D", ours], check=True, capture_output=True, text=True).stdout

BLOCKTIME = """
import ctypes, sys
ctypes.CDLL(sys.argv[1])
print(ctypes.CDLL("libomp.so.5").kmp_get_blocktime())
"""
for env, want in (({}, "0"), ({"KMP_BLOCKTIME": "50"}, "50")):
    clean = {k: v for k, v in os.environ.items()
             if k not in ("KMP_BLOCKTIME", "OMP_WAIT_POLICY")}
    got = subprocess.run([sys.executable, "-c", BLOCKTIME, ours], check=True,
                         capture_output=True, text=True, env=dict(clean, **env)).stdout.strip()
    print(f"block time after loading, {env or 'default'}: {got}")
    assert got == want, (env, got)

firsts = {}
for name, *_ in CASES:
    firsts[name] = aot.call(ours, name, [inputs[name]], 4)
for name, *_ in CASES:
    x = inputs[name]
    got = aot.call(ours, name, [x], 4)
    again = aot.call(ours, name, [x], 4)
    assert np.array_equal(got, firsts[name]) and np.array_equal(got, again), name
    want_ref = aot.call(ref_lib, name, [x], 4)
    same = np.array_equal(got, want_ref)
    err_np = np.abs(got - wants[name]).max() / np.abs(wants[name]).max()
    print(f"{name}: bit-identical to the reference: {same}; "
          f"max relative difference to numpy {err_np:.2e}")
    assert same, name
    assert err_np <= 1e-5, (name, err_np)
for name, x, rank, want in CONTRACTIONS:
    got = aot.call(ours, name, [x], rank)
    assert np.array_equal(got, aot.call(ours, name, [x], rank)), name
    ref = aot.call(ref_lib, name, [x], rank)
    err_ref = np.abs(got - ref).max() / np.abs(ref).max()
    err_np = np.abs(got - want).max() / np.abs(want).max()
    print(f"{name}: max relative difference to the reference {err_ref:.2e}, "
          f"to numpy {err_np:.2e}")
    assert err_ref <= 1e-5 and err_np <= 1e-5, (name, err_ref, err_np)
print("ok")
