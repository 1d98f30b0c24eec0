#!/usr/bin/env bash
# Demo: start the echo example server on a temporary unix socket, call it once
# with the echo client, show what happened, stop the server and clean up.
# BUILD_DIR selects the build tree (default: build).
set -euo pipefail
cd "$(dirname "$0")/.."

bin=${BUILD_DIR:-build}/bin
message=${1:-"hello from libttrpc"}
for exe in echo-server echo-client; do
	[ -x "$bin/$exe" ] || { echo "demo: $bin/$exe not built (run make build)" >&2; exit 1; }
done

tmp=$(mktemp -d /tmp/ttrpc-demo.XXXXXX)
sock=$tmp/echo.sock
server_pid=
cleanup() {
	if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
		kill "$server_pid" 2>/dev/null || true
		wait "$server_pid" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT

echo "demo: starting $bin/echo-server $sock"
"$bin/echo-server" "$sock" >"$tmp/server.log" 2>&1 &
server_pid=$!

for _ in $(seq 100); do
	[ -S "$sock" ] && break
	kill -0 "$server_pid" 2>/dev/null || { echo "demo: server exited early:" >&2; cat "$tmp/server.log" >&2; exit 1; }
	sleep 0.05
done
[ -S "$sock" ] || { echo "demo: server did not create $sock within 5s" >&2; exit 1; }

echo "demo: server pid $server_pid is listening; calling it with: $message"
reply=$("$bin/echo-client" "$sock" "$message")
echo "demo: echo-client printed: $reply"
case $reply in
*"$message"*) echo "demo: the reply carries our message back" ;;
*) echo "demo: the reply does not contain the message sent" >&2; exit 1 ;;
esac

kill "$server_pid"
status=0
wait "$server_pid" || status=$?
server_pid=
echo "demo: server stopped by SIGTERM (exit status $status)"
if [ -s "$tmp/server.log" ]; then
	echo "demo: server output:"
	sed 's/^/  | /' "$tmp/server.log"
fi
