#!/usr/bin/env bash
# Kubernetes' CRI end to end: a private containerd with its CRI plugin, pods
# run through our shim (runtime handler `tiny`). usage: cri_test.sh SCENARIO
#   harness    the CRI containerd itself: plugin ok, sandbox image imported,
#              RuntimeService/Version answered over gRPC at its socket (by
#              grpcio, independent of our client), nothing left afterwards
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=cri_lib.sh
. "$here/cri_lib.sh"

CRI_PYTHON=${CRI_PYTHON:-/usr/bin/python3}

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

scenario=${1:-}
case "$scenario" in
harness)
	"t_$scenario"
	e2e_sanitizer_verdict
	e2e_log "PASS: $scenario"
	;;
*) e2e_fail "unknown scenario '$scenario'" ;;
esac
