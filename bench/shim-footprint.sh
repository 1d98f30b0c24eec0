#!/usr/bin/env bash
# Footprint of our shim (containerd-shim-tiny-v2, runtime io.containerd.tiny.v2)
# next to Debian's containerd-shim-runc-v2 (io.containerd.runc.v2), both driven
# by one private containerd (tests/e2e/lib.sh) with busybox containers:
#   - RSS and PSS (/proc/PID/smaps_rollup) of the shim process(es) serving one
#     detached `/bin/sleep 600` container, no grouping;
#   - a sandbox plus 10 and plus 20 containers in one group
#     (annotation io.containerd.runc.v2.group=<sandbox id>): shim processes,
#     total shim RSS/PSS at 1, 11 and 21 containers, per-extra-container delta;
#   - start-up latency: `ctr run --rm ... /bin/true`, median of RUNS runs, and a
#     hyperfine comparison when hyperfine is installed.
# Prints a markdown table (ratios: ours / runc-v2) on stdout, progress on stderr.
# Everything it starts is removed on any exit (e2e_cleanup, by pid).
#
#   - ours with crun (binary_name crun) in the ctr run latency;
#   - `start`: from invoking the shim's start to its address printed (a
#     wrapper around both shim binaries times the real start; containerd is
#     restarted for that phase only, so no other number carries the wrapper);
#   - 50 containers started and removed one after the other in one group
#     (total time, shim RSS/USS at the end).
# containerd runs with E2E_CGROUP_V1_VIEW=1 (crun refuses this hybrid host
# otherwise), the same for every runtime.
#
# Usage (root): bench/shim-footprint.sh [--smoke] [--records FILE] [BUILD_DIR]
#   --smoke: only the one-container case, one run; --records: also append
#   "case<TAB>runtime<TAB>value" lines for bench/report.py.
# Env: RUNS (latency runs, default 10), SETTLE (seconds to wait before reading
#      memory, default 1), HYPERFINE=0 to skip hyperfine.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
smoke=0
records=/dev/null
while [ $# -gt 0 ]; do
	case $1 in
	--smoke) smoke=1 ;;
	--records) records=$2; shift ;;
	*) break ;;
	esac
	shift
done
build=${1:-build}
[ -x "$build/bin/containerd-shim-tiny-v2" ] || {
	echo "shim-footprint: $build/bin/containerd-shim-tiny-v2 missing: build first (make build)" >&2
	exit 1
}
command -v containerd-shim-runc-v2 >/dev/null || {
	echo "shim-footprint: containerd-shim-runc-v2 not on PATH (Debian package containerd)" >&2
	exit 1
}
E2E_BIN_DIR=$(cd "$build/bin" && pwd)
export E2E_BIN_DIR
# shellcheck source=tests/e2e/lib.sh
. "$here/../tests/e2e/lib.sh"

RUNS=${RUNS:-10}
[ "$smoke" = 1 ] && RUNS=1 && HYPERFINE=0
SETTLE=${SETTLE:-1}
HYPERFINE=${HYPERFINE:-1}
GROUP_ANNOTATION=io.containerd.runc.v2.group

log() { printf 'shim-footprint: %s\n' "$*" >&2; }
now_ns() { date +%s%N; }
median() { sort -g | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }

# The two contenders: label, runtime name, shim binary name.
runtimes=(tiny runc)
declare -A runtime_of=([tiny]=io.containerd.tiny.v2 [runc]=io.containerd.runc.v2)
declare -A binary_of=([tiny]=containerd-shim-tiny-v2 [runc]=containerd-shim-runc-v2)

# shim_pids LABEL: live shim processes of that runtime serving our containerd
# (shims are started with -address <our socket>). A shim's own `start` process
# exits at once; zombies have no command line and are not listed.
shim_pids() {
	local want=${binary_of[$1]} p cmd arg0
	for p in /proc/[0-9]*; do
		p=${p#/proc/}
		cmd=$(tr '\0' ' ' 2>/dev/null <"/proc/$p/cmdline") || continue
		arg0=${cmd%% *}
		[ "${arg0##*/}" = "$want" ] || continue
		case "$cmd" in *" -address $E2E_SOCK "*) echo "$p" ;; esac
	done
}

# measure LABEL KEY: R[LABEL,KEY_n|_rss|_pss] = shim processes, total RSS and
# PSS (KiB) of that runtime's shims.
measure() {
	local label=$1 key=$2 p n=0 rss=0 pss=0 uss=0 r s u
	sleep "$SETTLE"
	for p in $(shim_pids "$label"); do
		read -r r s u < <(awk '/^Rss:/ {r = $2} /^Pss:/ {s = $2} /^Private_(Clean|Dirty|Hugetlb):/ {u += $2}
			END {print r + 0, s + 0, u + 0}' "/proc/$p/smaps_rollup" 2>/dev/null || echo "0 0 0")
		[ "$r" -gt 0 ] || continue
		n=$((n + 1))
		rss=$((rss + r))
		pss=$((pss + s))
		uss=$((uss + u))
	done
	[ "$n" -gt 0 ] || e2e_fail "no live ${binary_of[$label]} process found"
	R[$label,${key}_n]=$n
	R[$label,${key}_rss]=$rss
	R[$label,${key}_pss]=$pss
	R[$label,${key}_uss]=$uss
	for k in n rss pss uss; do
		printf 'shim_%s_%s\t%s\t%s\n' "$key" "$k" "$label" "${R[$label,${key}_$k]}" >>"$records"
	done
}

# run_detached LABEL ID [ctr run options...]: a running /bin/sleep 600 container.
run_detached() {
	local label=$1 id=$2
	shift 2
	e2e_ctr run -d --runtime "${runtime_of[$label]}" "$@" --rootfs "$rootfs" "$id" /bin/sleep 600 </dev/null >/dev/null
	wait_running "$id"
}

# wait_running ID: `ctr task ls` says RUNNING (State has a 2 s budget per task
# there: under load one may briefly show as UNKNOWN).
wait_running() {
	local line='' i
	for i in $(seq 50); do
		line=$(e2e_ctr task ls 2>&1 | grep -E "^${1}[[:space:]]" || true)
		case $line in *RUNNING*) return 0 ;; esac
		[ "$i" = 1 ] && log "$1 not RUNNING yet (ctr task ls: '${line:-no such task}'), retrying"
		sleep 0.1
	done
	e2e_fail "$1 is not running (ctr task ls: '${line:-no such task}')"
}

# remove IDS...: kill (pid 1 ignores SIGTERM: SIGKILL) and delete task and container.
remove() {
	local id
	for id in "$@"; do
		e2e_ctr task rm -f "$id" >/dev/null 2>&1 || e2e_fail "ctr task rm -f $id failed"
		e2e_ctr containers rm "$id" >/dev/null || e2e_fail "ctr containers rm $id failed"
	done
}

# wait_no_shims LABEL: a shim exits once its last container is deleted.
wait_no_shims() {
	for _ in $(seq 100); do
		[ -z "$(shim_pids "$1")" ] && return 0
		sleep 0.1
	done
	e2e_fail "${binary_of[$1]} still running after its containers were deleted: $(shim_pids "$1" | tr '\n' ' ')"
}

# Everything we started, by pid, its sockets, FIFO dirs and mounts (lib.sh).
cleanup_all() {
	# (stderr: lib.sh's process scan may name a /proc entry that just vanished)
	e2e_cleanup 2>/dev/null || true
}
on_exit() {
	local rc=$?
	trap - EXIT HUP INT TERM
	if [ -n "$E2E_DIR" ]; then
		# (to the saved stderr: a trap runs under the redirections of the
		# command it interrupted, e.g. a ctr >/dev/null 2>&1)
		[ "$rc" = 0 ] || echo "shim-footprint: failed (exit $rc); removing everything it started" >&"$stderr_fd"
		cleanup_all
	fi
	exit "$rc"
}

exec {stderr_fd}>&2
E2E_CGROUP_V1_VIEW=1
export E2E_CGROUP_V1_VIEW
e2e_setup
trap on_exit EXIT
# A signal ends the script through exit, so the EXIT trap cleans up.
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM
e2e_start_containerd
rootfs=$E2E_DIR/rootfs
e2e_build_rootfs "$rootfs"

declare -A R # results: R[<label>,<key>]

for label in "${runtimes[@]}"; do
	log "$label: one detached container, its own shim"
	run_detached "$label" "solo-$label"
	measure "$label" solo
	remove "solo-$label"
	wait_no_shims "$label"
done

rec() { printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$records"; }

if [ "$smoke" = 0 ]; then
	for label in "${runtimes[@]}"; do
		sb=sandbox-$label
		log "$label: sandbox $sb + 20 containers in one group"
		run_detached "$label" "$sb" --annotation "$GROUP_ANNOTATION=$sb"
		measure "$label" g1
		ids=()
		for i in $(seq 1 20); do
			ids+=("$sb-c$i")
			run_detached "$label" "$sb-c$i" --annotation "$GROUP_ANNOTATION=$sb"
			case $i in
			10) measure "$label" g11 ;;
			20) measure "$label" g21 ;;
			esac
		done
		for k in rss pss uss; do
			R[$label,delta_$k]=$(awk -v a="${R[$label,g21_$k]}" -v b="${R[$label,g1_$k]}" 'BEGIN {printf "%.0f", (a - b) / 20}')
			rec "shim_delta_$k" "$label" "${R[$label,delta_$k]}"
		done
		remove "${ids[@]}" "$sb"
		wait_no_shims "$label"
	done

	for label in "${runtimes[@]}"; do
		sb=seq-$label
		log "$label: sandbox $sb, then 50 containers started and removed one after the other in its group"
		run_detached "$label" "$sb" --annotation "$GROUP_ANNOTATION=$sb"
		t0=$(now_ns)
		for i in $(seq 1 50); do
			run_detached "$label" "$sb-c$i" --annotation "$GROUP_ANNOTATION=$sb"
			remove "$sb-c$i"
		done
		t1=$(now_ns)
		R[$label,seq50_ms]=$(((t1 - t0) / 1000000))
		rec shim_seq50_ms "$label" "${R[$label,seq50_ms]}"
		measure "$label" seq50
		remove "$sb"
		wait_no_shims "$label"
	done

	# ours with crun: the same shim, binary_name crun in its runtime options.
	printf '{"binary_name": "crun"}\n' >"$E2E_DIR/crun.json"
	runtimes+=(crun)
	runtime_of[crun]=io.containerd.tiny.v2
	binary_of[crun]=containerd-shim-tiny-v2
	declare -A run_args=([crun]="--runtime-config-path $E2E_DIR/crun.json")
	for label in "${runtimes[@]}"; do
		log "$label: start-up latency, ctr run --rm /bin/true, $RUNS runs (+1 warm-up)"
		: >"$E2E_DIR/lat-$label"
		for i in $(seq 0 "$RUNS"); do
			t0=$(now_ns)
			# shellcheck disable=SC2086
			out=$(e2e_ctr run --rm --runtime "${runtime_of[$label]}" ${run_args[$label]:-} --rootfs "$rootfs" \
				"lat-$label" /bin/true </dev/null 2>&1) ||
				e2e_fail "ctr run --rm /bin/true with $label failed: $out"
			t1=$(now_ns)
			[ "$i" -eq 0 ] || echo $(((t1 - t0) / 1000)) >>"$E2E_DIR/lat-$label"
		done
		R[$label,lat_ms]=$(median <"$E2E_DIR/lat-$label" | awk '{printf "%.1f", $1 / 1000}')
		rec shim_ctr_run_ms "$label" "${R[$label,lat_ms]}"
		wait_no_shims "$label"
	done
	unset 'runtimes[2]'

	# `start` timed by a wrapper in front of each shim binary (its own bash
	# start-up is outside the interval): containerd restarted with the
	# wrappers first on its PATH for this phase only.
	wrap=$E2E_DIR/wrap
	mkdir -p "$wrap"
	for label in "${runtimes[@]}"; do
		real=$(PATH="$E2E_BIN_DIR:$PATH" command -v "${binary_of[$label]}")
		cat >"$wrap/${binary_of[$label]}" <<WRAP
#!/bin/bash
[ "\${!#}" = start ] || exec "$real" "\$@"
t0=\$EPOCHREALTIME
"$real" "\$@" >"$E2E_DIR/start-out.\$\$"
rc=\$?
t1=\$EPOCHREALTIME
echo "\$t0 \$t1" >>"$E2E_DIR/start-$label"
cat "$E2E_DIR/start-out.\$\$"
rm -f "$E2E_DIR/start-out.\$\$"
exit \$rc
WRAP
		chmod +x "$wrap/${binary_of[$label]}"
	done
	e2e_stop_containerd
	saved_bin=$E2E_BIN_DIR
	E2E_BIN_DIR=$wrap:$saved_bin
	e2e_start_containerd
	for label in "${runtimes[@]}"; do
		log "$label: start to address, $RUNS containers"
		for i in $(seq 1 "$RUNS"); do
			run_detached "$label" "st-$label-$i"
			remove "st-$label-$i"
		done
		wait_no_shims "$label"
		R[$label,start_ms]=$(awk '{printf "%.3f\n", ($2 - $1) * 1000}' "$E2E_DIR/start-$label" | median)
		rec shim_start_ms "$label" "${R[$label,start_ms]}"
	done
	E2E_BIN_DIR=$saved_bin
fi

hyperfine_md=
if [ "$HYPERFINE" != 0 ] && command -v hyperfine >/dev/null; then
	log "hyperfine: ctr run --rm /bin/true, both shims"
	cmds=()
	for label in "${runtimes[@]}"; do
		cmds+=("ctr -a $E2E_SOCK -n $E2E_NS run --rm --runtime ${runtime_of[$label]} --rootfs $rootfs hf-$label /bin/true")
	done
	hyperfine -N --style basic --warmup 2 --runs "$RUNS" --export-markdown "$E2E_DIR/hf.md" \
		-n tiny -n runc-v2 "${cmds[@]}" >"$E2E_DIR/hf.out" 2>&1 || {
		cat "$E2E_DIR/hf.out" >&2
		e2e_fail "hyperfine failed"
	}
	hyperfine_md=$(cat "$E2E_DIR/hf.md")
	for label in "${runtimes[@]}"; do wait_no_shims "$label"; done
fi

ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (b == 0) print "-"; else printf "%.2f", a / b}'; }
row() { # title key [ratio?]
	local a=${R[tiny,$2]} b=${R[runc,$2]} r=-
	[ "${3:-yes}" = yes ] && r=$(ratio "$a" "$b")
	echo "| $1 | $a | $b | $r |"
}

echo "| measurement | tiny (ours) | runc-v2 | ours / runc-v2 |"
echo "|---|---:|---:|---:|"
row "1 container, ungrouped: shim processes" solo_n no
row "1 container, ungrouped: shim RSS KiB" solo_rss
row "1 container, ungrouped: shim PSS KiB" solo_pss
row "1 container, ungrouped: shim USS KiB" solo_uss
if [ "$smoke" = 0 ]; then
	for n in 1 11 21; do
		row "group of $n: shim processes" "g${n}_n" no
		row "group of $n: total shim RSS KiB" "g${n}_rss"
		row "group of $n: total shim PSS KiB" "g${n}_pss"
		row "group of $n: total shim USS KiB" "g${n}_uss"
	done
	row "per extra container: RSS KiB ((RSS21 - RSS1) / 20)" delta_rss
	row "per extra container: PSS KiB ((PSS21 - PSS1) / 20)" delta_pss
	row "per extra container: USS KiB ((USS21 - USS1) / 20)" delta_uss
	row "50 containers started and removed in sequence in one group, ms" seq50_ms
	row "after those 50: shim RSS KiB" seq50_rss
	row "after those 50: shim USS KiB" seq50_uss
	row "start-up: ctr run --rm /bin/true, median of $RUNS, ms" lat_ms
	echo "| start-up with crun: ctr run --rm /bin/true, median of $RUNS, ms | ${R[crun,lat_ms]} | - | - |"
	row "start: invoked to address printed, median of $RUNS, ms" start_ms
fi
echo
tiny_size=$(stat -c %s "$E2E_BIN_DIR/containerd-shim-tiny-v2")
runc_size=$(stat -c %s "$(command -v containerd-shim-runc-v2)")
echo "Shim binaries: tiny $((tiny_size / 1024)) KiB, runc-v2 $((runc_size / 1024)) KiB." \
	"containerd $(containerd --version | awk '{print $3}'), $(runc --version | head -n1)," \
	"kernel $(uname -r), $(nproc) cores; memory read ${SETTLE}s after the last container started."
if [ -n "$hyperfine_md" ]; then
	echo
	echo "hyperfine (ctr run --rm /bin/true, $RUNS runs, 2 warm-up):"
	echo
	echo "$hyperfine_md"
fi

log "cleaning up"
dir=$E2E_DIR
sock=$E2E_SOCK
cpid=$E2E_CONTAINERD_PID
cleanup_all
trap - EXIT HUP INT TERM
left=$(E2E_DIR=$dir E2E_SOCK=$sock E2E_CONTAINERD_PID=$cpid e2e_leftovers 2>/dev/null)
[ -z "$left" ] || e2e_fail "left behind: $left"
[ ! -e "$dir" ] || e2e_fail "$dir still exists"
log "done: nothing left behind"
