# The code stream of the CPU backend (convert-sd-to-cpu{code-stream}, the
# default) decodes a library's SmartExchange codes once, on the first call,
# into a zero-initialized module buffer that every later call reads. This
# checks, on a library built as scripts/sd-compile.sh builds it:
#  * the decoded planes live in .bss (no bytes in the file) and the file's
#    constant data is smaller than with the planes stored
#    (code-stream=false);
#  * four threads making the first call at once (one decodes, the others
#    wait for it) and later calls all give the bits of the library that
#    stores the planes, and equal the reference lowering within 1e-5;
#  * a second process (fresh buffers) gives the same bits again.
#
# RUN: %PYTHON %s %t

import os
import re
import subprocess
import sys
import threading

import numpy as np

ROOT = os.environ.get("SD_SRC_ROOT") or os.path.join(os.path.dirname(__file__), "..", "..")
sys.path.insert(0, os.path.join(ROOT, "python"))
from smartdeal.runtime import aot  # noqa: E402
from smartdeal.runtime.artifact import library_sections  # noqa: E402

work = sys.argv[1]
os.makedirs(work, exist_ok=True)
rng = np.random.default_rng(29)

# Odd sizes: row padding, K not a multiple of the vector width, tiles of 5.
N, K, B = 300, 1000, 3
W = (rng.standard_normal((N, 8)) @ rng.standard_normal((8, K)) / 3.0
     + 0.3 * rng.standard_normal((N, K))).astype(np.float32)
C = rng.standard_normal((40, 24, 3, 3)).astype(np.float32)
X = rng.standard_normal((B, K)).astype(np.float32)


def blob(a):
    return "0x04000000" + a.astype("<f4").tobytes().hex().upper()


# Two functions: an FC layer and a 3x3 convolution.
model = f"""
func.func @main(%x: tensor<{B}x{K}xf32>) -> tensor<{B}x{N}xf32> {{
  %zero = arith.constant 0.0 : f32
  %w = arith.constant dense_resource<fc_weight> : tensor<{N}x{K}xf32>
  %e = tensor.empty() : tensor<{K}x{N}xf32>
  %wt = linalg.transpose ins(%w : tensor<{N}x{K}xf32>) outs(%e : tensor<{K}x{N}xf32>) permutation = [1, 0]
  %o = tensor.empty() : tensor<{B}x{N}xf32>
  %i = linalg.fill ins(%zero : f32) outs(%o : tensor<{B}x{N}xf32>) -> tensor<{B}x{N}xf32>
  %y = linalg.matmul ins(%x, %wt : tensor<{B}x{K}xf32>, tensor<{K}x{N}xf32>) outs(%i : tensor<{B}x{N}xf32>) -> tensor<{B}x{N}xf32> loc("fc")
  return %y : tensor<{B}x{N}xf32>
}}

func.func @conv(%x: tensor<1x24x17x17xf32>) -> tensor<1x40x15x15xf32> {{
  %zero = arith.constant 0.0 : f32
  %c = arith.constant dense_resource<conv_weight> : tensor<40x24x3x3xf32>
  %oc = tensor.empty() : tensor<1x40x15x15xf32>
  %ic = linalg.fill ins(%zero : f32) outs(%oc : tensor<1x40x15x15xf32>) -> tensor<1x40x15x15xf32>
  %yc = linalg.conv_2d_nchw_fchw {{dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}}
          ins(%x, %c : tensor<1x24x17x17xf32>, tensor<40x24x3x3xf32>) outs(%ic : tensor<1x40x15x15xf32>) -> tensor<1x40x15x15xf32> loc("conv")
  return %yc : tensor<1x40x15x15xf32>
}}

{{-#
  dialect_resources: {{
    builtin: {{
      fc_weight: "{blob(W)}",
      conv_weight: "{blob(C)}"
    }}
  }}
#-}}
"""
src = os.path.join(work, "model.mlir")
with open(src, "w") as f:
    f.write(model)
decomposed = os.path.join(work, "decomposed.mlir")
subprocess.run(["sd-opt", src, "--sd-decompose=min-size=0", "-o", decomposed], check=True)
assert "linalg.matmul" not in open(decomposed).read()

# The same program with the planes stored (code-stream=false): sd ops are
# lowered first, so the pipeline of sd-compile.sh finds none left.
planes_mlir = os.path.join(work, "planes.mlir")
subprocess.run(["sd-opt", decomposed, "--convert-sd-to-cpu=code-stream=false", "-o",
                planes_mlir], check=True)
lowered = subprocess.run(["sd-opt", decomposed, "--convert-sd-to-cpu"], check=True,
                         capture_output=True, text=True).stdout
decoded_bytes = sum(int(n) for n in re.findall(
    r'memref\.global "private" @\w+_decoded\w* : memref<(\d+)xi8>', lowered))
print("decoded plane bytes:", decoded_bytes)
assert decoded_bytes > 0

sd_opt = os.environ.get("SD_OPT", "sd-opt")
env = dict(os.environ, SD_OPT=subprocess.run(["which", sd_opt], capture_output=True,
                                             text=True).stdout.strip() or sd_opt)
compile_sh = os.path.join(ROOT, "scripts", "sd-compile.sh")
libs = {k: os.path.join(work, f"{k}.so") for k in ("stream", "planes", "ref")}
subprocess.run([compile_sh, decomposed, libs["stream"]], check=True, env=env)
subprocess.run([compile_sh, planes_mlir, libs["planes"]], check=True, env=env)
subprocess.run([compile_sh, decomposed, libs["ref"], "--sd-reference-to-llvm"],
               check=True, env=env)


def sizes(path):
    out = subprocess.run(["/usr/lib/llvm-22/bin/llvm-size", "-A", path], check=True,
                         capture_output=True, text=True).stdout
    return {p[0]: int(p[1]) for p in (l.split() for l in out.splitlines())
            if len(p) >= 2 and p[0].startswith(".") and p[1].isdigit()}


stored = {k: sum(s for _, s in library_sections(libs[k])) for k in ("stream", "planes")}
bss = sizes(libs["stream"]).get(".bss", 0)
print(f"constant data: stream {stored['stream']} bytes, planes {stored['planes']} bytes; "
      f".bss of the stream library {bss} bytes")
assert bss >= decoded_bytes, (bss, decoded_bytes)
assert stored["planes"] >= decoded_bytes, stored
assert stored["stream"] < stored["planes"], stored

XC = rng.standard_normal((1, 24, 17, 17)).astype(np.float32)
CALLS = [("main", X, 2), ("conv", XC, 4)]

# Four threads make the first call of each function at once.
firsts, barrier = {}, threading.Barrier(4)


def first_calls(t):
    barrier.wait()
    for name, x, rank in CALLS:
        firsts[(t, name)] = aot.call(libs["stream"], name, [x], rank)


threads = [threading.Thread(target=first_calls, args=(t,)) for t in range(4)]
for t in threads:
    t.start()
for t in threads:
    t.join()

for name, x, rank in CALLS:
    want = aot.call(libs["planes"], name, [x], rank)
    ref = aot.call(libs["ref"], name, [x], rank)
    later = [aot.call(libs["stream"], name, [x], rank) for _ in range(2)]
    for got in [firsts[(t, name)] for t in range(4)] + later:
        assert np.array_equal(got, want), name
    err = np.abs(want - ref).max() / np.abs(ref).max()
    print(f"{name}: 4 concurrent first calls and 2 later calls bit-identical to the "
          f"stored planes; relative difference to the reference {err:.2e}")
    assert err <= 1e-5, (name, err)

# A fresh process decodes again and gets the same bits.
CHILD = """
import sys
import numpy as np
sys.path.insert(0, sys.argv[3])
from smartdeal.runtime import aot
x = np.load(sys.argv[2])
np.save(sys.argv[4], aot.call(sys.argv[1], "main", [x], 2))
"""
np.save(os.path.join(work, "x.npy"), X)
subprocess.run([sys.executable, "-c", CHILD, libs["stream"], os.path.join(work, "x.npy"),
                os.path.join(ROOT, "python"), os.path.join(work, "y.npy")], check=True)
assert np.array_equal(np.load(os.path.join(work, "y.npy")),
                      aot.call(libs["planes"], "main", [X], 2))
print("ok")
