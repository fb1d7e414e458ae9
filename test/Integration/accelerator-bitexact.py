# The accelerator and the CPU compute the same bits. Chains of quantized sd
# layers (3x3 convolutions with zero padding, stride 2 and ReLU; fully
# connected layers) run on the CPU backend (sd-opt --sd-cpu-to-llvm, JIT)
# and, translated by sd-translate --sd-to-sdacc into a program file, on the
# simulator sd-sim; every int8 output must be equal. The simulator's dense
# baseline (raw int8 weights on the same array) runs too, for the energy and
# cycle ratios; its outputs differ (8-bit weights are another network).
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
rng = np.random.default_rng(17)
LEVELS = 7  # exponents [-4, 2]: the default 4-bit Ce codes
EXPS = "exponents = [-4, 2]"


def lit(a):
    a = np.asarray(a)
    if a.ndim == 0:
        return repr(a.item())
    return "[" + ", ".join(lit(v) for v in a) + "]"


def se_weight(shape):
    length = int(np.prod(shape[1:]))
    m0 = -(-length // 3)
    nb = -(-m0 // 192)
    rows = -(-m0 // nb)
    codes = rng.integers(1, LEVELS + 1, size=(shape[0], nb, rows, 3))
    codes = codes * rng.choice([-1, 1], size=codes.shape)
    codes[rng.random(codes.shape) < 0.25] = 0
    basis = (rng.standard_normal((shape[0], nb, 3, 3)) * 0.5).astype(np.float32)
    bias = (rng.standard_normal(shape[0]) * 0.5).astype(np.float32)
    dims = "x".join(map(str, shape))
    t = f"!sd.se<{dims}xf32, blocks = {nb}x{rows}, {EXPS}>"
    decl = (f"sd.se_constant codes(dense<{lit(codes.astype(np.int8))}> : "
            f"tensor<{shape[0]}x{nb}x{rows}x3xi8>) basis(dense<{lit(basis)}> : "
            f"tensor<{shape[0]}x{nb}x3x3xf32>) : {t}")
    return t, decl, lit(bias)


def conv_model():
    t1, w1, b1 = se_weight((8, 4, 3, 3))
    t2, w2, b2 = se_weight((6, 8, 3, 3))
    return "1x4x9x9", "1x6x5x5", f"""
func.func @main(%x: tensor<1x4x9x9xi8>) -> tensor<1x6x5x5xi8> {{
  %zero = arith.constant 0 : i8
  %w1 = {w1}
  %b1 = arith.constant dense<{b1}> : tensor<8xf32>
  %p1 = tensor.pad %x low[0, 0, 1, 1] high[0, 0, 1, 1] {{
  ^bb0(%i: index, %j: index, %k: index, %l: index):
    tensor.yield %zero : i8
  }} : tensor<1x4x9x9xi8> to tensor<1x4x11x11xi8>
  %y1 = sd.quantized_conv2d ins(%p1, %w1 : tensor<1x4x11x11xi8>, {t1}) bias(%b1 : tensor<8xf32>)
          {{input_scale = 0.05 : f64, output_scale = 0.4 : f64, relu}} -> tensor<1x8x9x9xi8>
  %w2 = {w2}
  %b2 = arith.constant dense<{b2}> : tensor<6xf32>
  %p2 = tensor.pad %y1 low[0, 0, 1, 1] high[0, 0, 1, 1] {{
  ^bb0(%i: index, %j: index, %k: index, %l: index):
    tensor.yield %zero : i8
  }} : tensor<1x8x9x9xi8> to tensor<1x8x11x11xi8>
  %y2 = sd.quantized_conv2d ins(%p2, %w2 : tensor<1x8x11x11xi8>, {t2}) bias(%b2 : tensor<6xf32>)
          {{input_scale = 0.4 : f64, output_scale = 2.0 : f64, strides = array<i64: 2, 2>}} -> tensor<1x6x5x5xi8>
  return %y2 : tensor<1x6x5x5xi8>
}}
"""


def fc_model():
    t1, w1, b1 = se_weight((24, 40))
    t2, w2, b2 = se_weight((10, 24))
    return "3x40", "3x10", f"""
func.func @main(%x: tensor<3x40xi8>) -> tensor<3x10xi8> {{
  %w1 = {w1}
  %b1 = arith.constant dense<{b1}> : tensor<24xf32>
  %y1 = sd.quantized_matmul ins(%x, %w1 : tensor<3x40xi8>, {t1}) bias(%b1 : tensor<24xf32>)
          {{input_scale = 0.05 : f64, output_scale = 0.3 : f64, relu}} -> tensor<3x24xi8>
  %w2 = {w2}
  %b2 = arith.constant dense<{b2}> : tensor<10xf32>
  %y2 = sd.quantized_matmul ins(%y1, %w2 : tensor<3x24xi8>, {t2}) bias(%b2 : tensor<10xf32>)
          {{input_scale = 0.3 : f64, output_scale = 1.0 : f64}} -> tensor<3x10xi8>
  return %y2 : tensor<3x10xi8>
}}
"""


def run_cpu(model, in_shape, out_shape, x):
    f32_out = out_shape + "xf32"
    entry = f"""
func.func private @printMemrefF32(tensor<*xf32>)
func.func @entry() {{
  %x = arith.constant dense<{lit(x)}> : tensor<{in_shape}xi8>
  %y = call @main(%x) : (tensor<{in_shape}xi8>) -> tensor<{out_shape}xi8>
  %f = arith.sitofp %y : tensor<{out_shape}xi8> to tensor<{f32_out}>
  %u = tensor.cast %f : tensor<{f32_out}> to tensor<*xf32>
  call @printMemrefF32(%u) : (tensor<*xf32>) -> ()
  return
}}
"""
    path = os.path.join(work, "cpu.mlir")
    open(path, "w").write(model + entry)
    llvm = subprocess.run(["sd-opt", path, "--sd-cpu-to-llvm"], check=True,
                          capture_output=True, text=True).stdout
    out = subprocess.run(["mlir-runner", "-e", "entry", "-entry-point-result=void",
                          "-shared-libs=/usr/lib/llvm-22/lib/libmlir_runner_utils.so"],
                         input=llvm, check=True, capture_output=True, text=True).stdout
    data = out.split("data =", 1)[1]
    return np.array([float(v) for v in re.findall(r"-?\d+(?:\.\d+)?", data)])


def run_accel(name, model, x, baseline=False):
    path = os.path.join(work, f"{name}.mlir")
    open(path, "w").write(model)
    prog = os.path.join(work, f"{name}.sdacc")
    subprocess.run(["sd-translate", "--sd-to-sdacc", path, "-o", prog], check=True)
    np.save(os.path.join(work, f"{name}-x.npy"), x)
    outdir = os.path.join(work, f"{name}-out" + ("-dense" if baseline else ""))
    report = os.path.join(work, f"{name}-report" + ("-dense" if baseline else "") + ".json")
    cmd = ["sd-sim", prog, "--input", f"arg0={work}/{name}-x.npy",
           "--output-dir", outdir, "--report", report]
    if baseline:
        cmd += ["--baseline", "dense"]
    subprocess.run(cmd, check=True)
    outs = [f for f in os.listdir(outdir) if f.endswith(".npy")]
    assert len(outs) == 1, outs
    return np.load(os.path.join(outdir, outs[0])).astype(np.float64).reshape(-1), \
        json.load(open(report))


failures = []
for name, make in [("conv", conv_model), ("fc", fc_model)]:
    in_shape, out_shape, model = make()
    x = rng.integers(-127, 128, size=[int(d) for d in in_shape.split("x")]).astype(np.int8)
    cpu = run_cpu(model, in_shape, out_shape, x)
    acc, report = run_accel(name, model, x)
    dense, dense_report = run_accel(name, model, x, baseline=True)
    diff = int((cpu != acc).sum())
    e_se = report["energy_pj"]["total"]
    e_dense = dense_report["energy_pj"]["total"]
    print(f"{name}: {diff} of {cpu.size} outputs differ between CPU and sd-sim; "
          f"values span [{int(cpu.min())}, {int(cpu.max())}]; cycles "
          f"{report['cycles']} vs dense {dense_report['cycles']}, energy "
          f"{e_se:.0f} pJ vs dense {e_dense:.0f} pJ")
    if diff:
        failures.append(f"{name}: {diff} outputs differ between CPU and sd-sim")
    if len(set(cpu)) < 5 or (np.abs(cpu) == 127).mean() > 0.25:
        failures.append(f"{name}: degenerate or saturated outputs")
if failures:
    print("\n".join(failures))
    sys.exit(1)
print("ok")
