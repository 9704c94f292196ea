#!/bin/sh
# bench.sh - `make bench`: every lab's figures, reported, never pass/fail.
#
# Each lab folder may have `bench*.steps` files; it is sourced here with
# BIN_DIR set and may call `bench_title "text"` and run programs freely.
# Numbers depend on the machine and on what else runs: use an idle machine.
# LAB=05 runs one lab's benchmarks.
BIN_DIR=${BIN_DIR:-.}
export BIN_DIR
# Lab 05's text is drawn from a word list: install it as make test installs
# Criterion (tools/need-packages.sh), or that lab's tables say why they skip.
if [ -z "${LAB:-}" ] || [ "$LAB" = 05 ]; then
    KIT_WHO="make bench" KIT_NEED_ONLY=wamerican sh tools/need-packages.sh || true
fi
bench_title() { printf '\n== %s ==\n' "$1"; }
printf 'make bench on %s, %s CPUs, %s\n' "$(uname -sm)" \
    "$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo '?')" "$(date -u '+%Y-%m-%d %H:%M UTC')"
for dir in 0[1-9]-*/; do
    n=${dir%%-*}
    [ -n "${LAB:-}" ] && [ "$LAB" != "$n" ] && continue
    # bench.steps first (it opens the lab), then any bench-*.steps
    for f in "$dir"bench.steps "$dir"bench-*.steps; do
        [ -f "$f" ] && . "./$f"
    done
done
exit 0
