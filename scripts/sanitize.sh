#!/usr/bin/env bash
# sanitize.sh - Build with AddressSanitizer + UndefinedBehaviorSanitizer and
# run the tests under it.
#
# Usage: scripts/sanitize.sh [all|ci]
#   all (default)  every lit suite and the unit tests (needs every tool)
#   ci             the unit tests and the dialect/conversion lit tests;
#                  builds only sd-opt, sd-translate (partition.mlir reads
#                  its programs back) and the unit tests (what CI runs)
# The build is Debian's clang-22 with -DSD_SANITIZE=address,undefined and
# -DSD_FUZZ=ON (coverage hooks, so scripts/fuzz.sh shares it) in
# build-sanitize/ (SD_SANITIZE_BUILD_DIR overrides). Any sanitizer report
# aborts the tool, which fails its test.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${SD_SANITIZE_BUILD_DIR:-$root/build-sanitize}"
mode="${1:-all}"

"$root/scripts/configure-sanitize.sh" "$build"
# Leaks are reported too; the MLIR tools free what they allocate. Manual
# poisoning is off: only LLVM's allocators use it, and mixing our
# instrumented copies of them with Debian's uninstrumented archives makes
# false reports (test/lit.cfg.py says how).
export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=0:detect_leaks=1:strict_string_checks=1:check_initialization_order=1:allow_user_poisoning=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

lit=/usr/lib/llvm-22/bin/lit
case "$mode" in
  ci)
    # sd-sim: the Dialect tests of --sd-schedule read its hardware configuration.
    ninja -C "$build" -j "${SD_JOBS:-$(nproc)}" sd-opt sd-translate sd-sim SDUnitTests
    "$lit" -s "$build/test/Unit" "$build/test/Dialect" "$build/test/Conversion"
    ;;
  all)
    ninja -C "$build" -j "${SD_JOBS:-$(nproc)}" sd-opt sd-translate sd-sim \
      sd-isa-doc SDUnitTests
    "$lit" -s "$build/test" "$build/test/Unit"
    ;;
  *)
    echo "usage: scripts/sanitize.sh [all|ci]" >&2
    exit 2
    ;;
esac
