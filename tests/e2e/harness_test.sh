#!/usr/bin/env bash
# Proves the e2e harness with containerd's own runc shim: private containerd,
# busybox rootfs, imported OCI image, `ctr run --rm` both ways, then a cleanup
# that leaves nothing behind.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

e2e_setup
e2e_start_containerd
e2e_build_rootfs "$E2E_DIR/rootfs"
e2e_build_image "$E2E_DIR/rootfs" "$E2E_DIR/image.tar" localhost/e2e/busybox:latest
e2e_ctr images import "$E2E_DIR/image.tar" >/dev/null
e2e_ctr images ls -q | grep -qx localhost/e2e/busybox:latest || e2e_fail "image not imported"

# shellcheck disable=SC2016 # expanded inside the container
out=$(e2e_ctr run --rm --runtime io.containerd.runc.v2 localhost/e2e/busybox:latest img1 \
	/bin/sh -c 'echo hi from $(cat /etc/passwd | cut -d: -f1)')
[ "$out" = "hi from root" ] || e2e_fail "image run printed '$out'"
e2e_log "image-based container ran: $out"

set +e
out=$(e2e_ctr run --rm --runtime io.containerd.runc.v2 --rootfs "$E2E_DIR/rootfs" rootfs1 \
	/bin/sh -c 'echo hi; exit 3')
rc=$?
set -e
[ "$out" = hi ] || e2e_fail "--rootfs run printed '$out'"
[ "$rc" = 3 ] || e2e_fail "--rootfs run exit code $rc, want 3"
e2e_log "--rootfs container ran: $out (exit $rc)"

# A detached container, so cleanup has a shim, a container and mounts to remove.
e2e_ctr run -d --runtime io.containerd.runc.v2 localhost/e2e/busybox:latest sleeper sleep 600 >/dev/null
e2e_ctr task ls | grep -q 'sleeper.*RUNNING' || e2e_fail "sleeper not running"
[ -n "$(e2e_our_mounts)" ] || e2e_fail "expected the sleeper's rootfs mount under $E2E_DIR"
[ -n "$(e2e_our_pids)" ] || e2e_fail "expected a shim and the sleeper"

dir=$E2E_DIR
containerd_pid=$E2E_CONTAINERD_PID
e2e_cleanup
trap - EXIT
left=$(E2E_DIR=$dir E2E_SOCK=$dir/containerd.sock E2E_CONTAINERD_PID=$containerd_pid e2e_leftovers)
[ -z "$left" ] || e2e_fail "left behind: $left"
[ ! -e "$dir" ] || e2e_fail "$dir still exists"
kill -0 "$containerd_pid" 2>/dev/null && e2e_fail "containerd $containerd_pid still running"
e2e_log "PASS: nothing left behind"
