#!/usr/bin/env bash
# configure-sanitize.sh - Configure (once) the ASan + UBSan + libFuzzer
# build folder shared by scripts/sanitize.sh and scripts/fuzz.sh.
#
# Usage: scripts/configure-sanitize.sh BUILD_DIR
# -O1, as the sanitizer and libFuzzer manuals advise: reports keep their
# frames, and the build takes about half the time of -O3 on 2 cores.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="$1"
if [[ ! -x /usr/bin/clang++-22 ]]; then
  echo "configure-sanitize: clang-22 is missing (scripts/install-deps.sh installs it)" >&2
  exit 1
fi
if [[ ! -f "$build/build.ninja" ]]; then
  cmake -G Ninja -S "$root" -B "$build" \
    -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_C_FLAGS_RELEASE="-O1 -DNDEBUG" \
    -DCMAKE_CXX_FLAGS_RELEASE="-O1 -DNDEBUG" \
    -DCMAKE_C_COMPILER=/usr/bin/clang-22 \
    -DCMAKE_CXX_COMPILER=/usr/bin/clang++-22 \
    -DSD_SANITIZE=address,undefined \
    -DSD_FUZZ=ON \
    -DMLIR_DIR=/usr/lib/llvm-22/lib/cmake/mlir \
    -DLLVM_EXTERNAL_LIT=/usr/lib/llvm-22/bin/lit >/dev/null
fi
