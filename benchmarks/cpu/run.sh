#!/usr/bin/env bash
# run.sh - CPU backend benchmarks: compressed kernels (SmartExchange, PermDNN)
# vs dense MLIR vs OpenBLAS.
#
# Writes benchmarks/results/cpu.md (table with ratios) and cpu.json.
# Single-threaded on purpose (our kernels are; OPENBLAS_NUM_THREADS=1), so
# ratios compare code, not core counts (OMP_NUM_THREADS=1 for our kernels,
# whose tile loops are OpenMP loops). SD_BENCH_QUICK=1 runs one shape;
# SD_BENCH_ONLY=SHAPE (e.g. 4096x4096_b1) only the models of that shape;
# SD_BENCH_RESULTS another results folder.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
work="${SD_BENCH_WORK:-${TMPDIR:-/tmp}/sd-bench-cpu}"
results="${SD_BENCH_RESULTS:-$root/benchmarks/results}"
mkdir -p "$work" "$results"

"$root/scripts/build.sh" sd-opt >/dev/null
# sd-compile.sh uses the sd-opt just built (BUILD_DIR as in build.sh).
export SD_OPT="${SD_OPT:-${BUILD_DIR:-$root/build}/bin/sd-opt}"
/usr/bin/python3 "$here/gen_models.py" "$work"

: > "$work/models.inc"
objs=()
while read -r kind name n k b bytes; do
  if [[ -n "${SD_BENCH_QUICK:-}" && "$name" != *4096x1024* ]]; then continue; fi
  if [[ -n "${SD_BENCH_ONLY:-}" && "$name" != *"$SD_BENCH_ONLY"* ]]; then continue; fi
  echo "compiling $name" >&2
  if [[ "$kind" == se || "$kind" == pd ]]; then
    "$root/scripts/sd-compile.sh" "$work/$name.mlir" "$work/$name.o"
    echo "#define SD_WEIGHT_BYTES_$name $bytes" >> "$work/models.inc"
    if [[ "$kind" == se ]]; then
      echo "SD_SE($name, $n, $k, $b)" >> "$work/models.inc"
    else
      echo "SD_PD($name, $n, $k, $b)" >> "$work/models.inc"
    fi
  else
    "$root/scripts/sd-compile.sh" "$work/$name.mlir" "$work/$name.o" --sd-tensor-to-llvm
    echo "SD_DENSE($name, $n, $k, $b)" >> "$work/models.inc"
  fi
  objs+=("$work/$name.o")
done < "$work/manifest.txt"

g++ -O3 -march=native -std=c++17 -I"$work" "$here/harness.cpp" "${objs[@]}" \
  -lbenchmark -lopenblas -lpthread -l:libomp.so.5 -o "$work/harness"
OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 "$work/harness" --benchmark_min_time=0.3s \
  --benchmark_out="$results/cpu.json" --benchmark_out_format=json
/usr/bin/python3 "$here/report.py" "$results/cpu.json" > "$results/cpu.md"
cat "$results/cpu.md"
