# The CPU backend's vectorized permuted-diagonal kernel against the reference
# lowering (dense rebuild + linalg.matmul), bit for bit, and against NumPy:
# odd sizes (padded rows and columns), p from 1 to 16 including odd p, batch
# sizes that leave a remainder after the groups of rows that share a weight
# load, a 3-D input with bias; and a 1x1 convolution that --sd-permdiag
# projects with convolutions=true (NCHW, stride 2).
#
# RUN: %PYTHON %s %t

import os
import re
import subprocess
import sys

import numpy as np

work = sys.argv[1]
os.makedirs(work, exist_ok=True)
rng = np.random.default_rng(11)
RUNNER = ["mlir-runner", "-e", "main", "-entry-point-result=void",
          "-shared-libs=/usr/lib/llvm-22/lib/libmlir_runner_utils.so,"
          "/usr/lib/llvm-22/lib/libmlir_c_runner_utils.so"]


def lit(a):
    a = np.asarray(a)
    if a.ndim == 0:
        return repr(int(a)) if a.dtype.kind == "i" else repr(float(a))
    return "[" + ", ".join(lit(v) for v in a) + "]"


def shape(s, t):
    return "x".join(map(str, s)) + "x" + t


# (batch shape, outputs M, inputs N, p, bias)
CASES = [((1,), 37, 29, 4, False), ((5,), 16, 16, 8, False),
         ((3,), 10, 7, 3, False), ((2,), 33, 40, 16, True),
         ((9,), 6, 5, 2, False), ((4,), 8, 8, 1, False),
         ((2, 3), 12, 13, 4, True)]
funcs, calls, expects = [], [], []
for n, (batch, m, k, p, bias) in enumerate(CASES):
    rb, cb = -(-m // p), -(-k // p)
    offsets = rng.integers(0, p, size=(rb, cb)).astype(np.int32)
    values = rng.standard_normal((rb, cb, p)).astype(np.float32)
    x = rng.standard_normal(batch + (k,)).astype(np.float32)
    init = rng.standard_normal(batch + (m,)).astype(np.float32)
    b = rng.standard_normal(m).astype(np.float32)
    dense = np.zeros((rb * p, cb * p), np.float64)
    for i in range(rb):
        for j in range(cb):
            for c in range(p):
                dense[i * p + c, j * p + (c + offsets[i, j]) % p] = values[i, j, c]
    want = init + x.astype(np.float64) @ dense[:m, :k].T + (b if bias else 0)
    expects.append(want.reshape(-1, m))
    t = f"!sd.permdiag<{m}x{k}xf32, p = {p}>"
    ys = shape(batch + (m,), "f32")
    bias_text = f" bias(%b : tensor<{m}xf32>)" if bias else ""
    rows = int(np.prod(batch))
    funcs.append(f"""
func.func @case{n}() {{
  %w = sd.permdiag_constant offsets(dense<{lit(offsets)}> : tensor<{rb}x{cb}xi32>)
         values(dense<{lit(values)}> : tensor<{rb}x{cb}x{p}xf32>) : {t}
  %x = arith.constant dense<{lit(x)}> : tensor<{shape(batch + (k,), "f32")}>
  %init = arith.constant dense<{lit(init)}> : tensor<{ys}>
  %b = arith.constant dense<{lit(b)}> : tensor<{m}xf32>
  %y = sd.permdiag_matmul ins(%x, %w : tensor<{shape(batch + (k,), "f32")}>, {t}){bias_text}
         outs(%init : tensor<{ys}>) -> tensor<{ys}>
  call @print{len(batch)}(%y) : (tensor<{ys}>) -> ()
  return
}}""")
    calls.append(f"  call @case{n}() : () -> ()")

# Prints the bits of each value, so equal output means bit-identical.
PRINT = """
func.func @print%R(%y: tensor<%Sxf32>) {
  %e = tensor.empty(%D) : tensor<%Sxi32>
  %bits = linalg.generic {indexing_maps = [%M, %M], iterator_types = [%I]}
      ins(%y : tensor<%Sxf32>) outs(%e : tensor<%Sxi32>) {
  ^bb0(%a: f32, %o: i32):
    %c = arith.bitcast %a : f32 to i32
    linalg.yield %c : i32
  } -> tensor<%Sxi32>
  %u = tensor.cast %bits : tensor<%Sxi32> to tensor<*xi32>
  call @printMemrefI32(%u) : (tensor<*xi32>) -> ()
  return
}"""
printers = []
for r in (1, 2):
    dims = ["d0", "d1", "d2"][:r + 1]
    dyn = "x".join("?" * (r + 1))
    text = PRINT.replace("%R", str(r)).replace("%S", dyn)
    idx = ", ".join(f"%d{i}" for i in range(r + 1))
    text = text.replace("%M", f"affine_map<({', '.join(dims)}) -> ({', '.join(dims)})>")
    text = text.replace("%I", ", ".join(['"parallel"'] * (r + 1)))
    dimops = "\n".join(f"  %c{i} = arith.constant {i} : index\n  %d{i} = tensor.dim %y, %c{i} : tensor<{dyn}xf32>"
                       for i in range(r + 1))
    text = text.replace("  %e = tensor.empty(%D)", dimops + f"\n  %e = tensor.empty({idx})")
    printers.append(text)
# The printers take dynamic shapes; cast at the call sites.
module = ("func.func private @printMemrefI32(tensor<*xi32>)\n" + "\n".join(printers)
          + "\n".join(funcs)) + "\nfunc.func @main() {\n" + "\n".join(calls) + "\n  return\n}\n"
for n, (batch, m, k, p, bias) in enumerate(CASES):
    ys = shape(batch + (m,), "f32")
    dyn = "x".join("?" * (len(batch) + 1)) + "xf32"
    module = module.replace(
        f"  call @print{len(batch)}(%y) : (tensor<{ys}>) -> ()\n  return\n}}",
        f"  %yd = tensor.cast %y : tensor<{ys}> to tensor<{dyn}>\n"
        f"  call @print{len(batch)}(%yd) : (tensor<{dyn}>) -> ()\n  return\n}}", 1)
src = os.path.join(work, "permdiag.mlir")
open(src, "w").write(module)


def run(path, pipeline):
    llvm = subprocess.run(["sd-opt", path, pipeline], check=True,
                          capture_output=True, text=True).stdout
    out = subprocess.run(RUNNER, input=llvm, check=True, capture_output=True,
                         text=True).stdout
    return [np.array([int(v) for v in re.findall(r"-?\d+", block.split("data =", 1)[1])],
                     np.int64).astype(np.uint32).view(np.float32)
            for block in out.split("Unranked Memref")[1:]]


ref = run(src, "--sd-reference-to-llvm")
cpu = run(src, "--sd-cpu-to-llvm")
failures = []
for n, case in enumerate(CASES):
    if not np.array_equal(ref[n].view(np.uint32), cpu[n].view(np.uint32)):
        failures.append(f"case {case}: CPU kernel differs from the reference")
    err = np.abs(cpu[n].reshape(expects[n].shape) - expects[n]).max()
    if err > 1e-4 * max(1.0, np.abs(expects[n]).max()):
        failures.append(f"case {case}: CPU kernel differs from NumPy by {err}")

# A 1x1 convolution (NCHW, stride 2, 6 -> 10 channels) projected at p = 4.
C, F, H, P = 6, 10, 5, 4
X = rng.standard_normal((2, C, H, H)).astype(np.float32)
W = rng.standard_normal((F, C, 1, 1)).astype(np.float32)
conv = f"""
func.func private @printMemrefF32(tensor<*xf32>)
func.func @main() {{
  %zero = arith.constant 0.0 : f32
  %x = arith.constant dense<{lit(X)}> : tensor<2x{C}x{H}x{H}xf32>
  %w = arith.constant dense<{lit(W)}> : tensor<{F}x{C}x1x1xf32>
  %o = tensor.empty() : tensor<2x{F}x3x3xf32>
  %i = linalg.fill ins(%zero : f32) outs(%o : tensor<2x{F}x3x3xf32>) -> tensor<2x{F}x3x3xf32>
  %y = linalg.conv_2d_nchw_fchw {{dilations = dense<1> : tensor<2xi64>, strides = dense<2> : tensor<2xi64>}}
         ins(%x, %w : tensor<2x{C}x{H}x{H}xf32>, tensor<{F}x{C}x1x1xf32>) outs(%i : tensor<2x{F}x3x3xf32>) -> tensor<2x{F}x3x3xf32> loc("conv")
  %u = tensor.cast %y : tensor<2x{F}x3x3xf32> to tensor<*xf32>
  call @printMemrefF32(%u) : (tensor<*xf32>) -> ()
  return
}}"""
csrc = os.path.join(work, "conv.mlir")
open(csrc, "w").write(conv)
projected = os.path.join(work, "conv-pd.mlir")
subprocess.run(["sd-opt", csrc, f"--sd-permdiag=block-size={P} min-size=0 convolutions=true",
                "-o", projected], check=True)
assert "sd.permdiag_matmul" in open(projected).read()
llvm = subprocess.run(["sd-opt", projected, "--sd-cpu-to-llvm"], check=True,
                      capture_output=True, text=True).stdout
printed = subprocess.run(RUNNER, input=llvm, check=True, capture_output=True, text=True).stdout
got = np.array([float(v) for v in re.findall(r"-?\d+(?:\.\d+)?(?:e[-+]?\d+)?",
                                             printed.split("data =", 1)[1])]).reshape(2, F, 3, 3)
Wm = np.zeros((-(-F // P) * P, -(-C // P) * P))
Wm[:F, :C] = W[:, :, 0, 0]
Wp = np.zeros_like(Wm)
for i in range(Wm.shape[0] // P):
    for j in range(Wm.shape[1] // P):
        blk = Wm[i * P:(i + 1) * P, j * P:(j + 1) * P]
        k = int(np.argmax([sum(blk[c, (c + kk) % P] ** 2 for c in range(P)) for kk in range(P)]))
        for c in range(P):
            Wp[i * P + c, j * P + (c + k) % P] = blk[c, (c + k) % P]
want = np.einsum("fc,nchw->nfhw", Wp[:F, :C], X[:, :, ::2, ::2])
err = np.abs(got - want).max()
print(f"{len(CASES)} kernel cases bit-identical to the reference; 1x1 conv error {err:.2e}")
if err > 1e-4:
    failures.append(f"projected 1x1 convolution differs from NumPy by {err}")
if failures:
    print("\n".join(failures))
    sys.exit(1)
print("ok")
