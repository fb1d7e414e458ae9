#!/usr/bin/env bash
# test.sh - Install dependencies, build, and run every test (check-sd).
#
# This is the README's test command and what .ci/run calls.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${BUILD_DIR:-$root/build}"

"$root/scripts/install-deps.sh"
# Everything the tests use: the tools, the unit test binaries and drivers.
"$root/scripts/build.sh" sd-driver-tools sd-isa-doc SDUnitTests

# lit runs the FileCheck, verifier and execution tests and the GoogleTest
# binaries. A second pass re-runs sd-opt with --verify-roundtrip, which checks
# that everything our tools print parses back identically.
log="$build/test-results.txt"
status=0
/usr/lib/llvm-22/bin/lit -sv "$build/test" "$build/test/Unit" 2>&1 | tee "$log" || status=1
SD_VERIFY_ROUNDTRIP=1 /usr/lib/llvm-22/bin/lit -s "$build/test/Dialect" \
  "$build/test/Conversion" 2>&1 | tee -a "$log" || status=1
# The unit tests and the dialect/conversion tests again, built with
# AddressSanitizer + UndefinedBehaviorSanitizer (scripts/sanitize.sh ci
# builds only sd-opt and the unit tests, in build-sanitize/; timed on a clean
# 2-core machine in docs/Testing.md, Sanitizers). SD_SANITIZE_CI=0 skips it.
if [[ "${SD_SANITIZE_CI:-1}" != "0" ]]; then
  "$root/scripts/sanitize.sh" ci 2>&1 | tee -a "$log" || status=1
fi

awk -F: '/^ *Passed *:/ { p += $2 }
         /^ *(Failed|Unresolved|Timed Out) *:/ { f += $2 }
         END { printf "%d passed, %d failed\n", p, f }' "$log"
exit $status
