#!/usr/bin/env bash
# Our generated C client over gRPC against containerd's own API: a private
# containerd (tests/e2e/lib.sh) answers containerd.services.version.v1.Version
# on its main socket; the version and revision must be what
# `containerd --version` says, and an unknown method is UNIMPLEMENTED.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../e2e/lib.sh
. "$here/../e2e/lib.sh"
client=${GRPC_VERSION_CLIENT:?path of ttrpc-grpc-version}

e2e_setup
e2e_start_containerd
# "containerd github.com/containerd/containerd 1.6.20~ds1 1.6.20~ds1-1+deb12u3"
read -r _ _ want_version want_revision < <(containerd --version)
out=$("$client" "unix:$E2E_SOCK") || e2e_fail "ttrpc-grpc-version failed: $out"
e2e_log "our client: $(echo "$out" | tr '\n' ' ')"
[ "$(sed -n 's/^version //p' <<<"$out")" = "$want_version" ] || e2e_fail "version is not '$want_version': $out"
[ "$(sed -n 's/^revision //p' <<<"$out")" = "$want_revision" ] || e2e_fail "revision is not '$want_revision': $out"
[ "$(sed -n 's/^unknown //p' <<<"$out")" = UNIMPLEMENTED ] || e2e_fail "unknown method: $out"
# the same through the unix:/// spelling
out=$("$client" "unix://$E2E_SOCK") || e2e_fail "unix:// target failed: $out"
[ "$(sed -n 's/^version //p' <<<"$out")" = "$want_version" ] || e2e_fail "unix:// version: $out"
e2e_stop_containerd
