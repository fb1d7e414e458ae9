#!/usr/bin/env bash
# run.sh - Every benchmark, one after the other; each writes its table into
# benchmarks/results/ (the decomposition speed table into
# benchmarks/decompose/RESULTS.md).
#
# Usage: benchmarks/run.sh [speed|accuracy|all]   (default: speed)
#   speed     CPU kernels, decomposition speed, accelerator networks and
#             PermDNN layers on sd-sim, torch-mlir-form models on the CPU
#             backend (tens of minutes on 2 cores)
#   accuracy  the post-training and fine-tuning experiments (hours on 2 cores)
# Every ratio is measured against its baseline in the same run.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
build="${BUILD_DIR:-$root/build}"
what="${1:-speed}"
py=/usr/bin/python3
export PYTHONPATH="$root/python${PYTHONPATH:+:$PYTHONPATH}"
export SD_OPT="${SD_OPT:-$build/bin/sd-opt}"

case "$what" in speed|accuracy|all) ;; *)
  echo "usage: $0 [speed|accuracy|all]" >&2; exit 2 ;;
esac

"$root/scripts/install-deps.sh"
"$root/scripts/build.sh" sd-driver-tools sd-decompose-bench \
  sd-decompose-ref-driver

if [[ "$what" != accuracy ]]; then
  "$here/cpu/run.sh"
  "$py" "$here/decompose/run_benchmark.py" --build "$build"
  "$py" "$here/decompose/quality.py"
  "$py" "$here/accelerator/run.py" --build "$build" --check-cpu
  "$py" "$here/accelerator/permdiag.py" --build "$build" --check
  # Whole models in torch-mlir's forms, CPU kernels against the reference.
  "$py" "$here/torch_mlir/run.py"
fi
if [[ "$what" != speed ]]; then
  export SD_DECOMPOSE_DRIVER="$build/bin/sd-decompose-ref-driver"
  "$py" "$here/accuracy/ocr_frontier.py"
  # Rows of 3 over the flattened filter vs rows of S (trains two small
  # Fashion-MNIST nets, minutes).
  "$py" "$here/decompose/kernel_shapes.py"
  "$py" "$here/accuracy/permdiag_frontier.py"
  "$py" "$here/accuracy/fmnist_smartdeal.py"
fi
echo "results: $root/benchmarks/results/"
