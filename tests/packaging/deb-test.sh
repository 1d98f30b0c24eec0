#!/usr/bin/env bash
# The Debian packages (`make package`): build them with CPack from BUILD_DIR
# into a scratch directory, check each package's control fields and files,
# unpack all of them into a scratch root (dpkg -x; nothing is installed on this
# system) and build and run the out-of-tree consumers against that root:
# tests/packaging/consumer (find_package and pkg-config) and
# tests/codegen/consumer (ttrpc_generate with the packaged plugin).
#   deb-test.sh BUILD_DIR SOURCE_DIR C_COMPILER
set -euo pipefail
build=$(realpath "${1:?usage: deb-test.sh BUILD_DIR SOURCE_DIR C_COMPILER}")
src=$(realpath "${2:?}")
cc=${3:?}

tmp=$(mktemp -d /tmp/ttrpc-deb.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "deb-test: $*" >&2; exit 1; }
step() { echo "== $*"; }

version=$(sed -n 's/^CMAKE_PROJECT_VERSION:STATIC=//p' "$build/CMakeCache.txt")
[ -n "$version" ] || fail "no project version in $build/CMakeCache.txt"
arch=$(dpkg --print-architecture)

step "cpack (DEB) into $tmp/out"
cpack --config "$build/CPackConfig.cmake" -B "$tmp/out" >"$tmp/cpack.log" 2>&1 ||
	{ tail -n 40 "$tmp/cpack.log"; fail "cpack failed"; }
grep -qi 'warning' "$tmp/cpack.log" && { grep -i -A3 warning "$tmp/cpack.log"; fail "cpack warned"; }

pkgs=(libttrpc0 libttrpc-dev protoc-gen-ttrpc-c containerd-shim-tiny-v2)
mapfile -t debs < <(cd "$tmp/out" && ls -1 -- *.deb)
[ "${#debs[@]}" -eq "${#pkgs[@]}" ] || fail "expected ${#pkgs[@]} packages, got: ${debs[*]}"

deb() { echo "$tmp/out/${1}_${version}_${arch}.deb"; }
field() { dpkg-deb -f "$(deb "$1")" "$2"; }
# Files (not directories) of a package, one per line, without the leading ".".
files() { dpkg-deb -c "$(deb "$1")" | awk '$1 !~ /^d/ { print $6 }' | sed 's/^\.//' | sort; }
expect_files() { # package, then every file it must hold and nothing else
	local p=$1
	shift
	diff <(printf '%s\n' "$@" | sort) <(files "$p") >"$tmp/diff" ||
		{ cat "$tmp/diff" >&2; fail "$p: unexpected file list (< missing, > extra)"; }
}
expect_depends() { # package, regex each Depends entry list must match
	local p=$1 re=$2
	field "$p" Depends | grep -Eq "$re" || fail "$p: Depends '$(field "$p" Depends)' does not match /$re/"
}

step "control fields"
for p in "${pkgs[@]}"; do
	[ -f "$(deb "$p")" ] || fail "no $(basename "$(deb "$p")")"
	[ "$(field "$p" Package)" = "$p" ] || fail "$p: Package field is '$(field "$p" Package)'"
	[ "$(field "$p" Version)" = "$version" ] || fail "$p: Version is not $version"
	[ -n "$(field "$p" Description)" ] || fail "$p: no Description"
	echo "$p: Depends: $(field "$p" Depends)"
done
expect_depends libttrpc0 '(^|, )libc6 \(>= [^)]+\)'
expect_depends libttrpc0 '(^|, )libev4 '
expect_depends libttrpc0 '(^|, )libprotobuf-c1 '
expect_depends libttrpc-dev "(^|, )libttrpc0 \\(= $version\\)"
expect_depends libttrpc-dev '(^|, )libprotobuf-c-dev'
expect_depends protoc-gen-ttrpc-c '(^|, )libprotobuf-c1 '
expect_depends containerd-shim-tiny-v2 '(^|, )libjansson4 '
dpkg-deb --info "$(deb libttrpc0)" shlibs | grep -qx "libttrpc 0 libttrpc0 (>= $version)" ||
	fail "libttrpc0: no shlibs line 'libttrpc 0 libttrpc0 (>= $version)'"
dpkg-deb --info "$(deb libttrpc0)" postinst | grep -q ldconfig || fail "libttrpc0: postinst runs no ldconfig"

step "file lists"
libdir=$(files libttrpc0 | sed -n 's|/libttrpc\.so\.0$||p')
case $libdir in /usr/lib | /usr/lib/*-linux-gnu) ;; *) fail "libttrpc0: libttrpc.so.0 in '$libdir', not /usr/lib*" ;; esac
doc() { echo "/usr/share/doc/$1/copyright"; }
expect_files libttrpc0 "$libdir/libttrpc.so.0" "$libdir/libttrpc.so.$version" "$(doc libttrpc0)"
mapfile -t headers < <(cd "$src/ttrpc/include" && find ttrpc -name '*.h' | sed 's|^|/usr/include/|')
mapfile -t targets_cfg < <(files libttrpc-dev | grep "$libdir/cmake/ttrpc/ttrpcTargets-.*\.cmake$")
[ "${#targets_cfg[@]}" -eq 1 ] || fail "libttrpc-dev: no per-configuration ttrpcTargets-*.cmake"
expect_files libttrpc-dev "${headers[@]}" "$libdir/libttrpc.so" "$libdir/pkgconfig/ttrpc.pc" \
	"$libdir/cmake/ttrpc/ttrpcConfig.cmake" "$libdir/cmake/ttrpc/ttrpcConfigVersion.cmake" \
	"$libdir/cmake/ttrpc/ttrpcTargets.cmake" "${targets_cfg[0]}" "$libdir/cmake/ttrpc/ttrpcGenerate.cmake" \
	"$(doc libttrpc-dev)"
expect_files protoc-gen-ttrpc-c /usr/bin/protoc-gen-ttrpc-c "$(doc protoc-gen-ttrpc-c)"
expect_files containerd-shim-tiny-v2 /usr/bin/containerd-shim-tiny-v2 "$(doc containerd-shim-tiny-v2)"

step "unpack into $tmp/root"
root=$tmp/root
for p in "${pkgs[@]}"; do dpkg -x "$(deb "$p")" "$root"; done
[ "$(readlink "$root$libdir/libttrpc.so.0")" = "libttrpc.so.$version" ] || fail "libttrpc.so.0 does not link to libttrpc.so.$version"
[ "$(readlink "$root$libdir/libttrpc.so")" = libttrpc.so.0 ] || fail "libttrpc.so does not link to libttrpc.so.0"
soname=$(readelf -d "$root$libdir/libttrpc.so.$version" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$soname" = libttrpc.so.0 ] || fail "SONAME is '$soname', not libttrpc.so.0"
for f in "${pkgs[@]}"; do grep -q 'Apache' "$root$(doc "$f")" || fail "$(doc "$f") names no license"; done
for exe in "$root/usr/bin/protoc-gen-ttrpc-c" "$root/usr/bin/containerd-shim-tiny-v2" "$root$libdir/libttrpc.so.$version"; do
	[ -z "$(readelf -d "$exe" | grep -E 'RPATH|RUNPATH')" ] || fail "$exe has an RPATH"
	readelf -S "$exe" | grep -q '\.debug_info' && fail "$exe is not stripped"
done
"$root/usr/bin/containerd-shim-tiny-v2" -v | grep -q "$version" || fail "the packaged shim's -v does not say $version"

step "tests/packaging/consumer against the unpacked packages"
CONSUMER_PREFIX=$root/usr "$src/tests/packaging/consumer-test.sh" - "$src/tests/packaging/consumer" "$cc"
step "tests/codegen/consumer against the unpacked packages"
CONSUMER_PREFIX=$root/usr "$src/tests/codegen/consumer-test.sh" - "$src/tests/codegen/consumer"
echo "deb: ${pkgs[*]} built, checked, unpacked and used"
