#!/usr/bin/env bash
# Every test has a bound, so a regression in an unbounded wait fails instead of
# hanging CI: each ctest test has a TIMEOUT property (ctest's default is
# 10,000,000 s), and each Criterion test is in a TestSuite with .timeout or has
# its own (Criterion's --timeout does not reach tests without one).
# Usage: check-test-timeouts.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=${1:?usage: check-test-timeouts.sh BUILD_DIR SOURCE_DIR}
src=${2:?usage: check-test-timeouts.sh BUILD_DIR SOURCE_DIR}
py=/usr/bin/python3 # Debian's, whatever else is on PATH
ctest --test-dir "$build" --show-only=json-v1 >"$build/ctest-tests.json"
"$py" - "$build/ctest-tests.json" "$src" <<'PY'
import json, pathlib, re, sys

tests = json.load(open(sys.argv[1]))["tests"]
bad = [t["name"] for t in tests
       if not any(p["name"] == "TIMEOUT" and float(p["value"]) > 0 for p in t.get("properties", []))]
for name in bad:
    print(f"check-test-timeouts: ctest test {name} has no TIMEOUT")

src = pathlib.Path(sys.argv[2])
criterion = 0
suite_re = re.compile(r"\bTestSuite\(\s*(\w+)\s*(,[^;]*)?\)\s*;", re.S)
test_re = re.compile(r"^\s*(?:Test|ParameterizedTest)\(\s*(?:[^,]+,\s*)?(\w+)\s*,\s*(\w+)\s*(,[^)]*)?\)", re.M)
for f in sorted(src.glob("tests/**/*.c")):
    text = f.read_text()
    if "criterion/criterion.h" not in text:
        continue
    timed_suites = {m.group(1) for m in suite_re.finditer(text) if m.group(2) and ".timeout" in m.group(2)}
    for m in re.finditer(r"^\s*Test\(\s*(\w+)\s*,\s*(\w+)\s*(,[^)]*)?\)", text, re.M):
        criterion += 1
        suite, name, opts = m.group(1), m.group(2), m.group(3) or ""
        if suite not in timed_suites and ".timeout" not in opts:
            rel = f.relative_to(src)
            print(f"check-test-timeouts: {rel}: Test({suite}, {name}) has no .timeout (nor its TestSuite)")
            bad.append(f"{suite}::{name}")
if not tests or not criterion:
    print(f"check-test-timeouts: found {len(tests)} ctest tests and {criterion} Criterion tests: nothing to check?")
    sys.exit(1)
if bad:
    sys.exit(1)
print(f"check-test-timeouts: {len(tests)} ctest tests and {criterion} Criterion tests, all bounded")
PY
