#!/usr/bin/env bash
# fuzz.sh - Build one libFuzzer target and run it for a given time.
#
# Usage: scripts/fuzz.sh TARGET SECONDS [libFuzzer options...]
#   TARGET: npy | program | sim | ir | plan   (fuzz/<Name>Fuzzer.cpp)
# Builds sd-fuzz-TARGET in the sanitizer folder (build-sanitize/, ASan +
# UBSan, see scripts/sanitize.sh), seeds fuzz/corpus/TARGET/ from the test
# inputs (fuzz/seed.py) and runs it under nice -n 19 (SD_FUZZ_NICE) with one
# job: the machine is shared. New inputs go
# to fuzz/corpus/TARGET/ (not committed), crashes to
# build-sanitize/fuzz/crashes/TARGET/. The last lines give the executions
# done ("stat::number_of_executed_units") and any crash found.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${SD_SANITIZE_BUILD_DIR:-$root/build-sanitize}"
if [[ $# -lt 2 ]]; then
  echo "usage: scripts/fuzz.sh npy|program|sim|ir|plan SECONDS [options...]" >&2
  exit 2
fi
target="$1" seconds="$2"
shift 2
case "$target" in
  npy | program | sim | ir | plan) ;;
  *) echo "fuzz.sh: unknown target '$target'" >&2; exit 2 ;;
esac

"$root/scripts/configure-sanitize.sh" "$build"
ninja -C "$build" -j "${SD_JOBS:-$(nproc)}" "sd-fuzz-$target" >/dev/null
corpus="$root/fuzz/corpus/$target"
crashes="$build/fuzz/crashes/$target"
mkdir -p "$corpus" "$crashes"
/usr/bin/python3 "$root/fuzz/seed.py" "$target" "$corpus"
# allow_user_poisoning=0: see scripts/sanitize.sh (LLVM's allocators).
# malloc_context_size=0: recording a stack for every allocation took a fifth
# of each execution of sd-fuzz-ir (perf); a report still has the stack of
# the bad access, and running the crash file again under
# scripts/sanitize.sh's options gives the allocation stacks.
# quarantine_size_mb=16: with ASan's default 256 MiB quarantine each freed
# block waits long before reuse, so executions keep touching fresh pages;
# page faults took a quarter of sd-fuzz-plan's time (perf) and 16 MiB made
# it 1.5 times faster. Use-after-free is still caught within 16 MiB of
# later allocations, far more than one execution makes.
# detect_leaks=0: LeakSanitizer stops the fuzzer's threads with ptrace; where
# that is blocked (containers) the process hangs at exit after "ptrace
# appears to be blocked". Leaks are checked by scripts/sanitize.sh, whose
# single-threaded tool runs LSan handles; set ASAN_OPTIONS to fuzz for them.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0:allow_user_poisoning=0:malloc_context_size=0:quarantine_size_mb=16}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
defaults=()
if [[ -f "$root/fuzz/$target.dict" ]]; then
  defaults+=(-dict="$root/fuzz/$target.dict")
fi
# Program seeds reach 150 KB (whole networks), IR seeds 60 KB (resource
# blobs); without a cap libFuzzer mutates inputs that large, and each
# execution parses and round-trips them (sd-fuzz-ir ran at 3 exec/s).
# 8 KB still holds every section of a small network and most test cases.
# Later options win.
case "$target" in
  program | sim | ir) defaults+=(-max_len=8192) ;;
esac
exec nice -n "${SD_FUZZ_NICE:-19}" "$build/fuzz/bin/sd-fuzz-$target" \
  "${defaults[@]}" -max_total_time="$seconds" -print_final_stats=1 \
  -rss_limit_mb=2048 -malloc_limit_mb=1024 -timeout=10 \
  -artifact_prefix="$crashes/" "$@" "$corpus"
