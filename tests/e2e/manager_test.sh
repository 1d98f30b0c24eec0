#!/usr/bin/env bash
# containerd-shim-tiny-v2 under a shim manager of each containerd generation,
# played by tests/e2e/shim_manager.c (containerd 1.7 and 2.x cannot run here:
# Debian ships 1.6). A private containerd 1.6 only receives the shim's events.
#   manager_test.sh binary   2.3+: BootstrapParams, BootstrapResult v3, Task v3 + Sandbox
#   manager_test.sh json3    2.0-2.2: JSON v3 (the publish binary says v2.1.0)
#   manager_test.sh json2    1.7: JSON v2 (the publish binary says v1.7.27), Task v2 + Sandbox
#   manager_test.sh plain    1.6: plain address, Task v2, no Sandbox API
# Then nothing of the test may be left (e2e_cleanup's leak check).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

mode=${1:?mode}
: "${E2E_SHIM_MANAGER:?path of the shim-manager binary}"
e2e_setup
e2e_start_containerd
e2e_note_ids sb c1 c2
e2e_build_rootfs "$E2E_DIR/rootfs"

# containerd's -publish-binary, as far as the shim looks at it (`--version`)
case "$mode" in
json2) version='containerd github.com/containerd/containerd v1.7.27 05044ec0a9a75232cad458027ca83437aae3f4da' ;;
*) version='containerd github.com/containerd/containerd/v2 v2.1.0 061792f0ecf3684fb30a3a0eb006799b8c6638a7' ;;
esac
cat >"$E2E_DIR/containerd-2x" <<SH
#!/bin/sh
[ "\$1" = --version ] && { echo '$version'; exit 0; }
exec containerd "\$@"
SH
chmod 0755 "$E2E_DIR/containerd-2x"
publish=$E2E_DIR/containerd-2x
[ "$mode" = plain ] && publish=$(command -v containerd)

mkdir -p "$E2E_DIR/m"
"$E2E_SHIM_MANAGER" "$mode" "$E2E_BIN_DIR/containerd-shim-tiny-v2" "$E2E_DIR/m" "$E2E_NS" "$E2E_SOCK" \
	"$publish" "$E2E_DIR/rootfs" || e2e_fail "shim-manager $mode failed"
e2e_log "shim-manager $mode: passed"
e2e_sanitizer_verdict
