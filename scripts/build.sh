#!/usr/bin/env bash
# build.sh - Configure (once) and build SmartDeal-MLIR with Ninja.
#
# Usage: scripts/build.sh [ninja targets...]   (default: all)
# BUILD_DIR overrides the build folder (default: build/ in the checkout).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${BUILD_DIR:-$root/build}"

if [[ ! -f "$build/build.ninja" ]]; then
  cmake -G Ninja -S "$root" -B "$build" \
    -DCMAKE_BUILD_TYPE=Release \
    -DMLIR_DIR=/usr/lib/llvm-22/lib/cmake/mlir \
    -DLLVM_EXTERNAL_LIT=/usr/lib/llvm-22/bin/lit
fi
# Two compile jobs per core would run a 2-core machine out of nothing but
# time; MLIR translation units are memory-heavy, not I/O-bound.
ninja -C "$build" -j "${SD_JOBS:-$(nproc)}" "$@"
