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

[ -n "$(e2e_our_cgroups)" ] || e2e_fail "expected the sleeper's cgroups under /<ns> (cgroup leak detection would be blind)"
[ -n "$(e2e_our_runtime_state)" ] || e2e_fail "expected runc state for the sleeper (runtime state detection would be blind)"
[ -n "$(e2e_our_sockets)" ] || e2e_fail "expected the sleeper's shim socket (socket detection would be blind)"

# The cleanup removes all of it; saved first: the cleanup forgets the test.
dir=$E2E_DIR ns=$E2E_NS sock=$E2E_SOCK containerd_pid=$E2E_CONTAINERD_PID
cp "$E2E_DIR/ids" /var/tmp/ttrpc-e2e-harness-ids.$$
E2E_LEAK_CHECK=0 e2e_cleanup
trap - EXIT
mkdir -p "$dir"
mv /var/tmp/ttrpc-e2e-harness-ids.$$ "$dir/ids"
left=$(E2E_DIR=$dir E2E_NS=$ns E2E_SOCK=$sock E2E_CONTAINERD_PID= e2e_leftovers)
rm -rf "$dir"
[ -z "$left" ] || e2e_fail "left behind: $left"
kill -0 "$containerd_pid" 2>/dev/null && e2e_fail "containerd $containerd_pid still running"
for m in $(e2e_cgroup_mounts); do
	[ ! -e "$m/$ns" ] || e2e_fail "cgroup parent $m/$ns left behind"
done
[ ! -e "$E2E_RUNC_ROOT/$ns" ] || e2e_fail "runc root $E2E_RUNC_ROOT/$ns left behind"
e2e_log "nothing left behind by the cleanup"

# A test that passes but leaves a container running fails, naming it, and
# its leftovers are removed all the same.
rc=0
out=$(bash -c '. "$1"; e2e_setup; e2e_start_containerd; e2e_build_rootfs "$E2E_DIR/rootfs"
	e2e_ctr run -d --runtime io.containerd.runc.v2 --rootfs "$E2E_DIR/rootfs" leaky /bin/sleep 600 >/dev/null
	echo "ns=$E2E_NS"; exit 0' leak-test "$here/lib.sh" 2>&1) || rc=$?
[ "$rc" = 1 ] || e2e_fail "a passing test that leaked exited $rc: $out"
echo "$out" | grep -q 'the test passed but left behind' || e2e_fail "no leak report: $out"
echo "$out" | grep -q '^processes: [0-9]' || e2e_fail "the leaked processes are not named: $out"
ns=$(echo "$out" | sed -n 's/^ns=//p')
for m in $(e2e_cgroup_mounts); do
	[ ! -e "$m/$ns" ] || e2e_fail "the leak test's cgroup parent $m/$ns was not removed"
done
e2e_log "PASS: nothing left behind, and a leak fails the test that made it"
