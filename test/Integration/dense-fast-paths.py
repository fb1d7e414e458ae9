# The fast paths of the dense ops in the CPU backend (sd-vectorize-dense,
# OpenMP) on layers shaped like the OCR recognizer's: each function is
# compiled by the CPU pipeline and by the reference lowering
# (--sd-tensor-to-llvm, scalar loops) and run on the same random input.
# Depthwise convolutions must give the reference's bits (same products,
# same order); every output must be within 1e-5 relative of the reference
# and of NumPy (float64). The test also checks the fast path is taken: after
# sd-vectorize-dense no depthwise op with unit width stride is left.
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

src = os.path.join(work, "layers.mlir")
with open(src, "w") as f:
    f.write("\n".join(funcs) + "\n")

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

compile_sh = os.path.join(ROOT, "scripts", "sd-compile.sh")
ours, ref = os.path.join(work, "ours.so"), os.path.join(work, "ref.so")
subprocess.run([compile_sh, src, ours], check=True, env=env)
subprocess.run([compile_sh, src, ref, "--sd-tensor-to-llvm"], check=True, env=env)

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
    want_ref = aot.call(ref, name, [x], 4)
    same = np.array_equal(got, want_ref)
    err_np = np.abs(got - wants[name]).max() / np.abs(wants[name]).max()
    print(f"{name}: bit-identical to the reference: {same}; "
          f"max relative difference to numpy {err_np:.2e}")
    assert same, name
    assert err_np <= 1e-5, (name, err_np)
print("ok")
