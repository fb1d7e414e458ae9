#!/usr/bin/env bash
# run.sh - The main job on an embedded default: install, build, run.
#
# Until the model driver lands this runs the hand-written example of a
# decomposed fully connected layer and 3x3 convolution through sd-opt's
# reference pipeline and mlir-runner, next to the same layers with dense
# weights in plain linalg, and prints both outputs.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${BUILD_DIR:-$root/build}"

"$root/scripts/install-deps.sh"
"$root/scripts/build.sh" sd-opt

example="$root/test/Integration/reference-layers.mlir"
echo "== $example: sd layers (first of each pair) and dense linalg layers"
"$build/bin/sd-opt" "$example" --sd-reference-to-llvm |
  /usr/lib/llvm-22/bin/mlir-runner -e main -entry-point-result=void \
    -shared-libs=/usr/lib/llvm-22/lib/libmlir_runner_utils.so,/usr/lib/llvm-22/lib/libmlir_c_runner_utils.so |
  grep -v '^Unranked' 
