#!/usr/bin/env bash
# Idempotent setup for tunebook. Safe to run again; each step checks before it acts.
#   1. Debian packages the tests use (apt-get, only when something is missing).
#   2. npm packages through `deno install` (pinned by deno.json + deno.lock).
#   3. llama.cpp's source (gguf-py, converters) extracted from node-llama-cpp's bundled
#      llama/gitRelease.bundle into .cache/llama.cpp (ignored by git; rebuilt on demand).
#   4. The Deno Jupyter kernel ("deno"), registered at a stable path (scripts/deno_kernel.sh, via
#      scripts/install_kernel.sh), so classic Notebook, VS Code and nbconvert run the notebooks.
# Usage: bash scripts/setup.sh [--no-apt]   (deno task setup)
set -euo pipefail
cd "$(dirname "$0")/.."

# libblas3: Debian's reference BLAS, the anchor deno task bench:train measures against.
DEB_PACKAGES=(python3-torch libopenblas0-pthread libblas3 python3-numpy python3-sentencepiece python3-yaml
  python3-pytest jupyter-nbconvert python3-nbclient jupyter-client python3-ipykernel
  python3-notebook jupyter-notebook chromium  # classic Notebook: `jupyter notebook notebooks/`
  python3-scipy python3-nltk python3-sklearn  # references the test vectors are checked against
  python3-jinja2)  # the reference renders tunebook's Jinja engine is checked against (lm-eval's Jinja2)

usage() {
  cat <<EOF
usage: deno task setup [--no-apt]
       bash scripts/setup.sh [--no-apt]

Idempotent setup; each step checks before it acts, so it is safe to run again:
  1. Debian packages the tests use, installed with apt-get only when one is missing:
     ${DEB_PACKAGES[*]}
  2. npm packages through deno install --frozen (pinned by deno.json + deno.lock)
  3. llama.cpp's source (gguf-py, converters), extracted from node-llama-cpp's bundle into .cache/llama.cpp
  4. the Deno Jupyter kernel, registered at scripts/deno_kernel.sh (scripts/install_kernel.sh),
     so classic Notebook, VS Code and nbconvert run the notebooks

Options:
  --no-apt    skip step 1 (install nothing with apt-get)
  -h, --help  print this help and exit (runs nothing else)
EOF
}
for arg in "$@"; do
  case $arg in
    -h | --help) usage; exit 0 ;;
    --no-apt) ;;
    *) printf 'setup: unknown argument %s\n' "$arg" >&2; usage >&2; exit 2 ;;
  esac
done

DENO="${DENO:-$(command -v deno || echo "npx -y deno@2.9.6")}"
log() { printf '[setup] %s\n' "$*" >&2; }

if [[ "${1:-}" != "--no-apt" ]]; then
  missing=()
  for p in "${DEB_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if ((${#missing[@]})); then
    command -v apt-get >/dev/null || { log "missing Debian packages: ${missing[*]}; install them (no apt-get here)"; exit 1; }
    SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
    log "installing Debian packages: ${missing[*]}"
    $SUDO apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
  fi
fi

if [[ ! -f node_modules/.deno/.setup-stamp ]] || [[ deno.lock -nt node_modules/.deno/.setup-stamp ]]; then
  log "installing npm packages (deno install --frozen)"
  $DENO install --frozen >/dev/null
  touch node_modules/.deno/.setup-stamp
fi

BUNDLE=node_modules/node-llama-cpp/llama/gitRelease.bundle
DEST=.cache/llama.cpp
want=$(git bundle list-heads "$BUNDLE" | awk '$2=="HEAD"{print $1}')
have=$(cat "$DEST/.bundle-head" 2>/dev/null || true)
if [[ "$want" != "$have" || ! -f "$DEST/gguf-py/gguf/__init__.py" ]]; then
  log "extracting llama.cpp source ($want) from $BUNDLE"
  rm -rf "$DEST"
  mkdir -p .cache
  git -c advice.detachedHead=false clone -q "$BUNDLE" "$DEST"
  echo "$want" > "$DEST/.bundle-head"
fi

if command -v jupyter >/dev/null; then
  bash scripts/install_kernel.sh --if-needed
fi
log "ready"
