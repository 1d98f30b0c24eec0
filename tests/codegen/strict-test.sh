#!/usr/bin/env bash
# Generated code builds in a user's project under strict flags: install the
# build tree into a temp prefix, generate stubs for tests/codegen/proto/strict
# with the installed plugin and both backends, then compile every generated .c
# against the installed headers with gcc and clang, -std=c99 and -std=c11,
# -pedantic -Wall -Wextra -Werror (and our other warnings), -O2, with and
# without -D_GNU_SOURCE; finally link each backend's objects into a program
# with the installed libttrpc, so every runtime symbol they use is exported.
#   strict-test.sh BUILD_DIR PROTO_DIR WKT_DIR
# Tools from the environment or PATH: PROTOC, PROTOC_GEN_C, PROTOC_GEN_NANOPB;
# STRICT_LDFLAGS for the link (a sanitized libttrpc needs the sanitizers).
set -euo pipefail
build=$(realpath "${1:?usage: strict-test.sh BUILD_DIR PROTO_DIR WKT_DIR}")
protos=$(realpath "${2:?}")
wkt=$(realpath "${3:?}")
protoc=${PROTOC:-$(command -v protoc)}
gen_c=${PROTOC_GEN_C:-$(command -v protoc-gen-c)}
gen_nanopb=${PROTOC_GEN_NANOPB:-$(command -v protoc-gen-nanopb)}
compilers=(gcc clang)
for cc in "${compilers[@]}"; do
	command -v "$cc" >/dev/null || { echo "strict-test: $cc not found (scripts/install-deps.sh installs it)" >&2; exit 1; }
done

tmp=$(mktemp -d /tmp/ttrpc-strict.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix
unset DESTDIR
cmake --install "$build" --prefix "$prefix" >"$tmp/install.log" || { cat "$tmp/install.log"; exit 1; }
plugin=$prefix/bin/protoc-gen-ttrpc-c
[ -x "$plugin" ] || { echo "$plugin not installed" >&2; exit 1; }
libdir=$(dirname "$(find "$prefix" -name libttrpc.so | head -n1)")

common=(acme/shop/v1/catalog.proto acme/shop/v1/stock.proto acme/billing/v2/billing.proto odd.proto nopkg.proto)
# protoc-c writes a oneof as an anonymous union (C11); nanopb names its unions.
c11_only_protobuf_c=./acme/shop/v1/stock.ttrpc-c.c
wkts=(google/protobuf/any.proto google/protobuf/empty.proto google/protobuf/timestamp.proto)

generate() { # backend out_dir protos...
	local backend=$1 out=$2
	shift 2
	local msg
	mkdir -p "$out"
	if [ "$backend" = nanopb ]; then
		msg=(--plugin=protoc-gen-nanopb="$gen_nanopb" --nanopb_out="$out")
	else
		msg=(--plugin=protoc-gen-c="$gen_c" --c_out="$out")
	fi
	(cd "$protos" && "$protoc" -I "$protos" -I "$wkt" "${msg[@]}" \
		--plugin=protoc-gen-ttrpc-c="$plugin" --ttrpc-c_out=backend="$backend":"$out" "$@")
	# The well-known types: messages only (no services).
	"$protoc" -I "$wkt" "${msg[@]}" "${wkts[@]/#/$wkt/}"
}

generate protobuf-c "$tmp/gen/protobuf-c" "${common[@]}"
generate nanopb "$tmp/gen/nanopb" "${common[@]}" keywords.proto

flags=(-pedantic -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wvla -O2)
configs=0
for backend in protobuf-c nanopb; do
	gen=$tmp/gen/$backend
	mapfile -t stubs < <(cd "$gen" && find . -name '*.ttrpc-c.c' | sort)
	mapfile -t msgs < <(cd "$gen" && find . -name '*.pb-c.c' -o -name '*.pb.c' | sort)
	want=$((${#common[@]} + $([ "$backend" = nanopb ] && echo 1 || echo 0)))
	[ "${#stubs[@]}" -eq "$want" ] ||
		{ echo "$backend: ${#stubs[@]} generated stub files, expected $want" >&2; exit 1; }
	for cc in "${compilers[@]}"; do
		for std in c99 c11; do
			for gnu in "" -D_GNU_SOURCE; do
				objs=$tmp/obj/$backend-$cc-$std${gnu:+-gnu}
				mkdir -p "$objs"
				for f in "${stubs[@]}"; do
					if [ "$backend-$std-$f" = "protobuf-c-c99-$c11_only_protobuf_c" ]; then
						continue
					fi
					o=$objs/$(echo "${f#./}" | tr / _).o
					if ! "$cc" -std="$std" $gnu "${flags[@]}" -I "$prefix/include" -I "$gen" \
						-c "$gen/$f" -o "$o" 2>"$tmp/cc.log"; then
						echo "FAIL: $cc -std=$std ${gnu:-(no _GNU_SOURCE)} $backend: $f" >&2
						cat "$tmp/cc.log" >&2
						exit 1
					fi
				done
				configs=$((configs + 1))
			done
		done
	done
	# The message code of the backend (not ours) with plain flags, then one
	# program: every symbol the stubs use must resolve in the installed libttrpc.
	for f in "${msgs[@]}"; do
		gcc -std=c11 -O2 -I "$gen" -c "$gen/$f" -o "$objs/msg_$(echo "${f#./}" | tr / _).o"
	done
	echo 'int main(void) { return 0; }' >"$tmp/main.c"
	runtime=(-lprotobuf-c)
	[ "$backend" = nanopb ] && runtime=(-lprotobuf-nanopb)
	# shellcheck disable=SC2086 # a word list
	if ! gcc ${STRICT_LDFLAGS:-} -o "$tmp/link-$backend" "$tmp/main.c" "$objs"/*.o -L"$libdir" -lttrpc "${runtime[@]}" \
		2>"$tmp/link.log"; then
		echo "FAIL: linking the $backend stubs with the installed libttrpc" >&2
		cat "$tmp/link.log" >&2
		exit 1
	fi
	echo "$backend: ${#stubs[@]} stub files built in $configs configurations, linked into one program"
	configs=0
done
echo "strict: ok"
