# PermDNN and SmartExchange in one model: --sd-permdiag projects one fully
# connected layer (p = 4), --sd-decompose takes the other; the CPU backend's
# outputs equal those of the layers rebuilt in NumPy from the emitted data,
# and the projection equals an independent NumPy projection (per block, the
# diagonal offset with the most energy).
#
# RUN: %PYTHON %s %t

import json
import os
import re
import subprocess
import sys

import numpy as np

work = sys.argv[1]
os.makedirs(work, exist_ok=True)
rng = np.random.default_rng(5)
B, K, H, N, P = 4, 30, 26, 18, 4
W1 = rng.standard_normal((H, K)).astype(np.float32)
W2 = rng.standard_normal((N, H)).astype(np.float32)
X = rng.standard_normal((B, K)).astype(np.float32)


def blob(a):
    return "0x04000000" + a.astype("<f4").tobytes().hex().upper()


def lit(a):
    a = np.asarray(a)
    return repr(float(a)) if a.ndim == 0 else "[" + ", ".join(lit(v) for v in a) + "]"


def linear(name, x, w, rows, cols, out):
    return f"""
  %{name}_w = arith.constant dense_resource<{name}_weight> : tensor<{rows}x{cols}xf32>
  %{name}_e = tensor.empty() : tensor<{cols}x{rows}xf32>
  %{name}_t = linalg.transpose ins(%{name}_w : tensor<{rows}x{cols}xf32>) outs(%{name}_e : tensor<{cols}x{rows}xf32>) permutation = [1, 0]
  %{name}_o = tensor.empty() : tensor<{B}x{rows}xf32>
  %{name}_i = linalg.fill ins(%zero : f32) outs(%{name}_o : tensor<{B}x{rows}xf32>) -> tensor<{B}x{rows}xf32>
  %{out} = linalg.matmul ins(%{x}, %{name}_t : tensor<{B}x{cols}xf32>, tensor<{cols}x{rows}xf32>) outs(%{name}_i : tensor<{B}x{rows}xf32>) -> tensor<{B}x{rows}xf32> loc("{name}")"""


model = f"""
func.func private @printMemrefF32(tensor<*xf32>)
func.func @main() {{
  %zero = arith.constant 0.0 : f32
  %x = arith.constant dense<{lit(X)}> : tensor<{B}x{K}xf32>
  {linear("fc1", "x", W1, H, K, "h")}
  {linear("fc2", "h", W2, N, H, "y")}
  %u = tensor.cast %y : tensor<{B}x{N}xf32> to tensor<*xf32>
  call @printMemrefF32(%u) : (tensor<*xf32>) -> ()
  return
}}
{{-#
  dialect_resources: {{
    builtin: {{
      fc1_weight: "{blob(W1)}",
      fc2_weight: "{blob(W2)}"
    }}
  }}
#-}}
"""
src = os.path.join(work, "model.mlir")
open(src, "w").write(model)
out = os.path.join(work, "compressed.mlir")
subprocess.run(["sd-opt", src,
                f"--sd-permdiag=layers=fc2 block-size={P} min-size=0 report={work}/pd.json",
                f"--sd-decompose=min-size=0 report={work}/se.json", "-o", out], check=True)
text = open(out).read()
assert "sd.permdiag_matmul" in text and "sd.shift_add_matmul" in text, text[:3000]
assert "linalg.matmul" not in text

# Rebuild both layers from the emitted data, independently.
blobs = {k: bytes.fromhex(v)[4:] for k, v in re.findall(r'(\w+): "0x([0-9A-F]+)"', text)}
se = json.load(open(f"{work}/se.json"))["layers"][0]
codes = np.frombuffer(blobs["fc1_ce"], np.int8).reshape(H, se["blocks"], se["block_rows"], 3)
basis = np.frombuffer(blobs["fc1_b"], "<f4").reshape(H, se["blocks"], 3, 3)
ce = np.where(codes == 0, 0.0, np.sign(codes) * 2.0 ** (-8 + np.abs(codes.astype(int)) - 1))
W1r = np.einsum("obrk,obkj->obrj", ce, basis).reshape(H, -1)[:, :K]

mb, nb = -(-N // P), -(-H // P)
offsets = np.array([int(v) for v in re.search(
    r"sd\.permdiag_constant offsets\(dense<([^>]*)>", text).group(1).replace("[", " ").replace("]", " ").replace(",", " ").split()]).reshape(mb, nb)
values = np.frombuffer(blobs["fc2_pd"], "<f4").reshape(mb, nb, P)
W2r = np.zeros((mb * P, nb * P))
for i in range(mb):
    for j in range(nb):
        for c in range(P):
            W2r[i * P + c, j * P + (c + offsets[i, j]) % P] = values[i, j, c]
W2r = W2r[:N, :H]
# smartdeal.runtime.compressed reads the same layer back the same way.
sys.path.insert(0, os.environ.get("PYTHONPATH", ""))
from smartdeal.runtime import compressed  # noqa: E402
loaded = compressed.load_permdiag(f"{work}/pd.json", out)
assert [l.name for l in loaded] == ["fc2"], loaded
assert np.array_equal(loaded[0].weight.astype(np.float64), W2r)
assert np.array_equal(loaded[0].offsets, offsets)

# The projection, by NumPy: the most energetic diagonal of each block.
Wp = np.zeros((mb * P, nb * P))
Wp[:N, :H] = W2
expect = np.zeros_like(Wp)
for i in range(mb):
    for j in range(nb):
        blk = Wp[i * P:(i + 1) * P, j * P:(j + 1) * P]
        energy = [sum(blk[c, (c + k) % P] ** 2 for c in range(P)) for k in range(P)]
        k = int(np.argmax(energy))
        for c in range(P):
            expect[i * P + c, j * P + (c + k) % P] = blk[c, (c + k) % P]
failures = []
if not np.array_equal(W2r, expect[:N, :H]):
    failures.append("the permuted-diagonal projection differs from NumPy's")
pd_report = json.load(open(f"{work}/pd.json"))["layers"]
rel = np.linalg.norm(W2 - W2r) / np.linalg.norm(W2)
if abs(pd_report[1]["relative_error"] - rel) > 1e-6:
    failures.append(f"reported error {pd_report[1]['relative_error']} vs {rel}")

llvm = subprocess.run(["sd-opt", out, "--sd-cpu-to-llvm"], check=True,
                      capture_output=True, text=True).stdout
printed = subprocess.run(["mlir-runner", "-e", "main", "-entry-point-result=void",
                          "-shared-libs=/usr/lib/llvm-22/lib/libmlir_runner_utils.so"],
                         input=llvm, check=True, capture_output=True, text=True).stdout
got = np.array([float(v) for v in re.findall(r"-?\d+(?:\.\d+)?(?:e[-+]?\d+)?",
                                             printed.split("data =", 1)[1])]).reshape(B, N)
want = (X @ W1r.T) @ W2r.T
err = np.abs(got - want).max() / np.abs(want).max()
print(f"projection error {rel:.4f} (p = {P}, compression "
      f"{pd_report[1]['compression_ratio']:.2f}x); CPU vs NumPy {err:.2e}")
if err > 1e-5:
    failures.append(f"CPU output differs from NumPy by {err}")
if failures:
    print("\n".join(failures))
    sys.exit(1)
print("ok")
