#!/usr/bin/env bash
# Run one libFuzzer target (built by fuzz/build.sh) for SECONDS on one core,
# from its committed seeds (fuzz/corpus/TARGET, regression inputs included)
# plus the inputs earlier runs found (BUILD_DIR/fuzz/work/TARGET). Prints the
# final stats; on a crash, the whole log (stack trace) and the crashing
# input's path, and exits 1.
# Usage: run-fuzz.sh SOURCE_DIR BUILD_DIR TARGET SECONDS [libFuzzer flags...]
# FUZZ_BIN_DIR overrides where the binaries are (default BUILD_DIR/fuzz/clang).
set -euo pipefail
src=$1
build=$2
target=$3
seconds=$4
shift 4
bin=${FUZZ_BIN_DIR:-$build/fuzz/clang}/fuzz_$target
seeds=$src/fuzz/corpus/$target
work=$build/fuzz/work/$target
artifacts=$build/fuzz/artifacts/$target
log=$build/fuzz/logs/$target.log
[[ -x $bin ]] || { echo "run-fuzz: $bin missing (run fuzz/build.sh $src $build)" >&2; exit 1; }
[[ -d $seeds ]] || { echo "run-fuzz: no seed corpus $seeds" >&2; exit 1; }
mkdir -p "$work" "$artifacts" "$(dirname "$log")"
rm -f "$artifacts"/*

status=0
ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1} \
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
	"$bin" -max_total_time="$seconds" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 -max_len=8192 \
	-artifact_prefix="$artifacts/" "$@" "$work" "$seeds" >"$log" 2>&1 || status=$?

crashes=$(find "$artifacts" -type f 2>/dev/null | sort)
if [[ $status -ne 0 || -n $crashes ]]; then
	cat "$log"
	echo "run-fuzz: $target FAILED (exit status $status); full log: $log"
	for c in $crashes; do
		echo "run-fuzz: crashing input: $c (reproduce: $bin $c)"
	done
	exit 1
fi
# "#N DONE cov: .. ft: .." and libFuzzer's final stats
grep -E '^#[0-9]+.*DONE' "$log" | tail -n 1 || true
grep -E '^stat::' "$log" || true
echo "run-fuzz: $target OK, $seconds s; log: $log"
