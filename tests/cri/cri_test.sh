#!/usr/bin/env bash
# Kubernetes' CRI end to end: a private containerd with its CRI plugin, pods
# driven by our own CRI client (cri-client: generated runtime.v1 stubs over
# libttrpc's gRPC transport). usage: cri_test.sh SCENARIO [HANDLER]
#   harness      the CRI containerd itself: plugin ok, sandbox image imported,
#                RuntimeService/Version answered over gRPC at its socket (by
#                grpcio, independent of our client), nothing left afterwards
#   pod HANDLER  a pod through runtime handler HANDLER (tiny: our shim; runc:
#                containerd-shim-runc-v2, the reference): RunPodSandbox, two
#                containers, ListContainers, ContainerStatus, ExecSync (output,
#                exit code, a timeout that kills the exec), CRI-format logs at
#                log_path, ContainerStats / ListContainerStats, memory limits
#                (create and UpdateContainerResources) in the cgroup, StopContainer
#                with a grace period (TERM honoured; TERM ignored, then KILL),
#                RemoveContainer, StopPodSandbox, RemovePodSandbox; the pod served
#                by one shim process; nothing left afterwards
#   pod20        a pod of 20 containers (tiny): one shim, all listed, all with stats
#   stats        ContainerStats beside containerd-shim-runc-v2: the same container
#                (same command, same memory limit) in a tiny pod and in a runc pod
#                at once; every field runc-v2's gives, ours gives, with values of
#                the same order; memory.available_bytes is the limit minus the
#                working set on both; printed field by field
#   restart      containerd restarted while a pod runs (tiny): the pod, its
#                containers, its shim, exec and stats survive
# Env: E2E_BIN_DIR (build/bin: our shim), CRI_CLIENT (build/tests/cri-client),
# CRI_PYTHON (Debian's python3 with grpcio, for harness).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=cri_lib.sh
. "$here/cri_lib.sh"

CRI_PYTHON=${CRI_PYTHON:-/usr/bin/python3}
CRI_CLIENT=${CRI_CLIENT:-$here/../../build/tests/cri-client}

cri() { "$CRI_CLIENT" -a "$E2E_SOCK" "$@"; }

# Field F of a "k=v k=v" line.
field() { tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p"; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# pod_start NAME HANDLER: the pod's id in POD; POD_OPTS is what create needs too.
POD=
POD_OPTS=()
pod_start() {
	local name=$1 handler=$2
	mkdir -p "$E2E_DIR/logs/$name"
	POD_OPTS=(--handler "$handler" --cgroup-parent "$(cri_pod_cgroup_parent)" --log-dir "$E2E_DIR/logs/$name"
		--uid "uid-$name" --namespace cri-e2e)
	POD=$(cri runp "${POD_OPTS[@]}" "$name") || e2e_fail "RunPodSandbox $name (handler $handler) failed"
	cri_note_shim_ids "$POD"
}

# ctr_create POD_NAME POD_ID NAME [create options] -- CMD...: prints the container id.
ctr_create() {
	local pod_name=$1 pod=$2 name=$3 id
	shift 3
	local opts=()
	while [ "$1" != -- ]; do
		opts+=("$1")
		shift
	done
	id=$(cri create "${POD_OPTS[@]}" --pod-name "$pod_name" --log "$name.log" "${opts[@]}" "$pod" "$name" "$@") ||
		e2e_fail "CreateContainer $name failed"
	cri_note_shim_ids "$id"
	echo "$id"
}

# The cgroup directory of container ID for a v1 controller (or the unified one).
cgroup_dir() {
	local id=$1 ctl=$2 d
	for d in "/sys/fs/cgroup/$ctl" /sys/fs/cgroup/unified /sys/fs/cgroup; do
		if [ -d "$d$(cri_pod_cgroup_parent)/$id" ]; then
			echo "$d$(cri_pod_cgroup_parent)/$id"
			return 0
		fi
	done
	e2e_fail "no $ctl cgroup for container $id under $(cri_pod_cgroup_parent)"
}

memory_limit() { # ID: the memory limit in the container's cgroup, bytes
	local d
	d=$(cgroup_dir "$1" memory)
	if [ -e "$d/memory.limit_in_bytes" ]; then cat "$d/memory.limit_in_bytes"; else cat "$d/memory.max"; fi
}

# Processes of container ID (its cgroup's cgroup.procs, pids controller on v1).
container_pids() { cat "$(cgroup_dir "$1" pids)/cgroup.procs"; }

# Pids of the shims of this test for HANDLER (tiny: ours; runc: containerd-shim-runc-v2).
shim_pids() {
	local p want=containerd-shim-tiny-v2
	[ "$1" = runc ] && want=containerd-shim-runc-v2
	for p in $(e2e_our_pids); do
		case "$({ tr '\0' ' ' <"/proc/$p/cmdline"; } 2>/dev/null)" in
		*"$want "*) echo "$p" ;;
		esac
	done
}

# expect_one_shim HANDLER ID...: one shim process, the parent of each container's
# processes whose parent is outside the container (its init, and execs).
expect_one_shim() {
	local handler=$1 shims id p ppid procs n
	shift
	shims=$(shim_pids "$handler" | tr '\n' ' ')
	[ "$(wc -w <<<"$shims")" = 1 ] || e2e_fail "want one $handler shim for the pod, have: ${shims:-none}"
	for id in "$@"; do
		procs=" $(container_pids "$id" | tr '\n' ' ') "
		n=0
		for p in $procs; do
			ppid=$(awk '{ print $4 }' "/proc/$p/stat" 2>/dev/null) || continue # gone meanwhile
			case "$procs" in *" $ppid "*) continue ;; esac
			[ "$ppid" = "${shims// /}" ] || e2e_fail "container $id's process $p has parent $ppid, not the shim $shims"
			n=$((n + 1))
		done
		[ "$n" -gt 0 ] || e2e_fail "container $id has no process"
	done
	echo "${shims// /}"
}

expect_state() { # ID STATE
	local st
	st=$(field "$(cri inspect "$1")" state)
	[ "$st" = "$2" ] || e2e_fail "container $1 is $st, want $2"
}

# expect_stats LINE: a stats line with cpu and memory working set non-zero.
expect_stats() {
	local cpu ws
	cpu=$(field "$1" cpu_ns)
	ws=$(field "$1" working_set)
	[ "${cpu:-0}" -gt 0 ] || e2e_fail "cpu usage is 0: $1"
	[ "${ws:-0}" -gt 0 ] || e2e_fail "memory working set is 0: $1"
}

# A CRI log line: RFC 3339 (nano) time, stream, P(artial)/F(ull) tag, content.
CRI_LOG_RE='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2}) (stdout|stderr) [PF] '

# The pod scenario, through HANDLER.
t_pod() {
	local handler=${1:?handler}
	cri_setup
	local pod c1 c2 out rc line t0 t1 shim lp
	pod_start web "$handler"
	pod=$POD
	out=$(cri inspectp "$pod")
	[ "$(field "$out" state)" = SANDBOX_READY ] || e2e_fail "pod not ready: $out"
	[ "$(field "$out" network)" = NODE ] || e2e_fail "pod not on the host network: $out"
	[ "$(field "$out" runtime_handler)" = "$handler" ] || e2e_fail "pod's handler: $out"
	e2e_log "pod $pod ready (handler $handler)"

	# c1 honours TERM; c2 ignores it (stops only with KILL)
	# shellcheck disable=SC2016 # expanded in the container
	c1=$(ctr_create web "$pod" c1 --env GREETING=hello -- sh -c \
		'trap "echo got-term; exit 0" TERM; echo "$GREETING-out"; echo "$GREETING-err" >&2; while :; do sleep 0.1; done')
	c2=$(ctr_create web "$pod" c2 --memory 134217728 -- sh -c \
		'trap "echo ignoring-term" TERM; echo started; while :; do sleep 0.1; done')
	expect_state "$c1" created
	cri start "$c1" || e2e_fail "StartContainer c1"
	cri start "$c2" || e2e_fail "StartContainer c2"
	expect_state "$c1" running
	expect_state "$c2" running

	out=$(cri ps --pod "$pod")
	[ "$(wc -l <<<"$out")" = 2 ] || e2e_fail "ListContainers of the pod: $out"
	grep -q "^$c1 c1 running $pod\$" <<<"$out" || e2e_fail "c1 not listed running: $out"
	grep -q "^$c2 c2 running $pod\$" <<<"$out" || e2e_fail "c2 not listed running: $out"
	[ "$(cri ps --state exited | wc -l)" = 0 ] || e2e_fail "exited containers listed"
	out=$(cri inspect "$c1")
	lp=$(field "$out" log_path)
	[ "$lp" = "$E2E_DIR/logs/web/c1.log" ] || e2e_fail "ContainerStatus log_path: $out"
	[ "$(field "$out" started_at)" -gt 0 ] || e2e_fail "ContainerStatus started_at: $out"
	shim=$(expect_one_shim "$handler" "$c1" "$c2")
	e2e_log "ListContainers and ContainerStatus as expected; one shim ($shim) serves the pod"
	# the leak checks at the end see what a running pod has (else they would be blind)
	[ -n "$(cri_our_sockets)" ] || e2e_fail "the pod's shim socket is not found (socket check blind)"
	[ -n "$(cri_our_runtime_state)" ] || e2e_fail "no runtime state in $CRI_RUNTIME_ROOT (state check blind)"
	[ -n "$(e2e_our_cgroups)" ] || e2e_fail "no container cgroups under /$E2E_NS (cgroup check blind)"
	[ -n "$(e2e_our_mounts)" ] || e2e_fail "no rootfs mounts under $E2E_DIR (mount check blind)"
	[ -n "$(e2e_our_pids)" ] || e2e_fail "no processes found (process check blind)"

	# ExecSync: output, stderr, exit code
	set +e
	out=$(cri exec "$c1" -- sh -c 'echo exec-out; echo exec-err >&2; exit 3' 2>"$E2E_DIR/exec.err")
	rc=$?
	set -e
	[ "$out" = exec-out ] || e2e_fail "ExecSync stdout '$out'"
	[ "$(cat "$E2E_DIR/exec.err")" = exec-err ] || e2e_fail "ExecSync stderr '$(cat "$E2E_DIR/exec.err")'"
	[ "$rc" = 3 ] || e2e_fail "ExecSync exit code $rc, want 3"
	out=$(cri exec "$c2" -- cat /proc/self/cgroup) || e2e_fail "ExecSync in c2"
	grep -q "$c2" <<<"$out" || e2e_fail "exec not in c2's cgroup: $out"
	# ExecSync with a timeout: the call fails after it and the exec is killed
	t0=$(now_ms)
	set +e
	cri exec --timeout 2 "$c1" -- sleep 4321 >/dev/null 2>"$E2E_DIR/exec.err"
	rc=$?
	set -e
	t1=$(now_ms)
	[ "$rc" = 125 ] || e2e_fail "ExecSync past its timeout: exit $rc ($(cat "$E2E_DIR/exec.err"))"
	grep -qiE 'DEADLINE_EXCEEDED|timeout' "$E2E_DIR/exec.err" || e2e_fail "ExecSync timeout error: $(cat "$E2E_DIR/exec.err")"
	[ $((t1 - t0)) -ge 1900 ] && [ $((t1 - t0)) -lt 15000 ] || e2e_fail "ExecSync timeout took $((t1 - t0)) ms"
	exec_gone() { ! container_pids "$c1" | xargs -r -I{} cat /proc/{}/cmdline 2>/dev/null | tr '\0' ' ' | grep -q 'sleep 4321'; }
	e2e_wait_for 10 "the timed-out exec (sleep 4321) to be killed" exec_gone
	e2e_log "ExecSync: output, exit code 3, timeout after $((t1 - t0)) ms ($(head -c 120 "$E2E_DIR/exec.err")), exec killed"

	# Logs in CRI format at log_path
	has_log() { grep -q ' stdout F hello-out$' "$lp" && grep -q ' stderr F hello-err$' "$lp"; }
	e2e_wait_for 10 "c1's output in $lp" has_log
	while IFS= read -r line; do
		[[ $line =~ $CRI_LOG_RE ]] || e2e_fail "not a CRI log line in $lp: '$line'"
	done <"$lp"
	e2e_log "log at $lp in CRI format: $(head -n 2 "$lp" | tr '\n' '|')"

	# Stats
	out=$(cri stats "$c1") || e2e_fail "ContainerStats c1"
	expect_stats "$out"
	[ "$(field "$out" id)" = "$c1" ] || e2e_fail "ContainerStats of another container: $out"
	out=$(cri statsall --pod "$pod") || e2e_fail "ListContainerStats"
	[ "$(wc -l <<<"$out")" = 2 ] || e2e_fail "ListContainerStats of the pod: $out"
	while IFS= read -r line; do expect_stats "$line"; done <<<"$out"
	grep -q "id=$c1 " <<<"$out" && grep -q "id=$c2 " <<<"$out" || e2e_fail "ListContainerStats ids: $out"
	e2e_log "stats: $(tr '\n' '|' <<<"$out")"

	# Memory limits: at create (c2) and by UpdateContainerResources (c1)
	[ "$(memory_limit "$c2")" = 134217728 ] || e2e_fail "c2's memory limit $(memory_limit "$c2"), want 134217728"
	cri update "$c1" --memory 67108864 || e2e_fail "UpdateContainerResources c1"
	[ "$(memory_limit "$c1")" = 67108864 ] || e2e_fail "c1's memory limit after update $(memory_limit "$c1"), want 67108864"
	e2e_log "memory limits in the cgroups: c2 128 MiB (create), c1 64 MiB (update)"

	# StopContainer: c1 exits on TERM within its grace period; c2 ignores TERM: KILL after 2 s
	t0=$(now_ms)
	cri stop "$c1" 10 || e2e_fail "StopContainer c1"
	t1=$(now_ms)
	out=$(cri inspect "$c1")
	[ "$(field "$out" state)" = exited ] && [ "$(field "$out" exit_code)" = 0 ] || e2e_fail "c1 after TERM: $out"
	[ $((t1 - t0)) -lt 8000 ] || e2e_fail "c1 honoured TERM but StopContainer took $((t1 - t0)) ms"
	grep -q ' stdout F got-term$' "$lp" || e2e_fail "c1 did not log its TERM"
	e2e_log "c1 stopped by TERM in $((t1 - t0)) ms, exit 0"
	# its trap is set once it has said so
	e2e_wait_for 10 "c2 to start" grep -q ' stdout F started$' "$E2E_DIR/logs/web/c2.log"
	t0=$(now_ms)
	cri stop "$c2" 2 || e2e_fail "StopContainer c2"
	t1=$(now_ms)
	out=$(cri inspect "$c2")
	[ "$(field "$out" state)" = exited ] && [ "$(field "$out" exit_code)" = 137 ] || e2e_fail "c2 after KILL: $out"
	[ $((t1 - t0)) -ge 1900 ] && [ $((t1 - t0)) -lt 10000 ] || e2e_fail "c2: StopContainer 2 s took $((t1 - t0)) ms"
	e2e_wait_for 5 "c2's TERM in its log" grep -q ' stdout F ignoring-term$' "$E2E_DIR/logs/web/c2.log"
	e2e_log "c2 ignored TERM, killed after $((t1 - t0)) ms, exit 137 ($(field "$out" reason))"
	[ "$(cri ps --state exited | wc -l)" = 2 ] || e2e_fail "want 2 exited containers: $(cri ps)"

	cri rm "$c1" || e2e_fail "RemoveContainer c1"
	cri rm "$c2" || e2e_fail "RemoveContainer c2"
	[ -z "$(cri ps)" ] || e2e_fail "containers left after RemoveContainer: $(cri ps)"
	cri stopp "$pod" || e2e_fail "StopPodSandbox"
	[ "$(field "$(cri inspectp "$pod")" state)" = SANDBOX_NOTREADY ] || e2e_fail "pod ready after StopPodSandbox"
	cri rmp "$pod" || e2e_fail "RemovePodSandbox"
	if out=$(cri inspectp "$pod" 2>&1); then e2e_fail "pod still there after RemovePodSandbox: $out"; fi
	grep -q '^NOT_FOUND' <<<"$out" || e2e_fail "PodSandboxStatus of a removed pod: $out"
	cri_expect_clean
	e2e_log "pod stopped and removed; nothing left"
}

t_pod20() {
	cri_setup
	local pod ids=() i out n t0
	pod_start big tiny
	pod=$POD
	for i in $(seq 1 20); do
		ids+=("$(ctr_create big "$pod" "c$i" -- sh -c 'echo up; while :; do sleep 0.2; done')")
	done
	t0=$(now_ms)
	for i in "${ids[@]}"; do cri start "$i" || e2e_fail "StartContainer $i"; done
	e2e_log "20 StartContainer calls took $(($(now_ms) - t0)) ms"
	out=$(cri ps --pod "$pod" --state running)
	[ "$(wc -l <<<"$out")" = 20 ] || e2e_fail "want 20 running: $out"
	expect_one_shim tiny "${ids[@]}" >/dev/null
	out=$(cri statsall --pod "$pod")
	n=$(wc -l <<<"$out")
	[ "$n" = 20 ] || e2e_fail "ListContainerStats: $n lines"
	while IFS= read -r i; do expect_stats "$i"; done <<<"$out"
	e2e_log "20 containers running in one shim, 20 with stats"
	for i in "${ids[@]}"; do cri stop "$i" 0 || e2e_fail "StopContainer $i"; done
	for i in "${ids[@]}"; do cri rm "$i" || e2e_fail "RemoveContainer $i"; done
	cri stopp "$pod" || e2e_fail "StopPodSandbox"
	cri rmp "$pod" || e2e_fail "RemovePodSandbox"
	cri_expect_clean
}

t_restart() {
	cri_setup
	local pod c1 c2 shim out
	pod_start keep tiny
	pod=$POD
	c1=$(ctr_create keep "$pod" c1 -- sh -c 'while :; do sleep 0.2; done')
	c2=$(ctr_create keep "$pod" c2 -- sh -c 'while :; do sleep 0.2; done')
	cri start "$c1" && cri start "$c2" || e2e_fail "StartContainer"
	shim=$(expect_one_shim tiny "$c1" "$c2")
	cri_restart_containerd
	e2e_log "containerd restarted"
	# CRI answers "server is not initialized yet" until it has recovered its pods
	pod_known() { cri inspectp "$pod" >/dev/null 2>&1; }
	e2e_wait_for 30 "CRI to recover the pod" pod_known
	out=$(cri inspectp "$pod") || e2e_fail "PodSandboxStatus after the restart"
	[ "$(field "$out" state)" = SANDBOX_READY ] || e2e_fail "pod not ready after the restart: $out (containers: $(cri ps | tr "\n" ";"))"
	[ "$(cri ps --pod "$pod" --state running | wc -l)" = 2 ] || e2e_fail "containers after the restart: $(cri ps)"
	[ "$(expect_one_shim tiny "$c1" "$c2")" = "$shim" ] || e2e_fail "the shim changed across the restart"
	out=$(cri exec "$c1" -- echo still-here) || e2e_fail "ExecSync after the restart"
	[ "$out" = still-here ] || e2e_fail "ExecSync after the restart: '$out'"
	out=$(cri statsall --pod "$pod")
	[ "$(wc -l <<<"$out")" = 2 ] || e2e_fail "ListContainerStats after the restart: $out"
	while IFS= read -r c1line; do expect_stats "$c1line"; done <<<"$out"
	e2e_log "after the restart: pod ready, 2 running, same shim $shim, exec and stats work"
	cri stop "$c1" 0 && cri stop "$c2" 0 || e2e_fail "StopContainer"
	cri rm "$c1" && cri rm "$c2" || e2e_fail "RemoveContainer"
	cri stopp "$pod" && cri rmp "$pod" || e2e_fail "StopPodSandbox/RemovePodSandbox"
	cri_expect_clean
}

t_harness() {
	cri_setup
	# an empty VersionRequest; the answer's runtime_name (2) and runtime_api_version (4)
	local out
	out=$("$CRI_PYTHON" - "$E2E_SOCK" <<'PY'
import sys, grpc
ch = grpc.insecure_channel("unix://" + sys.argv[1])
call = ch.unary_unary("/runtime.v1.RuntimeService/Version",
                      request_serializer=lambda b: b, response_deserializer=lambda b: b)
r = call(b"", timeout=10, metadata=[("containerd-namespace", "k8s.io")])
i, f = 0, {}
while i < len(r):
    tag, n = r[i], r[i + 1]
    f[tag >> 3] = r[i + 2:i + 2 + n].decode()
    i += 2 + n
print(f.get(2, ""), f.get(4, ""))
PY
) || e2e_fail "RuntimeService/Version over gRPC failed"
	[ "$out" = "containerd v1" ] || e2e_fail "Version answered '$out', want 'containerd v1'"
	e2e_log "CRI answers: runtime_name, runtime_api_version = $out"
	cri_expect_clean
}

t_stats() {
	cri_setup
	local h pod id out
	declare -A cid line
	for h in tiny runc; do
		pod_start "st-$h" "$h"
		pod=$POD
		cid[$h]=$(ctr_create "st-$h" "$pod" "c-$h" --memory 134217728 -- sh -c \
			'i=0; while :; do i=$((i+1)); [ $((i % 1000)) = 0 ] && sleep 0.1; done')
		cri start "${cid[$h]}" || e2e_fail "StartContainer c-$h"
	done
	# cpu usage in 10 ms ticks on v1: wait until both have used some
	both_busy() {
		local h
		for h in tiny runc; do
			[ "$(field "$(cri stats "${cid[$h]}")" cpu_ns)" -gt 20000000 ] || return 1
		done
	}
	e2e_wait_for 30 "both containers to use cpu" both_busy
	for h in tiny runc; do
		line[$h]=$(cri stats "${cid[$h]}") || e2e_fail "ContainerStats c-$h"
		expect_stats "${line[$h]}"
		e2e_log "$h: ${line[$h]}"
	done
	out=$(/usr/bin/python3 - "${line[tiny]}" "${line[runc]}" 134217728 <<'PY'
import sys
def parse(l):
    return dict(kv.split("=", 1) for kv in l.split() if "=" in kv)
ours, runc, limit = parse(sys.argv[1]), parse(sys.argv[2]), int(sys.argv[3])
keys = [k for k in runc if "." in k]
bad = []
print("%-30s %14s %14s" % ("field", "tiny", "runc-v2"))
for k in keys:
    o, r = ours.get(k, "-"), runc[k]
    print("%-30s %14s %14s" % (k, o, r))
    if (o == "-") != (r == "-"):
        bad.append("%s: tiny %s, runc-v2 %s" % (k, o, r))
    elif k.startswith("memory.") and r != "-" and not k.endswith("page_faults"):
        o, r = int(o), int(r)
        # same command, same image: the same order of magnitude
        if not (r / 4 <= o <= r * 4 + 262144):
            bad.append("%s: tiny %d, runc-v2 %d" % (k, o, r))
for side, d in (("tiny", ours), ("runc-v2", runc)):
    ws, av = int(d["memory.working_set_bytes"]), d["memory.available_bytes"]
    if av != "-" and int(av) != limit - ws:
        bad.append("%s: available %s is not the limit %d minus the working set %d" % (side, av, limit, ws))
for b in bad:
    print("DIFF " + b)
sys.exit(1 if bad else 0)
PY
) || e2e_fail "ContainerStats differ from containerd-shim-runc-v2's:
$out"
	e2e_log "ContainerStats, tiny beside runc-v2:
$out"
	out=$(cri statsall)
	[ "$(wc -l <<<"$out")" = 2 ] || e2e_fail "ListContainerStats of both pods: $out"
	for h in tiny runc; do
		pod=$(cri ps | awk -v id="${cid[$h]}" '$1 == id { print $4 }')
		cri stop "${cid[$h]}" 0 || e2e_fail "StopContainer c-$h"
		cri rm "${cid[$h]}" || e2e_fail "RemoveContainer c-$h"
		cri stopp "$pod" && cri rmp "$pod" || e2e_fail "StopPodSandbox/RemovePodSandbox st-$h"
	done
	cri_expect_clean
}

scenario=${1:-}
case "$scenario" in
harness | pod | pod20 | restart | stats)
	"t_$scenario" "${@:2}"
	e2e_sanitizer_verdict
	e2e_log "PASS: $scenario ${*:2}"
	;;
*) e2e_fail "unknown scenario '$scenario'" ;;
esac
