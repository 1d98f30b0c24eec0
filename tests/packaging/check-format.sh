#!/usr/bin/env bash
# Fails, listing the files, when a tracked C source differs from what
# clang-format makes of it with the repo's .clang-format. Fix: make format.
set -euo pipefail
cd "${1:?usage: check-format.sh SOURCE_DIR}"

command -v clang-format >/dev/null || { echo "check-format: clang-format not installed" >&2; exit 1; }
git rev-parse --is-inside-work-tree >/dev/null || { echo "check-format: $PWD is not a git checkout" >&2; exit 1; }
[ -f .clang-format ] || { echo "check-format: no .clang-format in $PWD" >&2; exit 1; }

mapfile -t files < <(scripts/c-sources.sh --tracked)
[ ${#files[@]} -gt 0 ] || { echo "check-format: no C sources found" >&2; exit 1; }

bad=()
for f in "${files[@]}"; do
	clang-format --dry-run --Werror "$f" >/dev/null 2>&1 || bad+=("$f")
done
if [ ${#bad[@]} -gt 0 ]; then
	echo "check-format: ${#bad[@]} of ${#files[@]} files are not clang-formatted (run: make format):"
	printf '  %s\n' "${bad[@]}"
	exit 1
fi
echo "check-format: ${#files[@]} files clang-formatted ($(clang-format --version))"
