#!/usr/bin/env bash
# Build the session fuzzer with clang (libFuzzer + ASan + UBSan) and run it
# for a bounded number of inputs from a seed corpus of real frames.
# Usage: run-fuzz.sh SOURCE_DIR BUILD_DIR [RUNS]
set -euo pipefail
src=$1
build=$2
runs=${3:-200000}
out=$build/fuzz
mkdir -p "$out/corpus"
cc=${FUZZ_CC:-clang}
command -v "$cc" >/dev/null || { echo "run-fuzz: $cc not found (install clang)" >&2; exit 1; }
"$cc" -g -O1 -std=c11 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	-I"$src/ttrpc/include" -I"$src/ttrpc/src" -I"$build/ttrpc/pb" \
	"$src/fuzz/fuzz_session.c" "$src"/ttrpc/src/{buf,common,frame,md,session,streams,wire}.c \
	"$build/ttrpc/pb/ttrpc_envelope.pb-c.c" -lprotobuf-c -o "$out/fuzz_session"
# Seeds: a request, a response, an error response, a data frame, an oversized header.
printf '\x00\x00\x00\x0e\x00\x00\x00\x01\x01\x00\x0a\x01\x61\x12\x01\x62\x1a\x01\x63\x20\x01\x2a\x00' >"$out/corpus/req"
printf '\x00\x00\x00\x04\x00\x00\x00\x01\x02\x00\x12\x02\x78\x79' >"$out/corpus/resp"
printf '\x00\x00\x00\x07\x00\x00\x00\x03\x02\x00\x0a\x05\x08\x05\x12\x01\x6e' >"$out/corpus/err"
printf '\x00\x00\x00\x01\x00\x00\x00\x05\x03\x01\x7a' >"$out/corpus/data"
printf '\x00\x10\x00\x00\x00\x00\x00\x07\x01\x00abc' >"$out/corpus/big"
"$out/fuzz_session" -runs="$runs" -max_len=4096 -timeout=10 "$out/corpus" 2>&1 | tail -n 5
