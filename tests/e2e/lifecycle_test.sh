#!/usr/bin/env bash
# End-to-end tests of a task's lifecycle edges in containerd-shim-tiny-v2:
# Delete of a running or a never-started task, a runtime whose delete fails,
# the shim's `delete` action run twice on a real bundle, SIGTERM with calls in
# flight, and the rollback of a Create that fails after the rootfs was mounted.
# Through ctr where ctr reaches it, through shimctl (the shim's Task service,
# called directly) where it does not.
# Usage: lifecycle_test.sh SCENARIO   (one ctest per scenario; see the case below)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

RT=io.containerd.tiny.v2
IMAGE=localhost/e2e/busybox:latest
scenario=${1:?usage: lifecycle_test.sh SCENARIO}
SHIM=${E2E_BIN_DIR:+$E2E_BIN_DIR/}containerd-shim-tiny-v2
SHIMCTL=${E2E_SHIMCTL:-${E2E_BIN_DIR:-.}/../tests/shimctl}
# A pid 1 that handles SIGTERM the way a real service would: exit 143.
TRAP_SLEEP='trap "exit 143" TERM; /bin/sleep 600 & wait'
# Bound of every wait on a condition (seconds); a wait that runs out fails.
BOUND=${LIFECYCLE_BOUND:-20}
# Background processes of the test itself, ended by pid before the checks.
BG_PIDS=""
# Shim sockets seen during the test: none may be left at the end.
SOCKETS=""

setup() {
	e2e_setup
	trap lc_cleanup EXIT
	e2e_start_containerd
	e2e_build_rootfs "$E2E_DIR/rootfs"
	RUNC_ROOT=/run/containerd/runc/$E2E_NS
}

# lib.sh's cleanup (which fails a test that leaves anything behind), after
# our background jobs; an EXIT trap sets the status only through exit.
lc_cleanup() {
	local rc=$? p
	for p in $BG_PIDS; do kill -KILL "$p" 2>/dev/null || true; done
	(exit "$rc")
	e2e_cleanup
	exit $?
}

bg() { # command... : run in the background, remembered for cleanup
	"$@" &
	BG_PIDS="$BG_PIDS $!"
	LAST_BG=$!
	if declare -F e2e_bg_helper >/dev/null; then e2e_bg_helper "$LAST_BG"; fi
}

# settle CMD...: poll CMD until it succeeds, for at most BOUND seconds; its status.
settle() {
	local end=$((SECONDS + BOUND))
	until "$@"; do
		[ "$SECONDS" -lt "$end" ] || return 1
		sleep 0.05
	done
}

# wait_for WHAT CMD...: settle, or fail saying WHAT did not happen.
wait_for() {
	local what=$1
	shift
	settle "$@" || e2e_fail "not within ${BOUND}s: $what"
}

# wait_exit PID WHAT: a background job of ours ends within the bound; its status in WAIT_RC.
wait_exit() {
	local pid=$1 what=$2
	wait_for "$what (pid $pid) to end" not_alive "$pid"
	WAIT_RC=0
	wait "$pid" 2>/dev/null || WAIT_RC=$?
}

not_alive() { # pid: gone, or a zombie nobody reaps (still dead)
	[ ! -e "/proc/$1" ] || [ "$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null)" = Z ] ||
		[ ! -e "/proc/$1/stat" ]
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

# TRAP_SLEEP's shell has set its trap once its sleep runs: a TERM before
# that would be ignored (pid 1 of a pid namespace has no default actions).
has_children() { [ -n "$(cat "/proc/$1/task/$1/children" 2>/dev/null)" ]; }
trap_ready() { # id
	local pid
	pid=$(task_field "$1" 2)
	wait_for "the shell of $1 (pid $pid) to set its TERM trap" has_children "$pid"
}

task_is() { [ "$(task_field "$1" 3)" = "$2" ]; }
wait_status() { wait_for "task $1 to be $2 (now: $(task_field "$1" 3))" task_is "$1" "$2"; }

expect_eq() { # got want what
	[ "$1" = "$2" ] || e2e_fail "$3: got '$1', want '$2'"
}

varint_hex() { # n: its protobuf varint, in hex
	local n=$1 out=""
	while [ "$n" -ge 128 ]; do
		out+=$(printf '%02x' $(((n & 127) | 128)))
		n=$((n >> 7))
	done
	printf '%s%02x' "$out" "$n"
}

expect_match() { # text extended-regex what
	printf '%s\n' "$1" | grep -Eq -- "$2" || e2e_fail "$3: '$1' does not match /$2/"
}

bundle_of() { echo "$E2E_DIR/state/io.containerd.runtime.v2.task/$E2E_NS/$1"; }

shim_sock() { # id: the shim's socket path, from the bundle's address file
	local s
	s=$(sed 's|^unix://||' "$(bundle_of "$1")/address")
	case " $SOCKETS " in *" $s "*) ;; *) SOCKETS="$SOCKETS $s" ;; esac
	echo "$s"
}

# shimctl SOCKET VERB ARGS...: output in OUT, status in RC (never fails the shell)
sc() {
	local sock=$1
	shift
	RC=0
	OUT=$("$SHIMCTL" "$sock" "$E2E_NS" "$@" 2>&1) || RC=$?
}

mounted() { # path: a mount point in our mount namespace
	awk -v d="$1" '$5 == d { found = 1 } END { exit !found }' /proc/self/mountinfo
}

runc_has() { [ -e "$RUNC_ROOT/$1/state.json" ]; }
runc_status() { runc --root "$RUNC_ROOT" state "$1" 2>/dev/null | jq -r .status; }

# A bundle for shimctl create: busybox rootfs bound onto BUNDLE/rootfs by the
# shim (a rootfs mount in the request), cgroup under the namespace as
# containerd would name it, no terminal.
make_bundle() { # dir id args-json
	local dir=$1 id=$2 args=$3
	mkdir -p "$dir/rootfs"
	rm -f "$dir/config.json"
	runc spec --bundle "$dir"
	jq --argjson args "$args" --arg cg "/$E2E_NS/$id" \
		'.process.terminal = false | .process.args = $args | .root = {path: "rootfs", readonly: false} |
		 .linux.cgroupsPath = $cg' "$dir/config.json" >"$dir/config.json.new"
	mv "$dir/config.json.new" "$dir/config.json"
}

no_shims() { [ -z "$(e2e_shim_pids)" ]; }
none_of_ours() { [ -z "$(e2e_our_pids)" ]; }

# Everything the test created is gone: our background jobs ended, no shim, no
# container process, no mount, no runc state, no shim socket, no bundle.
expect_clean() {
	local p
	for p in $BG_PIDS; do kill -KILL "$p" 2>/dev/null || true; done
	for p in $BG_PIDS; do wait "$p" 2>/dev/null || true; done
	BG_PIDS=""
	settle no_shims || e2e_fail "shims still running: $(e2e_shim_pids | tr '\n' ' ')"
	settle none_of_ours || e2e_fail "processes left: $(for p in $(e2e_our_pids); do
		printf '%s(%s) ' "$p" "$(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)"
	done)"
	[ -z "$(e2e_our_mounts)" ] || e2e_fail "mounts left: $(e2e_our_mounts | tr '\n' ' ')"
	local left
	left=$(find "$RUNC_ROOT" -mindepth 1 -maxdepth 1 2>/dev/null | tr '\n' ' ')
	[ -z "$left" ] || e2e_fail "runc state left: $left"
	for p in $SOCKETS; do
		[ ! -e "$p" ] || e2e_fail "shim socket left: $p"
	done
	for p in "$E2E_DIR"/state/io.containerd.runtime.v2.task/*/*; do
		[ -e "$p" ] || continue
		e2e_fail "bundle left behind: $p"
	done
	if declare -F e2e_expect_clean >/dev/null; then
		e2e_expect_clean
	fi
}

# ---- 1. Delete of a running task ----
# containerd-shim-runc-v2 refuses to delete a running init or exec ("cannot
# delete a running process"); ours says so with FAILED_PRECONDITION, and the
# container and the exec keep running. Once the init is killed, the normal
# Delete works and reports its status.
t_delete_running() {
	setup
	run_detached dr1 /bin/sh -c "$TRAP_SLEEP"
	wait_status dr1 RUNNING
	trap_ready dr1
	local pid sock shim
	pid=$(task_field dr1 2)
	sock=$(shim_sock dr1)
	shim=$(e2e_shim_pids)
	e2e_ctr task exec -d --exec-id x1 dr1 /bin/sleep 600
	sc "$sock" state dr1 x1
	expect_match "$OUT" '^id=x1 pid=[0-9]+ status=2 exit_status=0$' "State of the exec"
	local xpid
	xpid=$(echo "$OUT" | sed 's/.* pid=\([0-9]*\) .*/\1/')

	sc "$sock" delete dr1
	expect_eq "$RC:$OUT" "1:FAILED_PRECONDITION: process dr1: cannot delete a running process" \
		"Delete of the running init"
	sc "$sock" delete dr1 x1
	expect_eq "$RC:$OUT" "1:FAILED_PRECONDITION: process x1: cannot delete a running process" \
		"Delete of the running exec"
	# nothing was touched: both run, runc still has the container, same shim
	sc "$sock" state dr1
	expect_eq "$RC:$OUT" "0:id=dr1 pid=$pid status=2 exit_status=0" "State after the refused Delete"
	kill -0 "$pid" || e2e_fail "init $pid died from a refused Delete"
	kill -0 "$xpid" || e2e_fail "exec $xpid died from a refused Delete"
	expect_eq "$(runc_status dr1)" running "runc state after the refused Delete"
	expect_eq "$(e2e_shim_pids)" "$shim" "shim after the refused Delete"

	# stopped, it is deleted: the exec died with the init's pid namespace
	e2e_ctr task kill -s TERM dr1
	wait_status dr1 STOPPED
	wait_for "exec $xpid to die with the init" not_alive "$xpid"
	sc "$sock" state dr1 x1
	expect_match "$OUT" '^id=x1 pid=[0-9]+ status=3 exit_status=137$' "State of the exec after the init died"
	sc "$sock" delete dr1 x1
	expect_match "$RC:$OUT" "^0:pid=$xpid exit_status=137 exited_at=[1-9][0-9]*\.[0-9]{9}$" "Delete of the stopped exec"
	local out
	out=$(e2e_ctr task rm dr1 2>&1) || e2e_fail "ctr task rm dr1: $out"
	expect_match "$out" 'task dr1 exit with non-zero exit code 143' "ctr task rm: the exit status of the init"
	runc_has dr1 && e2e_fail "runc state of dr1 left after Delete"
	e2e_ctr c rm dr1
	expect_clean
}

# ---- 2. Delete of a task created but never started ----
# ctr 1.6 cannot create without starting: shimctl asks the shim containerd
# started for dc0 to create dc1 (a bind-mounted rootfs), then deletes it.
# As runc-v2: runc delete --force, exit status 137 with exited_at set, the
# pending Wait answered the same, rootfs unmounted, nothing left.
t_delete_created() {
	setup
	e2e_events_start "$E2E_DIR/events.txt"
	run_detached dc0 /bin/sh -c "$TRAP_SLEEP"
	wait_status dc0 RUNNING
	trap_ready dc0
	local sock b=$E2E_DIR/bundles/dc1
	sock=$(shim_sock dc0)
	make_bundle "$b" dc1 '["/bin/sleep", "600"]'
	sc "$sock" create dc1 "$b" --mount bind "$E2E_DIR/rootfs" rbind,rw
	expect_match "$RC:$OUT" '^0:pid=[1-9][0-9]*$' "Create of dc1"
	local pid=${OUT#pid=}
	expect_eq "$(runc_status dc1)" created "runc state after Create"
	kill -0 "$pid" || e2e_fail "no process $pid after Create"
	expect_match "$(tr '\0' ' ' <"/proc/$pid/cmdline")" 'init' "the created process is runc's init"
	mounted "$b/rootfs" || e2e_fail "Create did not mount the rootfs on $b/rootfs"
	sc "$sock" state dc1
	expect_eq "$RC:$OUT" "0:id=dc1 pid=$pid status=1 exit_status=0" "State of the created task"

	bg "$SHIMCTL" "$sock" "$E2E_NS" wait dc1 --announce >"$E2E_DIR/wait.out" 2>&1
	local waiter=$LAST_BG
	wait_for "the Wait to be pending in the shim" grep -q '^pending$' "$E2E_DIR/wait.out"

	sc "$sock" delete dc1
	expect_match "$RC:$OUT" "^0:pid=$pid exit_status=137 exited_at=[1-9][0-9]*\.[0-9]{9}$" "Delete of the created task"
	local exited_at=${OUT##*exited_at=}
	# the Delete answers once the work is done: no waiting for these
	mounted "$b/rootfs" && e2e_fail "rootfs $b/rootfs still mounted after Delete"
	runc_has dc1 && e2e_fail "runc state of dc1 left after Delete"
	[ -e "/sys/fs/cgroup/memory/$E2E_NS/dc1" ] && e2e_fail "cgroup of dc1 left after Delete"
	wait_for "the created process $pid to be gone" not_alive "$pid"
	wait_exit "$waiter" "the pending Wait"
	expect_eq "$WAIT_RC:$(grep -v '^pending$' "$E2E_DIR/wait.out")" "0:exit_status=137 exited_at=$exited_at" \
		"the pending Wait's answer"
	sc "$sock" state dc1
	expect_eq "$RC:$OUT" "1:NOT_FOUND: container dc1: not found" "State after Delete"
	sc "$sock" delete dc1
	expect_eq "$RC:$OUT" "1:NOT_FOUND: container dc1: not found" "a second Delete"
	rmdir "$b/rootfs" || e2e_fail "the bundle's rootfs is not removable"
	rm -r "$b"
	# events: exit and delete of dc1, both 137
	wait_for "a /tasks/delete event for dc1" grep -q '/tasks/delete.*"container_id":"dc1"' "$E2E_DIR/events.txt"
	grep '/tasks/exit' "$E2E_DIR/events.txt" | grep '"container_id":"dc1"' | grep -q '"exit_status":137' ||
		e2e_fail "no /tasks/exit with 137 for dc1: $(grep dc1 "$E2E_DIR/events.txt")"
	grep '/tasks/delete' "$E2E_DIR/events.txt" | grep '"container_id":"dc1"' | grep -q '"exit_status":137' ||
		e2e_fail "no /tasks/delete with 137 for dc1: $(grep dc1 "$E2E_DIR/events.txt")"
	# the shim serves on for dc0, and ends with it
	sc "$sock" state dc0
	expect_match "$RC:$OUT" '^0:id=dc0 pid=[0-9]+ status=2 ' "State of dc0 after dc1 went"
	e2e_ctr task kill -s TERM dc0
	wait_status dc0 STOPPED
	e2e_ctr task rm dc0 >/dev/null || true
	e2e_ctr c rm dc0
	expect_clean
}

# ---- 3. The runtime's delete fails ----
# A runtime that is runc except that `delete` fails while a marker exists:
# the shim answers the runtime's own words, stays up with the task intact,
# and both later paths clean up: a retried Delete, and (for a second task)
# containerd's cleanup after the shim is killed, through the `delete` action,
# which must use the same runtime.
t_delete_runtime_fails() {
	setup
	local wrapper=$E2E_DIR/wrap-runtime
	cat >"$wrapper" <<SH
#!/bin/sh
# runc, but \`delete\` fails while $E2E_DIR/fail-delete exists
for a in "\$@"; do
	case "\$a" in
	create|start|kill|delete|state|exec|pause|resume|ps|update)
		echo "\$a \$*" >>"$E2E_DIR/wrapper.log"
		if [ "\$a" = delete ] && [ -e "$E2E_DIR/fail-delete" ]; then
			echo "wrap-runtime: delete refused by the test" >&2
			exit 1
		fi
		break ;;
	esac
done
exec runc "\$@"
SH
	chmod +x "$wrapper"
	printf '{"binary_name": "%s"}\n' "$wrapper" >"$E2E_DIR/wrap.json"
	local id
	for id in drf1 drf2; do
		e2e_ctr run -d --runtime "$RT" --runtime-config-path "$E2E_DIR/wrap.json" --rootfs "$E2E_DIR/rootfs" \
			"$id" /bin/sh -c "$TRAP_SLEEP" >/dev/null
		wait_status "$id" RUNNING
		trap_ready "$id"
	done
	grep -q '^create .* drf1$' "$E2E_DIR/wrapper.log" || e2e_fail "the wrapper did not create drf1"
	touch "$E2E_DIR/fail-delete"

	# drf1: Delete fails, then a retry succeeds
	local shim1 sock1 rc out
	sock1=$(shim_sock drf1)
	shim1=$(cat "$(bundle_of drf1)/shim.pid")
	e2e_ctr task kill -s TERM drf1
	wait_status drf1 STOPPED
	rc=0
	out=$(e2e_ctr task rm drf1 2>&1) || rc=$?
	[ "$rc" != 0 ] || e2e_fail "ctr task rm succeeded though the runtime's delete failed"
	expect_match "$out" 'delete drf1: OCI runtime delete failed: wrap-runtime: delete refused by the test' \
		"ctr's error for a failed runtime delete"
	expect_eq "$(grep -c '^delete .*drf1$' "$E2E_DIR/wrapper.log")" 1 "runtime delete attempts for drf1"
	kill -0 "$shim1" || e2e_fail "the shim died after the failed delete"
	sc "$sock1" state drf1
	expect_match "$RC:$OUT" '^0:id=drf1 pid=[0-9]+ status=3 exit_status=143$' "State after the failed Delete"
	expect_eq "$(runc_status drf1)" stopped "runc state after the failed delete"
	expect_eq "$(task_field drf1 3)" STOPPED "ctr task ls after the failed delete"
	rm "$E2E_DIR/fail-delete"
	out=$(e2e_ctr task rm drf1 2>&1) || e2e_fail "retried ctr task rm drf1: $out"
	expect_match "$out" 'task drf1 exit with non-zero exit code 143' "retried ctr task rm: the exit status"
	runc_has drf1 && e2e_fail "runc state of drf1 left after the retried Delete"
	e2e_ctr c rm drf1

	# drf2: Delete fails; the shim is killed; containerd's cleanup runs the
	# `delete` action, which must delete through the wrapper (--force)
	touch "$E2E_DIR/fail-delete"
	local shim2 pid2
	pid2=$(task_field drf2 2)
	shim2=$(cat "$(bundle_of drf2)/shim.pid")
	shim_sock drf2 >/dev/null
	e2e_ctr task kill -s TERM drf2
	wait_status drf2 STOPPED
	rc=0
	out=$(e2e_ctr task rm drf2 2>&1) || rc=$?
	[ "$rc" != 0 ] || e2e_fail "ctr task rm drf2 succeeded though the runtime's delete failed"
	expect_eq "$(runc_status drf2)" stopped "runc state of drf2 after the failed delete"
	rm "$E2E_DIR/fail-delete"
	kill -KILL "$shim2"
	wait_for "the shim of drf2 to die" not_alive "$shim2"
	wait_for "containerd's cleanup to delete drf2 through the wrapper" \
		grep -q '^delete .*--force drf2$' "$E2E_DIR/wrapper.log"
	wait_for "runc state of drf2 to go" eval '! runc_has drf2'
	not_alive "$pid2" || e2e_fail "drf2's process $pid2 alive"
	e2e_ctr task rm drf2 >/dev/null 2>&1 || true
	e2e_ctr c rm drf2
	grep -q 'panic\|SIGSEGV\|core dumped' "$E2E_DIR/containerd.log" && e2e_fail "a crash in containerd.log"
	expect_clean
}

# ---- 4. The `delete` action, twice, on a real bundle ----
# containerd away (killed), the shim of a running image container killed:
# the action run by hand in the bundle kills and deletes the runc container,
# unmounts the overlay rootfs and prints a DeleteResponse with 137; run again
# it is idempotent. Then containerd comes back and cleans up the rest.
t_delete_action_twice() {
	setup
	import_image
	e2e_ctr run -d --runtime "$RT" "$IMAGE" da1 /bin/sh -c "$TRAP_SLEEP" >/dev/null
	wait_status da1 RUNNING
	local pid shim b sock
	pid=$(task_field da1 2)
	b=$(bundle_of da1)
	shim=$(cat "$b/shim.pid")
	sock=$(shim_sock da1)
	mounted "$b/rootfs" || e2e_fail "no rootfs mount on $b/rootfs"
	kill -KILL "$E2E_CONTAINERD_PID"
	wait "$E2E_CONTAINERD_PID" 2>/dev/null || true
	E2E_CONTAINERD_PID=
	kill -KILL "$shim"
	wait_for "the shim to die" not_alive "$shim"
	kill -0 "$pid" || e2e_fail "the container died with its shim"
	expect_eq "$(runc_status da1)" running "runc state once the shim is gone"
	[ -S "$sock" ] || e2e_fail "no socket $sock left by the killed shim (the check below would prove nothing)"

	local n rc bytes
	for n in 1 2; do
		rc=0
		bytes=$(cd "$b" && "$SHIM" -namespace "$E2E_NS" -address "$E2E_SOCK" -publish-binary "$(command -v containerd)" \
			-id da1 delete 2>"$E2E_DIR/delete.$n.err" | od -An -tx1 | tr -d ' \n') || rc=$?
		expect_eq "$rc" 0 "delete action $n: exit code ($(cat "$E2E_DIR/delete.$n.err"))"
		# DeleteResponse: pid (field 1) = 08 varint, the init pid from the bundle's init.pid as
		# runc-v2 reports it; exit_status (field 2) 137 = 10 89 01; exited_at (field 3): 1a LEN 08 seconds...
		expect_match "$bytes" "^08$(varint_hex "$pid")1089011a[0-9a-f]{2}08[0-9a-f]+\$" "delete action $n: DeleteResponse"
		# the action's work is done when it exits: checked without waiting
		runc_has da1 && e2e_fail "delete action $n: runc state of da1 left"
		mounted "$b/rootfs" && e2e_fail "delete action $n: rootfs still mounted"
		# a killed shim leaves its socket; nobody serves it: the action removes it
		[ ! -e "$sock" ] || e2e_fail "delete action $n: the dead shim's socket $sock is left"
		wait_for "the container's process $pid to be gone" not_alive "$pid"
	done
	[ ! -s "$E2E_DIR/delete.1.err" ] || e2e_log "delete action 1 said: $(cat "$E2E_DIR/delete.1.err")"
	e2e_log "delete action 2 said: $(cat "$E2E_DIR/delete.2.err")"

	e2e_start_containerd
	wait_for "containerd to see da1 stopped" eval '[ "$(task_field da1 3)" != RUNNING ]'
	e2e_ctr task rm -f da1 >/dev/null 2>&1 || true
	e2e_ctr c rm da1
	e2e_ctr images rm "$IMAGE" >/dev/null
	expect_clean
}

# ---- 5. SIGTERM with calls in flight and events queued ----
# Waits pending (init and an exec, from shimctl and from containerd for ctr's
# exec), events queued because containerd is frozen: SIGTERM. The shim exits
# within the bound, answers every pending Wait with UNAVAILABLE saying the
# process outlives it (not just a closed connection, never a hang), removes
# its socket, says why it exited and that events were not delivered; the
# containers keep running, and containerd cleans up once it runs again.
t_sigterm_inflight() {
	setup
	run_detached si1 /bin/sh -c "$TRAP_SLEEP"
	wait_status si1 RUNNING
	local pid shim sock
	pid=$(task_field si1 2)
	shim=$(cat "$(bundle_of si1)/shim.pid")
	sock=$(shim_sock si1)
	bg ctr -a "$E2E_SOCK" -n "$E2E_NS" task exec --fifo-dir "$E2E_FIFO_DIR" --exec-id e1 si1 /bin/sleep 600 >"$E2E_DIR/exec.out" 2>&1
	local ctr_exec=$LAST_BG
	wait_for "exec e1 to run" eval 'sc "$sock" state si1 e1; [[ "$OUT" == *" status=2 "* ]]'
	local xpid
	xpid=$(echo "$OUT" | sed 's/.* pid=\([0-9]*\) .*/\1/')
	bg "$SHIMCTL" "$sock" "$E2E_NS" wait si1 --announce >"$E2E_DIR/wait.init" 2>&1
	local w1=$LAST_BG
	bg "$SHIMCTL" "$sock" "$E2E_NS" wait si1 e1 --announce >"$E2E_DIR/wait.exec" 2>&1
	local w2=$LAST_BG
	wait_for "the Waits to be pending" eval 'grep -q "^pending$" "$E2E_DIR/wait.init" && grep -q "^pending$" "$E2E_DIR/wait.exec"'

	# containerd frozen: what the shim publishes now stays queued
	kill -STOP "$E2E_CONTAINERD_PID"
	sc "$sock" pause si1
	expect_eq "$RC:$OUT" "0:" "Pause"
	sc "$sock" resume si1
	expect_eq "$RC:$OUT" "0:" "Resume"
	kill -TERM "$shim"
	wait_for "the shim to exit on SIGTERM" not_alive "$shim"
	[ ! -e "$sock" ] || e2e_fail "socket $sock left behind"
	wait_exit "$w1" "the init's pending Wait"
	local rc1=$WAIT_RC
	wait_exit "$w2" "the exec's pending Wait"
	local rc2=$WAIT_RC
	local o1 o2
	o1=$(grep -v '^pending$' "$E2E_DIR/wait.init")
	o2=$(grep -v '^pending$' "$E2E_DIR/wait.exec")
	e2e_log "pending Waits ended: init rc=$rc1 '$o1', exec rc=$rc2 '$o2'"
	# answered, not just dropped with the connection: what the client sees says why
	expect_eq "$rc1:$o1" "1:UNAVAILABLE: shim exiting before process si1 of container si1 exited" \
		"the init's pending Wait"
	expect_eq "$rc2:$o2" "1:UNAVAILABLE: shim exiting before process e1 of container si1 exited" \
		"the exec's pending Wait"
	kill -0 "$pid" || e2e_fail "the container died with the shim"
	kill -0 "$xpid" || e2e_fail "the exec died with the shim"

	kill -CONT "$E2E_CONTAINERD_PID"
	wait_for "the shim's last log lines to reach containerd.log" grep -q 'msg=exited' "$E2E_DIR/containerd.log"
	grep -q 'signal 15: exiting, 1 containers keep running' "$E2E_DIR/containerd.log" ||
		e2e_fail "no log line about SIGTERM"
	# 3 Waits: the two of shimctl, and containerd's for ctr's exec
	grep -q 'exiting: answered 3 pending Wait calls with UNAVAILABLE' "$E2E_DIR/containerd.log" ||
		e2e_fail "no log line about the pending Waits"
	grep -Eq 'exiting with [1-9][0-9]* events not delivered' "$E2E_DIR/containerd.log" ||
		e2e_fail "the shim did not say that queued events were not delivered: $(grep 'runtime=io.containerd.tiny' "$E2E_DIR/containerd.log" | tail -n 5)"
	# containerd notices the shim is gone: ctr's exec ends, the task is cleaned up
	wait_exit "$ctr_exec" "ctr task exec"
	[ "$WAIT_RC" != 0 ] || e2e_fail "ctr task exec succeeded though its shim went away"
	expect_match "$(cat "$E2E_DIR/exec.out")" 'shim exiting before process e1 of container si1 exited' \
		"what ctr task exec says"
	wait_for "containerd to see si1 stopped" eval '[ "$(task_field si1 3)" != RUNNING ]'
	wait_for "the container $pid to be gone" not_alive "$pid"
	e2e_ctr task rm -f si1 >/dev/null 2>&1 || true
	e2e_ctr c rm si1
	expect_clean
}

# ---- 6. A Create that fails after the rootfs overlay was mounted ----
# runc create fails (no such program) after the shim mounted the overlay:
# the shim rolls back before it answers: no mount, no runc state, no
# process, a removable bundle, runc's words in the error; also when the
# runtime created the container and then failed. Seen through
# shimctl (containerd's own cleanup would unmount what the shim left, so
# only a direct Create shows the shim's rollback) and through ctr with an
# image, which must say why and leave nothing behind either.
t_create_rollback_overlay() {
	setup
	import_image
	run_detached cr0 /bin/sh -c "$TRAP_SLEEP"
	wait_status cr0 RUNNING
	trap_ready cr0
	local sock b=$E2E_DIR/bundles/cr1 o=$E2E_DIR/overlay
	sock=$(shim_sock cr0)
	mkdir -p "$o/upper" "$o/work"
	make_bundle "$b" cr1 '["/no/such/program"]'
	sc "$sock" create cr1 "$b" --mount overlay overlay "index=off,workdir=$o/work,upperdir=$o/upper,lowerdir=$E2E_DIR/rootfs"
	[ "$RC" = 1 ] || e2e_fail "Create of a missing program: rc=$RC: $OUT"
	expect_match "$OUT" 'OCI runtime create failed: .*/no/such/program.*no such file or directory' "Create's error"
	mounted "$b/rootfs" && e2e_fail "the overlay on $b/rootfs was left mounted after the failed Create"
	runc_has cr1 && e2e_fail "runc state of cr1 left after the failed Create"
	[ -z "$(find "$RUNC_ROOT" -mindepth 1 -maxdepth 1 -name cr1)" ] || e2e_fail "runc dir of cr1 left"
	local p
	for p in $(e2e_our_pids); do
		case "$(readlink "/proc/$p/cwd" 2>/dev/null)" in "$b"*) e2e_fail "process $p left in the bundle" ;; esac
	done
	sc "$sock" state cr1
	expect_eq "$RC:$OUT" "1:NOT_FOUND: container cr1: not found" "State after the failed Create"
	# the same id can be created again (nothing of the first try is in the way)
	make_bundle "$b" cr1 '["/bin/true"]'
	sc "$sock" create cr1 "$b" --mount overlay overlay "index=off,workdir=$o/work,upperdir=$o/upper,lowerdir=$E2E_DIR/rootfs"
	expect_match "$RC:$OUT" '^0:pid=[1-9][0-9]*$' "Create again after the rollback"
	mounted "$b/rootfs" || e2e_fail "the second Create did not mount the overlay"
	sc "$sock" delete cr1
	expect_match "$RC:$OUT" '^0:pid=[0-9]+ exit_status=137 ' "Delete of the second Create"
	mounted "$b/rootfs" && e2e_fail "overlay left after Delete"
	rmdir "$b/rootfs" || e2e_fail "the bundle's rootfs is not removable"
	rm -r "$b"

	# the runtime created the container, then failed (as a runtime can after
	# its work, or the shim's own steps after it): the shim must delete what
	# runc made (runc state, the waiting runc init), not only unmount
	local wrapper=$E2E_DIR/create-then-fail
	cat >"$wrapper" <<SH
#!/bin/sh
for a in "\$@"; do
	case "\$a" in
	create) runc "\$@" || exit; echo "create \$*" >>"$E2E_DIR/wrapper.log"; exit 1 ;;
	delete|kill|start|state) break ;;
	esac
done
exec runc "\$@"
SH
	chmod +x "$wrapper"
	printf '{"binary_name": "%s"}\n' "$wrapper" >"$E2E_DIR/cf.json"
	make_bundle "$b" cr3 '["/bin/sleep", "600"]'
	sc "$sock" create cr3 "$b" --config "$E2E_DIR/cf.json" \
		--mount overlay overlay "index=off,workdir=$o/work,upperdir=$o/upper,lowerdir=$E2E_DIR/rootfs"
	expect_eq "$RC:$OUT" "1:UNKNOWN: create-then-fail create failed: exit status 1" "Create when the runtime fails after creating"
	grep -q '^create ' "$E2E_DIR/wrapper.log" || e2e_fail "the wrapper did not create cr3 (the check proves nothing)"
	mounted "$b/rootfs" && e2e_fail "the overlay on $b/rootfs was left mounted (runtime failed after create)"
	runc_has cr3 && e2e_fail "runc state of cr3 left: the shim did not delete what the runtime created"
	for p in $(e2e_our_pids); do
		case "$(readlink "/proc/$p/cwd" 2>/dev/null)" in "$b"*) e2e_fail "process $p left in the bundle of cr3" ;; esac
	done
	sc "$sock" state cr3
	expect_eq "$RC:$OUT" "1:NOT_FOUND: container cr3: not found" "State after the failed Create"
	rmdir "$b/rootfs" || e2e_fail "the bundle's rootfs is not removable"
	rm -r "$b" "$o"

	# through ctr, an image (overlay snapshot): runc's words reach ctr
	local rc=0 out
	out=$(e2e_ctr run --rm --runtime "$RT" "$IMAGE" cr2 /no/such/program 2>&1) || rc=$?
	[ "$rc" != 0 ] || e2e_fail "ctr run of a missing program succeeded"
	expect_match "$out" 'OCI runtime create failed: .*no such file or directory' "ctr's error"
	# the shim logs each failed Create: cr1's (by shimctl) and cr2's
	expect_eq "$(grep -c 'Create: UNKNOWN: OCI runtime create failed' "$E2E_DIR/containerd.log")" 2 \
		"log lines of the failed Creates"
	mounted "$(bundle_of cr2)/rootfs" && e2e_fail "overlay of cr2 left"
	runc_has cr2 && e2e_fail "runc state of cr2 left"
	e2e_ctr c rm cr2 >/dev/null 2>&1 || true
	e2e_ctr task kill -s TERM cr0
	wait_status cr0 STOPPED
	e2e_ctr task rm cr0 >/dev/null || true
	e2e_ctr c rm cr0
	e2e_ctr images rm "$IMAGE" >/dev/null
	expect_clean
}

case "$scenario" in
delete_running | delete_created | delete_runtime_fails | delete_action_twice | sigterm_inflight | create_rollback_overlay)
	"t_$scenario"
	e2e_sanitizer_verdict
	e2e_log "PASS: $scenario"
	;;
*) e2e_fail "unknown scenario $scenario" ;;
esac
