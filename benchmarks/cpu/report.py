#!/usr/bin/env python3
"""Turns the CPU benchmark's Google Benchmark JSON into a Markdown table."""
import json
import re
import sys

data = json.load(open(sys.argv[1]))
rows = {b["name"]: b for b in data["benchmarks"]}
ctx = data["context"]


def ms(b):
    return b["real_time"] if b["time_unit"] == "ms" else b["real_time"] / 1e6


stream = rows.get("stream_copy")
bandwidth = stream["bytes_per_second"] if stream else None
print("# CPU backend: compressed SmartExchange kernels vs dense fp32\n")
print(f"Host: {ctx.get('num_cpus')} CPUs at {ctx.get('mhz_per_cpu')} MHz, "
      f"run {ctx.get('date')}. Single thread everywhere "
      "(OPENBLAS_NUM_THREADS=1).")
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
      "Weight GB/s counts the bytes of weights each kernel reads (SE: one "
      "byte per Ce code plus f32 bases; dense: 4 bytes per weight).")
