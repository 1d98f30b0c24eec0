#!/usr/bin/env bash
# Runs `ttrpc-conform client` against one client driver and checks the exact list
# of MUST failures against an expectations file (one case id per line, # comments),
# as conform-server.sh does for servers: the test fails when a case starts or stops
# failing. Usage: conform-client.sh CONFORM EXPECTED [--no-streams] CLIENT_BIN [CLIENT_ARGS...]
# (--no-streams: the client has no streams, the cl.str-* cases are not run).
# The client is run as `CLIENT_BIN CLIENT_ARGS... --socket PATH --call NAME`.
set -euo pipefail
conform=${1:?usage: conform-client.sh CONFORM EXPECTED CLIENT_BIN [ARGS...]}
expected=${2:?}
shift 2
opts=()
if [ "${1:-}" = --no-streams ]; then
	opts+=(--no-streams)
	shift
fi

dir=$(mktemp -d /tmp/conform-client.XXXXXX)
trap 'rm -rf "$dir"' EXIT

rc=0
"$conform" client --socket "$dir/s.sock" --json "${opts[@]}" -- "$@" >"$dir/result.json" || rc=$?
"$conform" client --list >/dev/null

failed=$({ grep '"level":"MUST","verdict":"FAIL"' "$dir/result.json" || true; } | sed 's/^{"id":"\([^"]*\)".*/\1/' | sort)
want=$(sed 's/#.*//; s/[[:space:]]//g; /^$/d' "$expected" | sort)
status=0
if [ "$failed" != "$want" ]; then
	echo "conform-client: the MUST failures changed (expected file $expected)" >&2
	diff <(printf '%s\n' "$want") <(printf '%s\n' "$failed") >&2 || true
	status=1
fi
if [ -z "$want" ] && [ "$rc" -ne 0 ]; then
	echo "conform-client: exit status $rc with no MUST failure expected" >&2
	status=1
elif [ -n "$want" ] && [ "$rc" -ne 1 ]; then
	echo "conform-client: exit status $rc, want 1 (MUST failures)" >&2
	status=1
fi
# The readable report, always (ctest shows it on failure).
sed 's/^{"id":"\([^"]*\)","level":"\([A-Z]*\)","verdict":"\([A-Z]*\)".*"seen":"\(.*\)"}.*$/\1 \2 \3 \4/' \
	"$dir/result.json" | grep -E ' (MUST|SHOULD) ' || true
tail -n 1 "$dir/result.json"
exit $status
