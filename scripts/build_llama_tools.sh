#!/usr/bin/env bash
# Build llama.cpp's llama-perplexity, llama-server and llama-bench (CPU, Release) from the source that
# scripts/setup.sh extracts from node-llama-cpp's bundle (.cache/llama.cpp), into
# .cache/llama-build/bin, and the same source's libllama as a shared library compiled for this CPU
# (GGML_NATIVE, as the tools), into .cache/llama-build/shared/bin/libllama.so — what
# TUNEBOOK_LIBLLAMA can point tunebook's batched scorer and generator at instead of node-llama-cpp's
# prebuilt one. Idempotent: skips the build when every file exists and was built from the same
# source HEAD (.cache/llama-build/.source-head).
#
# Options for this llama.cpp version (see its CMakeLists.txt):
#   LLAMA_BUILD_TOOLS=ON        tools/ (perplexity, server) are behind it
#   LLAMA_BUILD_SERVER=ON       llama-server
#   LLAMA_CURL                  deprecated and ignored in this version (not passed)
#   LLAMA_OPENSSL=OFF           HTTPS support of the server's HTTP client; not needed here
#   LLAMA_USE_PREBUILT_UI=OFF   would download the web UI from Hugging Face at build time
#   LLAMA_BUILD_UI=OFF          would run npm to build the web UI
#   BUILD_SHARED_LIBS=OFF       self-contained binaries (ON in shared/, for libllama.so)
#
# Usage: bash scripts/build_llama_tools.sh [--force]
# Env:   JOBS (default 2), LLAMA_SRC (default .cache/llama.cpp), LLAMA_BUILD (.cache/llama-build)
set -euo pipefail
cd "$(dirname "$0")/.."
usage() {
  cat <<'EOF'
usage: deno task build:llama-tools [--force]
       bash scripts/build_llama_tools.sh [--force]

Build llama.cpp's llama-perplexity, llama-server and llama-bench (CPU, Release) from the source
scripts/setup.sh extracts from node-llama-cpp's bundle, into .cache/llama-build/bin (the
references of deno task bench:eval and bench:serve), and that source's libllama.so compiled for
this CPU into .cache/llama-build/shared/bin (TUNEBOOK_LIBLLAMA=... uses it in tunebook's batched
paths). Skips the build when all of them exist and were built from the same source.

Options:
  --force     rebuild even when up to date
  -h, --help  print this help and exit (runs nothing else)

Environment: JOBS (default 2), LLAMA_SRC (default .cache/llama.cpp),
             LLAMA_BUILD (default .cache/llama-build)
EOF
}
for arg in "$@"; do
  case $arg in
    -h | --help) usage; exit 0 ;;
    --force) ;;
    *) printf 'build_llama_tools: unknown argument %s\n' "$arg" >&2; usage >&2; exit 2 ;;
  esac
done

SRC="${LLAMA_SRC:-.cache/llama.cpp}"
BUILD="${LLAMA_BUILD:-.cache/llama-build}"
JOBS="${JOBS:-2}"
TARGETS=(llama-perplexity llama-server llama-bench)
log() { printf '[build_llama_tools] %s\n' "$*" >&2; }

if [[ ! -f "$SRC/CMakeLists.txt" ]]; then
  log "no llama.cpp source in $SRC; extracting it (bash scripts/setup.sh --no-apt)"
  bash scripts/setup.sh --no-apt
fi
# Canonical paths: the same build folder reached through a worktree's .cache symlink must not look
# like another source tree to CMake (that reconfigures and rebuilds everything).
SRC="$(cd "$SRC" && pwd -P)"
mkdir -p "$BUILD"
BUILD="$(cd "$BUILD" && pwd -P)"
for tool in cmake make g++; do
  command -v "$tool" >/dev/null || { log "$tool not found; install it (apt-get install cmake build-essential)"; exit 1; }
done

head=$(cat "$SRC/.bundle-head" 2>/dev/null || git -C "$SRC" rev-parse HEAD)
if [[ "${1:-}" != "--force" && "$(cat "$BUILD/.source-head" 2>/dev/null || true)" == "$head" ]] &&
  [[ -x "$BUILD/bin/llama-perplexity" && -x "$BUILD/bin/llama-server" && -x "$BUILD/bin/llama-bench" ]] &&
  [[ -f "$BUILD/shared/bin/libllama.so" ]]; then
  log "up to date ($head): $BUILD/bin/{llama-perplexity,llama-server,llama-bench}, $BUILD/shared/bin/libllama.so"
  exit 0
fi

start=$(date +%s)
mkdir -p "$BUILD"
log "configuring llama.cpp $head in $BUILD"
cmake -S "$SRC" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release \
  -DGGML_NATIVE=ON -DBUILD_SHARED_LIBS=OFF \
  -DLLAMA_BUILD_TOOLS=ON -DLLAMA_BUILD_SERVER=ON \
  -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_APP=OFF \
  -DLLAMA_OPENSSL=OFF -DLLAMA_USE_PREBUILT_UI=OFF -DLLAMA_BUILD_UI=OFF >"$BUILD/configure.log" 2>&1 ||
  { log "cmake configure failed; see $BUILD/configure.log"; tail -20 "$BUILD/configure.log" >&2; exit 1; }
for target in "${TARGETS[@]}"; do
  log "building $target (-j$JOBS)"
  cmake --build "$BUILD" --config Release --target "$target" -j "$JOBS" >"$BUILD/build-$target.log" 2>&1 ||
    { log "building $target failed; see $BUILD/build-$target.log"; tail -30 "$BUILD/build-$target.log" >&2; exit 1; }
  log "$target built after $(($(date +%s) - start)) s"
done
log "configuring the shared libllama in $BUILD/shared"
cmake -S "$SRC" -B "$BUILD/shared" -DCMAKE_BUILD_TYPE=Release \
  -DGGML_NATIVE=ON -DBUILD_SHARED_LIBS=ON -DCMAKE_BUILD_RPATH_USE_ORIGIN=ON \
  -DLLAMA_BUILD_TOOLS=OFF -DLLAMA_BUILD_SERVER=OFF -DLLAMA_BUILD_COMMON=OFF \
  -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_APP=OFF \
  -DLLAMA_OPENSSL=OFF >"$BUILD/configure-shared.log" 2>&1 ||
  { log "cmake configure failed; see $BUILD/configure-shared.log"; tail -20 "$BUILD/configure-shared.log" >&2; exit 1; }
log "building libllama.so (-j$JOBS)"
cmake --build "$BUILD/shared" --config Release --target llama -j "$JOBS" >"$BUILD/build-libllama.log" 2>&1 ||
  { log "building libllama failed; see $BUILD/build-libllama.log"; tail -30 "$BUILD/build-libllama.log" >&2; exit 1; }
log "libllama.so built after $(($(date +%s) - start)) s"
echo "$head" >"$BUILD/.source-head"
log "done in $(($(date +%s) - start)) s: $BUILD/bin/{llama-perplexity,llama-server,llama-bench}, $BUILD/shared/bin/libllama.so"
