#!/bin/sh
# demo.sh - the narrated tour behind `make demo`.
#
# Walks every lab in lecture order.  Each lab folder has `demo*.steps` files
# that call the functions below; this script only provides them:
#
#   lab  NN "English title" "Russian slide title"
#   step "narration" PROGRAM [ARGS...]             expects exit 0
#   step_expect CODE "narration" PROGRAM [ARGS...] e.g. 3 for a watchdog
#   step_sh "narration" 'COMMAND LINE'             a pipeline, as typed
#   step_sh_expect CODE "narration" 'COMMAND LINE'
#
# PROGRAM is a kit program (run from $BIN_DIR) or any command.  A COMMAND
# LINE is shown exactly as written and run by sh; it names kit programs as a
# student types them (./wordcount), and they run from $BIN_DIR.
#
# For a projector: every line this script prints fits in 100 columns (titles
# wrap at words, commands at spaces outside quotes with a trailing `\`, so
# they can still be pasted); every command is shown as it could be typed;
# a step that expects a non-zero exit shows the status it got.  A failing
# step is reported and the tour goes on; the exit status says whether all
# passed.  PAUSE=1 waits for Enter (a line on standard input, whatever it
# is: the keyboard, or a pipe) before each step; LAB=03 runs one lab.
# Environment: BIN_DIR (default .), PAUSE, LAB, STEP_TIMEOUT (seconds, 60),
# COLUMNS_MAX (default 100).

BIN_DIR=${BIN_DIR:-.}
STEP_TIMEOUT=${STEP_TIMEOUT:-60}
COLUMNS_MAX=${COLUMNS_MAX:-100}
failed=0
steps=0

if [ -t 1 ] && [ -z "${NO_COLOR:-}" ] && [ "${TERM:-}" != dumb ]; then
    B=$(printf '\033[1m'); G=$(printf '\033[32m'); R=$(printf '\033[31m')
    C=$(printf '\033[36m'); N=$(printf '\033[0m')
else
    B= G= R= C= N=
fi

# wrap FIRST_PREFIX NEXT_PREFIX TEXT: TEXT in lines of at most COLUMNS_MAX
# characters (UTF-8 aware: the slide titles are Russian), broken at spaces.
wrap() {
    printf '%s\n' "$3" | LC_ALL=C awk -v p1="$1" -v p2="$2" -v max="$COLUMNS_MAX" '
    function chars(s) { gsub(/\033\[[0-9;]*m/, "", s); gsub(/[\200-\277]/, "", s); return length(s) }
    {
        # the [slide title] moves to the next line whole, never cut
        t = $0
        if ((b = index(t, " [")) > 0) { s = substr(t, b + 1); gsub(/ /, "\001", s); t = substr(t, 1, b) s }
        n = split(t, w, " "); line = p1; fresh = 1
        for (i = 1; i <= n; i++) {
            if (!fresh && chars(line " " w[i]) > max) { print line; line = p2; fresh = 1 }
            line = line (fresh ? "" : " ") w[i]; fresh = 0
        }
        print line
    }' | tr '\001' ' '
}

# show_command TEXT: "$ TEXT", each line of TEXT cut to COLUMNS_MAX at a
# space outside quotes, ending in " \" (a line continuation: pasting works).
show_command() {
    printf '%s\n' "$1" | LC_ALL=C awk -v max="$COLUMNS_MAX" -v c="$C" -v n="$N" '
    function chars(s) { gsub(/\033\[[0-9;]*m/, "", s); gsub(/[\200-\277]/, "", s); return length(s) }
    {
        rest = (NR == 1 ? "$ " : "  ") $0
        while (chars(rest) > max) {
            # the last space outside quotes that leaves room for " \"
            # never at the indent itself: a word longer than the line stays
            # whole (cutting before it again and again would never end)
            q = ""; cut = 0; first = match(rest, /[^ ]/)
            for (i = 1; i <= length(rest); i++) {
                ch = substr(rest, i, 1)
                if (q == "" && (ch == "\"" || ch == "\047")) q = ch
                else if (ch == q) q = ""
                else if (q == "" && ch == " " && i > 4 && i > first && chars(substr(rest, 1, i - 1)) <= max - 2) cut = i
            }
            if (cut == 0) break
            print c substr(rest, 1, cut - 1) " \\" n
            rest = "      " substr(rest, cut + 1)
        }
        print c rest n
    }'
}

lab() {
    printf '\n'
    wrap "$B==== Lab $1: " "             " "$2  [$3] ====$N"
}

pause() {
    if [ "${PAUSE:-0}" = 1 ]; then
        printf '%s(press Enter)%s ' "$C" "$N"
        read -r _ || PAUSE=0 # end of input: no more pauses
    fi
}

# run_step WANT DISPLAY COMMAND...: show, run with a timeout, check the exit.
run_step() {
    want=$1; shown=$2; shift 2
    show_command "$shown"
    if command -v timeout >/dev/null 2>&1; then
        timeout -k 5 "$STEP_TIMEOUT" "$@" </dev/null
    else
        "$@" </dev/null
    fi
    rc=$?
    if [ "$rc" -ne "$want" ]; then
        failed=$((failed + 1))
        printf '%s!! step failed: exit status %s (expected %s); the tour goes on%s\n' "$R" "$rc" "$want" "$N"
    elif [ "$want" -ne 0 ]; then
        printf '%s(exit status %s, as expected)%s\n' "$G" "$rc" "$N"
    fi
}

title() {
    steps=$((steps + 1))
    printf '\n'
    wrap "$B-> " "   " "$1$N"
    pause
}

step_expect() {
    want=$1; text=$2; prog=$3; shift 3
    title "$text"
    if [ -x "$BIN_DIR/$prog" ] && [ "${prog#*/}" = "$prog" ]; then
        shown="./$prog"; path="$BIN_DIR/$prog"
    else
        shown="$prog"; path="$prog"
    fi
    # The command as it could be typed: quote words that need it, and name
    # the binary folder "." (taskset -c 0 ./race --yield).
    for a in "$@"; do
        [ "$BIN_DIR" = . ] ||
            a=$(printf '%s' "$a" | awk -v d="$BIN_DIR/" '{ while ((i = index($0, d)) > 0) $0 = substr($0, 1, i - 1) "./" substr($0, i + length(d)); print }')
        case "$a" in
        *[[:space:]\|\&\;\<\>\(\)\$\*\?\"\']*|'') shown="$shown '$a'" ;;
        *) shown="$shown $a" ;;
        esac
    done
    run_step "$want" "$shown" "$path" "$@"
}

step() { step_expect 0 "$@"; }

# step_sh_expect CODE "narration" 'COMMAND LINE': shown as written; run by
# sh with each ./PROGRAM of the kit taken from $BIN_DIR.
step_sh_expect() {
    want=$1; text=$2; line=$3
    title "$text"
    run=$line
    if [ "$BIN_DIR" != . ]; then
        for p in $(printf '%s\n' "$line" | grep -o '\./[A-Za-z_][A-Za-z0-9_]*' | sort -u); do
            [ -x "$BIN_DIR/${p#./}" ] || continue
            run=$(printf '%s\n' "$run" | awk -v from="$p" -v to="$BIN_DIR/${p#./}" '
                { out = ""; while ((i = index($0, from)) > 0) {
                      nxt = substr($0, i + length(from), 1)
                      if (nxt ~ /[A-Za-z0-9_.]/) { out = out substr($0, 1, i + length(from) - 1) }
                      else { out = out substr($0, 1, i - 1) to }
                      $0 = substr($0, i + length(from)) }
                  print out $0 }')
        done
    fi
    run_step "$want" "$line" sh -c "$run"
}

step_sh() { step_sh_expect 0 "$@"; }

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
