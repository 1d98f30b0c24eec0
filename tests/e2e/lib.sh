#!/usr/bin/env bash
# Helpers for end-to-end tests against a private containerd (source this file).
#
#   e2e_setup                 temp dir E2E_DIR, unique namespace E2E_NS, cleanup on exit;
#                             clears this test's sanitizer logs; first removes what
#                             killed earlier runs left (e2e_sweep_stale)
#   e2e_start_containerd      containerd with its own root/state/socket, CRI disabled,
#                             PATH with E2E_BIN_DIR (build/bin) first; waits until ready.
#                             With E2E_CGROUP_V1_VIEW=1 it runs in a private mount
#                             namespace where a hybrid host's cgroup2 mount is hidden
#                             (what crun needs there); E2E_CONTAINERD_LOG_LEVEL=debug
#                             logs every event forwarded to it. Its log is appended to
#                             E2E_DIR/containerd.log (one log across restarts).
#                             E2E_CONTAINERD_CONFIG=FILE: that config.toml instead
#                             (tests/cri: the CRI plugin enabled)
#   e2e_ctr ARGS...           ctr against it, in E2E_NS; FIFOs of run/exec/start go to
#                             E2E_DIR/fifo, and every word is noted as a possible shim id
#   e2e_note_ids ID...        note ids used outside e2e_ctr (shim binary run by hand)
#   e2e_bg_helper PID         a background helper of the test (ctr events): stopped
#                             before the leak check, never counted as a leak
#   e2e_build_rootfs DIR      busybox-static rootfs (applets as relative symlinks in bin/)
#   e2e_build_image ROOTFS TAR NAME [CMD]
#                             an OCI image archive (one gzip layer), no network;
#                             CMD: the image's Cmd as a JSON array (default ["/bin/sh"])
#   e2e_stop_containerd       SIGTERM (then SIGKILL) by pid
#   e2e_expect_clean          fails unless everything of this test is gone: no shim,
#                             no container process, no mount, no shim socket, no runtime
#                             state, no container cgroup, no bundle (bounded wait first)
#   e2e_leftovers             prints what is left (all of the above); empty when clean
#   e2e_cleanup               on exit: a test that passed but left anything behind fails
#                             (with the list); then everything is removed, by pid: shims and
#                             containers, containerd, runtime state, sockets, mounts, the
#                             namespace's cgroups in every hierarchy, the dir itself
#   e2e_shim_pids             our containerd-shim-tiny-v2 processes
#   e2e_sanitizer_verdict     fails when a sanitizer build of the shim reported anything
set -euo pipefail

E2E_BIN_DIR=${E2E_BIN_DIR:-}
E2E_DIR=
E2E_NS=
E2E_SOCK=
E2E_CONTAINERD_PID=
E2E_FIFO_DIR=
E2E_HELPERS=
E2E_EVENTS_PID=
# 0: e2e_cleanup removes what is left without failing (the harness's own proof)
E2E_LEAK_CHECK=${E2E_LEAK_CHECK:-1}
E2E_RUNC_ROOT=/run/containerd/runc
E2E_SOCKET_DIR=/run/containerd/s

e2e_log() { printf 'e2e: %s\n' "$*" >&2; }
e2e_fail() {
	printf 'e2e: FAIL: %s\n' "$*" >&2
	# what containerd and the shims said last, for a failure seen only in CI
	if [ -n "${E2E_DIR:-}" ] && [ -s "$E2E_DIR/containerd.log" ]; then
		printf 'e2e: last lines of containerd.log (errors, warnings, shim lines):\n' >&2
		grep -E 'level=(error|warning)|runtime=io.containerd' "$E2E_DIR/containerd.log" | tail -n 25 >&2 || true
	fi
	exit 1
}

# e2e_wait_for SECONDS WHAT COMMAND...: polls COMMAND every 50 ms until it
# succeeds; fails the test naming WHAT after SECONDS.
e2e_wait_for() {
	local secs=$1 what=$2 deadline
	shift 2
	deadline=$(($(date +%s%N) + secs * 1000000000))
	until "$@"; do
		[ "$(date +%s%N)" -lt "$deadline" ] || e2e_fail "timed out after ${secs}s waiting for $what"
		sleep 0.05
	done
}

e2e_setup() {
	[ "$(id -u)" = 0 ] || e2e_fail "must run as root (containerd and runc need it)"
	e2e_sweep_stale
	E2E_DIR=$(mktemp -d /var/tmp/ttrpc-e2e.XXXXXX)
	E2E_NS="e2e-$$-${RANDOM}"
	E2E_SOCK="$E2E_DIR/containerd.sock"
	E2E_FIFO_DIR="$E2E_DIR/fifo"
	mkdir -p "$E2E_FIFO_DIR"
	echo "$$ $E2E_NS" >"$E2E_DIR/owner"
	: >"$E2E_DIR/ids"
	# a report of an earlier run must not fail (or pass for) this one
	if [ -n "${E2E_SANITIZER_LOGS:-}" ]; then
		rm -f "$E2E_SANITIZER_LOGS".*
		mkdir -p "$(dirname "$E2E_SANITIZER_LOGS")"
	fi
	trap e2e_on_exit EXIT
}

# (an EXIT trap sets the script's status only through exit)
e2e_on_exit() {
	e2e_cleanup
	exit $?
}

# True on a hybrid host (v1 hierarchies under a tmpfs /sys/fs/cgroup, cgroup2 at
# /sys/fs/cgroup/unified) whose cgroup2 side holds controllers: crun refuses it
# ("cgroups in hybrid mode not supported, drop all controllers from cgroupv2").
e2e_hybrid_v2_controllers() {
	[ "$(stat -f -c %T /sys/fs/cgroup 2>/dev/null)" = tmpfs ] || return 1
	[ "$(stat -f -c %T /sys/fs/cgroup/unified 2>/dev/null)" = cgroup2fs ] || return 1
	[ -n "$(cat /sys/fs/cgroup/unified/cgroup.controllers 2>/dev/null)" ]
}

e2e_start_containerd() {
	mkdir -p "$E2E_DIR/root" "$E2E_DIR/state" "$E2E_DIR/opt"
	if [ -n "${E2E_CONTAINERD_CONFIG:-}" ]; then
		cp "$E2E_CONTAINERD_CONFIG" "$E2E_DIR/config.toml"
	else
		cat >"$E2E_DIR/config.toml" <<TOML
version = 2
disabled_plugins = ["io.containerd.grpc.v1.cri"]

[plugins."io.containerd.internal.v1.opt"]
  path = "$E2E_DIR/opt"
TOML
	fi
	local path="$PATH" wrap=()
	[ -n "$E2E_BIN_DIR" ] && path="$E2E_BIN_DIR:$PATH"
	if [ "${E2E_CGROUP_V1_VIEW:-0}" = 1 ] && e2e_hybrid_v2_controllers; then
		# containerd, the shims and the runtime see this host as cgroup v1 only:
		# a private mount namespace without the cgroup2 mount. Nothing on the
		# host changes, and the namespace goes with its last process.
		e2e_log "hybrid cgroups with controllers on the v2 side ($(tr '\n' ' ' </sys/fs/cgroup/unified/cgroup.controllers)):" \
			"containerd runs in a private mount namespace without /sys/fs/cgroup/unified"
		wrap=(unshare --mount --propagation private -- sh -c 'umount /sys/fs/cgroup/unified && exec "$@"' sh)
	fi
	PATH="$path" "${wrap[@]}" containerd --root "$E2E_DIR/root" --state "$E2E_DIR/state" --address "$E2E_SOCK" \
		--config "$E2E_DIR/config.toml" ${E2E_CONTAINERD_LOG_LEVEL:+--log-level "$E2E_CONTAINERD_LOG_LEVEL"} \
		>>"$E2E_DIR/containerd.log" 2>&1 &
	E2E_CONTAINERD_PID=$!
	local deadline=$(($(date +%s) + 20))
	while [ "$(date +%s)" -lt "$deadline" ]; do
		if ctr -a "$E2E_SOCK" version >/dev/null 2>&1; then
			e2e_log "containerd ready (pid $E2E_CONTAINERD_PID, $E2E_SOCK)"
			return 0
		fi
		kill -0 "$E2E_CONTAINERD_PID" 2>/dev/null || break
		sleep 0.1
	done
	tail -n 30 "$E2E_DIR/containerd.log" >&2 || true
	e2e_fail "containerd did not become ready"
}

# Every word is a possible shim id (a container id, a group annotation's value):
# e2e_our_sockets hashes them into the shim socket names to look for.
e2e_note_ids() {
	local w
	for w in "$@"; do
		case "$w" in *=*) w=${w#*=} ;; esac
		case "$w" in '' | */* | *[[:space:]]*) ;; *) printf '%s\n' "$w" ;; esac
	done >>"$E2E_DIR/ids"
}

e2e_ctr() {
	e2e_note_ids "$@"
	local ctr=(ctr -a "$E2E_SOCK" -n "$E2E_NS")
	# ctr's IO FIFOs in our dir: ctr leaves them behind in /run/containerd/fifo
	# when a task outlives it (run -d) or it is killed
	case "$1 ${2:-}" in
	"run "*) "${ctr[@]}" run --fifo-dir "$E2E_FIFO_DIR" "${@:2}" ;;
	"task exec" | "task start" | "t exec" | "t start" | "tasks exec" | "tasks start")
		"${ctr[@]}" "$1" "$2" --fifo-dir "$E2E_FIFO_DIR" "${@:3}" ;;
	*) "${ctr[@]}" "$@" ;;
	esac
}

# A container whose pid 1 is a shell that traps TERM ignores a TERM sent
# before the trap is set (pid 1 of a pid namespace has no default actions):
# the shell has set it once it runs its first child.
e2e_has_children() { [ -n "$(cat "/proc/$1/task/$1/children" 2>/dev/null)" ]; }
e2e_trap_ready() { # pid of the container's init
	e2e_wait_for 20 "pid $1 to set its TERM trap (start its child)" e2e_has_children "$1"
}

e2e_bg_helper() { E2E_HELPERS="$E2E_HELPERS $1"; }

# e2e_events_start FILE: `ctr events` into FILE, returning once it is
# subscribed (a namespace label change it publishes shows up in FILE).
e2e_events_start() {
	local file=$1 i=0
	ctr -a "$E2E_SOCK" namespaces create "$E2E_NS" >/dev/null 2>&1 || true
	ctr -a "$E2E_SOCK" events >"$file" 2>&1 &
	E2E_EVENTS_PID=$!
	e2e_bg_helper "$E2E_EVENTS_PID"
	local deadline=$(($(date +%s) + 20))
	until grep -q '/namespaces/update' "$file"; do
		[ "$(date +%s)" -lt "$deadline" ] || e2e_fail "ctr events did not subscribe within 20s: $(cat "$file")"
		kill -0 "$E2E_EVENTS_PID" 2>/dev/null || e2e_fail "ctr events exited: $(cat "$file")"
		i=$((i + 1))
		ctr -a "$E2E_SOCK" namespaces label "$E2E_NS" e2e-probe="$i" >/dev/null
		sleep 0.05
	done
}

# e2e_events_wait FILE ERE [SECONDS]: until a line of FILE matches ERE.
e2e_events_wait() {
	e2e_wait_for "${3:-20}" "an event matching '$2' (got: $(grep -o '/tasks/[a-z-]*' "$1" | tr '\n' ' '))" grep -Eq "$2" "$1"
}

e2e_events_stop() {
	[ -n "$E2E_EVENTS_PID" ] || return 0
	kill "$E2E_EVENTS_PID" 2>/dev/null || true
	wait "$E2E_EVENTS_PID" 2>/dev/null || true
	E2E_EVENTS_PID=
}

e2e_stop_containerd() {
	local pid=$E2E_CONTAINERD_PID
	[ -n "$pid" ] || return 0
	if kill -TERM "$pid" 2>/dev/null; then
		for _ in $(seq 1 100); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null || true
	fi
	wait "$pid" 2>/dev/null || true
	E2E_CONTAINERD_PID=
}

e2e_build_rootfs() {
	local dir=$1 app
	mkdir -p "$dir/bin" "$dir/proc" "$dir/sys" "$dir/dev" "$dir/tmp" "$dir/etc" "$dir/root"
	cp /bin/busybox "$dir/bin/busybox"
	# What `busybox --install -s bin/` does, but with relative links: --install
	# would point them at the host's absolute path of busybox.
	for app in $(/bin/busybox --list); do
		[ "$app" = busybox ] || ln -sf busybox "$dir/bin/$app"
	done
	echo 'root:x:0:0:root:/root:/bin/sh' >"$dir/etc/passwd"
	echo 'root:x:0:' >"$dir/etc/group"
}

e2e_goarch() {
	case "$(uname -m)" in
	x86_64) echo amd64 ;;
	aarch64) echo arm64 ;;
	armv7l) echo arm ;;
	*) uname -m ;;
	esac
}

# e2e_blob DIR FILE: store FILE under DIR/blobs/sha256, print "<hex> <size>".
e2e_blob() {
	local layout=$1 file=$2 hex size
	hex=$(sha256sum "$file" | cut -d' ' -f1)
	size=$(stat -c %s "$file")
	mkdir -p "$layout/blobs/sha256"
	mv "$file" "$layout/blobs/sha256/$hex"
	echo "$hex $size"
}

e2e_build_image() {
	local rootfs=$1 tar=$2 name=$3 work layout arch diff_id
	local cmd=${4:-'["/bin/sh"]'}
	local layer_hex layer_size config_hex config_size manifest_hex manifest_size
	work=$(mktemp -d "$E2E_DIR/image.XXXXXX")
	layout="$work/layout"
	arch=$(e2e_goarch)
	mkdir -p "$layout"
	# Reproducible layer: sorted, root-owned, fixed mtime.
	tar -C "$rootfs" --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -cf "$work/layer.tar" .
	diff_id=$(sha256sum "$work/layer.tar" | cut -d' ' -f1)
	gzip -n -9 "$work/layer.tar"
	read -r layer_hex layer_size < <(e2e_blob "$layout" "$work/layer.tar.gz")
	cat >"$work/config.json" <<JSON
{"architecture":"$arch","os":"linux","config":{"Env":["PATH=/bin"],"Cmd":$cmd,"WorkingDir":"/"},"rootfs":{"type":"layers","diff_ids":["sha256:$diff_id"]},"history":[{"created_by":"ttrpc-c e2e harness"}]}
JSON
	read -r config_hex config_size < <(e2e_blob "$layout" "$work/config.json")
	cat >"$work/manifest.json" <<JSON
{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:$config_hex","size":$config_size},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:$layer_hex","size":$layer_size}]}
JSON
	read -r manifest_hex manifest_size < <(e2e_blob "$layout" "$work/manifest.json")
	cat >"$layout/index.json" <<JSON
{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:$manifest_hex","size":$manifest_size,"platform":{"architecture":"$arch","os":"linux"},"annotations":{"io.containerd.image.name":"$name","org.opencontainers.image.ref.name":"${name##*:}"}}]}
JSON
	echo '{"imageLayoutVersion":"1.0.0"}' >"$layout/oci-layout"
	tar -C "$layout" --sort=name --owner=0 --group=0 --numeric-owner -cf "$tar" .
	rm -rf "$work"
}

# Pids of processes (containerd itself and the test's helpers aside) whose
# command line mentions our socket or directory (shims are started with
# -address <sock>), whose cwd is under E2E_DIR (shims and runc run in the
# bundles there), or that are in a cgroup under /<ns>/ (containers).
e2e_our_pids() {
	local p cmd cwd h
	[ -n "$E2E_DIR" ] || return 0
	for p in /proc/[0-9]*; do
		p=${p#/proc/}
		[ "$p" = $$ ] && continue
		[ "$p" = "${BASHPID:-}" ] && continue
		[ "$p" = "${E2E_CONTAINERD_PID:-}" ] && continue
		for h in $E2E_HELPERS; do [ "$p" = "$h" ] && continue 2; done
		cmd=$({ tr '\0' ' ' <"/proc/$p/cmdline"; } 2>/dev/null) || continue
		[ -n "$cmd" ] || continue # a kernel thread, or a zombie
		cwd=$(readlink "/proc/$p/cwd" 2>/dev/null) || cwd=
		case "$cmd" in
		*"$E2E_SOCK"* | *"$E2E_DIR/"*) echo "$p" ;;
		*) case "$cwd" in
			"$E2E_DIR"/*) echo "$p" ;;
			# a container's processes, by the cgroup the runtime put them in
			*) grep -q ":/$E2E_NS/" "/proc/$p/cgroup" 2>/dev/null && echo "$p" ;;
			esac ;;
		esac
	done 2>/dev/null
}

# Mounts under E2E_DIR, as containerd's mount namespace sees them (its own,
# private one under E2E_CGROUP_V1_VIEW), or as we do.
e2e_our_mounts() {
	[ -n "$E2E_DIR" ] || return 0
	local info=/proc/self/mountinfo
	[ -n "$E2E_CONTAINERD_PID" ] && [ -r "/proc/$E2E_CONTAINERD_PID/mountinfo" ] && info=/proc/$E2E_CONTAINERD_PID/mountinfo
	awk -v d="$E2E_DIR" '$5 == d || index($5, d "/") == 1 { print $5 }' "$info" 2>/dev/null
}

# Shim sockets of this test that exist: containerd's names for them are
# sha256(<containerd address>/<namespace>/<shim id>) under E2E_SOCKET_DIR.
e2e_our_sockets() {
	[ -n "$E2E_DIR" ] && [ -s "$E2E_DIR/ids" ] || return 0
	local id hex
	sort -u "$E2E_DIR/ids" | while IFS= read -r id; do
		hex=$(printf '%s' "$E2E_SOCK/$E2E_NS/$id" | sha256sum | cut -d' ' -f1)
		[ -e "$E2E_SOCKET_DIR/$hex" ] && echo "$E2E_SOCKET_DIR/$hex (shim id $id)"
	done
	return 0
}

# Mount points of every cgroup hierarchy (v1 and v2).
e2e_cgroup_mounts() {
	awk '{ for (i = 7; i <= NF; i++) if ($i == "-") break; if ($(i + 1) == "cgroup" || $(i + 1) == "cgroup2") print $5 }' \
		/proc/self/mountinfo
}

# Container cgroups left in our namespace's parent (/<ns>/<id>) in any hierarchy:
# the runtime removes a container's cgroup when the container is deleted.
e2e_our_cgroups() {
	[ -n "$E2E_NS" ] || return 0
	local m
	for m in $(e2e_cgroup_mounts); do
		[ -d "$m/$E2E_NS" ] && find "$m/$E2E_NS" -mindepth 1 -type d 2>/dev/null
	done
	return 0
}

# Runtime state (runc and crun, root /run/containerd/runc/<ns>) of containers not deleted.
e2e_our_runtime_state() {
	[ -n "$E2E_NS" ] && [ -d "$E2E_RUNC_ROOT/$E2E_NS" ] || return 0
	find "$E2E_RUNC_ROOT/$E2E_NS" -mindepth 1 -maxdepth 1 2>/dev/null
}

# Pids of our containerd-shim-tiny-v2 processes.
e2e_shim_pids() {
	local p
	for p in $(e2e_our_pids); do
		case "$({ tr '\0' ' ' <"/proc/$p/cmdline"; } 2>/dev/null)" in
		*containerd-shim-tiny-v2*) echo "$p" ;;
		esac
	done
}

# In a sanitizer build every shim process (start, serve, delete) reports to
# E2E_SANITIZER_LOGS (ASAN_OPTIONS/UBSAN_OPTIONS log_path, which containerd
# passes on to the shims): any report fails the test.
e2e_sanitizer_verdict() {
	[ -n "${E2E_SANITIZER_LOGS:-}" ] || return 0
	local f found=""
	for f in "$E2E_SANITIZER_LOGS".*; do
		[ -e "$f" ] || continue
		found=1
		echo "== $f" >&2
		head -n 40 "$f" >&2
	done
	[ -z "$found" ] || e2e_fail "sanitizer reports from the shim (above)"
}

e2e_leftovers() {
	local pids mounts sockets state cgroups bundles="" f
	pids=$(e2e_our_pids | tr '\n' ' ')
	mounts=$(e2e_our_mounts | tr '\n' ' ')
	sockets=$(e2e_our_sockets | tr '\n' ' ')
	state=$(e2e_our_runtime_state | tr '\n' ' ')
	cgroups=$(e2e_our_cgroups | tr '\n' ' ')
	for f in "$E2E_DIR"/state/io.containerd.runtime.v2.task/*/*/address; do
		[ -e "$f" ] && bundles="$bundles ${f%/address}"
	done
	[ -n "${pids// /}" ] && echo "processes: $pids"
	[ -n "${mounts// /}" ] && echo "mounts: $mounts"
	[ -n "${sockets// /}" ] && echo "shim sockets: $sockets"
	[ -n "${state// /}" ] && echo "runtime state: $state"
	[ -n "${cgroups// /}" ] && echo "container cgroups: $cgroups"
	[ -n "${bundles// /}" ] && echo "bundles:$bundles"
	return 0
}

# Nothing of this test's containers is left (after up to 10 s for what goes
# asynchronously: a shim exits after its last delete).
e2e_expect_clean() {
	local left deadline=$(($(date +%s) + 10))
	while :; do
		left=$(e2e_leftovers)
		[ -z "$left" ] && return 0
		[ "$(date +%s)" -lt "$deadline" ] || break
		sleep 0.1
	done
	e2e_fail "left behind: $(echo "$left" | tr '\n' ';')"
}

# e2e_remove_ns_state NS: what the runtime keeps for namespace NS: its
# containers (killed by cgroup, deleted with runc), the runtime root, and the
# /<ns> cgroup parent in every hierarchy, deepest first (a cgroup empties once
# its killed processes are reaped). Fails naming what could not be removed.
e2e_remove_ns_state() {
	local ns=$1 m d p ok=0
	[ -n "$ns" ] || return 0
	for m in $(e2e_cgroup_mounts); do
		[ -d "$m/$ns" ] || continue
		for p in $(find "$m/$ns" -name cgroup.procs -exec cat {} + 2>/dev/null); do
			kill -KILL "$p" 2>/dev/null
		done
	done
	if [ -d "$E2E_RUNC_ROOT/$ns" ]; then
		for m in "$E2E_RUNC_ROOT/$ns"/*; do
			[ -d "$m" ] && runc --root "$E2E_RUNC_ROOT/$ns" delete --force "${m##*/}" >/dev/null 2>&1
			rm -rf "$m"
		done
		rmdir "$E2E_RUNC_ROOT/$ns" 2>/dev/null
	fi
	for m in $(e2e_cgroup_mounts); do
		d="$m/$ns"
		[ -d "$d" ] || continue
		for _ in $(seq 1 50); do
			find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
			[ -d "$d" ] || break
			sleep 0.1
		done
		if [ -d "$d" ]; then
			printf 'e2e: could not remove cgroup %s (processes: %s)\n' "$d" \
				"$(find "$d" -name cgroup.procs -exec cat {} + 2>/dev/null | tr '\n' ' ')" >&2
			ok=1
		fi
	done
	return $ok
}

# Leftovers of earlier runs that were killed before their cleanup could run
# (ctest's timeout kills with SIGKILL): test dirs whose test process is gone,
# and namespaces e2e-<pid>-* whose <pid> is gone. Said, then removed.
e2e_sweep_stale() {
	local d owner ns m n pid
	for d in /var/tmp/ttrpc-e2e.*; do
		[ -d "$d" ] || continue
		owner=$(cat "$d/owner" 2>/dev/null) || owner=
		[ -n "$owner" ] && kill -0 "${owner%% *}" 2>/dev/null && continue
		# a concurrent run between its mktemp and its owner file is not stale
		[ -z "$owner" ] && [ $(($(date +%s) - $(stat -c %Y "$d" 2>/dev/null || echo 0))) -lt 60 ] && continue
		ns=${owner#* }
		[ -n "$owner" ] || ns=$(ls "$d/state/io.containerd.runtime.v2.task" 2>/dev/null | head -n 1)
		e2e_log "removing what a killed earlier run left: $d (namespace ${ns:-?})"
		(E2E_DIR=$d E2E_SOCK=$d/containerd.sock E2E_NS=$ns E2E_CONTAINERD_PID= E2E_HELPERS= E2E_LEAK_CHECK=0 \
			e2e_cleanup >/dev/null 2>&1) || true
	done
	for m in "$E2E_RUNC_ROOT" $(e2e_cgroup_mounts); do
		for n in "$m"/e2e-[0-9]*-[0-9]*; do
			[ -d "$n" ] || continue
			n=${n##*/}
			pid=${n#e2e-}
			pid=${pid%%-*}
			kill -0 "$pid" 2>/dev/null && continue
			e2e_log "removing what a killed earlier run left in namespace $n"
			e2e_remove_ns_state "$n" || true
		done
	done
}

e2e_cleanup() {
	local rc=$? p m a f left sockets="" d
	[ -n "$E2E_DIR" ] || return $rc
	set +e
	for p in $E2E_HELPERS; do kill "$p" 2>/dev/null; done
	for p in $E2E_HELPERS; do wait "$p" 2>/dev/null; done
	E2E_HELPERS=
	# What a test that passed left behind is a leak: it fails that test.
	left=$(e2e_leftovers)
	if [ -n "$left" ]; then
		if [ "$rc" = 0 ] && [ "$E2E_LEAK_CHECK" = 1 ]; then
			printf 'e2e: FAIL: the test passed but left behind (removed now):\n%s\n' "$left" >&2
			rc=1
		else
			printf 'e2e: removing what is left:\n%s\n' "$left" >&2
		fi
	fi
	# Shim socket paths, from the bundles' address files, before anything goes.
	for f in "$E2E_DIR"/state/io.containerd.runtime.v2.task/*/*/address; do
		[ -e "$f" ] || continue
		a=$(cat "$f")
		sockets="$sockets ${a#unix://}"
	done
	sockets="$sockets $(e2e_our_sockets | cut -d' ' -f1 | tr '\n' ' ')"
	# Shims and containers first (by pid), so containerd has nothing to wait for.
	for _ in 1 2 3 4 5; do
		p=$(e2e_our_pids)
		[ -z "$p" ] && break
		# shellcheck disable=SC2086
		kill -KILL $p 2>/dev/null
		sleep 0.2
	done
	e2e_stop_containerd
	for a in $sockets; do rm -f "$a"; done
	# Deepest mounts first; a busy one is detached.
	for m in $(e2e_our_mounts | sort -r); do
		umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
	done
	e2e_remove_ns_state "$E2E_NS" || { [ "$rc" = 0 ] && rc=1; }
	[ -n "${E2E_KEEP_DIR:-}" ] && cp "$E2E_DIR/containerd.log" "$E2E_KEEP_DIR/" 2>/dev/null
	rm -rf "$E2E_DIR"
	E2E_DIR=
	return $rc
}
