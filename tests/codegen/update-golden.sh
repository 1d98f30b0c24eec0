#!/usr/bin/env bash
# Regenerate the golden outputs of protoc-gen-ttrpc-c.
#   update-golden.sh PLUGIN OUT_DIR
# writes OUT_DIR/<backend>/... for both backends. The golden test runs this
# into a temp dir and diffs against tests/codegen/golden; the build target
# `codegen-update-golden` runs it with OUT_DIR = tests/codegen/golden.
set -euo pipefail

plugin=$1
out=$2
here=$(cd "$(dirname "$0")" && pwd)
protos=$here/proto/golden
wkt=${TTRPC_PROTOBUF_INCLUDE:-/usr/include}
protoc=${PROTOC:-protoc}

for backend in protobuf-c nanopb; do
	rm -rf "$out/$backend"
	mkdir -p "$out/$backend"
	(cd "$protos" && "$protoc" -I. -I"$wkt" --plugin=protoc-gen-ttrpc-c="$plugin" \
		--ttrpc-c_out=backend="$backend":"$out/$backend" \
		acme/common/types.proto acme/storage/v1beta2/store.proto mangle.proto)
done
