#!/bin/sh
# compare.sh - `make compare`: every lab's C program beside its Python twin.
#
# Each pair runs the same experiment on the same input (same counts, same
# items, same text), and one table shows: the lesson, the C figure, the
# Python figure, Python / C, and the one line to notice.  The raw figures go
# to dist/compare.json.  Reported, never asserted: the numbers depend on the
# machine and on what else runs.
#
#   make compare           every lab        make compare LAB=04   one lab
#
# Environment: BIN_DIR (the C programs, default .), LAB, PYTHON (default
# /usr/bin/python3: Debian's, where python3-joblib installs; a pyenv or venv
# python3 on PATH would not see it), OUT (default dist/compare.json).
set -u
cd "$(dirname "$0")/.." || exit 1
BIN=${BIN_DIR:-.}
PY=${PYTHON:-/usr/bin/python3}
OUT=${OUT:-dist/compare.json}

# The twins need Debian's python3 and joblib: tools/need-packages.sh installs
# python3-joblib when it is missing (saying so), or says how.
KIT_WHO="make compare" KIT_NEED_ONLY=python3-joblib sh tools/need-packages.sh || exit 1
if ! "$PY" -c 'import joblib' 2>/dev/null; then
    echo "make compare: joblib is not usable from $PY: sudo apt-get install -y python3-joblib" >&2
    exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/kit-compare.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# jget FILE EXPR: a value of the JSON in FILE, as Python sees it (j = the
# document): jget out.json 'j["runs"][0]["speedup"]'.
jget() {
    "$PY" -c 'import json, sys; j = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2" 2>/dev/null || echo nan
}

rows=$work/rows     # lab|lesson|C|Python|unit|notice, one per line
: >"$rows"
row() { printf '%s|%s|%s|%s|%s|%s\n' "$@" >>"$rows"; }

want() { [ -z "${LAB:-}" ] || [ "$LAB" = "$1" ]; }
run() { # run NAME OUTFILE COMMAND...: say what runs, keep its stdout
    name=$1 out=$2; shift 2
    printf '  %-62s' "${name:-  ... and its Python twin}" >&2
    if "$@" >"$out" 2>"$out.err"; then echo ok >&2; else echo "FAILED (exit $?): $(head -c 200 "$out.err")" >&2; fi
}

echo "make compare: each C program and its Python twin on the same input ($("$PY" -c 'import sys; print("CPython", sys.version.split()[0])'), $(getconf _NPROCESSORS_ONLN 2>/dev/null || echo '?') CPUs)" >&2

if want 01; then
    run "./spawn -n 200 / spawn.py -n 200" "$work/c01" "$BIN/spawn" -n 200 --json
    run "" "$work/p01" "$PY" 01-processes/spawn.py -n 200 --json
    row 01 "start + join a process (us)" "$(jget "$work/c01" 'j["fork_us"]')" "$(jget "$work/p01" 'j["fork_us"]')" us \
        "multiprocessing.Process forks a whole interpreter"
    row 01 "start + join a thread (us)" "$(jget "$work/c01" 'j["thread_us"]')" "$(jget "$work/p01" 'j["thread_us"]')" us \
        "a thread is cheap in both: no copy"
fi

if want 02; then
    run "./gil --json / gil.py --json (2 workers, 200 ms each)" "$work/c02g" "$BIN/gil" -t 2 --cpu-ms 200 --json
    run "" "$work/p02g" "$PY" 02-threads/gil.py -t 2 --cpu-ms 200 --json
    row 02 "CPU-bound, 2 threads, GIL: speedup" "$(jget "$work/c02g" 'j["runs"][0]["speedup"]')" "$(jget "$work/p02g" 'j["runs"][0]["speedup"]')" x \
        "C's emulated GIL and CPython's real one: ~1x, turns"
    row 02 "CPU-bound, no shared GIL: speedup" "$(jget "$work/c02g" 'j["runs"][1]["speedup"]')" "$(jget "$work/p02g" 'j["runs"][1]["speedup"]')" x \
        "C: threads without the lock; Python: processes"
    row 02 "I/O-bound, 2 threads, GIL: speedup" "$(jget "$work/c02g" 'j["runs"][2]["speedup"]')" "$(jget "$work/p02g" 'j["runs"][2]["speedup"]')" x \
        "sleeping threads hold no GIL: ~2x in both"
    run "./parallel / parallel.py (-j 2, 16 tasks up to 40000)" "$work/c02p" "$BIN/parallel" -j 2 --tasks 16 --size 40000 --backend processes --json
    run "" "$work/p02p" "$PY" 02-threads/parallel.py -j 2 --tasks 16 --size 40000 --json
    row 02 "parallel map, 2 processes (s)" "$(jget "$work/c02p" 'j["seconds"]')" "$(jget "$work/p02p" 'j["runs"][1]["seconds"]')" s \
        "C forked workers vs Pool.map: the loop is bytecode"
    row 02 "the same with joblib (s)" "$(jget "$work/c02p" 'j["seconds"]')" "$(jget "$work/p02p" 'j["runs"][0]["seconds"]')" s \
        "joblib (loky) starts fresh interpreters first"
fi

if want 03; then
    run "./race -m unsafe / race.py -m unsafe (2 x 1000000)" "$work/c03" "$BIN/race" -m unsafe -n 1000000 --json
    run "" "$work/p03" "$PY" 03-race-conditions/race.py -m unsafe -n 1000000 --json
    run "./race -m unsafe --yield / race.py -m yield (2 x 10000)" "$work/c03y" "$BIN/race" -m unsafe --yield -n 10000 --json
    run "" "$work/p03y" "$PY" 03-race-conditions/race.py -m yield -n 10000 --json
    run "./race -m mutex --yield / race.py -m lock (2 x 10000)" "$work/c03m" "$BIN/race" -m mutex --yield -n 10000 --json
    run "" "$work/p03m" "$PY" 03-race-conditions/race.py -m lock -n 10000 --json
    lost='100.0 * j["results"][0]["lost"] / j["results"][0]["expected"]'
    row 03 "counter += 1: updates lost (%)" "$(jget "$work/c03" "$lost")" "$(jget "$work/p03" "$lost")" % \
        "the GIL hides this race in CPython (not a promise)"
    row 03 "read, yield, write: lost (%)" "$(jget "$work/c03y" "$lost")" "$(jget "$work/p03y" "$lost")" % \
        "a call between read and write: lost in both"
    row 03 "the same under a lock: lost (%)" "$(jget "$work/c03m" "$lost")" "$(jget "$work/p03m" "$lost")" % \
        "the fix is exact in both"
fi

if want 04; then
    run "./queue / queue.py (2 producers, 2 consumers, 20000 items)" "$work/c04q" "$BIN/queue" -p 2 -c 2 -n 20000 --json
    run "./mpqueue (pipe)" "$work/c04m" "$BIN/mpqueue" -p 2 -c 2 -n 20000 --json
    run "" "$work/p04" "$PY" 04-pipes-queues/queue.py -p 2 -c 2 -n 20000 --json
    row 04 "queue between threads (items/s)" "$(jget "$work/c04q" 'j["items_per_sec"]')" "$(jget "$work/p04" 'j["runs"][0]["items_per_sec"]')" items/s \
        "$(jget "$work/p04" '"exactly once in both" if j["runs"][0]["exactly_once"] else "Python: NOT exactly once"')"
    row 04 "queue between processes (items/s)" "$(jget "$work/c04m" 'j["items_per_sec"]')" "$(jget "$work/p04" 'j["runs"][1]["items_per_sec"]')" items/s \
        "each item pickled, through a pipe and a feeder thread"
fi

if want 05; then
    text=$work/text.txt # the kit's own READMEs (English and Russian), ~2 MB
    i=0
    while [ $i -lt 25 ]; do cat README.md 0[1-5]-*/README.md CONTRIBUTING.md; i=$((i + 1)); done >"$text"
    run "./wordcount -j 2 / wordcount.py -j 2 ($(($(wc -c <"$text") / 1024)) KiB of READMEs)" "$work/c05" "$BIN/wordcount" -j 2 --stats "$work/c05.json" "$text"
    run "" "$work/p05" "$PY" 05-mapreduce/wordcount.py -j 2 --stats "$work/p05.json" "$text"
    run "wordcount.py -j 1 (collections.Counter alone)" "$work/p05s" "$PY" 05-mapreduce/wordcount.py -j 1 --stats "$work/p05s.json" "$text"
    if cmp -s "$work/c05" "$work/p05" && cmp -s "$work/c05" "$work/p05s"; then same="outputs byte-identical"; else same="OUTPUTS DIFFER"; fi
    row 05 "word count, 2 workers (s)" "$(jget "$work/c05.json" 'j["seconds"]["total"]')" "$(jget "$work/p05.json" 'j["seconds"]["total"]')" s "$same"
    row 05 "word count, Counter alone (s)" "$(jget "$work/c05.json" 'j["seconds"]["total"]')" "$(jget "$work/p05s.json" 'j["seconds"]["total"]')" s \
        "one process: no pickling, and no parallelism"
fi

# The table and the JSON, from the rows.
mkdir -p "$(dirname "$OUT")"
"$PY" - "$rows" "$OUT" <<'EOF'
import json, math, sys
rows = [l.rstrip("\n").split("|") for l in open(sys.argv[1], encoding="utf-8") if l.strip()]
def num(s):
    try:
        return float(s)
    except ValueError:
        return math.nan
def show(v, unit):
    if math.isnan(v):
        return "-"
    if unit in ("us", "items/s"):
        return f"{v:,.0f} {unit}"
    return f"{v:.3f} s" if unit == "s" else f"{v:.2f}{unit}"
out, table = [], [("lab", "lesson", "C", "Python", "Python/C", "to notice")]
for lab, lesson, c, p, unit, note in rows:
    c, p = num(c), num(p)
    ratio = p / c if c and not (math.isnan(c) or math.isnan(p)) else math.nan
    out.append({"lab": lab, "lesson": lesson, "c": None if math.isnan(c) else c,
                "python": None if math.isnan(p) else p, "unit": unit,
                "ratio": None if math.isnan(ratio) else ratio, "notice": note})
    table.append((lab, lesson, show(c, unit), show(p, unit), "-" if math.isnan(ratio) else f"{ratio:.2f}", note))
w = [max(len(r[i]) for r in table) for i in range(6)]
for k, r in enumerate(table):
    print("  ".join(r[i].rjust(w[i]) if i in (2, 3, 4) else r[i].ljust(w[i]) for i in range(6)).rstrip())
    if k == 0:
        print("  ".join("-" * w[i] for i in range(6)))
json.dump({"rows": out}, open(sys.argv[2], "w"), ensure_ascii=False, indent=1)
print(f"\nfigures in {sys.argv[2]}; reported, never asserted: they depend on the machine and its load.")
EOF
