#!/usr/bin/env bash
# Drive our C server and the Go ttrpc server (Debian's ttrpc 1.1.1) with the
# same client (ttrpc-bench client) and print a markdown table with ratios.
# Usage: bench/run.sh [BUILD_DIR]   (default: build)
set -euo pipefail
build=${1:-build}
bench=$build/bin/ttrpc-bench
gopeer=$build/bin/ttrpc-go-peer
for b in "$bench" "$gopeer"; do
	[ -x "$b" ] || { echo "run.sh: $b missing: build first (make build)" >&2; exit 1; }
done
runs=${RUNS:-3}
dir=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$dir"
}
trap cleanup EXIT

start() { # name cmd...: start a server, wait for its "ready" line
	local name=$1
	shift
	"$@" >"$dir/$name.out" 2>&1 &
	pids+=($!)
	eval "${name}_pid=$!"
	for _ in $(seq 100); do
		grep -q ready "$dir/$name.out" 2>/dev/null && return 0
		sleep 0.05
	done
	echo "run.sh: $name did not start: $(cat "$dir/$name.out")" >&2
	exit 1
}
start c "$bench" server --socket "$dir/c.sock"
start go "$gopeer" server --socket "$dir/go.sock"
start raw "$bench" raw-server --socket "$dir/raw.sock"

field() { sed -n "s/.* $1=\([0-9.]*\).*/\1/p"; }
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
rss_kib() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }

echo "| size | concurrency | calls | C calls/s | Go calls/s | C/Go | C p99 us | Go p99 us |"
echo "|---:|---:|---:|---:|---:|---:|---:|---:|"
for cfg in "64 1 20000" "64 16 50000" "4096 16 20000" "1048576 4 1000"; do
	read -r size conc calls <<<"$cfg"
	declare -A cps p99
	for srv in c go; do
		: >"$dir/res"
		for _ in $(seq "$runs"); do
			"$bench" client --socket "$dir/$srv.sock" --calls "$calls" --concurrency "$conc" --size "$size" >>"$dir/res"
		done
		cps[$srv]=$(field 'calls\/s' <"$dir/res" | median)
		p99[$srv]=$(field p99_us <"$dir/res" | median)
	done
	ratio=$(awk -v a="${cps[c]}" -v b="${cps[go]}" 'BEGIN {printf "%.2f", a / b}')
	echo "| $size | $conc | $calls | ${cps[c]} | ${cps[go]} | ${ratio}x | ${p99[c]} | ${p99[go]} |"
done
echo
echo "Server RSS after the runs: C $(rss_kib "$c_pid") KiB, Go $(rss_kib "$go_pid") KiB (median of $runs runs per row; $(nproc) cores)"

# One call in flight: the round trip of a bare length-prefixed echo on the same
# kind of socket is the floor; what each ttrpc adds shows against it.
echo
echo "| size | raw socket calls/s | C ttrpc calls/s | Go ttrpc calls/s | C / raw | Go / raw |"
echo "|---:|---:|---:|---:|---:|---:|"
for cfg in "64 20000" "4096 20000" "1048576 1000"; do
	read -r size calls <<<"$cfg"
	declare -A one
	for srv in raw c go; do
		: >"$dir/res"
		mode=client
		[ "$srv" = raw ] && mode=raw-client
		for _ in $(seq "$runs"); do
			"$bench" "$mode" --socket "$dir/$srv.sock" --calls "$calls" --concurrency 1 --size "$size" >>"$dir/res"
		done
		one[$srv]=$(field 'calls\/s' <"$dir/res" | median)
	done
	echo "| $size | ${one[raw]} | ${one[c]} | ${one[go]} |" \
		"$(awk -v a="${one[c]}" -v b="${one[raw]}" 'BEGIN {printf "%.2f", a / b}') |" \
		"$(awk -v a="${one[go]}" -v b="${one[raw]}" 'BEGIN {printf "%.2f", a / b}') |"
done
