# int-k weights in the CPU backend (--sd-int-weights inside --sd-cpu-to-llvm):
# a model with an int5 convolution, an int6 depthwise filter, an int4 FC
# weight stored N x K (through linalg.transpose), an int7 one stored K x N,
# an int8 one and an f32 weight on no grid. The compiled library must
# (1) store exactly k bits per int-k weight plus one f32 scale per output
# channel, and the f32 weight as it is (the sum of the LLVM globals, exact),
# and (2) compute what the reference lowering of the same module computes
# (--sd-tensor-to-llvm, f32 weights) to 1e-5 relative, and what NumPy computes.
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
from smartdeal.runtime.artifact import weight_bytes  # noqa: E402

work = sys.argv[1]
os.makedirs(work, exist_ok=True)
rng = np.random.default_rng(5)


def int_weight(shape, bits, axis=0):
    qmax = (1 << (bits - 1)) - 1
    q = rng.integers(-qmax, qmax + 1, size=shape)
    q.flat[0] = qmax  # every channel's grid needs all k bits somewhere
    scale_shape = [1] * len(shape)
    scale_shape[axis] = shape[axis]
    s = rng.uniform(0.01, 0.1, size=scale_shape)
    return (q * s).astype(np.float32)


def lit(a):
    return "dense<" + np.array2string(a, separator=",", threshold=10 ** 9,
                                      floatmode="unique").replace("\n", "") + ">"


def ty(a):
    return "tensor<" + "x".join(map(str, a.shape)) + "xf32>"


w1 = int_weight((16, 8, 3, 3), 5)
w2 = int_weight((16, 3, 3), 6)          # depthwise: channels first
w3 = int_weight((24, 16), 4)            # N x K, transposed before the matmul
w4 = int_weight((24, 12), 7, axis=1)    # K x N: channels trail
w5 = int_weight((12, 20), 8, axis=1)
w6 = rng.standard_normal((20, 10)).astype(np.float32)  # on no grid
# Each k: bytes of ceil(n/8)*k packed bits, 4 per channel scale.
want_bytes = sum(-(-w.size // 8) * k + 4 * c
                 for w, k, c in [(w1, 5, 16), (w2, 6, 16), (w3, 4, 24),
                                 (w4, 7, 12), (w5, 8, 20)]) + 4 * w6.size

module = f"""
func.func @main(%x: tensor<1x8x10x10xf32>) -> tensor<2x10xf32> {{
  %w1 = arith.constant {lit(w1)} : {ty(w1)}
  %w2 = arith.constant {lit(w2)} : {ty(w2)}
  %w3 = arith.constant {lit(w3)} : {ty(w3)}
  %w4 = arith.constant {lit(w4)} : {ty(w4)}
  %w5 = arith.constant {lit(w5)} : {ty(w5)}
  %w6 = arith.constant {lit(w6)} : {ty(w6)}
  %z = arith.constant 0.0 : f32
  %e1 = tensor.empty() : tensor<1x16x8x8xf32>
  %f1 = linalg.fill ins(%z : f32) outs(%e1 : tensor<1x16x8x8xf32>) -> tensor<1x16x8x8xf32>
  %c1 = linalg.conv_2d_nchw_fchw {{dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}} ins(%x, %w1 : tensor<1x8x10x10xf32>, {ty(w1)}) outs(%f1 : tensor<1x16x8x8xf32>) -> tensor<1x16x8x8xf32>
  %e2 = tensor.empty() : tensor<1x16x6x6xf32>
  %f2 = linalg.fill ins(%z : f32) outs(%e2 : tensor<1x16x6x6xf32>) -> tensor<1x16x6x6xf32>
  %c2 = linalg.depthwise_conv_2d_nchw_chw {{dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}} ins(%c1, %w2 : tensor<1x16x8x8xf32>, {ty(w2)}) outs(%f2 : tensor<1x16x6x6xf32>) -> tensor<1x16x6x6xf32>
  %r = tensor.collapse_shape %c2 [[0, 1], [2, 3]] : tensor<1x16x6x6xf32> into tensor<16x36xf32>
  %s = tensor.extract_slice %r[0, 0] [16, 2] [1, 1] : tensor<16x36xf32> to tensor<16x2xf32>
  %et = tensor.empty() : tensor<2x16xf32>
  %xt = linalg.transpose ins(%s : tensor<16x2xf32>) outs(%et : tensor<2x16xf32>) permutation = [1, 0]
  %e3t = tensor.empty() : tensor<16x24xf32>
  %w3t = linalg.transpose ins(%w3 : {ty(w3)}) outs(%e3t : tensor<16x24xf32>) permutation = [1, 0]
  %f3 = linalg.fill ins(%z : f32) outs(%et : tensor<2x16xf32>) -> tensor<2x16xf32>
  %e3 = tensor.empty() : tensor<2x24xf32>
  %g3 = linalg.fill ins(%z : f32) outs(%e3 : tensor<2x24xf32>) -> tensor<2x24xf32>
  %m3 = linalg.matmul ins(%xt, %w3t : tensor<2x16xf32>, tensor<16x24xf32>) outs(%g3 : tensor<2x24xf32>) -> tensor<2x24xf32>
  %e4 = tensor.empty() : tensor<2x12xf32>
  %g4 = linalg.fill ins(%z : f32) outs(%e4 : tensor<2x12xf32>) -> tensor<2x12xf32>
  %m4 = linalg.matmul ins(%m3, %w4 : tensor<2x24xf32>, {ty(w4)}) outs(%g4 : tensor<2x12xf32>) -> tensor<2x12xf32>
  %e5 = tensor.empty() : tensor<2x20xf32>
  %g5 = linalg.fill ins(%z : f32) outs(%e5 : tensor<2x20xf32>) -> tensor<2x20xf32>
  %m5 = linalg.matmul ins(%m4, %w5 : tensor<2x12xf32>, {ty(w5)}) outs(%g5 : tensor<2x20xf32>) -> tensor<2x20xf32>
  %e6 = tensor.empty() : tensor<2x10xf32>
  %g6 = linalg.fill ins(%z : f32) outs(%e6 : tensor<2x10xf32>) -> tensor<2x10xf32>
  %m6 = linalg.matmul ins(%m5, %w6 : tensor<2x20xf32>, {ty(w6)}) outs(%g6 : tensor<2x10xf32>) -> tensor<2x10xf32>
  return %m6 : tensor<2x10xf32>
}}
"""
src = os.path.join(work, "model.mlir")
with open(src, "w") as f:
    f.write(module)

sd_opt = os.environ.get("SD_OPT", "sd-opt")
env = dict(os.environ, SD_OPT=subprocess.run(["which", sd_opt], capture_output=True,
                                             text=True).stdout.strip() or sd_opt)
compile_sh = os.path.join(ROOT, "scripts", "sd-compile.sh")
ours, ref = os.path.join(work, "ours.so"), os.path.join(work, "ref.so")
subprocess.run([compile_sh, src, ours], check=True, env=env)
subprocess.run([compile_sh, src, ref, "--sd-tensor-to-llvm"], check=True, env=env)

# (1) Storage: the LLVM globals of the CPU pipeline are exactly the packed
# planes, the scales and the f32 weight.
llvm = subprocess.run([env["SD_OPT"], src, "--sd-emit-c-interface", "--sd-cpu-to-llvm"],
                      check=True, capture_output=True, text=True).stdout
ELEMENT = {"i8": 1, "f32": 4}
stored = 0
for dims, elem in re.findall(r"llvm\.mlir\.global private constant @\S+\(.*?: "
                             r"tensor<([0-9x]+)x(i8|f32)>\)", llvm):
    stored += int(np.prod([int(d) for d in dims.split("x")])) * ELEMENT[elem]
print(f"stored {stored} bytes, want {want_bytes}")
assert stored == want_bytes, (stored, want_bytes)
# The library's constant data: those bytes plus section alignment and the
# code's own vector constants, far below one f32 copy of the int weights.
lib_bytes, ref_bytes = weight_bytes(ours), weight_bytes(ref)
print(f"library {lib_bytes} bytes, reference library {ref_bytes}")
assert stored <= lib_bytes < stored + 1024, lib_bytes
assert ref_bytes >= 4 * sum(w.size for w in (w1, w2, w3, w4, w5, w6))

# (2) Outputs: ours against the reference lowering and NumPy (float64).
x = rng.standard_normal((1, 8, 10, 10)).astype(np.float32)
got = aot.call(ours, "main", [x], 2)
want_ref = aot.call(ref, "main", [x], 2)
xd = x.astype(np.float64)
c1 = np.zeros((16, 8, 8))
for i in range(8):
    for j in range(8):
        c1[:, i, j] = np.einsum("chw,ochw->o", xd[0, :, i:i + 3, j:j + 3], w1)
c2 = np.zeros((16, 6, 6))
for i in range(6):
    for j in range(6):
        c2[:, i, j] = np.einsum("chw,chw->c", c1[:, i:i + 3, j:j + 3], w2)
h = c2.reshape(16, 36)[:, :2].T
h = h @ w3.T.astype(np.float64) @ w4 @ w5 @ w6
for name, other in [("reference", want_ref), ("numpy", h)]:
    err = np.abs(got - other).max() / np.abs(other).max()
    print(f"max relative difference to {name}: {err:.2e}")
    assert err <= 1e-5, (name, err)
print("ok")
