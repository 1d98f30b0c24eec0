#!/usr/bin/env bash
# Print our C sources (.c/.h), one per line, relative to the repo root: what
# `make format` formats and the clang-format test checks. Generated files and
# golden outputs are left out; build trees are ignored by git.
#   --tracked   only files git tracks (default: tracked + new, not ignored)
set -euo pipefail
cd "$(dirname "$0")/.."

others=(--others --exclude-standard)
[ "${1:-}" = --tracked ] && others=()

git ls-files --cached "${others[@]}" -- '*.c' '*.h' |
	{ grep -Ev '(^|/)golden/|\.pb-c\.[ch]$|\.pb\.[ch]$|\.ttrpc-c\.[ch]$|(^|/)build[^/]*/' || true; } |
	while read -r f; do if [ -f "$f" ]; then printf '%s\n' "$f"; fi; done
