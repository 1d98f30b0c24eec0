#!/usr/bin/env bash
# The benchmark: our C ttrpc next to Debian's Go ttrpc 1.1.1, client and server
# in separate processes, every case RUNS times with the implementations
# alternating, plus the raw unix-socket echo of the same size as the floor.
# Writes OUT/latest.md (header, table with targets, client x server matrix),
# OUT/records.tsv (every run) and gnuplot PNG plots into OUT.
#
# Usage: bench/run.sh [--smoke] [BUILD_DIR]   (default build-release, or build)
#   --smoke: a few hundred calls per case, one run, output into
#            BUILD_DIR/bench-smoke; fails when any cell of the table has no
#            number (never on timings).
# Env: RUNS (default 5), OUT (default bench/results), SCALE (call counts x SCALE),
#      SHIM=0 to skip the shim cases (bench/shim-footprint.sh; they need root).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
smoke=0
if [ "${1:-}" = --smoke ]; then
	smoke=1
	shift
fi
build=${1:-build-release}
[ -d "$build" ] || build=build
build=$(cd "$build" && pwd)
bench=$build/bin/ttrpc-bench
gobench=$build/bin/ttrpc-bench-go
grpcgo=$build/bin/grpc-go-peer # grpc-go 1.33 (Debian), answers ttrpc.bench.v1.Bench/Echo
for b in "$bench" "$gobench" "$grpcgo"; do
	[ -x "$b" ] || { echo "run.sh: $b missing: build first" >&2; exit 1; }
done
if [ "$smoke" = 1 ]; then
	runs=${RUNS:-1}
	out=${OUT:-$build/bench-smoke}
	scale=${SCALE:-0.01}
else
	runs=${RUNS:-5}
	out=${OUT:-$here/results}
	scale=${SCALE:-1}
fi
hold_conns=1000
mkdir -p "$out"
dir=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	rm -rf "$dir"
}
trap cleanup EXIT
ulimit -n 8192 2>/dev/null || true # 1000 idle connections and the servers' fds
log() { printf 'run.sh: %s\n' "$*" >&2; }

# cgrpc: our server, the same Bench registration on a gRPC listener (h2c,
# unix); gogrpc: grpc-go's; both driven by our client over gRPC.
declare -A server_cmd=([c]="$bench server" [go]="$gobench server" [raw]="$bench raw-server"
	[cgrpc]="$bench server --grpc-socket $dir/cgrpc.grpc.sock" [gogrpc]="$grpcgo server")
declare -A client_cmd=([c]="$bench client" [go]="$gobench client" [raw]="$bench raw-client"
	[grpc]="$bench client --grpc")
declare -A grpc_socket=([c]=cgrpc.grpc [go]=gogrpc)

# start NAME IMPL [taskset args...]: a server on $dir/NAME.sock; sets pid_NAME.
start() {
	local name=$1 impl=$2
	shift 2
	# shellcheck disable=SC2086
	"$@" ${server_cmd[$impl]} --socket "$dir/$name.sock" >"$dir/$name.out" 2>&1 &
	pids+=($!)
	printf -v "pid_$name" %s $!
	for _ in $(seq 200); do
		grep -q ready "$dir/$name.out" 2>/dev/null && return 0
		sleep 0.05
	done
	echo "run.sh: server $name did not start: $(cat "$dir/$name.out")" >&2
	exit 1
}
stop() { # NAME
	local p="pid_$1"
	kill "${!p}" 2>/dev/null || true
	wait "${!p}" 2>/dev/null || true
}

records=$out/records.tsv
printf 'case\timpl\trun\tcalls_s\tmean_us\tp50_us\tp99_us\tmb_s\n' >"$records"
n() { awk -v n="$1" -v s="$scale" 'BEGIN {v = int(n * s); print (v < 100 ? 100 : v)}'; }

# client CASE IMPL RUN SERVER CLIENT_KIND [client args...]: one client run
# (under ${pin[@]}) against server SERVER, its line appended to the records.
pin=()
client() {
	local case=$1 impl=$2 run=$3 server=$4 kind=$5 line
	shift 5
	# shellcheck disable=SC2086
	if ! line=$("${pin[@]}" ${client_cmd[$kind]} --socket "$dir/$server.sock" "$@" 2>"$dir/client.err"); then
		log "$case $impl run $run: client failed: $(head -3 "$dir/client.err")"
		return 0 # its cell stays empty, and the report fails on it
	fi
	awk -v c="$case" -v i="$impl" -v r="$run" '{
		for (k = 1; k <= NF; k++) { split($k, kv, "="); f[kv[1]] = kv[2] }
		rate = ("calls/s" in f) ? f["calls/s"] : f["messages/s"] # stream modes count messages
		printf "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", c, i, r, rate, f["mean_us"], f["p50_us"], f["p99_us"], f["MB/s"]
	}' <<<"$line" >>"$records"
}

# servers CASE RUN SUFFIX [client args...]: the case against each server
# (ours, each peer, and the raw echo), all driven by our C client.
servers() {
	local case=$1 run=$2 suffix=$3 impl kind
	shift 3
	for impl in "${impls[@]}" raw; do
		kind=c
		[ "$impl" = raw ] && kind=raw
		client "$case" "$impl" "$run" "$impl$suffix" "$kind" "$@"
	done
}

# mem CASE IMPL RUN PID: USS (Private_*) and RSS in KiB from smaps_rollup,
# recorded in the calls_s and mean_us columns (the report knows).
grpc_servers() { # CASE RUN ARGS...: our gRPC server and grpc-go's, as records c and go of CASE
	local case=$1 run=$2 impl
	shift 2
	for impl in c go; do
		client "$case" "$impl" "$run" "${grpc_socket[$impl]}" grpc "$@"
	done
}

mem() {
	local uss rss
	read -r uss rss < <(awk '/^Rss:/ {r = $2} /^Private_(Clean|Dirty|Hugetlb):/ {u += $2} END {print u + 0, r + 0}' \
		"/proc/$4/smaps_rollup")
	printf '%s\t%s\t%s\t%s\t%s\t\t\t\n' "$1" "$2" "$3" "$uss" "$rss" >>"$records"
}

# memory IMPL RUN: a fresh server: idle, after load, with idle connections.
memory() {
	local impl=$1 run=$2 hp p="pid_m_$1"
	start "m_$impl" "$impl"
	sleep 0.5
	mem mem_idle "$impl" "$run" "${!p}"
	"$bench" client --socket "$dir/m_$impl.sock" --calls "$(n 20000)" --concurrency 64 --size 4096 >/dev/null
	"$bench" client --socket "$dir/m_$impl.sock" --calls "$(n 400)" --concurrency 4 --size 1048576 >/dev/null
	sleep 2 # our idle sweep returns buffers after 1 s
	mem mem_load "$impl" "$run" "${!p}"
	"$bench" hold --socket "$dir/m_$impl.sock" --connections "$hold_conns" >"$dir/hold.out" 2>&1 &
	hp=$!
	pids+=("$hp")
	for _ in $(seq 400); do
		grep -q held "$dir/hold.out" && break
		kill -0 "$hp" 2>/dev/null || break
		sleep 0.05
	done
	if grep -q held "$dir/hold.out"; then
		sleep 2
		mem mem_held "$impl" "$run" "${!p}"
	else
		log "hold $impl: $(cat "$dir/hold.out")"
	fi
	kill "$hp" 2>/dev/null || true
	wait "$hp" 2>/dev/null || true
	stop "m_$impl"
}

impls=(c go)
log "build $build, $runs run(s), scale $scale, output $out"
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
for impl in "${impls[@]}" raw; do
	start "$impl" "$impl"
	start "${impl}_pin" "$impl" taskset -c 0
done
start cgrpc cgrpc
start gogrpc gogrpc
for run in $(seq "$runs"); do
	log "run $run of $runs"
	servers lat1 "$run" "" --calls "$(n 20000)" --size 32
	pin=(taskset -c 0)
	servers lat1pin "$run" _pin --calls "$(n 20000)" --size 32
	pin=()
	for size in 32 4096; do
		for conc in 1 16 64 256; do
			servers "thr_${size}_$conc" "$run" "" --calls "$(n $((size == 32 ? 100000 : 40000)))" \
				--concurrency "$conc" --size "$size"
		done
	done
	for size in 1024 65536; do
		servers "size_$size" "$run" "" --calls "$(n 10000)" --size "$size"
	done
	servers size_1048576 "$run" "" --calls "$(n 500)" --size 1048576
	servers mib "$run" "" --calls "$(n 1000)" --concurrency 4 --size 1048576
	for impl in "${impls[@]}"; do
		client conn64 "$impl" "$run" "$impl" c --calls "$(n 100000)" --connections 64 --size 32
	done
	# gRPC (unary, h2c on unix sockets): our server against grpc-go's, by the same client.
	grpc_servers grpc_lat1 "$run" --calls "$(n 20000)" --size 32
	for size in 32 4096; do
		for conc in 1 16 64 256; do
			grpc_servers "grpc_thr_${size}_$conc" "$run" --calls "$(n $((size == 32 ? 100000 : 40000)))" \
				--concurrency "$conc" --size "$size"
		done
	done
	grpc_servers grpc_mib "$run" --calls "$(n 1000)" --concurrency 4 --size 1048576
	# Each stream kind, one stream: ours against ours only (Debian's Go ttrpc
	# 1.1.1 has no streams).
	for mode in download upload chat; do
		for size in 32 4096; do
			client "stream_${mode}_$size" c "$run" c c --mode "$mode" --size "$size" \
				--calls "$(n $((size == 32 ? 200000 : 50000)))"
		done
	done
	# Every client x server pair (each side on its own), 64 in flight, 32 B.
	for cimpl in "${impls[@]}"; do
		for simpl in "${impls[@]}"; do
			client "pair_${cimpl}_$simpl" "$cimpl" "$run" "$simpl" "$cimpl" --calls "$(n 100000)" \
				--concurrency 64 --size 32
		done
	done
	for impl in "${impls[@]}"; do
		memory "$impl" "$run"
	done
done
for impl in "${impls[@]}" raw; do
	stop "$impl"
	stop "${impl}_pin"
done
stop cgrpc
stop gogrpc

# The shim cases (root only: a private containerd).
if [ "$(id -u)" != 0 ]; then
	shim="not run: needs root"
elif [ "${SHIM:-1}" = 0 ]; then
	shim="not run: SHIM=0"
else
	shim=full
	[ "$smoke" = 1 ] && shim=smoke
	: >"$out/shim.tsv"
	shim_args=(--records "$out/shim.tsv")
	[ "$smoke" = 1 ] && shim_args+=(--smoke)
	log "shim cases ($shim)"
	"$here/shim-footprint.sh" "${shim_args[@]}" "$build" >"$out/shim.md" || shim="failed: see the log above"
fi
load_end=$(cut -d' ' -f1-3 /proc/loadavg)

ver() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo unknown; }
{
	echo "date	$(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "machine	$(uname -m), $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
	echo "kernel	$(uname -sr)"
	echo "cpus	$(nproc)"
	echo "memory	$(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)"
	echo "gcc	$(gcc -dumpfullversion 2>/dev/null || gcc -dumpversion)"
	echo "go	$(go version 2>/dev/null | awk '{print $3}'), Go ttrpc $(ver golang-github-containerd-ttrpc-dev), grpc-go $(ver golang-google-grpc-dev)"
	echo "containerd	$(ver containerd)"
	echo "runc	$(ver runc)"
	echo "crun	$(ver crun)"
	echo "libttrpc	$(git -C "$here/.." rev-parse --short HEAD 2>/dev/null || echo unknown), $(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$build/CMakeCache.txt")"
	echo "runs	$runs"
	echo "shim	$shim"
	echo "load	$load_start at start, $load_end at the end (1/5/15 min)"
} >"$out/header.tsv"
/usr/bin/python3 "$here/report.py" "$out" "${impls[@]}"
