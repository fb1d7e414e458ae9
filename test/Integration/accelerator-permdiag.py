# PermDNN layers compute the same bits on the CPU and on the accelerator.
# Chains of sd.quantized_matmul on !sd.permdiag weights (odd sizes, so rows
# and columns are padded; p = 1, 2, 3, 4, 8, 16; zero inputs; a permdiag
# layer feeding a SmartExchange one) run through the CPU quantized mode (both
# sd-opt pipelines, JIT) and, translated by sd-translate --sd-to-sdacc, on
# sd-sim's PermDNN engine mode, with the default hardware and with tiny
# buffers that force input bands, column tiles and chunked positions. Every
# int8 output must equal an independent NumPy implementation of
# docs/QuantizedArithmetic.md. The dense baseline (--compare dense) runs too.
#
# RUN: %PYTHON %s %t %S/../Simulator/Inputs/tiny.json

import json
import math
import os
import re
import subprocess
import sys

import numpy as np

work, tiny = sys.argv[1], sys.argv[2]
os.makedirs(work, exist_ok=True)
rng = np.random.default_rng(23)


def lit(a):
    a = np.asarray(a)
    if a.ndim == 0:
        return repr(a.item())
    return "[" + ", ".join(lit(v) for v in a) + "]"


def round_half_away(v):
    return np.where(v >= 0, np.floor(v + 0.5), np.ceil(v - 0.5)).astype(np.int64)


def requant_params(unit, sy):
    m = unit / sy
    s = 14 - math.floor(math.log2(m))
    mult = int(round_half_away(np.array(m * 2.0 ** s)))
    if mult >= 1 << 15:
        s -= 1
        mult = int(round_half_away(np.array(m * 2.0 ** s)))
    return mult, s


def requant(acc, mult, s, relu):
    lim = (1 << 47) - 1
    y = (np.clip(acc, -lim, lim) * mult + (1 << (s - 1))) >> s
    return np.clip(y, 0 if relu else -127, 127)


class PermDiag:
    def __init__(self, n_out, n_in, p):
        self.shape, self.p = (n_out, n_in), p
        rb, cb = -(-n_out // p), -(-n_in // p)
        self.offsets = rng.integers(0, p, size=(rb, cb)).astype(np.int32)
        self.values = (rng.standard_normal((rb, cb, p)) * 0.3).astype(np.float32)
        self.bias = (rng.standard_normal(n_out) * 0.5).astype(np.float32)
        self.type = f"!sd.permdiag<{n_out}x{n_in}xf32, p = {p}>"

    def decl(self):
        rb, cb = self.offsets.shape
        return (f"sd.permdiag_constant offsets(dense<{lit(self.offsets)}> : "
                f"tensor<{rb}x{cb}xi32>) values(dense<{lit(self.values)}> : "
                f"tensor<{rb}x{cb}x{self.p}xf32>) : {self.type}")

    def reference(self, x, sx, sy, relu):
        """docs/QuantizedArithmetic.md, permuted-diagonal section."""
        max_abs = float(np.abs(self.values).max())
        f = 30
        while f > -24 and max_abs * 2.0 ** f > 127.0:
            f -= 1
        wq = np.clip(round_half_away(self.values.astype(np.float64) * 2.0 ** f), -127, 127)
        unit = sx * 2.0 ** (-f)
        bi = round_half_away(self.bias.astype(np.float64) / unit)
        n_out, n_in = self.shape
        p = self.p
        acc = np.tile(bi, (x.shape[0], 1))
        for o in range(n_out):
            i, c = divmod(o, p)
            for j in range(self.offsets.shape[1]):
                col = j * p + (c + int(self.offsets[i, j])) % p
                if col < n_in:
                    acc[:, o] += x[:, col].astype(np.int64) * int(wq[i, j, c])
        return requant(acc, *requant_params(unit, sy), relu)


class SmartExchange:
    """A small SE layer with exponents [-4, 2] (the default 4-bit codes)."""

    def __init__(self, n_out, n_in):
        self.shape = (n_out, n_in)
        m0 = -(-n_in // 3)
        self.codes = rng.integers(1, 8, size=(n_out, 1, m0, 3)) * rng.choice([-1, 1], size=(n_out, 1, m0, 3))
        self.codes[rng.random(self.codes.shape) < 0.25] = 0
        self.basis = (rng.standard_normal((n_out, 1, 3, 3)) * 0.5).astype(np.float32)
        self.bias = (rng.standard_normal(n_out) * 0.5).astype(np.float32)
        self.type = f"!sd.se<{n_out}x{n_in}xf32, blocks = 1x{m0}, exponents = [-4, 2]>"

    def decl(self):
        o, _, m0, _ = self.codes.shape
        return (f"sd.se_constant codes(dense<{lit(self.codes.astype(np.int8))}> : "
                f"tensor<{o}x1x{m0}x3xi8>) basis(dense<{lit(self.basis)}> : "
                f"tensor<{o}x1x3x3xf32>) : {self.type}")

    def reference(self, x, sx, sy, relu):
        max_abs = float(np.abs(self.basis).max())
        f = 30
        while f > -24 and max_abs * 2.0 ** f > 127.0:
            f -= 1
        bq = np.clip(round_half_away(self.basis.astype(np.float64) * 2.0 ** f), -127, 127)
        c = self.codes.astype(np.int64)
        signed = np.where(c == 0, 0, np.sign(c) * (1 << np.maximum(np.abs(c) - 1, 0)))
        w = np.einsum("obrk,obkj->obrj", signed, bq).reshape(self.shape[0], -1)[:, :self.shape[1]]
        unit = sx * 2.0 ** (-4 - f)
        bi = round_half_away(self.bias.astype(np.float64) / unit)
        acc = x.astype(np.int64) @ w.T + bi
        return requant(acc, *requant_params(unit, sy), relu)


def model(batch, n_in, layers):
    """layers: (weight, input_scale, output_scale, relu)."""
    lines, cur, cur_n = [], "%x", n_in
    for i, (w, sx, sy, relu) in enumerate(layers):
        n_out = w.shape[0]
        lines.append(f"  %w{i} = {w.decl()}")
        lines.append(f"  %b{i} = arith.constant dense<{lit(w.bias)}> : tensor<{n_out}xf32>")
        flags = ", relu" if relu else ""
        lines.append(
            f"  %y{i} = sd.quantized_matmul ins({cur}, %w{i} : tensor<{batch}x{cur_n}xi8>, {w.type}) "
            f"bias(%b{i} : tensor<{n_out}xf32>) {{input_scale = {sx} : f64, "
            f"output_scale = {sy} : f64{flags}}} -> tensor<{batch}x{n_out}xi8>")
        cur, cur_n = f"%y{i}", n_out
    body = "\n".join(lines)
    return cur_n, (f"func.func @main(%x: tensor<{batch}x{n_in}xi8>) -> tensor<{batch}x{cur_n}xi8> {{\n"
                   f"{body}\n  return {cur} : tensor<{batch}x{cur_n}xi8>\n}}\n")


def run_cpu(name, text, batch, n_in, n_out, x, pipeline):
    entry = f"""
func.func private @printMemrefF32(tensor<*xf32>)
func.func @entry() {{
  %x = arith.constant dense<{lit(x)}> : tensor<{batch}x{n_in}xi8>
  %y = call @main(%x) : (tensor<{batch}x{n_in}xi8>) -> tensor<{batch}x{n_out}xi8>
  %f = arith.sitofp %y : tensor<{batch}x{n_out}xi8> to tensor<{batch}x{n_out}xf32>
  %u = tensor.cast %f : tensor<{batch}x{n_out}xf32> to tensor<*xf32>
  call @printMemrefF32(%u) : (tensor<*xf32>) -> ()
  return
}}
"""
    path = os.path.join(work, f"{name}-cpu.mlir")
    open(path, "w").write(text + entry)
    llvm = subprocess.run(["sd-opt", path, pipeline], check=True,
                          capture_output=True, text=True).stdout
    out = subprocess.run(["mlir-runner", "-e", "entry", "-entry-point-result=void",
                          "-shared-libs=/usr/lib/llvm-22/lib/libmlir_runner_utils.so"],
                         input=llvm, check=True, capture_output=True, text=True).stdout
    data = out.split("data =", 1)[1]
    return np.array([float(v) for v in re.findall(r"-?\d+(?:\.\d+)?", data)])


def run_accel(name, text, x, config=None, compare=False):
    tag = name + ("-tiny" if config else "")
    path = os.path.join(work, f"{name}.mlir")
    open(path, "w").write(text)
    prog = os.path.join(work, f"{tag}.sdacc")
    cmd = ["sd-translate", "--sd-to-sdacc", path, "-o", prog]
    if config:
        cmd.insert(2, f"--sdacc-config={config}")
    subprocess.run(cmd, check=True)
    np.save(os.path.join(work, f"{name}-x.npy"), x)
    outdir = os.path.join(work, f"{tag}-out")
    report = os.path.join(work, f"{tag}-report.json")
    cmd = ["sd-sim", prog, "--input", f"arg0={work}/{name}-x.npy",
           "--output-dir", outdir, "--report", report]
    if config:
        cmd += ["--config", config]
    if compare:
        cmd += ["--compare", "dense"]
    subprocess.run(cmd, check=True)
    outs = [f for f in os.listdir(outdir) if f.endswith(".npy")]
    assert len(outs) == 1, outs
    return np.load(os.path.join(outdir, outs[0])).astype(np.float64).reshape(-1), \
        json.load(open(report))


def inputs(batch, n, zero_fraction):
    x = rng.integers(-127, 128, size=(batch, n)).astype(np.int8)
    x[rng.random(x.shape) < zero_fraction] = 0
    return x


cases = [
    # name, batch, inputs, layers, fraction of zero inputs
    ("p4-p3-chain", 3, 37, [(PermDiag(29, 37, 4), 0.05, 0.4, True),
                            (PermDiag(11, 29, 3), 0.4, 0.15, False)], 0.0),
    ("p8-then-se", 2, 70, [(PermDiag(50, 70, 8), 0.05, 0.5, True),
                           (SmartExchange(10, 50), 0.5, 2.0, False)], 0.0),
    ("p2-sparse", 4, 33, [(PermDiag(17, 33, 2), 0.05, 0.3, False)], 0.6),
    ("p1", 2, 9, [(PermDiag(5, 9, 1), 0.05, 0.2, False)], 0.0),
    ("p16-bands", 45, 90, [(PermDiag(130, 90, 16), 0.05, 0.2, True)], 0.3),
]

failures = []
for name, batch, n_in, layers, zeros in cases:
    n_out, text = model(batch, n_in, layers)
    x = inputs(batch, n_in, zeros)
    want = x
    for w, sx, sy, relu in layers:
        want = w.reference(want, sx, sy, relu)
    want = want.reshape(-1).astype(np.float64)
    results = {}
    for pipeline in ["--sd-reference-to-llvm", "--sd-cpu-to-llvm"]:
        results[pipeline] = run_cpu(name, text, batch, n_in, n_out, x, pipeline)
    results["sim"], report = run_accel(name, text, x, compare=True)
    results["sim-tiny"], _ = run_accel(name, text, x, config=tiny)
    ratio = report["dense_over_smartexchange"]
    print(f"{name}: values span [{int(want.min())}, {int(want.max())}]; "
          f"{report['cycles']} cycles, {report['energy_pj']['total']:.0f} pJ; "
          f"dense / this: cycles {ratio['cycles']:.2f}x, energy {ratio['energy']:.2f}x")
    for path, got in results.items():
        differ = int((got != want).sum())
        print(f"  {path}: {differ} of {want.size} outputs differ from NumPy")
        if differ:
            failures.append(f"{name} {path}: {differ} outputs differ")
    if len(set(want)) < 4 or (np.abs(want) == 127).mean() > 0.3:
        failures.append(f"{name}: degenerate or saturated outputs")
    formats = [l["format"] for l in report["layers"]]
    if "permdiag" not in formats:
        failures.append(f"{name}: no permdiag layer in the report: {formats}")
if failures:
    print("\n".join(failures))
    sys.exit(1)
print("ok")
