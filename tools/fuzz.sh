#!/bin/sh
# fuzz.sh - build and run every libFuzzer target tests/fuzz/fuzz_NAME.c.
#
# Each target is compiled with clang -fsanitize=fuzzer,address,undefined and
# linked with the shared helpers and every reusable module (the Makefile
# passes them), then run for FUZZ_SECONDS on a COPY of its seed corpus
# tests/fuzz/corpus/NAME/ -- the checked-in corpus never grows by accident.
# libFuzzer first replays every seed, so a crash that was once found and
# added to the corpus is a regression test from then on.
#
#   make fuzz                      every target, 60 s each
#   make fuzz FUZZ_SECONDS=20      what CI runs
#   FUZZ_TARGETS="cli" make fuzz   some targets only
#
# A crash (or a broken invariant: targets abort() on those) fails the run;
# the input that did it is kept as $FUZZ_DIR/crash-NAME-*, with the command
# that replays it.  To keep it as a regression: copy it into
# tests/fuzz/corpus/NAME/ and fix the bug.
set -u
cd "$(dirname "$0")/.." || exit 1

SECONDS_EACH=${FUZZ_SECONDS:-60}
OUT=${FUZZ_DIR:-build/fuzz}
CFLAGS_FUZZ=${FUZZ_CFLAGS:-"-std=c11 -D_POSIX_C_SOURCE=200809L -Icommon -pthread"}
SRCS=${FUZZ_SRCS:-$(ls common/*.c)}
LIBS=${FUZZ_LIBS:-"-lm"}
FUZZ_CC=${FUZZ_CC:-clang}

case $SECONDS_EACH in
'' | *[!0-9]*) echo "fuzz: FUZZ_SECONDS: expected a whole number of seconds, got '$SECONDS_EACH'" >&2; exit 2 ;;
esac

if ! command -v "$FUZZ_CC" >/dev/null 2>&1; then
    echo "fuzz: needs clang with libFuzzer (Debian/Ubuntu: sudo apt-get install -y clang libclang-rt-dev, or libclang-rt-14-dev on Debian 12)" >&2
    exit 1
fi

targets=${FUZZ_TARGETS:-$(ls tests/fuzz/fuzz_*.c 2>/dev/null | sed 's|.*/fuzz_||; s|\.c$||')}
if [ -z "$targets" ]; then
    echo "fuzz: no targets in tests/fuzz/" >&2
    exit 1
fi

mkdir -p "$OUT" || exit 1
work=$(mktemp -d "${TMPDIR:-/tmp}/kit-fuzz.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Module headers are included by name ("words.h"): every module's folder.
incs=$(for s in $SRCS; do dirname "$s"; done | sort -u | sed 's/^/-I/' | tr '\n' ' ')

status=0
summary=""
for t in $targets; do
    src=tests/fuzz/fuzz_$t.c
    bin=$OUT/fuzz_$t
    log=$OUT/fuzz_$t.log
    if [ ! -f "$src" ]; then
        summary="$summary$(printf '  %-10s %-6s %s' "$t" FAIL "no $src")
"
        status=1
        continue
    fi
    # shellcheck disable=SC2086 # the flag and source lists are meant to split
    if ! $FUZZ_CC -g -O1 -fno-omit-frame-pointer \
        -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
        $CFLAGS_FUZZ $incs -o "$bin" "$src" $SRCS $LIBS 2>"$log"; then
        cat "$log" >&2
        if grep -q 'clang_rt\|libFuzzer\|fuzzer' "$log"; then
            echo "fuzz: this needs clang and its fuzzer/sanitizer runtime (Debian 12: sudo apt-get install -y libclang-rt-14-dev)" >&2
        fi
        summary="$summary$(printf '  %-10s %-6s %s' "$t" FAIL "does not build (above)")
"
        status=1
        continue
    fi
    corpus=$work/corpus-$t
    mkdir -p "$corpus"
    if [ -d "tests/fuzz/corpus/$t" ]; then
        cp "tests/fuzz/corpus/$t"/* "$corpus"/ 2>/dev/null
    fi
    seeds=$(ls "$corpus" | wc -l | tr -d ' ')
    echo "fuzz: $t: $seeds seeds, ${SECONDS_EACH}s ..."
    # -timeout: one input taking > 10 s is a hang; -rss_limit_mb: a runaway
    # allocation is a bug too.  ASan/UBSan stop at the first report.
    "$bin" -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$OUT/crash-$t-" \
        "$corpus" >"$log" 2>&1
    rc=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
    if [ $rc -eq 0 ]; then
        summary="$summary$(printf '  %-10s %-6s %s runs, %s, corpus %s -> %s' "$t" OK "${runs:-?}" "${cov:-cov: ?}" "$seeds" "$(ls "$corpus" | wc -l | tr -d ' ')")
"
    else
        status=1
        art=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
        grep -E '^(fuzz_|==[0-9]+==ERROR|SUMMARY|.*runtime error)' "$log" | head -5
        summary="$summary$(printf '  %-10s %-6s exit %s; input: %s; replay: %s %s; log: %s' "$t" CRASH "$rc" "${art:-?}" "$bin" "${art:-?}" "$log")
"
    fi
done

echo
echo "fuzz summary (${SECONDS_EACH}s each):"
printf '%s' "$summary"
exit $status
