#!/bin/sh
# demo.sh - the narrated tour behind `make demo`.
#
# Walks every lab in lecture order.  Each lab folder has `demo*.steps` files
# that calls the two functions below; this script only provides them:
#
#   lab  NN "English title" "Russian slide title"
#   step "one line of narration" PROGRAM [ARGS...]         expects exit 0
#   step_expect CODE "narration" PROGRAM [ARGS...]         e.g. 3 for a watchdog
#
# PROGRAM is a kit program (run from $BIN_DIR) or any command.  A failing step
# is reported and the tour goes on; the exit status says whether all passed.
# PAUSE=1 waits for Enter before each step; LAB=03 runs one lab.
# Environment: BIN_DIR (default .), PAUSE, LAB, STEP_TIMEOUT (seconds, 60).

BIN_DIR=${BIN_DIR:-.}
STEP_TIMEOUT=${STEP_TIMEOUT:-60}
failed=0
steps=0

if [ -t 1 ] && [ -z "${NO_COLOR:-}" ] && [ "${TERM:-}" != dumb ]; then
    B=$(printf '\033[1m'); G=$(printf '\033[32m'); R=$(printf '\033[31m')
    C=$(printf '\033[36m'); N=$(printf '\033[0m')
else
    B= G= R= C= N=
fi

lab() {
    printf '\n%s==== Lab %s: %s  [%s] ====%s\n' "$B" "$1" "$2" "$3" "$N"
}

pause() {
    if [ "${PAUSE:-0}" = 1 ]; then
        printf '%s(press Enter)%s ' "$C" "$N"
        read -r _ </dev/tty 2>/dev/null || read -r _ || true
    fi
}

step_expect() {
    want=$1; shift
    text=$1; shift
    prog=$1; shift
    steps=$((steps + 1))
    printf '\n%s-> %s%s\n' "$B" "$text" "$N"
    pause
    if [ -x "$BIN_DIR/$prog" ] && [ "${prog#*/}" = "$prog" ]; then
        shown="./$prog"; path="$BIN_DIR/$prog"
    else
        shown="$prog"; path="$prog"
    fi
    # Show the command as it could be typed: quote words that need it, and
    # print the binary folder as "." (sh -c "./fork buffer | cat").
    args=
    for a in "$@"; do
        [ "$BIN_DIR" = . ] ||
            a=$(printf '%s' "$a" | awk -v d="$BIN_DIR/" '{ while ((i = index($0, d)) > 0) $0 = substr($0, 1, i - 1) "./" substr($0, i + length(d)); print }')
        a=$(printf '%s' "$a" | sed 's|"\./\([a-z_]*\)"|./\1|g')
        case "$a" in
        *[[:space:]\|\&\;\<\>\(\)\$\*\?]*|'') args="$args \"$a\"" ;;
        *) args="$args $a" ;;
        esac
    done
    printf '%s$ %s%s%s\n' "$C" "$shown" "$args" "$N"
    if command -v timeout >/dev/null 2>&1; then
        timeout -k 5 "$STEP_TIMEOUT" "$path" "$@" </dev/null
    else
        "$path" "$@" </dev/null
    fi
    rc=$?
    if [ "$rc" -ne "$want" ]; then
        failed=$((failed + 1))
        printf '%s!! step failed: exit %s (expected %s); the tour goes on%s\n' "$R" "$rc" "$want" "$N"
    fi
}

step() { step_expect 0 "$@"; }

printf '%sMultiprocessing, in C: the lecture, live%s\n' "$B" "$N"
for dir in 0[1-9]-*/; do
    n=${dir%%-*}
    [ -n "${LAB:-}" ] && [ "$LAB" != "$n" ] && continue
    # demo.steps first (it opens the lab), then any demo-*.steps
    for f in "$dir"demo.steps "$dir"demo-*.steps; do
        [ -f "$f" ] && . "./$f"
    done
done

printf '\n%sTour finished: %d steps, %d failed.%s\n' "$B" "$steps" "$failed" "$N"
[ "$failed" -eq 0 ] && [ "$steps" -gt 0 ]
