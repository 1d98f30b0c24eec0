#!/usr/bin/env bash
# Install the build tree into a temporary prefix, then build the out-of-tree
# consumer against it twice, with find_package(ttrpc) and with pkg-config, and
# run both builds. Extra compiler flags (e.g. sanitizers) come from CONSUMER_CFLAGS.
set -euo pipefail
build=$(realpath -m "${1:?usage: consumer-test.sh BUILD_DIR CONSUMER_DIR C_COMPILER}")
consumer=$(realpath "${2:?}")
cc=${3:?}
cflags=${CONSUMER_CFLAGS:-}

tmp=$(mktemp -d /tmp/ttrpc-consumer.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix
unset DESTDIR

step() { echo "== $*"; }

# CONSUMER_PREFIX: use that installed tree (e.g. unpacked Debian packages)
# instead of installing BUILD_DIR.
if [ -n "${CONSUMER_PREFIX:-}" ]; then
	prefix=$(realpath "$CONSUMER_PREFIX")
else
	step "cmake --install $build --prefix $prefix"
	cmake --install "$build" --prefix "$prefix" >"$tmp/install.log" || { cat "$tmp/install.log"; exit 1; }
fi

pc=$(find "$prefix" -name ttrpc.pc -path '*/pkgconfig/*')
[ -n "$pc" ] || { echo "no ttrpc.pc installed under $prefix" >&2; exit 1; }
PKG_CONFIG_PATH=$(dirname "$pc")
export PKG_CONFIG_PATH
libdir=$(pkg-config --variable=libdir ttrpc)
[ -e "$libdir/libttrpc.so" ] || { echo "pkg-config libdir $libdir has no libttrpc.so" >&2; exit 1; }
export LD_LIBRARY_PATH=$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}

# The program must resolve libttrpc from the prefix, not from the build tree.
run_consumer() {
	local exe=$1
	local lib
	lib=$(ldd "$exe" | awk '$1 ~ /^libttrpc\.so/ { print $3 }')
	case $lib in
	"$prefix"/*) ;;
	*) echo "$exe loads libttrpc from '$lib', not from $prefix" >&2; exit 1 ;;
	esac
	"$exe"
}

step "find_package(ttrpc): configure, build, run"
cmake -S "$consumer" -B "$tmp/cmake-build" -DCMAKE_C_COMPILER="$cc" -DCMAKE_C_FLAGS="$cflags" \
	-DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF >"$tmp/cmake.log" ||
	{ cat "$tmp/cmake.log"; exit 1; }
cmake --build "$tmp/cmake-build" >"$tmp/build.log" || { cat "$tmp/build.log"; exit 1; }
run_consumer "$tmp/cmake-build/consumer"

step "pkg-config ttrpc $(pkg-config --modversion ttrpc): build, run"
requires_private="libprotobuf-c libnghttp2"
[ "$(pkg-config --print-requires-private ttrpc | tr '\n' ' ')" = "$requires_private " ] ||
	{ echo "ttrpc.pc: Requires.private is not $requires_private" >&2; exit 1; }
# shellcheck disable=SC2046,SC2086 # flags are word lists
"$cc" -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror $cflags $(pkg-config --cflags ttrpc) \
	-o "$tmp/consumer-pc" "$consumer/main.c" $(pkg-config --libs ttrpc) -lev
run_consumer "$tmp/consumer-pc"
