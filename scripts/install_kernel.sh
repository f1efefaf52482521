#!/usr/bin/env bash
# Register the Deno Jupyter kernel ("deno", display name "Deno") for this user, pointing at
# scripts/deno_kernel.sh in this checkout — a stable path, unlike the npx cache folder that
# `npx deno jupyter --install` writes into kernel.json. Uses Jupyter's own `jupyter kernelspec
# install --user`, so JUPYTER_DATA_DIR is respected.
#   bash scripts/install_kernel.sh             register (replacing any "deno" kernelspec)
#   bash scripts/install_kernel.sh --if-needed only when there is none, or its program is missing
#                                              or lives in an npx cache (what setup.sh runs)
set -euo pipefail
if [[ "${1:-}" == "-h" || "${1:-}" == "--help" ]]; then
  sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'
  exit 0
fi
cd "$(dirname "$0")/.."
ROOT=$(pwd)
LAUNCHER="$ROOT/scripts/deno_kernel.sh"
log() { printf '[kernel] %s\n' "$*" >&2; }
command -v jupyter >/dev/null || { log "jupyter is not installed: run deno task setup"; exit 1; }

if [[ "${1:-}" == "--if-needed" ]]; then
  # The program of the current "deno" kernelspec, or nothing.
  current=$(jupyter kernelspec list --json 2>/dev/null | /usr/bin/python3 -c '
import json, sys
spec = json.load(sys.stdin).get("kernelspecs", {}).get("deno")
print(spec["spec"]["argv"][0] if spec else "")')
  if [[ -n "$current" && -x "$current" && "$current" != */_npx/* ]]; then exit 0; fi
  log "registering the Deno kernel (was: ${current:-none})"
elif [[ $# -gt 0 ]]; then
  log "unknown argument $1; usage: bash scripts/install_kernel.sh [--if-needed]"; exit 2
fi

spec=$(mktemp -d)
trap 'rm -rf "$spec"' EXIT
# Keep the logos of an existing Deno kernelspec (deno writes them); they are optional.
old=$(jupyter kernelspec list --json 2>/dev/null | /usr/bin/python3 -c '
import json, sys
spec = json.load(sys.stdin).get("kernelspecs", {}).get("deno")
print(spec["resource_dir"] if spec else "")')
[[ -n "$old" ]] && cp "$old"/logo-* "$spec"/ 2>/dev/null || true
LAUNCHER="$LAUNCHER" /usr/bin/python3 -c '
import json, os, sys
json.dump({"argv": [os.environ["LAUNCHER"], "{connection_file}"], "display_name": "Deno",
           "language": "typescript"}, open(sys.argv[1], "w"), indent=2)' "$spec/kernel.json"
jupyter kernelspec install --user --replace --name deno "$spec" >/dev/null 2>&1
log "Deno kernel → $LAUNCHER ($(jupyter --data-dir)/kernels/deno)"
