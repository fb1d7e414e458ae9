#!/usr/bin/env python3
"""Turns the CPU benchmark's Google Benchmark JSON into Markdown tables."""
import json
import re
import sys

data = json.load(open(sys.argv[1]))
rows = {b["name"]: b for b in data["benchmarks"]}
ctx = data["context"]


def ms(b):
    """CPU time of the (single) benchmark thread: on a shared machine wall
    time also counts the other jobs' slices; Google Benchmark's byte rates
    are per CPU second too."""
    return b["cpu_time"] if b["time_unit"] == "ms" else b["cpu_time"] / 1e6


stream = rows.get("stream_copy")
bandwidth = stream["bytes_per_second"] if stream else None
print("# CPU backend: compressed SmartExchange and PermDNN kernels vs dense fp32\n")
print(f"Host: {ctx.get('num_cpus')} CPUs at {ctx.get('mhz_per_cpu')} MHz, "
      f"run {ctx.get('date')}. Single thread everywhere "
      "(OPENBLAS_NUM_THREADS=1); times are CPU time of that thread, "
      f"load average during the run {ctx.get('load_avg', ['?'])[0]}.")
if bandwidth:
    print(f"Stream-copy bandwidth (read + write): {bandwidth / 1e9:.2f} GB/s.\n")
print("| layer | batch | SE kernel ms | dense MLIR ms | OpenBLAS ms | "
      "SE vs OpenBLAS | SE vs dense MLIR | SE weight GB/s | "
      "OpenBLAS weight GB/s |")
print("|---|---|---|---|---|---|---|---|---|")
for name, b in rows.items():
    m = re.match(r"fc_se_(\d+)x(\d+)_b(\d+)$", name)
    if not m:
        continue
    n, k, batch = m.groups()
    dense = rows.get(f"fc_dense_{n}x{k}_b{batch}")
    blas = rows.get(f"fc_blas_{n}x{k}_b{batch}")
    se_ms = ms(b)
    dense_ms = ms(dense) if dense else float("nan")
    blas_ms = ms(blas) if blas else float("nan")
    print(f"| {n}x{k} | {batch} | {se_ms:.3f} | {dense_ms:.3f} | "
          f"{blas_ms:.3f} | {blas_ms / se_ms:.2f}x | {dense_ms / se_ms:.2f}x | "
          f"{b['bytes_per_second'] / 1e9:.2f} | "
          f"{blas['bytes_per_second'] / 1e9 if blas else float('nan'):.2f} |")
print("\n'SE vs X' is X's time over the SE kernel's (above 1: SE is faster). "
      "Weight GB/s counts the bytes of weights each kernel reads (SE: 4-bit Ce "
      "codes plus f32 bases; dense: 4 bytes per weight).")

pd_rows = [(re.match(r"fc_pd(\d+)_(\d+)x(\d+)_b(\d+)$", name), b) for name, b in rows.items()]
pd_rows = [(m.groups(), b) for m, b in pd_rows if m]
if pd_rows:
    print("\n## PermDNN permuted-diagonal kernel\n")
    print("| layer | batch | p | PD ms | SE ms | OpenBLAS ms | dense MLIR ms | "
          "PD vs OpenBLAS | PD vs dense MLIR | PD vs SE | PD weight MB | "
          "SE weight MB |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for (p, n, k, batch), b in sorted(pd_rows, key=lambda r: (
            -int(r[0][1]) * 10 ** 6 - int(r[0][2]), int(r[0][3]), int(r[0][0]))):
        se = rows.get(f"fc_se_{n}x{k}_b{batch}")
        dense = rows.get(f"fc_dense_{n}x{k}_b{batch}")
        blas = rows.get(f"fc_blas_{n}x{k}_b{batch}")
        pd_ms = ms(b)
        nan = float("nan")
        se_ms, dense_ms, blas_ms = (ms(r) if r else nan for r in (se, dense, blas))
        pd_mb = b["bytes_per_second"] * pd_ms / 1e3 / 1e6
        se_mb = se["bytes_per_second"] * se_ms / 1e3 / 1e6 if se else nan
        print(f"| {n}x{k} | {batch} | {p} | {pd_ms:.3f} | {se_ms:.3f} | {blas_ms:.3f} | "
              f"{dense_ms:.3f} | {blas_ms / pd_ms:.2f}x | {dense_ms / pd_ms:.2f}x | "
              f"{se_ms / pd_ms:.2f}x | {pd_mb:.1f} | {se_mb:.1f} |")
    print("\n'PD vs X' is X's time over the permuted-diagonal kernel's (above 1: "
          "PD is faster). PD stores 4 bytes per value (N*K/p of them) and one byte "
          "per block offset; p = 4 is the equal-storage point against the SE "
          "kernel (4-bit Ce codes plus f32 bases).")
