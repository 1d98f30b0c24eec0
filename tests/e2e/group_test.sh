#!/usr/bin/env bash
# Many containers of one sandbox in one containerd-shim-tiny-v2 process, under
# a private containerd + runc. Usage: group_test.sh SCENARIO
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

RT=io.containerd.tiny.v2
N=${GROUP_N:-20}
scenario=${1:?usage: group_test.sh SCENARIO}
TRAP_SLEEP='trap "exit 143" TERM; /bin/sleep 600 & wait'

setup() {
	e2e_setup
	e2e_start_containerd
	e2e_build_rootfs "$E2E_DIR/rootfs"
}

status_of() { e2e_ctr task ls | awk -v id="$1" '$1 == id { print $3 }'; }
pid_of() { e2e_ctr task ls | awk -v id="$1" '$1 == id { print $2 }'; }

run_in_group() { # id annotations...
	local id=$1 a args=()
	shift
	for a in "$@"; do args+=(--annotation "$a"); done
	e2e_ctr run -d --runtime "$RT" "${args[@]}" --rootfs "$E2E_DIR/rootfs" "$id" /bin/sh -c "$TRAP_SLEEP" >/dev/null
}

expect_one_shim() {
	local n
	n=$(e2e_shim_pids | wc -l)
	[ "$n" = 1 ] || e2e_fail "$1: $n shim processes, want 1: $(e2e_shim_pids | tr '\n' ' ')"
}

stopped() { [ "$(status_of "$1")" = STOPPED ]; }
gone() { ! kill -0 "$1" 2>/dev/null; }
not_running() { [ "$(status_of "$1")" != RUNNING ]; }

remove() { # id: kill, wait for STOPPED, delete task and container
	local id=$1
	e2e_trap_ready "$(pid_of "$id")"
	e2e_ctr task kill -s TERM "$id"
	e2e_wait_for 20 "$id to stop" stopped "$id"
	e2e_ctr task rm "$id" >/dev/null
	e2e_ctr c rm "$id"
}

# The shim goes with the last container, and nothing of the group is left.
expect_gone() {
	e2e_expect_clean
	[ -z "$(e2e_ctr c ls -q)" ] || e2e_fail "containers left: $(e2e_ctr c ls -q)"
}

shimctl() { "${E2E_SHIMCTL:-$E2E_BIN_DIR/../tests/shimctl}" "$@"; }

# A sandbox and N containers in one shim; exec into some; remove in random
# order while the rest keep running; the shim goes with the last one.
sandbox_with_containers() { # sandbox annotations, then member annotations, separated by --
	local sb=$1
	shift
	local sb_ann=() member_ann=()
	while [ "$1" != -- ]; do
		sb_ann+=("$1")
		shift
	done
	shift
	member_ann=("$@")
	run_in_group "$sb" "${sb_ann[@]}"
	local ids=("$sb") i
	for i in $(seq 1 "$N"); do
		run_in_group "c$i" "${member_ann[@]}"
		ids+=("c$i")
	done
	expect_one_shim "after $((N + 1)) containers"
	local shim
	shim=$(e2e_shim_pids)
	for i in "${ids[@]}"; do
		[ "$(status_of "$i")" = RUNNING ] || e2e_fail "$i is $(status_of "$i"), want RUNNING"
		# every task is a child of the one shim
		[ "$(awk '{print $4}' "/proc/$(pid_of "$i")/stat")" = "$shim" ] || e2e_fail "$i is not a child of shim $shim"
	done
	local out
	for i in c1 "c$N" "$sb"; do
		out=$(e2e_ctr task exec --exec-id "x-$i" "$i" /bin/sh -c 'echo in $(hostname)')
		[ -n "$out" ] || e2e_fail "exec into $i printed nothing"
	done
	# The one shim answers for each id with that id's process: Connect and
	# State straight to its socket (the address file of every member names
	# it), and an unknown id is OK with task_pid 0, as runc-v2 answers.
	local sock rc
	sock=$(cat "$E2E_DIR/state/io.containerd.runtime.v2.task/$E2E_NS/c3/address")
	[ "$(cat "$E2E_DIR/state/io.containerd.runtime.v2.task/$E2E_NS/$sb/address")" = "$sock" ] ||
		e2e_fail "the sandbox and c3 have different shim addresses"
	for i in c3 "$sb" "c$N"; do
		out=$(shimctl "$sock" "$E2E_NS" connect "$i")
		[ "$out" = "shim_pid=$shim task_pid=$(pid_of "$i") version=0.1.0" ] || e2e_fail "Connect $i: $out"
		out=$(shimctl "$sock" "$E2E_NS" state "$i")
		case "$out" in "id=$i pid=$(pid_of "$i") status=2 "*) ;; *) e2e_fail "State $i: $out" ;; esac
	done
	rc=0
	out=$(shimctl "$sock" "$E2E_NS" connect nosuch) || rc=$?
	[ "$rc:$out" = "0:shim_pid=$shim task_pid=0 version=0.1.0" ] || e2e_fail "Connect of an unknown id: $rc:$out"
	out=$(e2e_ctr task ps c3 2>&1) || true
	grep -qw "$(pid_of c3)" <<<"$out" || e2e_fail "task ps c3 does not list its pid $(pid_of c3): $out"
	# remove in random order; the rest keep running
	local order left
	order=$(printf '%s\n' "${ids[@]}" | shuf)
	left=${#ids[@]}
	for i in $order; do
		remove "$i"
		left=$((left - 1))
		[ "$left" = 0 ] && break
		expect_one_shim "after removing $i ($left left)"
		local j
		for j in "${ids[@]}"; do
			local st
			st=$(status_of "$j")
			[ -z "$st" ] || [ "$st" = RUNNING ] || e2e_fail "$j is $st after removing $i"
		done
		[ "$(e2e_ctr task ls | awk 'NR > 1 && $3 == "RUNNING"' | wc -l)" = "$left" ] ||
			e2e_fail "want $left running after removing $i"
	done
	expect_gone
}

t_runc_group() {
	setup
	sandbox_with_containers sb io.containerd.runc.v2.group=sb -- io.containerd.runc.v2.group=sb
}

t_cri_sandbox_id() {
	setup
	sandbox_with_containers sb io.kubernetes.cri.sandbox-id=sb -- io.kubernetes.cri.sandbox-id=sb
}

t_hcsshim() {
	setup
	sandbox_with_containers sb io.kubernetes.cri.container-type=sandbox io.kubernetes.cri.sandbox-id=sb -- \
		io.kubernetes.cri.container-type=container io.kubernetes.cri.sandbox-id=sb
}

t_concurrent_start() {
	setup
	local i pids=()
	for i in $(seq 1 10); do
		run_in_group "p$i" io.containerd.runc.v2.group=newgroup &
		pids+=($!)
	done
	for i in "${pids[@]}"; do wait "$i" || e2e_fail "a concurrent run failed"; done
	expect_one_shim "10 concurrent starts of one group"
	[ "$(e2e_ctr task ls | awk 'NR > 1 && $3 == "RUNNING"' | wc -l)" = 10 ] || e2e_fail "want 10 running"
	for i in $(seq 1 10); do remove "p$i"; done
	expect_gone
}

t_sandbox_killed() {
	setup
	local i cpids=()
	run_in_group sb io.kubernetes.cri.container-type=sandbox io.kubernetes.cri.sandbox-id=sb
	for i in 1 2 3 4 5; do
		run_in_group "k$i" io.kubernetes.cri.container-type=container io.kubernetes.cri.sandbox-id=sb
	done
	for i in sb k1 k2 k3 k4 k5; do cpids+=("$(pid_of "$i")"); done
	expect_one_shim "sandbox with 5 containers"
	kill -KILL "$(e2e_shim_pids)"
	# containerd runs `delete` for every container of the dead shim
	for i in "${cpids[@]}"; do e2e_wait_for 20 "container process $i to go" gone "$i"; done
	for i in sb k1 k2 k3 k4 k5; do
		e2e_wait_for 20 "containerd to see $i stop" not_running "$i"
		e2e_ctr task rm "$i" >/dev/null 2>&1 || true
		e2e_ctr c rm "$i"
	done
	expect_gone
	# a container joining a sandbox whose shim is gone: a clear error
	local out rc=0
	out=$(e2e_ctr run -d --runtime "$RT" --annotation io.kubernetes.cri.container-type=container \
		--annotation io.kubernetes.cri.sandbox-id=sb --rootfs "$E2E_DIR/rootfs" late /bin/true 2>&1) || rc=$?
	[ "$rc" != 0 ] || e2e_fail "joining a dead sandbox succeeded"
	echo "$out" | grep -q 'sandbox sb: its shim is not running' || e2e_fail "unclear error: $out"
	e2e_ctr c rm late >/dev/null 2>&1 || true
	# nothing left blocks a new sandbox with the same id
	run_in_group sb io.kubernetes.cri.container-type=sandbox io.kubernetes.cri.sandbox-id=sb
	run_in_group k1 io.kubernetes.cri.container-type=container io.kubernetes.cri.sandbox-id=sb
	expect_one_shim "the new sandbox"
	remove k1
	remove sb
	expect_gone
}

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# One shim serves the whole group, and a slow runtime command for one
# container stalls none of the others: while the runtime takes 10 s to create
# `slow`, an exec into a running sibling (through containerd and ctr), and
# State, Connect and Kill straight to the shim, answer within 2 s each (before
# the runtime commands ran off the loop, the exec took 10.6 s).
t_slow_create() {
	setup
	local wrapper=$E2E_DIR/slow-runtime
	cat >"$wrapper" <<SH
#!/bin/sh
# runc, but \`create\` of the container "slow" first takes 10 s
last=""
for a in "\$@"; do last=\$a; done
for a in "\$@"; do
	case "\$a" in
	create)
		if [ "\$last" = slow ]; then
			echo "create-begin slow" >>"$E2E_DIR/wrapper.log"
			sleep 10
			runc "\$@"
			rc=\$?
			echo "create-end slow \$rc" >>"$E2E_DIR/wrapper.log"
			exit \$rc
		fi
		break ;;
	start|kill|delete|state|exec|pause|resume|ps|update) break ;;
	esac
done
exec runc "\$@"
SH
	chmod +x "$wrapper"
	printf '{"binary_name": "%s"}\n' "$wrapper" >"$E2E_DIR/slow.json"
	local ann=(--annotation io.containerd.runc.v2.group=g --runtime-config-path "$E2E_DIR/slow.json")
	local id
	for id in s1 s2; do
		e2e_ctr run -d --runtime "$RT" "${ann[@]}" --rootfs "$E2E_DIR/rootfs" "$id" /bin/sh -c "$TRAP_SLEEP" >/dev/null
	done
	e2e_ctr run -d --runtime "$RT" "${ann[@]}" --rootfs "$E2E_DIR/rootfs" slow /bin/sh -c "$TRAP_SLEEP" \
		>"$E2E_DIR/slow.out" 2>&1 &
	local bg=$!
	e2e_bg_helper "$bg"
	creating() { grep -q '^create-begin slow' "$E2E_DIR/wrapper.log" 2>/dev/null; }
	e2e_wait_for 20 "the runtime to begin creating slow" creating
	expect_one_shim "s1, s2 and slow"
	local sock t out
	sock=$(cat "$E2E_DIR/state/io.containerd.runtime.v2.task/$E2E_NS/s1/address")
	t=$(now_ms)
	out=$(e2e_ctr task exec --exec-id x1 s1 /bin/echo in s1)
	t=$(($(now_ms) - t))
	[ "$out" = "in s1" ] || e2e_fail "exec into s1 printed: $out"
	e2e_log "exec into s1 while slow is being created: $t ms"
	[ "$t" -lt 2000 ] || e2e_fail "exec into s1 took $t ms while the runtime created slow (want < 2000)"
	local verb rc
	# SIGWINCH: the shell of pid 1 has no handler for it, so nothing happens
	for verb in "state s2" "connect s2" "kill s2 28" "connect slow"; do
		t=$(now_ms)
		rc=0
		# shellcheck disable=SC2086
		out=$(shimctl "$sock" "$E2E_NS" $verb 2>&1) || rc=$?
		t=$(($(now_ms) - t))
		e2e_log "$verb: $t ms: $out"
		[ "$rc" = 0 ] || e2e_fail "$verb failed: $out"
		[ "$t" -lt 2000 ] || e2e_fail "$verb took $t ms while the runtime created slow (want < 2000)"
	done
	# not created yet: Connect answers with no task pid, as runc-v2 does
	[ "$(shimctl "$sock" "$E2E_NS" connect slow)" = "shim_pid=$(e2e_shim_pids) task_pid=0 version=0.1.0" ] ||
		e2e_fail "Connect slow while it is created: $(shimctl "$sock" "$E2E_NS" connect slow)"
	case "$(shimctl "$sock" "$E2E_NS" state s2)" in "id=s2 pid=$(pid_of s2) status=2 "*) ;;
	*) e2e_fail "State s2: $(shimctl "$sock" "$E2E_NS" state s2)" ;; esac
	# all of that happened while slow was still being created
	! grep -q '^create-end slow' "$E2E_DIR/wrapper.log" || e2e_fail "the slow create had already ended"
	wait "$bg" || e2e_fail "ctr run slow failed: $(cat "$E2E_DIR/slow.out")"
	grep -q '^create-end slow 0' "$E2E_DIR/wrapper.log" || e2e_fail "the slow create did not succeed"
	[ "$(status_of slow)" = RUNNING ] || e2e_fail "slow is $(status_of slow), want RUNNING"
	expect_one_shim "after slow was created"
	for id in s1 s2 slow; do remove "$id"; done
	expect_gone
}

# ms of each run of a command into FILE: timed_to FILE cmd...
timed_to() {
	local f=$1 t rc=0
	shift
	t=$(now_ms)
	"$@" >/dev/null 2>"$E2E_DIR/timed.err" || rc=$?
	[ "$rc" = 0 ] || e2e_fail "$* failed: $(cat "$E2E_DIR/timed.err")"
	echo $(($(now_ms) - t)) >>"$f"
}

# "n=N p50=MS p99=MS max=MS" of the numbers in FILE (nearest rank).
pct_of() {
	sort -n "$1" | awk '{ v[NR] = $1 } END {
		if (!NR) { print "n=0"; exit }
		r50 = int(NR * 0.50 + 0.999999); r99 = int(NR * 0.99 + 0.999999)
		printf "n=%d p50=%d p99=%d max=%d\n", NR, v[r50], v[r99], v[NR] }'
}
field_of() { tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p"; }
less_than() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 < b + 0) }'; }

# Through containerd and ctr: State of every task (ctr task ls), an exec of
# /bin/true start to end (ctr task exec: Exec, Start, Wait, Delete) and a
# SIGWINCH (ctr task kill) for each id, round after round until FILE exists
# (at least one round), into $E2E_DIR/ctr.<label>.<verb>.
ctr_rounds() { # label stop-file max-rounds ids...
	local label=$1 stop=$2 max=$3 round=0 id
	shift 3
	while :; do
		for id in "$@"; do
			timed_to "$E2E_DIR/ctr.$label.State" e2e_ctr task ls
			timed_to "$E2E_DIR/ctr.$label.Exec" e2e_ctr task exec --exec-id "c$round" "$id" /bin/true
			timed_to "$E2E_DIR/ctr.$label.Kill" e2e_ctr task kill -s SIGWINCH "$id"
		done
		round=$((round + 1))
		[ ! -e "$stop" ] && [ "$round" -lt "$max" ] || break
	done
}

# A group of 10 whose runtime hangs for 10 s creating the tenth (issue 11):
# meanwhile State, Exec, Kill and Wait on the other nine answer within 100 ms
# (p99) straight to the shim (shimlat, round after round until the create
# ends), and through containerd and ctr they take no more than 100 ms (p99)
# longer than the same calls took before the hang. The same run, the same
# runtime wrapper, under containerd-shim-runc-v2 too: its numbers are logged
# (it holds calls behind its Create: that is the difference), not checked.
t_hung_runtime() {
	setup
	local wrapper=$E2E_DIR/hang-runtime lat="${E2E_SHIMLAT:-$E2E_BIN_DIR/../tests/shimlat}"
	cat >"$wrapper" <<SH
#!/bin/sh
# runc, but \`create\` of a container whose id starts with "hung" first takes 10 s
last=""
for a in "\$@"; do last=\$a; done
for a in "\$@"; do
	case "\$a" in
	create)
		case "\$last" in hung*)
			echo "create-begin \$last" >>"$E2E_DIR/wrapper.log"
			sleep 10
			runc "\$@"
			rc=\$?
			echo "create-end \$last \$rc" >>"$E2E_DIR/wrapper.log"
			touch "$E2E_DIR/\$last.done"
			exit \$rc ;;
		esac
		break ;;
	start|kill|delete|state|exec|pause|resume|ps|update) break ;;
	esac
done
exec runc "\$@"
SH
	chmod +x "$wrapper"
	printf '{"binary_name": "%s"}\n' "$wrapper" >"$E2E_DIR/hang.json"
	local which rt opt ids i id sock out
	local -A summary
	for which in tiny runc; do
		if [ "$which" = tiny ]; then
			rt=$RT opt=(--runtime-config-path "$E2E_DIR/hang.json")
		else
			rt=io.containerd.runc.v2 opt=(--runc-binary "$wrapper")
		fi
		ids=()
		for i in 1 2 3 4 5 6 7 8 9; do
			id=$which$i
			e2e_ctr run -d --runtime "$rt" "${opt[@]}" --annotation io.containerd.runc.v2.group="g$which" \
				--rootfs "$E2E_DIR/rootfs" "$id" /bin/sh -c "$TRAP_SLEEP" >/dev/null
			ids+=("$id")
		done
		sock=$(cat "$E2E_DIR/state/io.containerd.runtime.v2.task/$E2E_NS/${which}1/address")
		"$lat" "$sock" "$E2E_NS" setup "${ids[@]}" || e2e_fail "$which: shimlat setup failed"
		ctr_rounds "$which-before" /nonexistent 3 "${ids[@]}"

		# the runtime hangs creating one more container twice: shimlat
		# measures during the first hang, ctr during the second (apart, so
		# neither loads the machine under the other)
		local phase hid bg
		for phase in direct ctr; do
			hid=hung$which$phase
			e2e_ctr run -d --runtime "$rt" "${opt[@]}" --annotation io.containerd.runc.v2.group="g$which" \
				--rootfs "$E2E_DIR/rootfs" "$hid" /bin/sh -c "$TRAP_SLEEP" >"$E2E_DIR/hung.out" 2>&1 &
			bg=$!
			e2e_bg_helper "$bg"
			creating() { grep -q "^create-begin $1\$" "$E2E_DIR/wrapper.log" 2>/dev/null; }
			e2e_wait_for 20 "the runtime to begin creating $hid" creating "$hid"
			if [ "$phase" = direct ]; then
				"$lat" "$sock" "$E2E_NS" measure "$E2E_DIR/$hid.done" 15 "${ids[@]}" >"$E2E_DIR/lat.$which" 2>&1 ||
					e2e_fail "$which: shimlat measure failed: $(cat "$E2E_DIR/lat.$which")"
			else
				ctr_rounds "$which-during" "$E2E_DIR/$hid.done" 1000 "${ids[@]:0:9}"
			fi
			wait "$bg" || e2e_fail "$which: ctr run $hid failed: $(cat "$E2E_DIR/hung.out")"
			grep -q "^create-end $hid 0" "$E2E_DIR/wrapper.log" || e2e_fail "the hung create of $hid did not succeed"
			ids+=("$hid")
		done
		local verb
		while read -r verb out; do
			summary[$which.direct.$verb]=$out
			e2e_log "$which direct while the runtime hangs: $verb $out"
		done <"$E2E_DIR/lat.$which"
		for verb in State Exec Kill; do
			summary[$which.before.$verb]=$(pct_of "$E2E_DIR/ctr.$which-before.$verb")
			summary[$which.during.$verb]=$(pct_of "$E2E_DIR/ctr.$which-during.$verb")
			e2e_log "$which through ctr: $verb before ${summary[$which.before.$verb]}, while hung ${summary[$which.during.$verb]}"
		done
		"$lat" "$sock" "$E2E_NS" cleanup "${ids[@]:0:9}" || e2e_fail "$which: shimlat cleanup failed"
		for id in "${ids[@]}"; do remove "$id"; done
	done
	local p99 before
	for verb in State Exec Kill Wait; do
		p99=$(field_of "${summary[tiny.direct.$verb]}" p99)
		[ -n "$p99" ] && less_than 9 "$(field_of "${summary[tiny.direct.$verb]}" n)" ||
			e2e_fail "direct $verb: no numbers: ${summary[tiny.direct.$verb]}"
		less_than "$p99" 100 ||
			e2e_fail "direct $verb p99 $p99 ms while the runtime hung (want < 100): ${summary[tiny.direct.$verb]}"
	done
	for verb in State Exec Kill; do
		p99=$(field_of "${summary[tiny.during.$verb]}" p99)
		before=$(field_of "${summary[tiny.before.$verb]}" p99)
		less_than "$p99" $((before + 100)) ||
			e2e_fail "ctr $verb p99 $p99 ms while the runtime hung, $before ms before (want < before + 100)"
	done
	expect_gone
}

# jiffies (10 ms) the whole machine was busy, and one process used
cpu_busy() { awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8 }' /proc/stat; }
proc_cpu() { [ -n "$1" ] && awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }

# 50 containers created concurrently in one group (issue 11) finish well
# below 50 times one container alone. With plain runc on this 2-core machine
# the 50 are bound by CPU (runc, containerd and ctr keep every core busy;
# the shim itself uses ~2 ms per container): logged with the CPU figures
# (35-40x one here, for both shims). With a runtime whose create waits 0.5 s
# without using CPU (like one that sets up a VM or a network), what the shim
# serializes shows: checked to be under a quarter of 50x one. Both also
# under containerd-shim-runc-v2 in the same run (logged, not checked: its
# Create holds a mutex).
t_concurrent_50() {
	setup
	local wrapper=$E2E_DIR/wait-runtime n=50
	cat >"$wrapper" <<'SH'
#!/bin/sh
# runc, but `create` first waits 0.5 s
for a in "$@"; do
	case "$a" in
	create) sleep 0.5; break ;;
	start|kill|delete|state|exec|pause|resume|ps|update) break ;;
	esac
done
exec runc "$@"
SH
	chmod +x "$wrapper"
	printf '{"binary_name": "%s"}\n' "$wrapper" >"$E2E_DIR/wait.json"
	local which kind rt opt i t one all ids g
	local -A res
	for kind in plain wait; do
		for which in tiny runc; do
			rt=$RT opt=()
			[ "$which" = runc ] && rt=io.containerd.runc.v2
			if [ "$kind" = wait ]; then
				opt=(--runtime-config-path "$E2E_DIR/wait.json")
				[ "$which" = runc ] && opt=(--runc-binary "$wrapper")
			fi
			g=$which$kind
			group_run() { # id
				e2e_ctr run -d --runtime "$rt" "${opt[@]}" --annotation io.containerd.runc.v2.group="g$g" \
					--rootfs "$E2E_DIR/rootfs" "$1" /bin/sh -c "$TRAP_SLEEP" >/dev/null
			}
			group_run "${g}sb" # the group's shim runs from here on
			: >"$E2E_DIR/one.$g"
			for i in 1 2 3; do timed_to "$E2E_DIR/one.$g" group_run "${g}one$i"; done
			one=$(field_of "$(pct_of "$E2E_DIR/one.$g")" p50)
			local pids=() busy0 busy1 shim_cpu0 shim_cpu1 shim=""
			[ "$which" = tiny ] && shim=$(cat "$E2E_DIR/state/io.containerd.runtime.v2.task/$E2E_NS/${g}sb/shim.pid")
			busy0=$(cpu_busy)
			shim_cpu0=$(proc_cpu "$shim")
			t=$(now_ms)
			for i in $(seq 1 $n); do
				group_run "${g}c$i" &
				pids+=($!)
			done
			for i in "${pids[@]}"; do wait "$i" || e2e_fail "$g: a concurrent run failed"; done
			all=$(($(now_ms) - t))
			busy1=$(cpu_busy)
			shim_cpu1=$(proc_cpu "$shim")
			[ "$(e2e_ctr task ls | awk -v p="^${g}c" 'NR > 1 && $1 ~ p && $3 == "RUNNING"' | wc -l)" = $n ] ||
				e2e_fail "$g: want $n running"
			e2e_log "$which, $kind runtime: one container alone $one ms (median of 3); $n at once $all ms" \
				"($((all / (one > 0 ? one : 1)))x one); CPU busy $(((busy1 - busy0) * 10)) of" \
				"$((all * $(nproc))) ms on $(nproc) cores${shim:+, the shim itself $(((shim_cpu1 - shim_cpu0) * 10)) ms}"
			res[$g.all]=$all res[$g.one]=$one
			ids=("${g}sb" "${g}one1" "${g}one2" "${g}one3")
			for i in $(seq 1 $n); do ids+=("${g}c$i"); done
			for i in "${ids[@]}"; do e2e_ctr task kill -s KILL "$i"; done
			for i in "${ids[@]}"; do
				e2e_wait_for 20 "$i to stop" stopped "$i"
				e2e_ctr task rm "$i" >/dev/null
				e2e_ctr c rm "$i"
			done
		done
	done
	[ $((res[tinywait.all] * 4)) -lt $((n * res[tinywait.one])) ] ||
		e2e_fail "$n concurrent creates (a runtime waiting 0.5 s) took ${res[tinywait.all]} ms, not under a quarter of $n x ${res[tinywait.one]} ms"
	expect_gone
}

t_bad_sandbox() {
	setup
	local out rc=0
	out=$(e2e_ctr run -d --runtime "$RT" --annotation io.kubernetes.cri.container-type=sandbox \
		--annotation io.kubernetes.cri.sandbox-id=other --rootfs "$E2E_DIR/rootfs" sb1 /bin/true 2>&1) || rc=$?
	[ "$rc" != 0 ] || e2e_fail "a sandbox whose id differs from its sandbox-id was accepted"
	echo "$out" | grep -q 'sandbox-id' || e2e_fail "unclear error: $out"
	e2e_ctr c rm sb1 >/dev/null 2>&1 || true
	expect_gone
}

case "$scenario" in
runc_group | cri_sandbox_id | hcsshim | concurrent_start | sandbox_killed | bad_sandbox | slow_create | hung_runtime | concurrent_50)
	"t_$scenario"
	e2e_sanitizer_verdict
	e2e_log "PASS: $scenario"
	;;
*) e2e_fail "unknown scenario $scenario" ;;
esac
