#!/usr/bin/env bash
# Build every libFuzzer target and run each for SECONDS (one at a time, one
# core). Exits 1 when any target crashed; their logs and inputs are named.
# Usage: fuzz-all.sh SOURCE_DIR BUILD_DIR [SECONDS]
set -euo pipefail
src=$(cd "$1" && pwd)
build=$(cd "$2" && pwd)
seconds=${3:-60}
here=$(dirname "$0")
"$here/build.sh" "$src" "$build"
failed=()
for bin in "${FUZZ_BIN_DIR:-$build/fuzz/clang}"/fuzz_*; do
	target=${bin##*/fuzz_}
	echo "== fuzz $target: $seconds s"
	"$here/run-fuzz.sh" "$src" "$build" "$target" "$seconds" || failed+=("$target")
done
if ((${#failed[@]})); then
	echo "fuzz-all: crashes in: ${failed[*]}" >&2
	exit 1
fi
echo "fuzz-all: every target ran $seconds s without a crash"
