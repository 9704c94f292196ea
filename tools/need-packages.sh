#!/bin/sh
# need-packages.sh CC - make sure what `make test` needs is there, so that
# the README's `make test` is green on a bare Debian/Ubuntu.
#
# Every package the suite uses is one `need` line below: the Debian package,
# whether the suite cannot build without it (required) or only some tests use
# it (optional), what it is for, and a command that succeeds when it is
# usable.  Missing packages are installed with one apt-get (as root, or
# through sudo), saying so.  Where that is impossible:
#   - a missing required package stops here, with the exact command to run;
#   - a missing optional one is reported, and the tests that need it skip with
#     a one-line reason that `make test` repeats at the end.
# KIT_NO_INSTALL=1 only reports (nothing is installed).
cc=${1:-cc}
who=${KIT_WHO:-make test}

criterion_usable() {
    printf '#include <criterion/criterion.h>\nTest(probe, ok) {}\n' |
        $cc -x c - -o /dev/null -lcriterion >/dev/null 2>&1
}

joblib_usable() { /usr/bin/python3 -c 'import joblib'; }

missing= missing_required= report=
# need PACKAGE required|optional "WHAT IT IS FOR" PROBE-COMMAND [ARGS...]
# KIT_NEED_ONLY="PKG ..." checks only those (make compare: python3-joblib);
# KIT_WHO names the caller in messages (default: make test).
need() {
    pkg=$1 kind=$2 what=$3; shift 3
    case " ${KIT_NEED_ONLY:-$pkg} " in *" $pkg "*) ;; *) return 0 ;; esac
    # kind "bench": only when named in KIT_NEED_ONLY (make bench), never for make test
    [ "$kind" = bench ] && [ -z "${KIT_NEED_ONLY:-}" ] && return 0
    "$@" >/dev/null 2>&1 && return 0
    missing="$missing $pkg"
    [ "$kind" = required ] && missing_required="$missing_required $pkg"
    report="$report
$who: $pkg ($what) is not installed."
}

# ---- what the suite needs: one line per package ----------------------------
need libcriterion-dev required "Criterion, the test framework" criterion_usable
need unifdef          optional "make handout, for the classroom_handout tests" command -v unifdef
need strace           optional "make syscalls, for the classroom_syscalls test" command -v strace
need openmpi-bin      optional "mpirun, for lab 05's wordcount_mpi tests" command -v mpirun
need libopenmpi-dev   optional "mpicc, to build lab 05's wordcount_mpi" command -v mpicc
need python3-joblib   optional "Debian's python3 and joblib, for the Python twins" joblib_usable
need wamerican        bench    "the word list lab 05's benchmark text is drawn from" test -r /usr/share/dict/words
# ------------------------------------------------------------------------------

[ -z "$missing" ] && exit 0
printf '%s\n' "${report#?}" >&2

if [ "$(id -u)" = 0 ]; then sudo=; elif command -v sudo >/dev/null 2>&1; then sudo=sudo; else sudo=none; fi
if [ "${KIT_NO_INSTALL:-0}" != 1 ] && command -v apt-get >/dev/null 2>&1 && [ "$sudo" != none ]; then
    echo "$who: installing them now: ${sudo:+sudo }apt-get install -y$missing" >&2
    if $sudo apt-get update -qq >&2 && $sudo apt-get install -y -qq $missing >&2; then
        # Check again: a package that installed but does not work is still missing.
        exec env KIT_NO_INSTALL=1 sh "$0" "$cc"
    fi
    echo "$who: the install did not work; see the messages above." >&2
fi

how="sudo apt-get install -y$missing"
command -v apt-get >/dev/null 2>&1 ||
    how="your package manager (Debian names; Criterion: https://github.com/Snaipe/Criterion)"
if [ -n "$missing_required" ]; then
    echo "$who: cannot run the suite without$missing_required; install with: $how" >&2
    exit 1
fi
echo "$who: going on; the tests that need$missing will skip (install with: $how)" >&2
exit 0
