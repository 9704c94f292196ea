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
# The tests of the classroom tooling need the whole kit: handout.sh leaves
# them out of the handout, so they are reported apart, never scored (the kit
# and the handout then have the same maximum).
instructor=
[ -f tests/test_classroom.c ] && instructor="-i tests/test_classroom.c"
exec "$grade_bin" -r "$report" -o "${GRADE_JSON:-grade.json}" $instructor tests/test_*.c
