#!/bin/sh
# memcheck.sh - every program's small run under valgrind's memcheck.
#
# Each line of the table below is one run: a program, the exit status it
# must end with, and its arguments (small: valgrind is ~20-50x slower).
# valgrind follows forked children too (--trace-children=yes), each process
# writes its own log, and a run passes when
#   - the program exits with the expected status, and
#   - every process's log says 0 errors, and 0 bytes definitely or
#     indirectly lost (memory still reachable at exit is not a leak:
#     a forked child that _exits keeps its parent's heap, on purpose).
# Every program registered in the Makefile (PROGRAMS) must have at least one
# line here: a program without one fails the run, so none is forgotten.
#
#   make memcheck                      all of them, a summary table at the end
#   MEMCHECK_ONLY="race queue" make memcheck    some programs only
#
# Deliberately racy runs are fine here (memcheck is not helgrind); runs that
# must deadlock end through their watchdog with status 3 and say so below.
set -u
cd "$(dirname "$0")/.." || exit 1

BIN=${BIN_DIR:-.}
REGISTERED=${PROGRAMS:-}
ONLY=${MEMCHECK_ONLY:-}

if ! command -v valgrind >/dev/null 2>&1; then
    echo "memcheck: valgrind is not installed (Debian/Ubuntu: sudo apt-get install -y valgrind)" >&2
    exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/kit-memcheck.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Small fixtures for the programs that read files ($FIX in the table).
FIX=$work/fix
mkdir -p "$FIX"
i=0
while [ $i -lt 40 ]; do
    echo "Deer Bear River, Car Car River; Deer Car Bear. Олень Медведь Река $i"
    i=$((i + 1))
done >"$FIX/words.txt"
printf 'Deer Bear River\n' >"$FIX/a.txt"
printf 'Car Car River\n' >"$FIX/b.txt"
printf 'Deer Car Bear\n' >"$FIX/c.txt"
printf 'bear\t1\nbear\t2\ncar\t3\nriver\t1\n' >"$FIX/sorted.tsv"

# ---- the table: program, expected exit status, arguments ------------------
# Arguments are shell words ($FIX expands, "< file" redirects stdin); stdin
# is /dev/null otherwise.  Keep each run under a few seconds under valgrind.
TABLE='
fork        0   # no lesson: all five, briefly (children killed by signals too)
spawn       0   -n 20
threads     0
gil         0   -t 2 --cpu-ms 20
coffee      0   -q 2 -n 2 --ms 10
parallel    0   -j 2 --tasks 4 --size 2000
parallel    0   -j 2 --tasks 4 --size 2000 --backend processes
ui          0   --job-ms 200
race        0   -n 10000
deadlock    3   # the default run deadlocks; the watchdog exits 3
deadlock    0   --fix order
deadlock    0   --fix trylock
queue       0   -n 2000
pipe        0   -n 200
pipe        3   -n 200 --forget-close
mpqueue     0   -p 2 -c 2 -n 500
shm         0   -n 2000
server      0   --clients 2 --requests 2 --work-ms 1
wordcount   0   $FIX/words.txt
wordcount   0   --workers processes -j 2 $FIX/words.txt
wordcount   0   --top 3 --block-size 64 -o $FIX/out.txt $FIX/words.txt
invindex    0   $FIX/a.txt $FIX/b.txt $FIX/c.txt
wc_mapper   0   < $FIX/words.txt
wc_reducer  0   < $FIX/sorted.tsv
'

registered() {
    [ -z "$REGISTERED" ] && return 0
    case " $REGISTERED " in *" $1 "*) return 0 ;; esac
    return 1
}
wanted() {
    [ -z "$ONLY" ] && return 0
    case " $ONLY " in *" $1 "*) return 0 ;; esac
    return 1
}

# valgrind: children too, except system binaries (posix_spawn of /bin/true
# is not our code); each process its own log (%p = its PID).
VG="valgrind --tool=memcheck --leak-check=full --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect --error-exitcode=99 --trace-children=yes --trace-children-skip=/bin/*,/usr/bin/*,/usr/local/bin/* --child-silent-after-fork=no --track-fds=no --num-callers=30"

status=0
rows=""
fails=""
n=0
row() {
    rows="$rows$(printf '%-11s %-58s %-5s %-6s %-9s %-5s %s' "$@")
"
}
row program arguments exit errors lost procs verdict
row ------- --------- ---- ------ ---- ----- -------

tab=$work/table
printf '%s\n' "$TABLE" | sed 's/ *#.*//; /^ *$/d' >"$tab"

while read -r prog want args; do
    registered "$prog" || continue
    wanted "$prog" || continue
    n=$((n + 1))
    dir=$work/run$n
    mkdir -p "$dir"
    bin=$BIN/$prog
    shown=$(echo "$args" | sed 's|\$FIX/||g')
    if [ ! -x "$bin" ]; then
        row "$prog" "$shown" - - - - "FAIL: $bin not built"
        fails="$fails $prog"
        continue
    fi
    start=$(date +%s)
    # A hang is a failure too: give each run a minute, then kill it.
    eval "timeout -k 5 120 $VG --log-file=\"$dir/vg.%p.log\" \"$bin\" $args" \
        >"$dir/out" 2>"$dir/err" </dev/null
    rc=$?
    secs=$(($(date +%s) - start))
    procs=$(ls "$dir"/vg.*.log 2>/dev/null | wc -l | tr -d ' ')
    errs=0
    lost=0
    for log in "$dir"/vg.*.log; do
        [ -f "$log" ] || continue
        e=$(sed -n 's/.*ERROR SUMMARY: \([0-9,]*\) errors.*/\1/p' "$log" | tr -d , | tail -1)
        d=$(sed -n 's/.*definitely lost: \([0-9,]*\) bytes.*/\1/p' "$log" | tr -d , | tail -1)
        ind=$(sed -n 's/.*indirectly lost: \([0-9,]*\) bytes.*/\1/p' "$log" | tr -d , | tail -1)
        errs=$((errs + ${e:-0}))
        lost=$((lost + ${d:-0} + ${ind:-0}))
    done
    verdict=OK
    if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
        verdict="FAIL: timed out after 120 s"
    elif [ "$rc" -eq 99 ] || [ "$errs" -gt 0 ] || [ "$lost" -gt 0 ]; then
        verdict="FAIL: memory errors or leaks"
    elif [ "$rc" -ne "$want" ]; then
        verdict="FAIL: exit $rc, expected $want"
    fi
    row "$prog" "$shown" "$rc" "$errs" "${lost}B" "$procs" "$verdict (${secs}s)"
    if [ "$verdict" != OK ]; then
        fails="$fails $prog"
        echo "---- memcheck: $prog $shown: $verdict"
        sed -n '1,15p' "$dir/err"
        for log in "$dir"/vg.*.log; do
            grep -q 'ERROR SUMMARY: [1-9]\|definitely lost: [1-9]\|indirectly lost: [1-9]' "$log" 2>/dev/null &&
                awk '/Command:|Parent PID:/ { print; next }
                     /(Invalid|uninitialised|Conditional jump|Syscall param|Mismatched|Source and destination|are (definitely|indirectly) lost)/ { on = 1 }
                     on { print } /^==[0-9]+== $/ { on = 0 }' "$log" | head -60
        done
    fi
done <"$tab"

# The while loop above runs in this shell (input redirected, not piped), so
# rows and fails are still set here.
missing=""
for p in $REGISTERED; do
    wanted "$p" || continue
    grep -q "^$p " "$tab" || missing="$missing $p"
done

echo
echo "memcheck summary (valgrind memcheck, children traced; lost = definitely + indirectly):"
printf '%s' "$rows"
if [ -n "$missing" ]; then
    echo "FAIL: no memcheck line in tools/memcheck.sh for:$missing"
    status=1
fi
if [ -n "$fails" ]; then
    echo "FAIL:$fails"
    status=1
fi
[ $n -gt 0 ] || { echo "memcheck: nothing to run"; status=1; }
[ $status -eq 0 ] && echo "memcheck: all $n runs clean"
exit $status
