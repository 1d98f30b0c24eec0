#!/usr/bin/env bash
# End-to-end tests of containerd-shim-tiny-v2 under a private containerd + runc.
# Usage: shim_test.sh SCENARIO   (one ctest per scenario; see the case below)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

RT=io.containerd.tiny.v2
IMAGE=localhost/e2e/busybox:latest
scenario=${1:?usage: shim_test.sh SCENARIO}

# A container's pid 1 ignores SIGTERM unless it handles it: this one does,
# the way a real service would, and exits 143 like a process killed by TERM.
TRAP_SLEEP='trap "exit 143" TERM; /bin/sleep 600 & wait'

setup() {
	e2e_setup
	e2e_start_containerd
	e2e_build_rootfs "$E2E_DIR/rootfs"
}

import_image() {
	e2e_build_image "$E2E_DIR/rootfs" "$E2E_DIR/image.tar" "$IMAGE"
	e2e_ctr images import "$E2E_DIR/image.tar" >/dev/null
}

run_detached() { # id cmd...
	local id=$1
	shift
	e2e_ctr run -d --runtime "$RT" --rootfs "$E2E_DIR/rootfs" "$id" "$@" >/dev/null
}

task_field() { # id column(2=pid,3=status)
	e2e_ctr task ls | awk -v id="$1" -v col="$2" '$1 == id { print $col }'
}

has_status() { [ "$(task_field "$1" 3)" = "$2" ]; }
wait_status() { # id status
	local deadline=$(($(date +%s) + 20))
	until has_status "$1" "$2"; do
		[ "$(date +%s)" -lt "$deadline" ] || e2e_fail "task $1 did not reach $2 in 20s (now: $(task_field "$1" 3))"
		sleep 0.05
	done
}
gone() { ! kill -0 "$1" 2>/dev/null; }
not_running() { [ "$(task_field "$1" 3)" != RUNNING ]; }

expect_eq() { # got want what
	[ "$1" = "$2" ] || e2e_fail "$3: got '$1', want '$2'"
}
expect_match() { # text extended-regex what
	[[ "$1" =~ $2 ]] || e2e_fail "$3: got '$1', want a match of /$2/"
}

# Nothing of ours is left: no shim, no container process, no mount, no shim
# socket, no runtime state, no container cgroup, no bundle (lib.sh).
expect_clean() { e2e_expect_clean; }

t_run_rm() {
	setup
	local out rc=0
	out=$(e2e_ctr run --rm --runtime "$RT" --rootfs "$E2E_DIR/rootfs" rm1 /bin/sh -c 'echo hi; exit 3') || rc=$?
	expect_eq "$out" hi "output"
	expect_eq "$rc" 3 "exit code"
	expect_clean
}

t_detached() {
	setup
	e2e_events_start "$E2E_DIR/events.txt"
	run_detached d1 /bin/sh -c "$TRAP_SLEEP"
	wait_status d1 RUNNING
	local pid shim
	pid=$(task_field d1 2)
	[ "$pid" -gt 0 ] || e2e_fail "no pid in task ls"
	out=$(e2e_ctr task ps d1)
	echo "$out" | grep -qw "$pid" || e2e_fail "task ps does not list $pid: $out"
	shim=$(e2e_shim_pids)
	expect_eq "$(echo "$shim" | wc -w)" 1 "shim processes"
	local out rc=0
	out=$(e2e_ctr task exec --exec-id x1 d1 /bin/sh -c 'echo from exec; exit 4') || rc=$?
	expect_eq "$out" "from exec" "exec output"
	expect_eq "$rc" 4 "exec exit code"
	# Straight to the shim, what ctr 1.6 cannot ask: Update (its memory limit
	# must land in the container's memory cgroup), Stats, Connect, State.
	local sock shimctl=${E2E_SHIMCTL:-$E2E_BIN_DIR/../tests/shimctl}
	sock=$(cat "$E2E_DIR"/state/io.containerd.runtime.v2.task/*/d1/address)
	out=$("$shimctl" "$sock" "$E2E_NS" connect d1)
	expect_eq "$out" "shim_pid=$shim task_pid=$pid version=0.1.0" "Connect"
	rc=0
	out=$("$shimctl" "$sock" "$E2E_NS" connect nosuch) || rc=$?
	expect_eq "$rc:$out" "0:shim_pid=$shim task_pid=0 version=0.1.0" "Connect of an unknown id (as runc-v2)"
	rc=0
	out=$("$shimctl" "$sock" "$E2E_NS" state d1 nosuch) || rc=$?
	expect_eq "$rc:$out" "1:NOT_FOUND: process nosuch of container d1: not found" "State of an unknown exec"
	"$shimctl" "$sock" "$E2E_NS" update d1 '{"memory": {"limit": 67108864}}' >/dev/null ||
		e2e_fail "Update failed"
	local memcg limit
	memcg=$(awk -F: '$2 == "memory" { print $3 }' "/proc/$pid/cgroup")
	if [ -n "$memcg" ]; then
		limit=$(cat "/sys/fs/cgroup/memory$memcg/memory.limit_in_bytes")
	else
		memcg=$(awk -F: '$2 == "" { print $3 }' "/proc/$pid/cgroup")
		limit=$(cat "/sys/fs/cgroup$memcg/memory.max" 2>/dev/null || cat "/sys/fs/cgroup/unified$memcg/memory.max")
	fi
	expect_eq "$limit" 67108864 "memory limit after task update"
	# Stats: the Metrics type of this host, and numbers that are the cgroup's own.
	local want_type=v1
	[ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ] && want_type=v2
	out=$("$shimctl" "$sock" "$E2E_NS" stats d1) || e2e_fail "Stats: $out"
	echo "$out" | grep -Eq "^type=$want_type pids=[1-9][0-9]* memory_usage=[1-9][0-9]* memory_limit=67108864 cpu_usage_ns=[1-9][0-9]*$" ||
		e2e_fail "Stats: got '$out', want type=$want_type, pids, memory usage, limit 67108864 and cpu usage"
	# ctr decodes the same Any (ctr 1.6 knows both Metrics types).
	out=$(e2e_ctr task metrics d1) || e2e_fail "ctr task metrics: $out"
	echo "$out" | grep -Eq '^(memory\.limit_in_bytes|memory\.usage_limit) +67108864 *$' ||
		e2e_fail "ctr task metrics has no memory limit 67108864: $out"
	e2e_ctr task pause d1
	wait_status d1 PAUSED
	e2e_ctr task resume d1
	wait_status d1 RUNNING
	e2e_trap_ready "$pid"
	e2e_ctr task kill -s TERM d1
	wait_status d1 STOPPED
	e2e_ctr task rm d1
	e2e_ctr c rm d1
	e2e_events_wait "$E2E_DIR/events.txt" '/tasks/delete'
	e2e_events_stop
	grep '/tasks/exit' "$E2E_DIR/events.txt" | grep -q '"exit_status":143' ||
		e2e_fail "exit status after kill -s TERM is not 143: $(grep /tasks/exit "$E2E_DIR/events.txt")"
	grep '/tasks/delete' "$E2E_DIR/events.txt" | grep -q '"exit_status":143' ||
		e2e_fail "delete event without exit status 143: $(grep /tasks/delete "$E2E_DIR/events.txt")"
	expect_clean
	kill -0 "$pid" 2>/dev/null && e2e_fail "container process $pid still alive"
	return 0
}

t_image() {
	setup
	import_image
	local out
	# shellcheck disable=SC2016 # expanded inside the container
	out=$(e2e_ctr run --rm --runtime "$RT" "$IMAGE" img1 /bin/sh -c 'echo hi from $(cut -d: -f1 /etc/passwd); grep -c " / overlay " /proc/mounts')
	expect_eq "$out" "hi from root
1" "image container output (and its root is an overlay)"
	expect_clean
}

t_stdio() {
	setup
	local out
	# ctr 1.6 sends CloseIO when its stdin ends, but only once the task exists:
	# input that ends before that is never closed (containerd-shim-runc-v2
	# hangs the same way), so the input comes once the task runs.
	out=$( (wait_status in1 RUNNING; printf 'line one\nline two\n') | e2e_ctr run --rm --runtime "$RT" --rootfs "$E2E_DIR/rootfs" in1 /bin/cat)
	expect_eq "$out" "line one
line two" "stdin through cat"
	# -t needs a terminal: script(1) gives ctr one
	e2e_note_ids tty1
	out=$(script -qec "ctr -a $E2E_SOCK -n $E2E_NS run --fifo-dir $E2E_FIFO_DIR --rm -t --runtime $RT --rootfs $E2E_DIR/rootfs tty1 /bin/sh -c 'tty; echo done'" /dev/null | tr -d '\r\0')
	echo "$out" | grep -q '/dev/pts/[0-9]' || e2e_fail "no pty in the container: $out"
	echo "$out" | grep -q '^done$' || e2e_fail "terminal output missing: $out"
	expect_clean
}

t_events() {
	setup
	e2e_events_start "$E2E_DIR/events.txt"
	e2e_ctr run --rm --runtime "$RT" --rootfs "$E2E_DIR/rootfs" ev1 /bin/true
	e2e_events_wait "$E2E_DIR/events.txt" '/tasks/delete'
	e2e_events_stop
	local topics
	topics=$(grep -o '/tasks/[a-z-]*' "$E2E_DIR/events.txt" | tr '\n' ' ')
	expect_eq "$topics" "/tasks/create /tasks/start /tasks/exit /tasks/delete " "task events in order"
	grep '/tasks/exit' "$E2E_DIR/events.txt" | grep -q 'ev1' || e2e_fail "exit event without the container id"
	expect_clean
}

t_containerd_restart() {
	setup
	run_detached cr1 /bin/sh -c "$TRAP_SLEEP"
	run_detached cr2 /bin/sleep 600
	wait_status cr1 RUNNING
	wait_status cr2 RUNNING
	local pid pid2
	pid=$(task_field cr1 2)
	pid2=$(task_field cr2 2)
	kill -KILL "$E2E_CONTAINERD_PID"
	wait "$E2E_CONTAINERD_PID" 2>/dev/null || true
	E2E_CONTAINERD_PID=
	kill -0 "$pid" || e2e_fail "container died with containerd"
	# cr2 exits while containerd is away: its /tasks/exit waits in the shim's queue
	kill -KILL "$pid2"
	e2e_wait_for 10 "cr2's process $pid2 to be reaped" gone "$pid2"
	# The restarted containerd logs each event forwarded to it: the queued
	# exit may arrive before any `ctr events` could subscribe.
	local restarted_at
	restarted_at=$(wc -l <"$E2E_DIR/containerd.log")
	E2E_CONTAINERD_LOG_LEVEL=debug e2e_start_containerd
	wait_status cr1 RUNNING
	expect_eq "$(task_field cr1 2)" "$pid" "pid after restart"
	wait_status cr2 STOPPED
	forwarded_exit() {
		tail -n +"$((restarted_at + 1))" "$E2E_DIR/containerd.log" |
			grep 'msg="event forwarded"' | grep "ns=$E2E_NS" | grep -q 'topic=/tasks/exit'
	}
	e2e_wait_for 20 "the exit queued while containerd was down to be forwarded to it" forwarded_exit
	# and what is sent from now on arrives too: cr1's exit
	e2e_events_start "$E2E_DIR/events.txt"
	e2e_trap_ready "$pid"
	e2e_ctr task kill -s TERM cr1
	wait_status cr1 STOPPED
	e2e_events_wait "$E2E_DIR/events.txt" '/tasks/exit.*"container_id":"cr1".*"exit_status":143'
	e2e_events_stop
	e2e_ctr task rm cr1 >/dev/null
	e2e_ctr task rm cr2 >/dev/null
	e2e_ctr c rm cr1 cr2
	expect_clean
}

# SIGTERM: the shim stops serving, removes its socket and exits.
t_sigterm() {
	setup
	run_detached st1 /bin/sleep 600
	wait_status st1 RUNNING
	local shim sock
	shim=$(e2e_shim_pids)
	sock=$(sed 's|^unix://||' "$E2E_DIR"/state/io.containerd.runtime.v2.task/*/st1/address)
	[ -S "$sock" ] || e2e_fail "no socket at $sock"
	kill -TERM "$shim"
	e2e_wait_for 10 "shim $shim to exit on SIGTERM" gone "$shim"
	[ ! -e "$sock" ] || e2e_fail "socket $sock left behind"
	grep -q 'signal 15: exiting, 1 containers keep running' "$E2E_DIR/containerd.log" ||
		e2e_fail "no log line about SIGTERM"
	# containerd notices the shim is gone and cleans up the container
	e2e_wait_for 20 "containerd to see st1 stop" not_running st1
	e2e_ctr task rm st1 >/dev/null 2>&1 || true
	e2e_ctr c rm st1
	expect_clean
}

t_shim_killed() {
	setup
	run_detached sk1 /bin/sleep 600
	wait_status sk1 RUNNING
	local pid shim
	pid=$(task_field sk1 2)
	shim=$(e2e_shim_pids)
	[ -n "$shim" ] || e2e_fail "no shim"
	kill -KILL "$shim"
	# containerd notices, runs `shim delete`, marks the task stopped
	e2e_wait_for 20 "containerd to see sk1 stop" not_running sk1
	e2e_wait_for 10 "container process $pid to go with the cleanup" gone "$pid"
	e2e_ctr task rm sk1 >/dev/null 2>&1 || true
	e2e_ctr c rm sk1
	[ -z "$(e2e_ctr c ls -q)" ] || e2e_fail "containers left: $(e2e_ctr c ls -q)"
	grep -q 'cleaning up after shim disconnected.*sk1\|id=sk1.*cleaning up' "$E2E_DIR/containerd.log" ||
		e2e_fail "containerd did not clean up after the shim"
	expect_clean
}

t_crun() {
	# crun refuses a hybrid cgroup host whose cgroup2 hierarchy holds controllers
	# ("cgroups in hybrid mode not supported, drop all controllers from
	# cgroupv2"), as this kind of machine has (hugetlb on the v2 side, and it
	# stays there even when a v1 hugetlb hierarchy is mounted). On such a host
	# containerd (and so the shim and crun) runs in a private mount namespace
	# without the cgroup2 mount: crun sees a v1 host. Nothing on the host
	# changes. Elsewhere nothing is needed; if crun still refuses, this fails
	# with crun's words.
	E2E_CGROUP_V1_VIEW=1 setup
	printf '{"binary_name": "crun"}\n' >"$E2E_DIR/crun.json"
	local out rc=0
	out=$(e2e_ctr run --rm --runtime "$RT" --runtime-config-path "$E2E_DIR/crun.json" --rootfs "$E2E_DIR/rootfs" \
		cr1 /bin/sh -c 'echo via crun' 2>&1) || rc=$?
	[ "$rc" = 0 ] || e2e_fail "crun could not run a container on this host (exit $rc): $out"
	expect_eq "$out" "via crun" "output"
	grep -q 'created container cr1 (pid [0-9]*, runtime [^ ]*/crun)' "$E2E_DIR/containerd.log" ||
		e2e_fail "the shim did not use crun: $(grep 'created container' "$E2E_DIR/containerd.log")"
	expect_clean
}

t_bad_input() {
	setup
	local out rc
	# a runtime binary that does not exist
	printf '{"binary_name": "no-such-runtime"}\n' >"$E2E_DIR/bad.json"
	rc=0
	out=$(e2e_ctr run --rm --runtime "$RT" --runtime-config-path "$E2E_DIR/bad.json" --rootfs "$E2E_DIR/rootfs" \
		b1 /bin/true 2>&1) || rc=$?
	[ "$rc" != 0 ] || e2e_fail "missing runtime binary: ctr succeeded"
	echo "$out" | grep -q 'no-such-runtime.*not found' || e2e_fail "missing runtime binary: unclear error: $out"
	# a runtime config file that is not JSON
	echo 'not json' >"$E2E_DIR/bad2.json"
	rc=0
	out=$(e2e_ctr run --rm --runtime "$RT" --runtime-config-path "$E2E_DIR/bad2.json" --rootfs "$E2E_DIR/rootfs" \
		b2 /bin/true 2>&1) || rc=$?
	[ "$rc" != 0 ] || e2e_fail "bad runtime config: ctr succeeded"
	echo "$out" | grep -q 'bad2.json' || e2e_fail "bad runtime config: error does not name the file: $out"
	# a program that does not exist in the container: runc's own words come back
	rc=0
	out=$(e2e_ctr run --rm --runtime "$RT" --rootfs "$E2E_DIR/rootfs" b3 /no/such/program 2>&1) || rc=$?
	[ "$rc" != 0 ] || e2e_fail "missing program: ctr succeeded"
	echo "$out" | grep -q 'OCI runtime create failed: .*no such file or directory' ||
		e2e_fail "missing program: unclear error: $out"
	e2e_ctr c rm b1 b2 b3 >/dev/null 2>&1 || true
	# unknown ids, asked of a running shim itself (containerd would answer
	# for an id it does not know without asking any shim)
	local shimctl=${E2E_SHIMCTL:-$E2E_BIN_DIR/../tests/shimctl} sock
	run_detached live1 /bin/sleep 600
	wait_status live1 RUNNING
	sock=$(cat "$E2E_DIR"/state/io.containerd.runtime.v2.task/*/live1/address)
	rc=0
	out=$("$shimctl" "$sock" "$E2E_NS" state nosuch) || rc=$?
	expect_eq "$rc:$out" "1:NOT_FOUND: container nosuch: not found" "State of an unknown id, from the shim"
	rc=0
	out=$("$shimctl" "$sock" "$E2E_NS" connect '../live1') || rc=$?
	# an id the shim does not know, as runc-v2 answers it: no task pid (the
	# path-like id names no container, live1 least of all)
	expect_match "$rc:$out" '^0:shim_pid=[1-9][0-9]* task_pid=0 ' "Connect of a path-like id"
	e2e_ctr task kill -s KILL live1
	wait_status live1 STOPPED
	e2e_ctr task rm live1 >/dev/null
	e2e_ctr c rm live1
	# the shim binary itself: no bundle config, bad config.json
	local shim=$E2E_BIN_DIR/containerd-shim-tiny-v2
	mkdir -p "$E2E_DIR/nobundle" "$E2E_DIR/badbundle"
	echo '{ "ociVersion": ' >"$E2E_DIR/badbundle/config.json"
	e2e_note_ids c1 gone
	rc=0
	out=$(cd "$E2E_DIR/nobundle" && "$shim" -namespace "$E2E_NS" -address "$E2E_SOCK" -id c1 start </dev/null 2>&1) || rc=$?
	[ "$rc" != 0 ] && echo "$out" | grep -q 'config.json' || e2e_fail "missing bundle config: rc=$rc: $out"
	rc=0
	out=$(cd "$E2E_DIR/badbundle" && "$shim" -namespace "$E2E_NS" -address "$E2E_SOCK" -id c1 start </dev/null 2>&1) || rc=$?
	[ "$rc" != 0 ] && echo "$out" | grep -q 'config.json' || e2e_fail "bad config.json: rc=$rc: $out"
	rc=0
	out=$("$shim" -namespace "$E2E_NS" -address "$E2E_SOCK" -id ../etc start </dev/null 2>&1) || rc=$?
	[ "$rc" != 0 ] && echo "$out" | grep -q 'container id' || e2e_fail "path-trick id accepted: rc=$rc: $out"
	rc=0
	out=$("$shim" -bogus 2>&1) || rc=$?
	[ "$rc" != 0 ] && echo "$out" | grep -q 'flag provided but not defined: -bogus' || e2e_fail "bad flag: $out"
	"$shim" -v | grep -q "$RT" || e2e_fail "-v does not name the runtime"
	# delete for a container that never existed: idempotent, and a
	# DeleteResponse on stdout with exit_status 137 (field 2: 0x10 0x89 0x01,
	# then exited_at: 0x1a). (How fast: bench/shim-footprint.sh; the timeout
	# only turns a hang into a failure.)
	local bytes
	for _ in 1 2; do
		bytes=$(cd "$E2E_DIR/nobundle" && timeout 30 "$shim" -namespace "$E2E_NS" -address "$E2E_SOCK" -id gone delete 2>/dev/null |
			od -An -tx1 | tr -d ' \n')
		case "$bytes" in 1089011a*) ;; *) e2e_fail "delete printed no DeleteResponse with status 137: $bytes" ;; esac
	done
	expect_clean
}

# A process killed by the kernel for memory in a container: /tasks/oom.
t_oom() {
	setup
	e2e_events_start "$E2E_DIR/events.txt"
	local out
	out=$(e2e_ctr run --rm --runtime "$RT" --memory-limit 16777216 --rootfs "$E2E_DIR/rootfs" oom1 \
		/bin/sh -c 'dd if=/dev/zero of=/dev/null bs=64M count=1 2>/dev/null; echo dd=$?')
	expect_eq "$out" "dd=137" "dd in a 16 MiB container"
	e2e_events_wait "$E2E_DIR/events.txt" '/tasks/delete'
	e2e_events_wait "$E2E_DIR/events.txt" '/tasks/oom'
	e2e_events_stop
	local topics
	# the OOM notice and the exit of sh race each other: order aside, both come
	grep '/tasks/oom' "$E2E_DIR/events.txt" | grep -q '"container_id":"oom1"' ||
		e2e_fail "no /tasks/oom event for oom1: $(cat "$E2E_DIR/events.txt")"
	topics=$(grep -o '/tasks/[a-z-]*' "$E2E_DIR/events.txt" | grep -v /tasks/oom | tr '\n' ' ')
	expect_eq "$topics" "/tasks/create /tasks/start /tasks/exit /tasks/delete " "events of an OOM kill"
	expect_clean
}

# Stats beside containerd-shim-runc-v2: the same container (same command, same
# 64 MiB limit) under both shims, read with ctr task metrics --format json.
# Every field runc-v2 fills, we fill; the limit and the cgroup's own files
# agree with our numbers.
t_stats() {
	setup
	local id rt
	for id in s1 r1; do
		rt=$RT
		[ "$id" = r1 ] && rt=io.containerd.runc.v2
		e2e_ctr run -d --runtime "$rt" --memory-limit 67108864 --rootfs "$E2E_DIR/rootfs" "$id" \
			/bin/sh -c "$TRAP_SLEEP" >/dev/null
		wait_status "$id" RUNNING
		e2e_trap_ready "$(task_field "$id" 2)"
	done
	e2e_ctr task metrics --format json s1 >"$E2E_DIR/ours.json" || e2e_fail "ctr task metrics s1 failed"
	e2e_ctr task metrics --format json r1 >"$E2E_DIR/runc.json" || e2e_fail "ctr task metrics r1 failed"
	[ -z "${E2E_STATS_KEEP:-}" ] || cp "$E2E_DIR/ours.json" "$E2E_DIR/runc.json" "$E2E_STATS_KEEP"/
	local pid memcg cmp
	pid=$(task_field s1 2)
	memcg=$(awk -F: '$2 == "memory" { print $3 }' "/proc/$pid/cgroup")
	[ -n "$memcg" ] && memcg=/sys/fs/cgroup/memory$memcg
	cmp=$(/usr/bin/python3 - "$E2E_DIR/ours.json" "$E2E_DIR/runc.json" "$memcg" <<'PY'
import json, sys
ours, runc = (json.load(open(f)) for f in sys.argv[1:3])
memcg = sys.argv[3]
def leaves(d, pre=""):
    out = {}
    if isinstance(d, dict):
        for k, v in d.items():
            out.update(leaves(v, pre + "." + k if pre else k))
    elif isinstance(d, list):
        out[pre] = len(d)
    else:
        out[pre] = d
    return out
o, r = leaves(ours), leaves(runc)
# Counters that may be zero in one container and not in the other (page
# faults, file pages, throttling, block io, user/kernel cpu time in 10 ms ticks): JSON omits zeros, so such a
# field on one side only is not a difference. Every other field must be on
# both sides, and every limit must be equal (both containers have 64 MiB).
import re
volatile = re.compile(r"(pg|fault|cache|file|dirty|writeback|throttl|blkio|unevictable|mapped|shmem|per_cpu|kernel_tcp\.(usage|max)|cpu\.usage\.(kernel|user))")
for k in sorted(set(r) - set(o)):
    if not volatile.search(k):
        print("runc-v2 fills %s (%s), we do not" % (k, r[k]))
for k in sorted(set(o) - set(r)):
    if not volatile.search(k):
        print("we fill %s (%s), runc-v2 does not" % (k, o[k]))
for k in sorted(r):
    if "limit" in k and k in o and o[k] != r[k]:
        print("%s: ours %s, runc-v2 %s" % (k, o[k], r[k]))
if o.get("memory.usage.limit", o.get("memory.usage_limit")) != 67108864:
    print("memory limit is not 64 MiB in our metrics")
if not o.get("pids.current"):
    print("no pids.current in our metrics")
if not (o.get("cpu.usage.total") or o.get("cpu.usage_usec")):
    print("no cpu usage in our metrics")
if memcg:
    stat = dict(l.split() for l in open(memcg + "/memory.stat"))
    for f in ("total_rss", "total_inactive_anon", "hierarchical_memory_limit"):
        want = int(stat[f])
        got = o.get("memory." + f, 0)
        if not (want / 2 <= got <= want * 2 + 65536):
            print("memory.%s: ours %s, the cgroup's memory.stat %d" % (f, got, want))
print("compared %d fields of runc-v2 with %d of ours" % (len(r), len(o)))
PY
) || e2e_fail "comparing the metrics failed: $cmp"
	e2e_log "stats: $cmp"
	[ "$(echo "$cmp" | wc -l)" = 1 ] || e2e_fail "Stats differ from containerd-shim-runc-v2's: $cmp"
	for id in s1 r1; do
		e2e_ctr task kill -s KILL "$id"
		wait_status "$id" STOPPED
		e2e_ctr task rm "$id" >/dev/null
		e2e_ctr c rm "$id"
	done
	expect_clean
}

shimctl() { "${E2E_SHIMCTL:-$E2E_BIN_DIR/../tests/shimctl}" "$@"; }
bundle_of() { echo "$E2E_DIR/state/io.containerd.runtime.v2.task/$E2E_NS/$1"; }

# The answers where ours differed from containerd-shim-runc-v2's (issue 11),
# asked of both shims in the same run, straight to each shim's socket and
# through containerd: Connect for an id the shim does not know is OK with
# task_pid 0; State of an exec has the exec id in id and exec_id empty; Pids
# tags an exec's pid with Any containerd.runc.v1.ProcessDetails{exec_id} (ctr
# task ps decodes it); ResizePty of processes without a terminal is OK; the
# `delete` action of a killed shim reports the init pid from the bundle,
# which containerd puts into the exit and delete events it publishes.
t_runc_answers() {
	setup
	local id rt sock pid xpid out x shims=()
	for id in ra1 rr1; do
		rt=$RT
		[ "$id" = rr1 ] && rt=io.containerd.runc.v2
		e2e_ctr run -d --runtime "$rt" --rootfs "$E2E_DIR/rootfs" "$id" /bin/sleep 600 >/dev/null
		wait_status "$id" RUNNING
		e2e_ctr task exec -d --exec-id x1 "$id" /bin/sleep 600
		sock=$(cat "$(bundle_of "$id")/address")
		pid=$(task_field "$id" 2)

		out=$(shimctl "$sock" "$E2E_NS" connect nosuch 2>&1) || e2e_fail "$rt: Connect of an unknown id: $out"
		expect_match "$out" '^shim_pid=[1-9][0-9]* task_pid=0 ' "$rt: Connect of an unknown id"
		shims+=("$(echo "$out" | sed 's/^shim_pid=\([0-9]*\) .*/\1/')")
		out=$(shimctl "$sock" "$E2E_NS" connect "$id" 2>&1) || e2e_fail "$rt: Connect $id: $out"
		expect_match "$out" "^shim_pid=${shims[-1]} task_pid=$pid " "$rt: Connect $id"

		out=$(shimctl "$sock" "$E2E_NS" state "$id" x1 2>&1) || e2e_fail "$rt: State of exec x1: $out"
		expect_match "$out" '^id=x1 pid=[1-9][0-9]* status=2 exit_status=0$' "$rt: State of exec x1"
		xpid=$(echo "$out" | sed 's/.* pid=\([0-9]*\) .*/\1/')
		out=$(shimctl "$sock" "$E2E_NS" state "$id" 2>&1) || e2e_fail "$rt: State of $id: $out"
		expect_eq "$out" "id=$id pid=$pid status=2 exit_status=0" "$rt: State of the init"

		out=$(shimctl "$sock" "$E2E_NS" pids "$id" 2>&1) || e2e_fail "$rt: Pids: $out"
		echo "$out" | grep -qx "pid=$pid" || e2e_fail "$rt: Pids: no untagged init pid $pid: $out"
		echo "$out" | grep -qx "pid=$xpid type=containerd.runc.v1.ProcessDetails exec_id=x1" ||
			e2e_fail "$rt: Pids: exec pid $xpid not tagged with exec id x1: $out"
		out=$(e2e_ctr task ps "$id" 2>&1) || e2e_fail "$rt: ctr task ps: $out"
		echo "$out" | grep -Eq "^$xpid +&ProcessDetails\{ExecID:x1" || e2e_fail "$rt: ctr task ps: $out"

		for x in "" x1; do
			# shellcheck disable=SC2086
			out=$(shimctl "$sock" "$E2E_NS" resize "$id" 100 40 $x 2>&1) ||
				e2e_fail "$rt: ResizePty of ${x:-the init} without a terminal: $out"
		done
	done

	# both shims killed: containerd runs each one's `delete` action
	e2e_events_start "$E2E_DIR/events.txt"
	local pids=() runc_sock
	for id in ra1 rr1; do pids+=("$(task_field "$id" 2)"); done
	runc_sock=$(cat "$(bundle_of rr1)/address")
	kill -KILL "${shims[@]}"
	local i=0
	for id in ra1 rr1; do
		e2e_events_wait "$E2E_DIR/events.txt" "/tasks/delete.*\"container_id\":\"$id\""
		grep '/tasks/exit' "$E2E_DIR/events.txt" | grep "\"container_id\":\"$id\"" | grep -q "\"pid\":${pids[$i]}," ||
			e2e_fail "$id: the exit event after its shim died lacks the init pid ${pids[$i]}: $(grep "$id" "$E2E_DIR/events.txt")"
		grep '/tasks/delete' "$E2E_DIR/events.txt" | grep "\"container_id\":\"$id\"" | grep -q "\"pid\":${pids[$i]}," ||
			e2e_fail "$id: the delete event after its shim died lacks the init pid ${pids[$i]}: $(grep "$id" "$E2E_DIR/events.txt")"
		i=$((i + 1))
	done
	e2e_events_stop
	for id in ra1 rr1; do
		e2e_wait_for 20 "containerd to see $id stop" not_running "$id"
		e2e_ctr task rm "$id" >/dev/null 2>&1 || true
		e2e_ctr c rm "$id"
	done
	# runc-v2's delete leaves a killed shim's socket behind (ours removes it)
	[ -S "${runc_sock#unix://}" ] && rm -f "${runc_sock#unix://}"
	expect_clean
}

# ctr run --log-uri: file:// (stdout and stderr appended to one file the
# shim creates with its directories, as runc-v2 does).
t_log_uri() {
	setup
	local log=$E2E_DIR/logs/sub/c1.log out rc=0
	e2e_ctr run --rm --runtime "$RT" --log-uri "file://$log" --rootfs "$E2E_DIR/rootfs" lf1 \
		/bin/sh -c 'echo to-stdout; echo to-stderr >&2' || e2e_fail "ctr run --log-uri file:// failed"
	[ -f "$log" ] || e2e_fail "no log file $log"
	expect_eq "$(sort "$log" | tr '\n' ' ')" "to-stderr to-stdout " "log file content"
	expect_eq "$(stat -c %a "$log")" 644 "log file mode"
	# appended, not truncated, by a second container
	e2e_ctr run --rm --runtime "$RT" --log-uri "file://$log" --rootfs "$E2E_DIR/rootfs" lf2 /bin/echo again ||
		e2e_fail "second ctr run --log-uri failed"
	expect_eq "$(wc -l <"$log")" 3 "lines after the second container"
	out=$(e2e_ctr run --rm --runtime "$RT" --log-uri "file://relative/x" --rootfs "$E2E_DIR/rootfs" lf3 /bin/true 2>&1) || rc=$?
	[ "$rc" != 0 ] && echo "$out" | grep -q 'stdout stdio URI "file://relative/x": a host part is not supported' ||
		e2e_fail "a relative file URI: rc=$rc, $out"
	e2e_ctr c rm lf3 >/dev/null 2>&1 || true
	# binary://: a logging binary run as runc-v2 runs it (args from the query,
	# CONTAINER_ID and CONTAINER_NAMESPACE, fds 3/4 the container's stdout and
	# stderr, fd 5 closed when ready); ready only after 1 s, so Create waits.
	local logger=$E2E_DIR/logger.sh bl=$E2E_DIR/blog
	mkdir -p "$bl"
	cat >"$logger" <<'SH'
#!/bin/sh
dir=$2
echo "$CONTAINER_NAMESPACE/$CONTAINER_ID $*" >"$dir/meta"
sleep 1
exec 5>&-
cat <&3 >"$dir/out" &
cat <&4 >"$dir/err" &
exec 3<&- 4<&-
wait
touch "$dir/done"
SH
	chmod +x "$logger"
	e2e_ctr run --rm --runtime "$RT" --log-uri "binary://$logger?dir=$bl" --rootfs "$E2E_DIR/rootfs" lb1 \
		/bin/sh -c 'echo to-stdout; echo to-stderr >&2' || e2e_fail "ctr run --log-uri binary:// failed"
	e2e_wait_for 10 "the logger to finish" test -e "$bl/done"
	expect_eq "$(cat "$bl/meta")" "$E2E_NS/lb1 dir $bl" "logger environment and arguments"
	expect_eq "$(cat "$bl/out")" to-stdout "logger stdout"
	expect_eq "$(cat "$bl/err")" to-stderr "logger stderr"
	rc=0
	out=$(e2e_ctr run --rm --runtime "$RT" --log-uri "binary://$E2E_DIR/no-such-logger" --rootfs "$E2E_DIR/rootfs" lb2 /bin/true 2>&1) || rc=$?
	[ "$rc" != 0 ] && echo "$out" | grep -q "logging binary $E2E_DIR/no-such-logger: No such file or directory" ||
		e2e_fail "a missing logger: rc=$rc, $out"
	e2e_ctr c rm lb2 >/dev/null 2>&1 || true
	expect_clean
}

case "$scenario" in
run_rm | detached | image | stdio | events | containerd_restart | sigterm | shim_killed | crun | bad_input | oom | stats | log_uri | runc_answers)
	"t_$scenario"
	e2e_sanitizer_verdict
	e2e_log "PASS: $scenario"
	;;
*) e2e_fail "unknown scenario $scenario" ;;
esac
