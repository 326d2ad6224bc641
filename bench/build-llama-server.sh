#!/usr/bin/env bash
# Build llama.cpp's `llama-server` (and `llama-bench`) from the exact llama.cpp source that the installed
# node-llama-cpp ships (node_modules/node-llama-cpp/llama/gitRelease.bundle), CPU only, offline.
#
# Idempotent: the build is cached outside the repo and skipped when the binary already exists.
# Prints the absolute path of the llama-server binary as the LAST line of stdout (logs go to stderr).
#
#   bench/build-llama-server.sh                 # build (or reuse) and print the binary path
#   MLXM_BENCH_CACHE=/some/dir bench/build-llama-server.sh
#   LLAMA_NATIVE=OFF bench/build-llama-server.sh   # portable build (default ON: -march=native)
#   LLAMA_OPENMP=OFF bench/build-llama-server.sh   # ggml's own threadpool instead of OpenMP, like the prebuilt
#                                                  # node-llama-cpp binaries (their CI builds set GGML_OPENMP=OFF)
#   FORCE=1 bench/build-llama-server.sh         # rebuild even if the binary exists
#
# Layout of the cache (default /root/.cache/mlxm-bench/llama.cpp, i.e. $HOME/.cache/mlxm-bench/llama.cpp):
#   src/                      clone of the bundle (+ node-llama-cpp's llama.cpp patches applied)
#   build-<native|portable>[-noomp]/  cmake build dirs; binaries in build-*/bin/
#   build-<...>.info          what was built from what (tag, commit, cmake flags, build seconds)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
nlc="$repo/node_modules/node-llama-cpp"
bundle="$nlc/llama/gitRelease.bundle"
patches_dir="$nlc/llama/patches"

cache_root="${MLXM_BENCH_CACHE:-$HOME/.cache/mlxm-bench}"
cache="$cache_root/llama.cpp"
native="${LLAMA_NATIVE:-ON}"
openmp="${LLAMA_OPENMP:-ON}"
if [ "$native" = "ON" ]; then flavour=native; else flavour=portable; fi
if [ "$openmp" != "ON" ]; then flavour="$flavour-noomp"; fi
src="$cache/src"
build="$cache/build-$flavour"
bin="$build/bin/llama-server"
jobs="${JOBS:-2}"

log() { echo "[build-llama-server] $*" >&2; }

if [ ! -f "$bundle" ]; then
    log "missing $bundle (run npm install first)"
    exit 1
fi

tag="$(node -p "require('$nlc/llama/llama.cpp.info.json').tag" 2>/dev/null || echo unknown)"
nlc_version="$(node -p "require('$nlc/package.json').version")"
bundle_head="$(git bundle list-heads "$bundle" | awk '$2=="HEAD"{print $1}')"

if [ -x "$bin" ] && [ -z "${FORCE:-}" ]; then
    built_from="$(cat "$build.commit" 2>/dev/null || true)"
    if [ "$built_from" = "$bundle_head" ]; then
        log "cached: $bin (llama.cpp $tag, commit $bundle_head, node-llama-cpp $nlc_version)"
        echo "$bin"
        exit 0
    fi
    log "cached binary was built from '${built_from:-?}', bundle is now $bundle_head: rebuilding"
fi

mkdir -p "$cache"

# 1. Source: clone the bundle once; re-clone when node-llama-cpp was upgraded to another commit.
if [ -d "$src/.git" ] && [ "$(git -C "$src" rev-parse HEAD 2>/dev/null)" != "$bundle_head" ]; then
    log "source at $(git -C "$src" rev-parse HEAD), bundle at $bundle_head: re-cloning"
    rm -rf "$src"
fi
if [ ! -d "$src/.git" ]; then
    log "cloning $bundle -> $src"
    git -c advice.detachedHead=false clone -q "$bundle" "$src" >&2
    git -C "$src" -c advice.detachedHead=false checkout -q "$bundle_head"
fi

# 2. Apply the same llama.cpp patches node-llama-cpp applies to its own build (skip if already applied).
for p in "$patches_dir"/*.diff; do
    [ -f "$p" ] || continue
    if git -C "$src" apply --ignore-whitespace --reverse --check "$p" 2>/dev/null; then
        log "patch already applied: $(basename "$p")"
    elif git -C "$src" apply --ignore-whitespace --check "$p" 2>/dev/null; then
        git -C "$src" apply --ignore-whitespace "$p"
        log "applied patch: $(basename "$p")"
    else
        log "patch does not apply, skipping: $(basename "$p")"
    fi
done

# 3. Configure + build: Release, CPU only, no curl/openssl, no UI download, no tests/examples.
cmake_flags=(
    -DCMAKE_BUILD_TYPE=Release
    -DGGML_NATIVE="$native"
    -DGGML_OPENMP="$openmp"
    -DGGML_CUDA=OFF -DGGML_VULKAN=OFF -DGGML_METAL=OFF -DGGML_HIP=OFF -DGGML_SYCL=OFF -DGGML_OPENCL=OFF
    -DGGML_BACKEND_DL=OFF
    -DBUILD_SHARED_LIBS=OFF
    -DLLAMA_CURL=OFF -DLLAMA_OPENSSL=OFF
    -DLLAMA_BUILD_UI=OFF -DLLAMA_USE_PREBUILT_UI=OFF
    -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF
    -DLLAMA_BUILD_TOOLS=ON -DLLAMA_BUILD_SERVER=ON
)
log "configuring ($flavour) in $build"
start=$(date +%s)
cmake -S "$src" -B "$build" "${cmake_flags[@]}" >"$build.configure.log" 2>&1 || {
    tail -40 "$build.configure.log" >&2
    exit 1
}
log "building llama-server llama-bench with -j$jobs (log: $build.build.log)"
cmake --build "$build" --config Release -j "$jobs" --target llama-server llama-bench >"$build.build.log" 2>&1 || {
    tail -60 "$build.build.log" >&2
    exit 1
}
end=$(date +%s)

{
    echo "node-llama-cpp: $nlc_version"
    echo "llama.cpp tag: $tag"
    echo "llama.cpp commit: $bundle_head"
    echo "cmake flags: ${cmake_flags[*]}"
    echo "jobs: $jobs"
    echo "build seconds: $((end - start))"
    echo "built at: $(date -u +%FT%TZ)"
} >"$build.info"
echo "$bundle_head" >"$build.commit"
log "built in $((end - start)) s: $bin"
echo "$bin"
