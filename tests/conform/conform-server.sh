#!/usr/bin/env bash
# Runs `ttrpc-conform server` against one server and checks the exact list of MUST
# failures against an expectations file (one case id per line, # comments): the test
# fails when a case starts or stops failing, so a peer's known failures stay visible
# and a fixed bug must update the list.
# Usage: conform-server.sh CONFORM EXPECTED SERVER_BIN [SERVER_ARGS...]
# The server is started as `SERVER_BIN SERVER_ARGS... --socket PATH`, must print
# "ready", and must exit 0 on SIGTERM (in the ASan tree a leak report fails it).
# CONFORM_SKIP: case ids not to run (comma-separated), see tests/conform/CMakeLists.txt.
set -euo pipefail
conform=${1:?usage: conform-server.sh CONFORM EXPECTED SERVER_BIN [ARGS...]}
expected=${2:?}
shift 2

dir=$(mktemp -d /tmp/conform.XXXXXX)
server_pid=
cleanup() {
	if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
		kill -KILL "$server_pid" 2>/dev/null || true
	fi
	rm -rf "$dir"
}
trap cleanup EXIT

"$@" --socket "$dir/s.sock" >"$dir/server.out" 2>"$dir/server.err" &
server_pid=$!
for _ in $(seq 200); do
	grep -q ready "$dir/server.out" 2>/dev/null && break
	kill -0 "$server_pid" 2>/dev/null || break
	sleep 0.05
done
if ! grep -q ready "$dir/server.out"; then
	echo "conform-server: the server did not get ready:" >&2
	cat "$dir/server.err" >&2
	exit 1
fi

rc=0
"$conform" server --socket "$dir/s.sock" --pid "$server_pid" --json ${CONFORM_SKIP:+--skip "$CONFORM_SKIP"} \
	>"$dir/result.json" || rc=$?
"$conform" server --list >/dev/null

failed=$({ grep '"level":"MUST","verdict":"FAIL"' "$dir/result.json" || true; } | sed 's/^{"id":"\([^"]*\)".*/\1/' | sort)
skipped=$(grep -c '"verdict":"SKIP"' "$dir/result.json" || true)
want=$(sed 's/#.*//; s/[[:space:]]//g; /^$/d' "$expected" | sort)

status=0
if [ "$failed" != "$want" ]; then
	echo "conform-server: the MUST failures changed (expected file $expected)" >&2
	diff <(printf '%s\n' "$want") <(printf '%s\n' "$failed") >&2 || true
	status=1
fi
if [ -z "$want" ] && [ "$rc" -ne 0 ]; then
	echo "conform-server: exit status $rc with no MUST failure expected" >&2
	status=1
elif [ -n "$want" ] && [ "$rc" -ne 1 ]; then
	echo "conform-server: exit status $rc, want 1 (MUST failures)" >&2
	status=1
fi
if [ "$skipped" -ne 0 ]; then
	echo "conform-server: $skipped cases skipped although --pid was given" >&2
	status=1
fi

kill -TERM "$server_pid"
server_rc=0
wait "$server_pid" || server_rc=$?
server_pid=
if [ "$server_rc" -ne 0 ]; then
	echo "conform-server: the server exited $server_rc after SIGTERM" >&2
	tail -n 40 "$dir/server.err" >&2
	status=1
fi

# The readable report, always (ctest shows it on failure).
sed 's/^{"id":"\([^"]*\)","level":"\([A-Z]*\)","verdict":"\([A-Z]*\)".*"seen":"\(.*\)"}.*$/\1 \2 \3 \4/' \
	"$dir/result.json" | grep -E ' (MUST|SHOULD) ' | grep -v ' PASS ' || true
tail -n 1 "$dir/result.json"
exit $status
