#!/usr/bin/env bash
# CRI end-to-end helpers on top of tests/e2e/lib.sh (source this file).
#
#   cri_setup                 e2e_setup, then a private containerd WITH its CRI plugin:
#                             runtime handlers `tiny` (io.containerd.tiny.v2, our shim)
#                             and `runc` (io.containerd.runc.v2, the reference), both
#                             with the runtime root CRI_RUNTIME_ROOT; sandbox_image is
#                             CRI_IMAGE, built from busybox-static and imported into
#                             k8s.io; restrict_oom_score_adj; no CNI (host network pods);
#                             the streaming server on a free loopback port
#   cri_restart_containerd    containerd stopped (by pid) and started again, same config
#   cri_pod_cgroup_parent     the cgroup parent for pods: /<E2E_NS> (containers land in
#                             /<E2E_NS>/<id>, where lib.sh's leak checks look)
#   cri_note_shim_ids ID...   ids whose shim sockets (namespace k8s.io) the leak check
#                             looks for
#   cri_expect_clean          no shim socket of namespace k8s.io, no container's runtime
#                             state left in CRI_RUNTIME_ROOT, then e2e_expect_clean
#
# CRI's containerd namespace is always k8s.io; lib.sh's leak checks know the test
# by E2E_NS, so pods get the cgroup parent /<E2E_NS> and the runtime root is
# CRI_RUNTIME_ROOT=/run/containerd/runc/<E2E_NS> (state in <root>/k8s.io/<id>),
# which lib.sh's cleanup and stale sweep remove.
here_cri=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../e2e/lib.sh
. "$here_cri/../e2e/lib.sh"

CRI_IMAGE=ttrpc-e2e.local/busybox:1
CRI_RUNTIME_ROOT=
CRI_SHIM_NS=k8s.io

cri_write_config() {
	mkdir -p "$E2E_DIR/cni/bin" "$E2E_DIR/cni/net.d"
	# our shim's runtime options: runtimeoptions.v1.Options pointing at this file
	printf '{"root": "%s"}\n' "$CRI_RUNTIME_ROOT" >"$E2E_DIR/tiny-runtime.json"
	cat >"$E2E_DIR/cri-config.toml" <<TOML
version = 2

[plugins."io.containerd.internal.v1.opt"]
  path = "$E2E_DIR/opt"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$CRI_IMAGE"
  restrict_oom_score_adj = true
  disable_apparmor = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        Root = "$CRI_RUNTIME_ROOT"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.tiny]
      runtime_type = "io.containerd.tiny.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.tiny.options]
        ConfigPath = "$E2E_DIR/tiny-runtime.json"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "$E2E_DIR/cni/bin"
    conf_dir = "$E2E_DIR/cni/net.d"
TOML
}

# containerd is ready for ctr before the CRI plugin has loaded its images.
cri_plugin_ok() {
	ctr -a "$E2E_SOCK" plugins ls 2>/dev/null | awk '$2 == "cri" && $NF == "ok" { f = 1 } END { exit !f }'
}

cri_start_containerd() {
	E2E_CONTAINERD_CONFIG="$E2E_DIR/cri-config.toml" e2e_start_containerd
	cri_plugin_ok || {
		ctr -a "$E2E_SOCK" plugins ls | grep -w cri >&2 || true
		e2e_fail "containerd's CRI plugin is not ok"
	}
}

cri_restart_containerd() {
	e2e_stop_containerd
	cri_start_containerd
}

cri_setup() {
	e2e_setup
	CRI_RUNTIME_ROOT=$E2E_RUNC_ROOT/$E2E_NS
	mkdir -p "$CRI_RUNTIME_ROOT"
	cri_write_config
	cri_start_containerd
	e2e_build_rootfs "$E2E_DIR/rootfs"
	# the sandbox (pause) container runs the image's Cmd: it must not exit
	e2e_build_image "$E2E_DIR/rootfs" "$E2E_DIR/image.tar" "$CRI_IMAGE" '["/bin/sleep","2147483647"]'
	ctr -a "$E2E_SOCK" -n k8s.io images import "$E2E_DIR/image.tar" >/dev/null
	rm -rf "$E2E_DIR/rootfs" "$E2E_DIR/image.tar"
	ctr -a "$E2E_SOCK" -n k8s.io images ls -q | grep -qx "$CRI_IMAGE" || e2e_fail "$CRI_IMAGE not imported into k8s.io"
}

cri_pod_cgroup_parent() { echo "/$E2E_NS"; }

cri_note_shim_ids() {
	local id
	for id in "$@"; do echo "$id"; done >>"$E2E_DIR/cri-ids"
}

# Shim sockets of namespace k8s.io: sha256(<containerd address>/k8s.io/<shim id>).
cri_our_sockets() {
	[ -s "$E2E_DIR/cri-ids" ] || return 0
	local id hex
	sort -u "$E2E_DIR/cri-ids" | while IFS= read -r id; do
		hex=$(printf '%s' "$E2E_SOCK/$CRI_SHIM_NS/$id" | sha256sum | cut -d' ' -f1)
		[ -e "$E2E_SOCKET_DIR/$hex" ] && echo "$E2E_SOCKET_DIR/$hex (shim id $id)"
	done
	return 0
}

# Runtime state of containers not deleted: <root>/k8s.io/<id>.
cri_our_runtime_state() {
	[ -d "$CRI_RUNTIME_ROOT/$CRI_SHIM_NS" ] || return 0
	find "$CRI_RUNTIME_ROOT/$CRI_SHIM_NS" -mindepth 1 -maxdepth 1 2>/dev/null
}

cri_expect_clean() {
	local left deadline=$(($(date +%s) + 10))
	while :; do
		left="$(cri_our_sockets)$(cri_our_runtime_state)"
		[ -z "$left" ] && break
		[ "$(date +%s)" -lt "$deadline" ] || e2e_fail "left behind: $(echo "$left" | tr '\n' ';')"
		sleep 0.1
	done
	# the runtimes' (empty) root of namespace k8s.io, else lib.sh counts it as state
	[ ! -d "$CRI_RUNTIME_ROOT/$CRI_SHIM_NS" ] || rmdir "$CRI_RUNTIME_ROOT/$CRI_SHIM_NS"
	e2e_expect_clean
}
