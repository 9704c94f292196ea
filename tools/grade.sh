#!/bin/sh
# grade.sh TEST_BIN GRADE_BIN [CRITERION ARGS...] - `make grade`.
# Runs the suite once with Criterion's TAP report, then scores it.  A suite
# that fails, crashes or hangs only costs points: the table always prints.
test_bin=$1; grade_bin=$2; shift 2
report=${GRADE_REPORT:-build/test-report.tap}
mkdir -p "$(dirname "$report")"
rm -f "$report"
echo "make grade: running the suite (this takes a few minutes)..." >&2
"$test_bin" --tap="$report" "$@" >"$report.log" 2>&1
echo "make grade: suite finished (log: $report.log); scoring:" >&2
exec "$grade_bin" -r "$report" -o "${GRADE_JSON:-grade.json}" tests/test_*.c
