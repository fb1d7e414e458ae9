#!/usr/bin/env bash
# sd-compile.sh - Compile an sd/linalg model to an object file or shared
# library with a plain C entry point per public function.
#
# Usage: scripts/sd-compile.sh IN.mlir OUT.{o,so} [sd-opt pipeline flag]
#   The pipeline defaults to --sd-cpu-to-llvm="openmp=true cached-alloc=true"
#   (compressed kernels, dense ops vectorized, loops over OpenMP threads,
#   buffers kept for the next call by lib/CPURuntime/Alloc.c);
#   --sd-reference-to-llvm builds the dense-rebuild oracle instead, and
#   --sd-tensor-to-llvm compiles plain linalg with upstream's lowering.
# Each public function f becomes `_mlir_ciface_f(result*, args*...)` on
# plain C memref descriptors; see docs/CPUBackend.md. A .o built with the
# CPU pipeline links with -l:libomp.so.5 (its parallel loops use OpenMP).
set -euo pipefail
if [[ $# -lt 2 ]]; then
  echo "usage: $0 IN.mlir OUT.{o,so} [--sd-cpu-to-llvm|--sd-reference-to-llvm]" >&2
  exit 2
fi
in="$1"; out="$2"; pipeline="${3:---sd-cpu-to-llvm=openmp=true cached-alloc=true}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
sd_opt="${SD_OPT:-$root/build/bin/sd-opt}"
llvm=/usr/lib/llvm-22/bin
[[ -f "$in" ]] || { echo "sd-compile: no such file: $in" >&2; exit 1; }
case "$out" in *.o|*.so) ;; *) echo "sd-compile: output must end in .o or .so: $out" >&2; exit 2 ;; esac

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
"$sd_opt" "$in" --sd-emit-c-interface "$pipeline" -o "$tmp/model.llvm.mlir"
"$llvm/mlir-translate" --mlir-to-llvmir "$tmp/model.llvm.mlir" -o "$tmp/model.ll"
# -mcpu=native: the kernels are written for the vector width of the host.
"$llvm/llc" -O3 -mcpu="${SD_MCPU:-native}" -filetype=obj -relocation-model=pic \
  "$tmp/model.ll" -o "$tmp/model.o"
# The small C runtime goes into the same object, so a .o stays one
# self-contained file: the buffer functions of cached-alloc=true (hidden
# symbols; unused otherwise) and the OpenMP block time (lib/CPURuntime).
cc -O2 -fPIC -c "$root/lib/CPURuntime/Alloc.c" -o "$tmp/alloc.o"
cc -O2 -fPIC -c "$root/lib/CPURuntime/Threads.c" -o "$tmp/threads.o"
ld -r "$tmp/model.o" "$tmp/alloc.o" "$tmp/threads.o" -o "$tmp/linked.o"
mv "$tmp/linked.o" "$tmp/model.o"
if [[ "$out" == *.so ]]; then
  # Parallel loops call the OpenMP runtime (Debian's libomp, libomp-dev);
  # --as-needed keeps it out of libraries that have none.
  cc -shared "$tmp/model.o" -lm -Wl,--as-needed -l:libomp.so.5 -o "$tmp/model.so"
  mv "$tmp/model.so" "$out"
else
  mv "$tmp/model.o" "$out"
fi
