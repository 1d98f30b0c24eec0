#!/usr/bin/env bash
# containerd-shim-tiny-v2 under a shim manager of each containerd generation,
# played by tests/e2e/shim_manager.c (containerd 1.7 and 2.x cannot run here:
# Debian ships 1.6); shim-manager also plays containerd's Version and Events
# services (the shim's only contacts with the daemon).
#   manager_test.sh binary   2.3+: BootstrapParams, BootstrapResult v3, Task v3 + Sandbox
#   manager_test.sh json3    2.0-2.2: JSON v3 (the daemon says v2.1.0 over gRPC)
#   manager_test.sh json2    1.7: JSON v2 (the daemon says v1.7.27), Task v2 + Sandbox
#   manager_test.sh plain    1.6: plain address, Task v2, no Sandbox API
#   manager_test.sh errors   2.3+: what the Sandbox API refuses, a shim exiting under it
# Then nothing of the test may be left (e2e_cleanup's leak check).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

mode=${1:?mode}
: "${E2E_SHIM_MANAGER:?path of the shim-manager binary}"
e2e_setup
e2e_note_ids sb sb3 sb4 c1 c2
e2e_build_rootfs "$E2E_DIR/rootfs"

# containerd itself is played by shim-manager at E2E_SOCK (its Version over
# gRPC, its Events over ttrpc); the publish binary is Debian's 1.6, whose
# `--version` the JSON generations must not need when the daemon answers
mkdir -p "$E2E_DIR/m"
"$E2E_SHIM_MANAGER" "$mode" "$E2E_BIN_DIR/containerd-shim-tiny-v2" "$E2E_DIR/m" "$E2E_NS" "$E2E_SOCK" \
	"$(command -v containerd)" "$E2E_DIR/rootfs" || e2e_fail "shim-manager $mode failed"
e2e_log "shim-manager $mode: passed"
e2e_sanitizer_verdict
