#!/usr/bin/env bash
# Build every libFuzzer target with clang (libFuzzer + ASan + UBSan) into
# OUT_DIR (default BUILD_DIR/fuzz/clang), a CMake project of its own (fuzz/clang/) over the
# main tree's sources and the protobuf-c code BUILD_DIR generated (the main
# tree is built first when the generated code is missing).
# Usage: build.sh SOURCE_DIR BUILD_DIR [OUT_DIR]
set -euo pipefail
src=$(cd "$1" && pwd)
build=$(cd "$2" && pwd)
cc=${FUZZ_CC:-clang}
command -v "$cc" >/dev/null || { echo "fuzz/build.sh: $cc not found (install clang)" >&2; exit 1; }
if [[ ! -f $build/task/ttrpc_gen/ttrpc_task/containerd/task/v2/shim.pb-c.c ]]; then
	cmake --build "$build" --target ttrpc_task -j"${FUZZ_JOBS:-2}"
fi
out=${3:-$build/fuzz/clang}
mkdir -p "$out"
cmake -S "$src/fuzz/clang" -B "$out" -DCMAKE_C_COMPILER="$cc" -DCMAKE_BUILD_TYPE= \
	-DTTRPC_SOURCE_DIR="$src" -DTTRPC_BINARY_DIR="$build" >"$out.configure.log" 2>&1 ||
	{ cat "$out.configure.log" >&2; exit 1; }
cmake --build "$out" -j"${FUZZ_JOBS:-2}"
