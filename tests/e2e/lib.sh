#!/usr/bin/env bash
# Helpers for end-to-end tests against a private containerd (source this file).
#
#   e2e_setup                 temp dir E2E_DIR, unique namespace E2E_NS, cleanup on exit
#   e2e_start_containerd      containerd with its own root/state/socket, CRI disabled,
#                             PATH with E2E_BIN_DIR (build/bin) first; waits until ready
#   e2e_ctr ARGS...           ctr against it, in E2E_NS
#   e2e_build_rootfs DIR      busybox-static rootfs (applets as relative symlinks in bin/)
#   e2e_build_image ROOTFS TAR NAME
#                             an OCI image archive (one gzip layer), no network
#   e2e_stop_containerd       SIGTERM (then SIGKILL) by pid
#   e2e_cleanup               everything we started, by pid: shims and their containers,
#                             containerd, runc state, mounts under E2E_DIR, the dir itself
#   e2e_leftovers             prints what is left (processes, mounts); empty when clean
#   e2e_shim_pids             our containerd-shim-tiny-v2 processes
#   e2e_sanitizer_verdict     fails when a sanitizer build of the shim reported anything
set -euo pipefail

E2E_BIN_DIR=${E2E_BIN_DIR:-}
E2E_DIR=
E2E_NS=
E2E_SOCK=
E2E_CONTAINERD_PID=

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

e2e_setup() {
	[ "$(id -u)" = 0 ] || e2e_fail "must run as root (containerd and runc need it)"
	E2E_DIR=$(mktemp -d /var/tmp/ttrpc-e2e.XXXXXX)
	E2E_NS="e2e-$$-${RANDOM}"
	E2E_SOCK="$E2E_DIR/containerd.sock"
	trap e2e_cleanup EXIT
}

e2e_start_containerd() {
	mkdir -p "$E2E_DIR/root" "$E2E_DIR/state" "$E2E_DIR/opt"
	cat >"$E2E_DIR/config.toml" <<TOML
version = 2
disabled_plugins = ["io.containerd.grpc.v1.cri"]

[plugins."io.containerd.internal.v1.opt"]
  path = "$E2E_DIR/opt"
TOML
	local path="$PATH"
	[ -n "$E2E_BIN_DIR" ] && path="$E2E_BIN_DIR:$PATH"
	PATH="$path" containerd --root "$E2E_DIR/root" --state "$E2E_DIR/state" --address "$E2E_SOCK" \
		--config "$E2E_DIR/config.toml" >"$E2E_DIR/containerd.log" 2>&1 &
	E2E_CONTAINERD_PID=$!
	for _ in $(seq 1 200); do
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

e2e_ctr() {
	ctr -a "$E2E_SOCK" -n "$E2E_NS" "$@"
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
{"architecture":"$arch","os":"linux","config":{"Env":["PATH=/bin"],"Cmd":["/bin/sh"],"WorkingDir":"/"},"rootfs":{"type":"layers","diff_ids":["sha256:$diff_id"]},"history":[{"created_by":"ttrpc-c e2e harness"}]}
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

# Pids of processes (containerd itself aside) whose command line mentions our
# socket or directory (shims are started with -address <sock>) or whose cwd is
# under E2E_DIR (shims and runc run in the bundles there).
e2e_our_pids() {
	local p cmd cwd
	[ -n "$E2E_DIR" ] || return 0
	for p in /proc/[0-9]*; do
		p=${p#/proc/}
		[ "$p" = $$ ] && continue
		[ "$p" = "${E2E_CONTAINERD_PID:-}" ] && continue
		cmd=$({ tr '\0' ' ' <"/proc/$p/cmdline"; } 2>/dev/null) || continue
		cwd=$(readlink "/proc/$p/cwd" 2>/dev/null) || cwd=
		case "$cmd" in
		*"$E2E_SOCK"* | *"$E2E_DIR/"*) echo "$p" ;;
		*) case "$cwd" in "$E2E_DIR"/*) echo "$p" ;; esac ;;
		esac
	done
}

e2e_our_mounts() {
	[ -n "$E2E_DIR" ] || return 0
	awk -v d="$E2E_DIR" '$5 == d || index($5, d "/") == 1 { print $5 }' /proc/self/mountinfo
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
	local pids mounts
	pids=$(e2e_our_pids | tr '\n' ' ')
	mounts=$(e2e_our_mounts | tr '\n' ' ')
	[ -n "$E2E_CONTAINERD_PID" ] && kill -0 "$E2E_CONTAINERD_PID" 2>/dev/null && echo "containerd $E2E_CONTAINERD_PID"
	[ -n "${pids// /}" ] && echo "processes: $pids"
	[ -n "${mounts// /}" ] && echo "mounts: $mounts"
	return 0
}

e2e_cleanup() {
	local rc=$? p m addr
	[ -n "$E2E_DIR" ] || return $rc
	set +e
	# Shim socket paths, from the bundles' address files, before anything goes.
	local sockets
	# (one file at a time: they end without a newline)
	local f a fifos=""
	sockets=""
	for f in "$E2E_DIR"/state/io.containerd.runtime.v2.task/*/*/address; do
		[ -e "$f" ] || continue
		a=$(cat "$f")
		sockets="$sockets ${a#unix://}"
	done
	# ctr's FIFO directories, from what our shims hold open, before they go
	for p in $(e2e_our_pids); do
		for f in /proc/"$p"/fd/*; do
			a=$(readlink "$f" 2>/dev/null) || continue
			case "$a" in /run/containerd/fifo/*) fifos="$fifos ${a%/*}" ;; esac
		done
	done
	# Shims and containers first (by pid), so containerd has nothing to wait for.
	for _ in 1 2 3; do
		p=$(e2e_our_pids)
		[ -z "$p" ] && break
		# shellcheck disable=SC2086
		kill -KILL $p 2>/dev/null
		sleep 0.2
	done
	e2e_stop_containerd
	if [ -d "/run/containerd/runc/$E2E_NS" ]; then
		for m in "/run/containerd/runc/$E2E_NS"/*; do
			[ -d "$m" ] && runc --root "/run/containerd/runc/$E2E_NS" delete --force "${m##*/}" >/dev/null 2>&1
		done
		rmdir "/run/containerd/runc/$E2E_NS" 2>/dev/null
	fi
	for addr in $sockets; do rm -f "$addr"; done
	# shellcheck disable=SC2086
	for f in $(printf '%s\n' $fifos | sort -u); do rm -rf "$f"; done
	# Deepest mounts first; a busy one is detached.
	for m in $(e2e_our_mounts | sort -r); do
		umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
	done
	rm -rf "$E2E_DIR"
	E2E_DIR=
	return $rc
}
