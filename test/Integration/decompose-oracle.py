# Decomposed layers through the reference path and through the CPU backend's
# compressed kernels: their outputs must equal the outputs of the same layers
# with the rebuilt dense weights (decoded here in NumPy from the emitted codes
# and bases) within 1e-5, and differ from the original layers by about the
# relative error sd-decompose reports. Sizes are odd on purpose: row padding,
# K not a multiple of the vector width, tiles of 5 rows, stride 2.
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
rng = np.random.default_rng(3)

# Correlated rows, as trained weights have: low rank plus noise.
N, K, B = 50, 100, 16
W = (rng.standard_normal((N, 8)) @ rng.standard_normal((8, K)) / 3.0
     + 0.3 * rng.standard_normal((N, K))).astype(np.float32)
C = rng.standard_normal((12, 5, 3, 3)).astype(np.float32)
X = rng.standard_normal((B, K)).astype(np.float32)
XC = rng.standard_normal((2, 5, 11, 11)).astype(np.float32)


def blob(a):
    return "0x04000000" + a.astype("<f4").tobytes().hex().upper()


def lit(a):
    if a.ndim == 0:
        return repr(float(a))
    return "[" + ", ".join(lit(v) for v in a) + "]"


model = f"""
func.func private @printMemrefF32(tensor<*xf32>)

func.func @forward(%x: tensor<{B}x{K}xf32>, %xc: tensor<2x5x11x11xf32>)
    -> (tensor<{B}x{N}xf32>, tensor<2x12x5x5xf32>) {{
  %zero = arith.constant 0.0 : f32
  %w = arith.constant dense_resource<torch_tensor_fc_weight> : tensor<{N}x{K}xf32>
  %e = tensor.empty() : tensor<{K}x{N}xf32>
  %wt = linalg.transpose ins(%w : tensor<{N}x{K}xf32>) outs(%e : tensor<{K}x{N}xf32>) permutation = [1, 0]
  %o = tensor.empty() : tensor<{B}x{N}xf32>
  %i = linalg.fill ins(%zero : f32) outs(%o : tensor<{B}x{N}xf32>) -> tensor<{B}x{N}xf32>
  %y = linalg.matmul ins(%x, %wt : tensor<{B}x{K}xf32>, tensor<{K}x{N}xf32>) outs(%i : tensor<{B}x{N}xf32>) -> tensor<{B}x{N}xf32> loc("fc")
  %c = arith.constant dense_resource<torch_tensor_conv_weight> : tensor<12x5x3x3xf32>
  %oc = tensor.empty() : tensor<2x12x5x5xf32>
  %ic = linalg.fill ins(%zero : f32) outs(%oc : tensor<2x12x5x5xf32>) -> tensor<2x12x5x5xf32>
  %yc = linalg.conv_2d_nchw_fchw {{dilations = dense<1> : tensor<2xi64>, strides = dense<2> : tensor<2xi64>}}
          ins(%xc, %c : tensor<2x5x11x11xf32>, tensor<12x5x3x3xf32>) outs(%ic : tensor<2x12x5x5xf32>) -> tensor<2x12x5x5xf32> loc("conv")
  return %y, %yc : tensor<{B}x{N}xf32>, tensor<2x12x5x5xf32>
}}

func.func @main() {{
  %x = arith.constant dense<{lit(X)}> : tensor<{B}x{K}xf32>
  %xc = arith.constant dense<{lit(XC)}> : tensor<2x5x11x11xf32>
  %y, %yc = call @forward(%x, %xc) : (tensor<{B}x{K}xf32>, tensor<2x5x11x11xf32>) -> (tensor<{B}x{N}xf32>, tensor<2x12x5x5xf32>)
  %u = tensor.cast %y : tensor<{B}x{N}xf32> to tensor<*xf32>
  %uc = tensor.cast %yc : tensor<2x12x5x5xf32> to tensor<*xf32>
  call @printMemrefF32(%u) : (tensor<*xf32>) -> ()
  call @printMemrefF32(%uc) : (tensor<*xf32>) -> ()
  return
}}

{{-#
  dialect_resources: {{
    builtin: {{
      torch_tensor_fc_weight: "{blob(W)}",
      torch_tensor_conv_weight: "{blob(C)}"
    }}
  }}
#-}}
"""
src = os.path.join(work, "model.mlir")
with open(src, "w") as f:
    f.write(model)

lib = "/usr/lib/llvm-22/lib"
runner = ["mlir-runner", "-e", "main", "-entry-point-result=void",
          f"-shared-libs={lib}/libmlir_runner_utils.so,"
          f"{lib}/libmlir_c_runner_utils.so"]


def run(path, pipeline="--sd-reference-to-llvm"):
    llvm = subprocess.run(["sd-opt", path, pipeline],
                          check=True, capture_output=True, text=True).stdout
    out = subprocess.run(runner, input=llvm, check=True, capture_output=True,
                         text=True).stdout
    blocks = out.split("Unranked Memref")[1:]
    nums = [np.array([float(v) for v in
                      re.findall(r"-?\d+(?:\.\d+)?(?:e[-+]?\d+)?",
                                 b.split("data =", 1)[1])])
            for b in blocks]
    return nums[0].reshape(B, N), nums[1].reshape(2, 12, 5, 5)


report = os.path.join(work, "report.json")
decomposed = os.path.join(work, "decomposed.mlir")
subprocess.run(["sd-opt", src, f"--sd-decompose=min-size=0 report={report}",
                "-o", decomposed], check=True)
text = open(decomposed).read()
assert "linalg.matmul" not in text and "linalg.conv_2d" not in text, text[:2000]
layers = {l["name"]: l for l in json.load(open(report))["layers"]}

# Decode the emitted codes and bases independently of the compiler.
blobs = dict(re.findall(r'(\w+): "0x([0-9A-F]+)"', text))


def from_blob(name, dtype, shape):
    raw = bytes.fromhex(blobs[name][8:])  # skip the alignment word
    return np.frombuffer(raw, dtype=dtype).reshape(shape)


def rebuild(name, shape):
    l = layers[name]
    o, nb, rows = shape[0], l["blocks"], l["block_rows"]
    codes = from_blob(f"{name}_ce", np.int8, (o, nb, rows, 3)).astype(int)
    basis = from_blob(f"{name}_b", "<f4", (o, nb, 3, 3)).astype(np.float64)
    ce = np.where(codes == 0, 0.0, np.sign(codes) * 2.0 ** (-8 + np.abs(codes) - 1))
    rows_out = np.einsum("obrk,obkj->obrj", ce, basis).reshape(o, -1)
    length = int(np.prod(shape[1:]))
    return rows_out[:, :length].reshape(shape)


def conv(x, w):
    y = np.zeros((2, 12, 5, 5))
    for i in range(5):
        for j in range(5):
            patch = x[:, :, 2 * i:2 * i + 3, 2 * j:2 * j + 3]
            y[:, :, i, j] = np.einsum("ncrs,fcrs->nf", patch, w)
    return y


W2 = rebuild("fc", (N, K))
C2 = rebuild("conv", (12, 5, 3, 3))
y_sd, yc_sd = run(decomposed)
y_cpu, yc_cpu = run(decomposed, "--sd-cpu-to-llvm")
y_orig, yc_orig = run(src)

failures = []
for name, got, cpu, rebuilt, orig, w, w2 in [
        ("fc", y_sd, y_cpu, X @ W2.T, X @ W.T, W, W2),
        ("conv", yc_sd, yc_cpu, conv(XC, C2), conv(XC, C), C, C2)]:
    scale = np.abs(rebuilt).max()
    diff = np.abs(got - rebuilt).max() / scale
    cpu_diff = np.abs(cpu - rebuilt).max() / scale
    print(f"{name}: |cpu - rebuilt| = {cpu_diff:.2e}")
    if cpu_diff > 1e-5:
        failures.append(f"{name}: the CPU backend differs from the rebuilt "
                        f"dense layer by {cpu_diff:.2e}")
    werr = np.linalg.norm(w - w2) / np.linalg.norm(w)
    reported = layers[name]["relative_error"]
    yerr = np.linalg.norm(got - orig) / np.linalg.norm(orig)
    print(f"{name}: |sd - rebuilt| = {diff:.2e}, weight error {werr:.4f} "
          f"(reported {reported:.4f}), output error {yerr:.4f}")
    if diff > 1e-5:
        failures.append(f"{name}: decomposed output differs from the rebuilt "
                        f"dense layer by {diff:.2e}")
    if abs(werr - reported) > 1e-5:
        failures.append(f"{name}: reported error {reported} but NumPy "
                        f"measures {werr}")
    # White inputs: E||x dW^T||^2 / E||x W^T||^2 = ||dW||^2 / ||W||^2.
    if not 0.75 * werr < yerr < 1.33 * werr:
        failures.append(f"{name}: output error {yerr} is not about the "
                        f"weight error {werr}")
    if not 0.0 < werr < 0.5:
        failures.append(f"{name}: implausible weight error {werr}")

if failures:
    print("\n".join(failures))
    sys.exit(1)
print("ok")
