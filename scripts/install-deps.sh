#!/usr/bin/env bash
# Install the Debian packages needed to build, test, run the demo and the
# benchmarks. Idempotent: installs only what is missing, silent when nothing is.
# Runs as root (or through sudo when available); never prompts.
set -euo pipefail

# The one list. Add a package here and nowhere else.
PACKAGES=(
	# build
	build-essential cmake pkg-config git clang clang-format libclang-rt-14-dev
	# libraries
	libprotobuf-c-dev protobuf-c-compiler protobuf-compiler libprotobuf-dev libprotoc-dev nanopb libnanopb-dev
	libev-dev libssl-dev libnghttp2-dev libjansson-dev
	# tests and test peers
	libcriterion-dev valgrind containerd runc crun busybox-static
	golang-go golang-github-containerd-ttrpc-dev golang-github-containerd-containerd-dev
	golang-google-grpc-dev python3-grpcio cargo rustc librust-ttrpc-dev openssl python3-h2
	# demo, benchmarks, process tools used by scripts and tests
	hyperfine gnuplot-nox iproute2 util-linux procps psmisc python3
)

installed() {
	[ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" = installed ]
}

missing=()
for pkg in "${PACKAGES[@]}"; do
	installed "$pkg" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=()
if [ "$(id -u)" -ne 0 ]; then
	command -v sudo >/dev/null || { echo "install-deps: need root to install: ${missing[*]}" >&2; exit 1; }
	sudo=(sudo)
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
