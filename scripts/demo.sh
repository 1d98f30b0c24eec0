#!/usr/bin/env bash
# make demo: our containerd shim (containerd-shim-tiny-v2, runtime
# io.containerd.tiny.v2) running real busybox containers under a private
# containerd, step by step with a plain-words narration. Leaves nothing behind,
# also on failure or Ctrl-C. Root only (containerd and runc need it).
# BUILD_DIR selects the build tree (default: build).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
build=${BUILD_DIR:-build}
shim=$build/bin/containerd-shim-tiny-v2
[ -x "$shim" ] || { echo "demo: $shim not built (run make build)" >&2; exit 1; }
for tool in containerd ctr runc busybox; do
	command -v "$tool" >/dev/null || { echo "demo: $tool not installed (run make deps)" >&2; exit 1; }
done
E2E_BIN_DIR=$(cd "$build/bin" && pwd)
export E2E_BIN_DIR
# shellcheck source=tests/e2e/lib.sh
. "$top/tests/e2e/lib.sh"

RUNTIME=io.containerd.tiny.v2
GROUP_ANNOTATION=io.containerd.runc.v2.group
step=0

bold='' plain=''
if [ -t 1 ]; then
	bold=$(printf '\033[1m')
	plain=$(printf '\033[0m')
fi

# Narration: a numbered title, then the explanation.
say() {
	step=$((step + 1))
	printf '\n%s%d. %s%s\n' "$bold" "$step" "$1" "$plain"
	shift
	local line
	for line in "$@"; do printf '   %s\n' "$line"; done
}
note() { printf '   %s\n' "$@"; }
indent() { sed 's/^/     | /'; }
# A command line as one would type it, our temp dir written $DEMO_DIR.
quoted() {
	local a out='' plain_word='^[A-Za-z0-9_./=:,+@%-]+$' q="'"
	for a in "$@"; do
		if [[ $a =~ $plain_word ]]; then
			out+=" $a"
		else
			out+=" '${a//$q/$q\\$q$q}'"
		fi
	done
	out=${out//"$E2E_DIR"/\$DEMO_DIR}
	echo "${out# }"
}
# ctr against our containerd, echoed first (without the -a/-n plumbing).
run_ctr() {
	printf '   $ ctr %s\n' "$(quoted "$@")"
	e2e_ctr "$@" </dev/null 2>&1 | indent
	return "${PIPESTATUS[0]}"
}

# Live shim processes serving our containerd (they are started with -address <our socket>).
shim_pids() {
	local p cmd arg0
	for p in /proc/[0-9]*; do
		p=${p#/proc/}
		cmd=$(tr '\0' ' ' 2>/dev/null <"/proc/$p/cmdline") || continue
		arg0=${cmd%% *}
		[ "${arg0##*/}" = containerd-shim-tiny-v2 ] || continue
		case "$cmd" in *" -address $E2E_SOCK "*) echo "$p" ;; esac
	done
}
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
show_procs() { # pids...: pid, parent, RSS and the command (a shim: its name and -id)
	printf '%7s %7s %10s  %s\n' PID PARENT RSS COMMAND | indent
	# shellcheck disable=SC2016 # awk program
	ps -o pid=,ppid=,rss=,args= -p "$(echo "$@" | tr ' ' ',')" | awk '{
		cmd = ""
		for (i = 4; i <= NF; i++) cmd = cmd (i > 4 ? " " : "") $i
		if ($4 ~ /containerd-shim-tiny-v2$/) {
			id = ""
			for (i = 5; i < NF; i++) if ($i == "-id") id = $(i + 1)
			cmd = "containerd-shim-tiny-v2 (the shim, started for -id " id ")"
		}
		printf "%7s %7s %6s KiB  %s\n", $1, $2, $3, cmd
	}' | indent
}
wait_status() { # id status: until `ctr task ls` shows it
	local tasks
	for _ in $(seq 100); do
		tasks=$(e2e_ctr task ls 2>&1 || true)
		grep -Eq "^$1[[:space:]].*$2" <<<"$tasks" && return 0
		sleep 0.1
	done
	e2e_fail "$1 did not reach $2"
}
wait_no_shim() {
	for _ in $(seq 100); do
		[ -z "$(shim_pids)" ] && return 0
		sleep 0.1
	done
	e2e_fail "the shim is still running: $(shim_pids | tr '\n' ' ')"
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
		[ "$rc" = 0 ] || echo "demo: failed (exit $rc); removing everything it started" >&"$stderr_fd"
		cleanup_all
	fi
	exit "$rc"
}

exec {stderr_fd}>&2
e2e_setup
trap on_exit EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

say "Start a private containerd" \
	"It gets its own socket, state and content store in DEMO_DIR=$E2E_DIR, so the" \
	"system's containerd (if any) is not touched. Its PATH starts with" \
	"$E2E_BIN_DIR: when a container asks for runtime $RUNTIME," \
	"containerd looks for a binary named containerd-shim-tiny-v2 there."
e2e_start_containerd
note "containerd is up: pid $E2E_CONTAINERD_PID, socket $E2E_SOCK"

say "Build a root filesystem" \
	"A directory with the static busybox binary and its applets (sh, sleep, ps...)." \
	"No image download: ctr passes it to the container with --rootfs."
rootfs=$E2E_DIR/rootfs
e2e_build_rootfs "$rootfs"
note "$(find "$rootfs" -mindepth 1 | wc -l) entries in \$DEMO_DIR/rootfs, busybox is $(($(stat -c %s "$rootfs/bin/busybox") / 1024)) KiB"

say "Run a container in the foreground" \
	"containerd starts our shim, the shim asks runc to create the container," \
	"copies its output to ctr and reports how it ended. --rm deletes it afterwards," \
	"and the shim exits since it has nothing left to look after."
rc=0
run_ctr run --rm --runtime "$RUNTIME" --rootfs "$rootfs" demo-hello \
	/bin/sh -c 'echo hello from a tiny shim; exit 3' || rc=$?
[ "$rc" = 3 ] || e2e_fail "ctr exited with $rc, expected the container's exit code 3"
note "ctr exited with $rc: the container's exit code, carried back by the shim"
wait_no_shim
note "no shim process left for this containerd: it went away with its container"

say "Run a container in the background" \
	"ctr run -d returns as soon as the container is running. The shim stays and" \
	"serves it: it is the container's parent and waits for its exit."
run_ctr run -d --runtime "$RUNTIME" --rootfs "$rootfs" demo-sleeper /bin/sleep 600
wait_status demo-sleeper RUNNING
run_ctr task ls
pid=$(shim_pids)
[ "$(echo "$pid" | wc -w)" = 1 ] || e2e_fail "expected one shim, found: $pid"
solo_rss=$(rss_kib "$pid")
note "the shim and its container (PID, parent, RSS, command):"
show_procs "$pid" $(pgrep -P "$pid")

say "Run a second process inside it (exec)" \
	"The shim asks runc to start another process in the same container;" \
	"inside, the container's ps sees sleep as PID 1 and our shell."
run_ctr task exec --exec-id demo-exec demo-sleeper /bin/sh -c 'echo "hello from inside, I am PID $$"; ps'

say "Stop and remove it" \
	"sleep is the container's PID 1, and PID 1 ignores SIGTERM unless it handles it," \
	"so we send SIGKILL. The shim reports exit 137 (128 + 9), then we delete the" \
	"task and the container (ctr warns about the non-zero exit code); the shim" \
	"exits with its last container."
run_ctr task kill -s SIGKILL demo-sleeper
wait_status demo-sleeper STOPPED
run_ctr task rm demo-sleeper
run_ctr containers rm demo-sleeper
wait_no_shim
note "shim pid $pid has exited"

say "One shim for a whole sandbox" \
	"Kubernetes-style pods run several containers side by side. With the annotation" \
	"$GROUP_ANNOTATION=<sandbox id> on each of them, the shim started for the" \
	"sandbox serves the others as well, instead of one shim per container."
ids=(demo-sandbox demo-app1 demo-app2 demo-app3)
for id in "${ids[@]}"; do
	run_ctr run -d --runtime "$RUNTIME" --annotation "$GROUP_ANNOTATION=demo-sandbox" \
		--rootfs "$rootfs" "$id" /bin/sleep 600
	wait_status "$id" RUNNING
done
run_ctr task ls
pids=$(shim_pids)
[ "$(echo "$pids" | wc -w)" = 1 ] || e2e_fail "expected one shim for the sandbox, found: $pids"
pid=$pids
group_rss=$(rss_kib "$pid")
note "${#ids[@]} containers, $(echo "$pids" | wc -w) shim process; its children are the containers:"
show_procs "$pid" $(pgrep -P "$pid")

say "Remove the sandbox" \
	"The containers first, the sandbox last; the shim leaves once the group is empty."
for id in "${ids[@]:1}" "${ids[0]}"; do
	run_ctr task rm -f "$id"
	run_ctr containers rm "$id"
done
wait_no_shim
run_ctr task ls
note "shim pid $pid has exited"

say "Clean up" \
	"Stop containerd and remove its directory, then check that nothing of ours is left:" \
	"no container, no shim, no mount, no containerd."
dir=$E2E_DIR
sock=$E2E_SOCK
cpid=$E2E_CONTAINERD_PID
cleanup_all
trap - EXIT HUP INT TERM
left=$(E2E_DIR=$dir E2E_SOCK=$sock E2E_CONTAINERD_PID=$cpid e2e_leftovers 2>/dev/null)
[ -z "$left" ] || { echo "demo: left behind: $left" >&2; exit 1; }
[ ! -e "$dir" ] || { echo "demo: $dir still exists" >&2; exit 1; }
[ -z "$(ls -A "/run/containerd/runc/$E2E_NS" 2>/dev/null)" ] || { echo "demo: runc state left" >&2; exit 1; }
note "everything was cleaned up: containerd $cpid stopped, $dir removed, no processes or mounts left"

printf '\n%scontainerd-shim-tiny-v2 resident memory (RSS): %s KiB serving 1 container, %s KiB serving %s containers%s\n' \
	"$bold" "$solo_rss" "$group_rss" "${#ids[@]}" "$plain"
