#!/usr/bin/env bash
# One cell of the interop matrix: CLIENT (c|go|rust) against SERVER (c|go|rust),
# every scripted scenario with a fresh server, the client's exit status per
# scenario compared with the expected failures (EXPECTED: lines
# "CLIENT SERVER SCENARIO", # comments). The cell fails when a scenario starts
# or stops failing, when a server does not get ready, or does not exit 0 on
# SIGTERM within 10 s after a scenario.
# Usage: interop-matrix.sh BIN_DIR EXPECTED CLIENT SERVER
set -euo pipefail
bin=${1:?usage: interop-matrix.sh BIN_DIR EXPECTED CLIENT SERVER}
expected=${2:?}
client=${3:?}
server=${4:?}
scenarios=(echo errors metadata timeout unimplemented concurrent)

server_cmd() {
	case $1 in
	c) echo "$bin/ttrpc-c-interop-server" ;;
	go) echo "$bin/ttrpc-go-peer server" ;;
	rust) echo "$bin/ttrpc-rust-peer server" ;;
	*) echo "interop-matrix: unknown server $1" >&2; exit 2 ;;
	esac
}
client_cmd() {
	case $1 in
	c) echo "$bin/ttrpc-c-interop-client" ;;
	go) echo "$bin/ttrpc-go-peer client" ;;
	rust) echo "$bin/ttrpc-rust-peer client" ;;
	*) echo "interop-matrix: unknown client $1" >&2; exit 2 ;;
	esac
}
read -r -a scmd <<<"$(server_cmd "$server")"
read -r -a ccmd <<<"$(client_cmd "$client")"

dir=$(mktemp -d /tmp/interop-matrix.XXXXXX)
server_pid=
cleanup() {
	if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
		kill -KILL "$server_pid" 2>/dev/null || true
	fi
	rm -rf "$dir"
}
trap cleanup EXIT

status=0
failed=()
report=()
for sc in "${scenarios[@]}"; do
	sock="$dir/$sc.sock"
	"${scmd[@]}" --socket "$sock" >"$dir/$sc.server.out" 2>"$dir/$sc.server.err" &
	server_pid=$!
	for _ in $(seq 200); do
		grep -q ready "$dir/$sc.server.out" 2>/dev/null && break
		kill -0 "$server_pid" 2>/dev/null || break
		sleep 0.05
	done
	if ! grep -q ready "$dir/$sc.server.out"; then
		echo "interop-matrix: $server server did not get ready for $sc:" >&2
		cat "$dir/$sc.server.err" >&2
		exit 1
	fi
	start=$(date +%s%N)
	rc=0
	timeout -k 5 120 "${ccmd[@]}" --socket "$sock" --test "$sc" >"$dir/$sc.client.out" 2>&1 || rc=$?
	ms=$((($(date +%s%N) - start) / 1000000))
	summary=$(grep -E "^scenario $sc:" "$dir/$sc.client.out" || echo "no summary (exit $rc$([ $rc -eq 124 ] && echo ', timed out after 120 s'))")
	if [ $rc -ne 0 ]; then
		failed+=("$sc")
		report+=("$(printf '%-14s FAIL %6d ms  %s' "$sc" "$ms" "$summary")")
		while IFS= read -r line; do report+=("               $line"); done < <(grep -E '^FAIL' "$dir/$sc.client.out" | cut -c1-220)
	else
		report+=("$(printf '%-14s PASS %6d ms  %s' "$sc" "$ms" "$summary")")
	fi
	kill -TERM "$server_pid"
	src=0
	for _ in $(seq 100); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
	if kill -0 "$server_pid" 2>/dev/null; then
		echo "interop-matrix: $server server still running 10 s after SIGTERM (after $sc)" >&2
		status=1
	fi
	wait "$server_pid" || src=$?
	server_pid=
	if [ $src -ne 0 ]; then
		echo "interop-matrix: $server server exited $src after SIGTERM (after $sc)" >&2
		tail -n 20 "$dir/$sc.server.err" >&2
		status=1
	fi
done

echo "interop matrix: $client client x $server server"
printf '%s\n' "${report[@]}"
want=$(sed 's/#.*//' "$expected" | awk -v c="$client" -v s="$server" '$1 == c && $2 == s { print $3 }' | sort)
got=$(printf '%s\n' "${failed[@]+"${failed[@]}"}" | sed '/^$/d' | sort)
if [ "$want" != "$got" ]; then
	echo "interop-matrix: the failing scenarios changed (expected file $expected)" >&2
	diff <(printf '%s\n' "$want") <(printf '%s\n' "$got") >&2 || true
	status=1
fi
exit $status
