#!/usr/bin/env bash
# The Deno Jupyter kernel at a stable path: scripts/install_kernel.sh registers this script as the
# "deno" kernel (kernel.json argv), so the kernel keeps working when npx's cache folder (where
# `npx deno jupyter --install` would point it) is cleaned. Runs `deno` from PATH, else the
# project's pinned Deno through npx.
# Usage (by Jupyter): scripts/deno_kernel.sh CONNECTION_FILE
set -euo pipefail
USAGE="usage: $0 CONNECTION_FILE   (Jupyter runs it with the kernel's connection file)"
[[ "${1:-}" == "-h" || "${1:-}" == "--help" ]] && { echo "$USAGE"; exit 0; }
[[ $# -eq 1 ]] || { echo "$USAGE" >&2; exit 2; }
DENO_VERSION=2.9.6
if command -v deno >/dev/null 2>&1; then
  exec deno jupyter --kernel --conn "$1"
fi
exec npx -y "deno@$DENO_VERSION" jupyter --kernel --conn "$1"
