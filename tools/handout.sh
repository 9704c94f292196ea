#!/bin/sh
# handout.sh - `make handout`: the student version of the kit.
#
# Solution regions in the sources are written as
#
#     #ifndef HANDOUT
#         ... the instructor's solution ...
#     #else
#         /* TODO(03.1): ... */  ... a stub that compiles ...
#     #endif
#
# unifdef(1) (Debian package `unifdef`) resolves exactly that one symbol and
# leaves every other #if alone, so the handout keeps the stubs and loses the
# solutions and the markers.  Output: dist/handout/ (same layout, Makefile,
# READMEs and tests) and dist/handout.tar.gz.  What only the instructor needs
# (this script, CI, the tests of the classroom tooling) is left out.
set -eu
out=${1:-dist}
dest=$out/handout

if ! command -v unifdef >/dev/null 2>&1; then
    echo "make handout: unifdef is not installed: sudo apt-get install -y unifdef" >&2
    exit 1
fi

# The files that make up the kit: what git tracks, or everything but builds.
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    files=$(git ls-files --cached --others --exclude-standard)
else
    files=$(find . -type f ! -path './build/*' ! -path './dist/*' ! -path './.git/*' | sed 's|^\./||')
fi

rm -rf "$dest" "$out/handout.tar.gz"
mkdir -p "$dest"
n=0
for f in $files; do
    [ -f "$f" ] || continue
    case "$f" in
    # instructor-only: this script and the tests of the classroom tooling
    tools/handout.sh|tests/test_classroom.c|.ci/*|dist/*|build/*) continue ;;
    esac
    mkdir -p "$dest/$(dirname "$f")"
    case "$f" in
    *.c|*.h)
        # exit status: 0 unchanged, 1 changed, 2 trouble
        rc=0; unifdef -DHANDOUT -o "$dest/$f" "$f" || rc=$?
        if [ "$rc" -gt 1 ]; then
            echo "make handout: unifdef failed on $f" >&2
            exit 1
        fi
        [ "$rc" -eq 1 ] && n=$((n + 1))
        ;;
    *) cp -p "$f" "$dest/$f" ;;
    esac
done

# No marker may survive.
if grep -rln -e '#if.*HANDOUT' -e 'defined *( *HANDOUT' "$dest" --include='*.c' --include='*.h'; then
    echo "make handout: solution markers left in the files above" >&2
    exit 1
fi

tar -C "$out" -czf "$out/handout.tar.gz" handout
echo "make handout: $dest and $out/handout.tar.gz ($n files with exercises stubbed)"
