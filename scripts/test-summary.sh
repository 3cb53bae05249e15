#!/usr/bin/env bash
# Runs the Swift test suite with the log kept, and ends `make test` with one plain summary line,
# "N passed, N failed, N skipped", counting the XCTest cases (Swift Testing has no tests here, and its
# "0 tests" line must not read as the suite's result). Exits with the suite's status.
#   scripts/test-summary.sh <timeout seconds> <swift>
set -uo pipefail
limit="${1:-3600}"
swift="${2:-swift}"
log="$(mktemp "${TMPDIR:-/tmp}/timeslice-test.XXXXXX")"
trap 'rm -f "$log"' EXIT
timeout --signal=KILL "$limit" "$swift" test --skip-build 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
# The last "Executed N tests, with [S tests skipped and ]F failures" line is the whole suite's.
line=$(grep -E "^[[:space:]]*Executed [0-9]+ tests?, with ([0-9]+ tests? skipped and )?[0-9]+ failures?" "$log" | tail -1)
total=$(sed -E 's/.*Executed ([0-9]+) tests?.*/\1/' <<<"$line")
# Failed test cases, not failures: the summary line counts every failed assertion (one test
# with two failed assertions read "357 passed, 2 failed" of 359 tests).
failed=$(grep -cE "^Test Case '.*' failed \(" "$log")
skipped=0
if grep -qE "tests? skipped" <<<"$line"; then skipped=$(sed -E 's/.*with ([0-9]+) tests? skipped.*/\1/' <<<"$line"); fi
if [[ -z "$line" ]]; then
    echo "test-summary: no XCTest summary line found (status $status)" >&2
    exit $(( status == 0 ? 1 : status ))
fi
echo "swift-tests: $((total - failed - skipped)) passed, $failed failed, $skipped skipped"
exit "$status"
