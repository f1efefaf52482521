#!/usr/bin/env bash
# Every test tunebook has: the README's test command (`deno task test`) and what .ci/run calls.
# Installs what is missing first (scripts/setup.sh), then runs the stages in order:
#   fmt lint check unit model python notebooks
# `deno task test unit python` runs only those stages. Ends with "tunebook: N passed, M failed".
set -uo pipefail
cd "$(dirname "$0")/.."
DENO="${DENO:-$(command -v deno || echo "npx -y deno@2.9.6")}"
export TUNEBOOK_PYTHON="${TUNEBOOK_PYTHON:-/usr/bin/python3}"  # Debian's python3, where python3-torch lives
ALL=(fmt lint check unit model python notebooks)
usage() {
  cat <<'EOF'
usage: deno task test [STAGE...]
       bash scripts/test.sh [STAGE...]

Runs scripts/setup.sh (installs what is missing), then the test stages in order, and ends with
"tunebook: N passed, M failed". deno task test:unit runs the unit stage; test:model the model and
python stages.

Stages (default: all, in this order):
  fmt        deno fmt --check
  lint       deno lint
  check      deno check lib/ tests/ bench/
  unit       deno test -A --doc lib/ tests/unit/   (no model)
  model      deno test -A tests/model/             (with the tiny model)
  python     pytest tests/python
  notebooks  deno task notebooks

Options:
  -h, --help  print this help and exit (runs nothing else)

Exit status: 0 every stage passed; 1 a stage failed; 2 an unknown stage.
EOF
}
for s in "$@"; do
  if [[ $s == -h || $s == --help ]]; then usage; exit 0; fi
done
STAGES=("${@:-${ALL[@]}}")
for s in "${STAGES[@]}"; do
  [[ " ${ALL[*]} " == *" $s "* ]] || { echo "unknown stage '$s'; stages: ${ALL[*]}" >&2; usage >&2; exit 2; }
done
bash scripts/setup.sh || exit 1

passed=0; failed=0; status=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# record <exit code>: add the counts the runner printed into $log (or 1 pass / 1 fail for a check).
record() {
  local rc=$1 p f
  p=$(grep -aoE '[0-9]+ passed' "$log" | tail -1 | grep -oE '[0-9]+')
  f=$(grep -aoE '[0-9]+ failed' "$log" | tail -1 | grep -oE '[0-9]+')
  if [[ -z "$p$f" ]]; then
    if [[ $rc -eq 0 ]]; then p=1; else f=1; fi
  fi
  passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0}))
  if [[ $rc -ne 0 ]]; then
    status=1
    [[ "${f:-0}" -eq 0 ]] && failed=$((failed + 1))
  fi
}
run() { # run <stage> <command...>
  printf '\n=== %s ===\n' "$1"; shift
  "$@" 2>&1 | tee "$log"; record "${PIPESTATUS[0]}"
}

for s in "${STAGES[@]}"; do
  case $s in
    fmt) run "format" $DENO fmt --check ;;
    lint) run "lint" $DENO lint ;;
    check) run "type check" $DENO check lib/ tests/ bench/ ;;
    unit) run "deno unit tests (no model)" $DENO test -A --doc lib/ tests/unit/ ;;
    model) run "deno tests with the tiny model" $DENO test -A tests/model/ ;;
    python)
      printf '\n=== python tests ===\n'
      "$TUNEBOOK_PYTHON" -m pytest -q tests/python 2>&1 | tee "$log"; rc=${PIPESTATUS[0]}
      [[ $rc -eq 5 ]] && rc=0  # no tests collected is not a failure
      record "$rc" ;;
    notebooks)
      if ls notebooks/*.ipynb >/dev/null 2>&1; then run "notebooks" $DENO task notebooks; fi ;;
  esac
done
printf '\ntunebook: %d passed, %d failed\n' "$passed" "$failed"
exit $status
