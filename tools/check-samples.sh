#!/bin/sh
# check-samples.sh - every README sample is what the program prints today.
#
# A sample is a fenced block with a marker line just above it:
#
#   <!-- sample -->            the block is a transcript: each `$ command`
#   ```                        line is run, and the lines after it, up to
#   $ ./fork memory --json     the next `$ ` line, are its output (stdout
#   {"before":100,...}         and stderr together, as on a terminal).
#   ```                        Compared by `make samples` (and CI).
#
#   <!-- sample-live -->       the same, for output that depends on timing,
#                              load, pids or ports: never compared, only
#                              re-run by `make samples UPDATE=1`, which
#                              rewrites it when more than its numbers
#                              changed (a new line, another verdict), so
#                              figures taken on an idle machine stay;
#                              UPDATE=all rewrites every live block.
#
#   <!-- sample: CMD -->       the block is CMD's output alone (a block that
#   <!-- sample-live: CMD -->  shows no `$` line, nor the output's leading
#                              blank lines); compared / live as above.
#
# A line `...` alone in a block stands for any number of lines (an elided
# part): it matches whatever the program prints there.  When a block with
# `...` is rewritten, its first lines before the first `...` and its last
# lines after the last one are kept in number, from the new output.  A
# command whose shown line ends in `\`, `|` or `&&` continues on the next
# line, as in sh.  `echo $?` sees the status of the command before it.
# Blank lines before a `$ ` line (or at the end) are spacing: not compared.
#
# Commands run with sh from a scratch copy of the top folder (symbolic links
# to its files and folders, and to every program in BIN_DIR), so `./race`
# and `05-mapreduce/README.md` mean what they mean to a reader, and a sample
# that writes a file (`> lecture.txt`) writes it there; the copy is shared by
# the samples of one README, in order, and removed at the end.  Standard
# input is /dev/null; NO_COLOR=1.
#
#   sh tools/check-samples.sh [--update] [FILE.md...]
#                                              compare (default: every README)
#   make samples                               the same
#   make samples UPDATE=1                      rewrite stale blocks, and live
#                                              ones changed beyond numbers
#   make samples UPDATE=all                    ... and every live block
#
# Exit status: 0 every compared sample is up to date (or UPDATE rewrote
# them), 1 a sample is stale (each one reported with a diff), 2 a malformed
# marker.  Environment: BIN_DIR (default .), UPDATE, SAMPLE_TIMEOUT (seconds
# per block, default 120).
set -u
here=$(pwd)
cd "$(dirname "$0")/.." || exit 1
top=$(pwd)

BIN=${BIN_DIR:-.}
UPDATE=${UPDATE:-}
SAMPLE_TIMEOUT=${SAMPLE_TIMEOUT:-120}
[ "${1:-}" = --update ] && { UPDATE=1; shift; }
[ "$UPDATE" = 0 ] && UPDATE=
if [ $# -eq 0 ]; then
    set -- README.md */README.md
fi
export NO_COLOR=1
# Lab 05's MPI samples were taken as root with mpirun's two consent
# variables set (its README says so); without them mpirun prints a warning.
if [ "$(id -u)" = 0 ]; then
    export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi

case $BIN in /*) ;; *) BIN=$top/$BIN ;; esac

work=$(mktemp -d "${TMPDIR:-/tmp}/kit-samples.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- reading the README: the marked blocks --------------------------------
# For block N: $work/b.N.old (its lines, the fence's indent removed) and
# b.N.cmd (the marker's command, maybe empty); one line of $work/index per
# block: N kind marker-line first-body-line last-body-line indent.
extract() {
    awk -v dir="$work" -v file="$1" '
    function fail(msg) { printf "%s:%d: %s\n", file, NR, msg > "/dev/stderr"; bad = 1; exit 2 }
    function trim(s) { sub(/^[ \t]+/, "", s); sub(/[ \t]+$/, "", s); return s }
    state == 2 {
        t = $0; sub(/^ +/, "", t)
        if (substr(t, 1, length(fence)) == fence && trim(substr(t, length(fence) + 1)) ~ /^`*$/) {
            printf "%d %s %d %d %d %d\n", n, kind, mline, first, NR - 1, indent > (dir "/index")
            close(body); state = 0; next
        }
        line = $0
        if (substr(line, 1, indent) ~ /^ *$/) line = substr(line, indent + 1)
        print line > body
        next
    }
    state == 1 {
        if (!match($0, /^ *(```|~~~)/)) fail("a sample marker must be followed at once by a ``` block")
        indent = RLENGTH - 3; fence = substr($0, indent + 1, 3)
        first = NR + 1; body = dir "/b." n ".old"; printf "" > body
        state = 2; next
    }
    /^[ \t]*<!--[ \t]*sample/ {
        m = trim($0); sub(/^<!--[ \t]*/, "", m)
        if (m !~ /-->$/) next
        sub(/[ \t]*-->$/, "", m)
        if (m ~ /^sample-live/) { kind = "live"; m = substr(m, 12) }
        else { kind = "sample"; m = substr(m, 7) }
        if (m != "" && m !~ /^:/) next          # <!-- samples are ... -->: prose
        cmd = trim(substr(m, 2))
        if (m ~ /^:/ && cmd == "") fail("sample marker with an empty command")
        n++; mline = NR
        printf "%s\n", cmd > (dir "/b." n ".cmd"); close(dir "/b." n ".cmd")
        state = 1; next
    }
    END {
        if (bad) exit 2
        if (state == 1) { NR++; fail("a sample marker must be followed at once by a ``` block") }
        if (state == 2) fail("a sample block is never closed")
    }' "$1"
}

# ---- running a block ------------------------------------------------------
# The script for a transcript block: each command shown, then run with the
# previous command's status restored (so `echo $?` works).
transcript_script() {
    awk '
    function continues(l) { sub(/[ \t]+$/, "", l); return l ~ /(\\|\||&&)$/ }
    function flush(  i) {
        if (!ncmd) return
        print "cat <<'\''__kit_sample_shown__'\''"
        for (i = 1; i <= ncmd; i++) print shown[i]
        print "__kit_sample_shown__"
        print "(exit $kit_sample_status)"
        for (i = 1; i <= ncmd; i++) print run[i]
        print "kit_sample_status=$?"
        ncmd = 0
    }
    BEGIN { print "exec 2>&1"; print "kit_sample_status=0" }
    cont { shown[++ncmd] = $0; run[ncmd] = $0; cont = continues($0); if (!cont) flush(); next }
    substr($0, 1, 2) == "$ " {
        found = 1; ncmd = 1; shown[1] = $0; run[1] = substr($0, 3)
        cont = continues($0); if (!cont) flush(); next
    }
    END { flush(); if (!found) exit 3 }' "$1"
}

# ---- comparing: `...` matches any lines -----------------------------------
# compare OLD NEW FITTED [loose]: exit 0 if NEW matches OLD; FITTED is what
# the block should read now (NEW, keeping OLD's elisions; with loose, OLD
# when only numbers differ).  Both are cut into segments
# at `$ ` lines, so an elision never spans two commands; blank lines at the
# end of a segment are the README's spacing and stay as they are.
compare() {
    awk -v out="$3" -v loose="${4:-}" '
    FNR == NR { o[++no] = $0; next }
    { w[++nw] = $0 }
    function segs(a, n, start,   k, i) {
        k = 1; start[1] = 1
        for (i = 2; i <= n; i++) if (substr(a[i], 1, 2) == "$ ") start[++k] = i
        start[k + 1] = n + 1
        return n ? k : 0
    }
    # loose: numbers (times, pids, addresses, counts), drawn measures
    # (progress bars [##...], timelines |AAaa.b|) and the widths they give
    # table columns do not count, only the words around them
    function shape(s) {
        gsub(/0x[0-9a-fA-F]+/, "0x#", s); gsub(/[0-9]+([.,][0-9]+)*/, "#", s)
        gsub(/\[[#.]+\]/, "[#]", s); gsub(/\|[A-Za-z#. ]+\|/, "|#|", s)
        gsub(/-+/, "-", s); gsub(/ +/, " ", s); return s
    }
    function same(a, b) { return a == b || (loose && shape(a) == shape(b)) }
    # lines o[p1..p2] (with "..." wildcards) against w[q1..q2]
    function glob(p1, p2, q1, q2,   i, j, star, mark) {
        i = p1; j = q1; star = 0
        while (j <= q2) {
            if (i <= p2 && o[i] == "...") { star = i; mark = j; i++ }
            else if (i <= p2 && same(o[i], w[j])) { i++; j++ }
            else if (star) { i = star + 1; mark++; j = mark }
            else return 0
        }
        while (i <= p2 && o[i] == "...") i++
        return i > p2
    }
    function keep(a, from, to,   i) { for (i = from; i <= to; i++) f[++nf] = a[i] }
    END {
        so = segs(o, no, os); sw = segs(w, nw, ws); ok = 1
        if (so != sw) { ok = 0; keep(w, 1, nw) }
        for (k = 1; k <= so && so == sw; k++) {
            p1 = os[k]; p2 = os[k + 1] - 1; q1 = ws[k]; q2 = ws[k + 1] - 1
            # blank lines that end a segment separate it from the next
            # command in the README: neither compared nor rewritten
            for (gap = 0; p2 >= p1 && o[p2] == ""; gap++) p2--
            while (q2 >= q1 && w[q2] == "") q2--
            firstdots = 0; lastdots = 0
            for (i = p1; i <= p2; i++) if (o[i] == "...") { if (!firstdots) firstdots = i; lastdots = i }
            m = glob(p1, p2, q1, q2)
            if (!m) ok = 0
            if (m && (firstdots || loose)) keep(o, p1, p2)
            else if (firstdots && (h = firstdots - p1) + (t = p2 - lastdots) <= q2 - q1 + 1) {
                keep(w, q1, q1 + h - 1); f[++nf] = "..."; keep(w, q2 - t + 1, q2)
            } else keep(w, q1, q2)
            for (i = 0; i < gap; i++) f[++nf] = ""
        }
        printf "" > out
        for (i = 1; i <= nf; i++) print f[i] > out
        exit ok ? 0 : 1
    }' "$1" "$2"
}

# rewrite FILE: the blocks listed in $work/rewrite replaced by their .fit
rewrite() {
    awk -v dir="$work" '
    FNR == NR { at[$2 - 1] = $1; to[$1] = $3; ind[$1] = $4; next }
    skip && FNR <= to[skip] { next }
    { skip = 0; print }
    FNR in at {
        b = at[FNR]; pad = sprintf("%" ind[b] "s", "")
        while ((getline l < (dir "/b." b ".fit")) > 0) print (l == "" ? "" : pad l)
        close(dir "/b." b ".fit")
        skip = b
    }' "$work/rewrite" "$1" >"$work/rewritten" && cat "$work/rewritten" >"$1"
}

# ---- every file -----------------------------------------------------------
compared=0 stale=0 live=0 rewritten=0 failed=0 stale_list=
for md in "$@"; do
    case $md in /*) ;; *) [ "$here" = "$top" ] || md=$here/$md ;; esac
    [ -f "$md" ] || { echo "samples: $md: no such file" >&2; exit 2; }
    rm -rf "$work/top" "$work"/b.* "$work/index" "$work/rewrite"
    : >"$work/index"; : >"$work/rewrite"
    extract "$md" || exit 2
    [ -s "$work/index" ] || continue
    mkdir "$work/top"
    for e in "$top"/*; do ln -s "$e" "$work/top/"; done
    for p in "$BIN"/*; do
        [ -f "$p" ] && [ -x "$p" ] && ln -sfn "$p" "$work/top/"
    done
    while read -r n kind mline first last indent; do
        [ "$kind" = live ] && live=$((live + 1))
        [ "$kind" = live ] && [ -z "$UPDATE" ] && continue
        [ "$kind" = sample ] && compared=$((compared + 1))
        cmd=$(cat "$work/b.$n.cmd")
        if [ -n "$cmd" ]; then
            printf 'exec 2>&1\n%s\n' "$cmd" >"$work/b.$n.sh"
            what=$cmd
        else
            if ! transcript_script "$work/b.$n.old" >"$work/b.$n.sh"; then
                echo "$md:$mline: a sample block without a \`\$ command\` line (or give one: <!-- sample: CMD -->)" >&2
                exit 2
            fi
            what=$(sed -n 's/^\$ //p' "$work/b.$n.old" | head -n 1)
        fi
        (cd "$work/top" && exec timeout -k 5 "$SAMPLE_TIMEOUT" sh "$work/b.$n.sh") \
            </dev/null >"$work/b.$n.out"
        if [ $? -eq 124 ]; then
            printf "%s:%s: timed out after %s s: %s\n" "$md" "$mline" "$SAMPLE_TIMEOUT" "$what" >&2
            failed=$((failed + 1))
            continue
        fi
        loose=
        [ "$kind" = live ] && [ "$UPDATE" != all ] && loose=1
        # a block without a `$` line does not show the output's leading
        # blank lines (a program's first section heading, say)
        if [ -n "$cmd" ]; then
            awk 'p || $0 != "" { p = 1; print }' "$work/b.$n.out" >"$work/b.$n.new"
        else
            mv "$work/b.$n.out" "$work/b.$n.new"
        fi
        compare "$work/b.$n.old" "$work/b.$n.new" "$work/b.$n.fit" "$loose" && continue
        if [ -n "$UPDATE" ]; then
            echo "$n $first $last $indent" >>"$work/rewrite"
            rewritten=$((rewritten + 1))
            if [ "$kind" = live ]; then
                printf "samples: %s:%s: live sample rewritten: %s\n" "$md" "$mline" "$what"
            else
                printf "samples: %s:%s: rewritten (was stale): %s\n" "$md" "$mline" "$what"
            fi
        else
            stale=$((stale + 1)); stale_list="$stale_list $md:$mline"
            printf "samples: %s:%s: stale: %s\n" "$md" "$mline" "$what"
            diff -u --label "$md:$mline (the README)" --label "(what it prints now)" \
                "$work/b.$n.old" "$work/b.$n.fit" | sed 's/^/    /'
        fi
    done <"$work/index"
    [ -s "$work/rewrite" ] && rewrite "$md"
done

if [ -n "$UPDATE" ]; then
    echo "samples: $compared deterministic and $live live sample(s) re-run, $rewritten block(s) rewritten"
else
    echo "samples: $compared compared, $((compared - stale - failed)) up to date, $stale stale${stale_list:+ (}${stale_list# }${stale_list:+)}; $live live, not compared (make samples UPDATE=1 re-runs them)"
fi
[ "$failed" -eq 0 ] || exit 1
[ -n "$UPDATE" ] || [ "$stale" -eq 0 ] || exit 1
exit 0
