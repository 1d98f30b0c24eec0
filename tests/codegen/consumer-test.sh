#!/usr/bin/env bash
# The installed ttrpc_generate() works outside this project: install the build
# tree into a temp prefix, build tests/codegen/consumer (the example of
# docs/codegen.md) with find_package(ttrpc), run its server and client.
#   consumer-test.sh BUILD_DIR CONSUMER_DIR
set -euo pipefail
build=$(realpath -m "${1:?usage: consumer-test.sh BUILD_DIR CONSUMER_DIR}")
consumer=$(realpath "${2:?}")

tmp=$(mktemp -d /tmp/ttrpc-codegen-consumer.XXXXXX)
server_pid=
cleanup() {
	if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; fi
	rm -rf "$tmp"
}
trap cleanup EXIT
prefix=$tmp/prefix
unset DESTDIR

# CONSUMER_PREFIX: use that installed tree (e.g. unpacked Debian packages)
# instead of installing BUILD_DIR.
if [ -n "${CONSUMER_PREFIX:-}" ]; then
	prefix=$(realpath "$CONSUMER_PREFIX")
else
	cmake --install "$build" --prefix "$prefix" >"$tmp/install.log" || { cat "$tmp/install.log"; exit 1; }
fi
plugin=$prefix/bin/protoc-gen-ttrpc-c
[ -x "$plugin" ] || { echo "$plugin not installed" >&2; exit 1; }
gen=$(find "$prefix" -name ttrpcGenerate.cmake)
[ -n "$gen" ] || { echo "ttrpcGenerate.cmake not installed" >&2; exit 1; }

# PATH without the build tree: the plugin must be found next to ttrpcGenerate.cmake.
cmake -S "$consumer" -B "$tmp/build" -DCMAKE_C_FLAGS="${CONSUMER_CFLAGS:-}" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF \
	>"$tmp/cmake.log" || { cat "$tmp/cmake.log"; exit 1; }
found=$(sed -n 's/^TTRPC_PROTOC_GEN_TTRPC_C:FILEPATH=//p' "$tmp/build/CMakeCache.txt")
[ "$(realpath "$found")" = "$(realpath "$plugin")" ] ||
	{ echo "ttrpc_generate used '$found', not the installed $plugin" >&2; exit 1; }
cmake --build "$tmp/build" >"$tmp/build.log" 2>&1 || { cat "$tmp/build.log"; exit 1; }
[ -f "$tmp/build/ttrpc_gen/greeter_stubs/greeter.ttrpc-c.h" ] || { echo "no generated header" >&2; exit 1; }

libdir=$(dirname "$(find "$prefix" -name 'libttrpc.so' | head -n1)")
export LD_LIBRARY_PATH=$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
sock=$tmp/greeter.sock
"$tmp/build/greeter-server" "$sock" &
server_pid=$!
for _ in $(seq 200); do [ -S "$sock" ] && break; sleep 0.05; done
out=$("$tmp/build/greeter-client" "$sock" ttrpc)
expected=$'sync: Hello, ttrpc\nasync: Hello, ttrpc'
[ "$out" = "$expected" ] || { printf 'client said:\n%s\nexpected:\n%s\n' "$out" "$expected" >&2; exit 1; }
if "$tmp/build/greeter-client" "$sock" "" 2>"$tmp/err"; then
	echo "an empty name should fail" >&2; exit 1
fi
grep -q "INVALID_ARGUMENT: name is empty" "$tmp/err" || { cat "$tmp/err" >&2; exit 1; }
kill -TERM "$server_pid"
wait "$server_pid"
server_pid=
echo "consumer: generated, built and ran the greeter example"
