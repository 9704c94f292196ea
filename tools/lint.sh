#!/bin/sh
# lint.sh - static checks over every C file of the kit: cppcheck, clang-tidy
# (the checks listed and justified in .clang-tidy) and clang-format
# (.clang-format).  Run by `make lint`; exits 1 if any tool complains.
#
#   tools/lint.sh                  all three, on common/ tests/ and every lab
#   LINT_TOOLS="tidy" tools/lint.sh    only some of: cppcheck tidy format
#   LINT_FILES="03-race-conditions/race.c" tools/lint.sh   chosen files only
#
# The flags are the kit's own (the Makefile passes LINT_CFLAGS); header-only
# problems are reported through the .c files that include them.
set -u
cd "$(dirname "$0")/.." || exit 1

CFLAGS_LINT=${LINT_CFLAGS:-"-std=c11 -D_POSIX_C_SOURCE=200809L -Icommon -pthread"}
TOOLS=${LINT_TOOLS:-"cppcheck tidy format"}
JOBS=${LINT_JOBS:-2}

# The files: shared helpers, tests (fuzz targets included) and every lab.
if [ -n "${LINT_FILES:-}" ]; then
    C_FILES=$LINT_FILES
    H_FILES=""
else
    C_FILES=$(ls common/*.c tests/*.c tests/fuzz/*.c [0-9][0-9]-*/*.c 2>/dev/null)
    H_FILES=$(ls common/*.h tests/*.h tests/fuzz/*.h [0-9][0-9]-*/*.h 2>/dev/null)
fi
# Fuzz targets include lab modules by name; give them every lab folder.
INC_LABS=$(for d in [0-9][0-9]-*/; do [ -d "$d" ] && printf ' -I%s' "${d%/}"; done)

need() {
    command -v "$1" >/dev/null 2>&1 && return 0
    echo "lint: '$1' is not installed (Debian/Ubuntu: sudo apt-get install -y $2)" >&2
    return 1
}

status=0
summary=""
report() { # tool verdict detail
    summary="$summary$(printf '  %-12s %-5s %s' "$1" "$2" "$3")
"
    [ "$2" = OK ] || status=1
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/kit-lint.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- cppcheck ----------------------------------------------------------------
# Criterion's Test()/TestSuite() macros are unknown to cppcheck ("unknown
# macro"), and its assertions must look like "stop here if false" or every
# cr_assert(p) is followed by a bogus null-pointer warning: describe them.
# (One more fact goes in the same file: raise(), below.)
write_criterion_cfg() {
    {
        echo '<?xml version="1.0"?>'
        echo '<def format="2">'
        echo '  <define name="Test(suite,name,...)" value="void suite##_##name(void)"/>'
        echo '  <define name="TestSuite(...)" value=""/>'
        echo '  <define name="EXERCISE(...)" value=""/>'
        echo '  <define name="ParameterizedTestParameters(suite,name)" value="struct criterion_test_params suite##_##name##_params(void)"/>'
        echo '  <define name="ParameterizedTest(t,suite,name,...)" value="void suite##_##name(t)"/>'
        for m in assert expect; do
            echo "  <define name=\"cr_$m(c,...)\" value=\"((c) ? (void)0 : abort())\"/>"
            echo "  <define name=\"cr_${m}_not(c,...)\" value=\"(!(c) ? (void)0 : abort())\"/>"
            echo "  <define name=\"cr_${m}_null(c,...)\" value=\"((c) == NULL ? (void)0 : abort())\"/>"
            echo "  <define name=\"cr_${m}_not_null(c,...)\" value=\"((c) != NULL ? (void)0 : abort())\"/>"
            for op in 'eq:==' 'neq:!=' 'lt:&lt;' 'leq:&lt;=' 'gt:&gt;' 'geq:&gt;='; do
                n=${op%%:*}
                o=${op#*:}
                echo "  <define name=\"cr_${m}_$n(a,b,...)\" value=\"((a) $o (b) ? (void)0 : abort())\"/>"
                echo "  <define name=\"cr_${m}_str_$n(a,b,...)\" value=\"(strcmp((a), (b)) $o 0 ? (void)0 : abort())\"/>"
            done
            echo "  <define name=\"cr_${m}_float_eq(a,b,e,...)\" value=\"((void)(a), (void)(b), (void)(e))\"/>"
        done
        echo '  <define name="cr_assert_fail(...)" value="abort()"/>'
        echo '  <define name="cr_fatal(...)" value="abort()"/>'
        echo '  <define name="cr_skip_test(...)" value="abort()"/>'
        # raise() returns when the signal is blocked or handled: the kit's
        # `raise(sig); _exit(128 + sig);` is not unreachable code.
        echo '  <function name="raise"><noreturn>false</noreturn><arg nr="1"/></function>'
        echo '</def>'
    } >"$tmp/criterion.cfg"
}

# The kit's functions that never return (die*, usage_error, kit_opt_fail,
# kit_help) are declared with C11's noreturn / _Noreturn, which cppcheck
# does not honour; without the attribute it reads
#     if (fd < 0) die_errno(...);  read(fd, ...)
# as a read from fd -1 ("either the condition is redundant or...").
NORETURN='-Dnoreturn=__attribute__((noreturn))'
NORETURN2='-D_Noreturn=__attribute__((noreturn))'

# Suppressions, each with its reason:
#   missingIncludeSystem  we do not feed cppcheck the system headers (it
#                         cannot parse glibc's); --library=posix describes them.
#   readdirCalled         it suggests readdir_r, which glibc deprecates and
#                         POSIX.1-2024 removes; readdir on a private DIR is safe.
#   constParameter        argv as `char *const argv[]` is getopt's type; the
#                         const-correctness advice is style, not a bug.
#   unmatchedSuppression  the list above applies to whichever files have it.
run_cppcheck() {
    need cppcheck cppcheck || { report cppcheck FAIL "not installed"; return; }
    write_criterion_cfg
    # shellcheck disable=SC2086 # word splitting of the file and flag lists is wanted
    cppcheck --quiet --std=c11 --enable=warning,style,performance,portability \
        --library=posix --library="$tmp/criterion.cfg" \
        -D_POSIX_C_SOURCE=200809L -D__linux__ "$NORETURN" "$NORETURN2" -Icommon $INC_LABS \
        --inline-suppr --error-exitcode=1 \
        --suppress=missingIncludeSystem --suppress=readdirCalled \
        --suppress=constParameter --suppress=unmatchedSuppression \
        --template='{file}:{line}:{column}: {severity}: {message} [{id}]' \
        $C_FILES >"$tmp/cppcheck.out" 2>&1
    rc=$?
    n=$(grep -c ': \(error\|warning\|style\|performance\|portability\):' "$tmp/cppcheck.out")
    if [ $rc -eq 0 ] && [ "$n" -eq 0 ]; then
        report cppcheck OK "$(echo "$C_FILES" | wc -w | tr -d ' ') files"
    else
        cat "$tmp/cppcheck.out"
        report cppcheck FAIL "$n finding(s), listed above"
    fi
}

# ---- clang-tidy ---------------------------------------------------------------
run_tidy() {
    need clang-tidy clang-tidy || { report clang-tidy FAIL "not installed"; return; }
    # One file per process, $JOBS at a time; each prints only its findings.
    # shellcheck disable=SC2086
    printf '%s\n' $C_FILES | xargs -P "$JOBS" -I{} sh -c \
        'out=$(clang-tidy --quiet "$1" -- $2 2>&1) || { printf "%s\n" "$out"; echo "lint: clang-tidy failed on $1"; }' \
        sh {} "$CFLAGS_LINT $INC_LABS" >"$tmp/tidy.out" 2>&1
    n=$(grep -c ' \(error\|warning\): ' "$tmp/tidy.out")
    f=$(grep -c '^lint: clang-tidy failed' "$tmp/tidy.out")
    if [ "$n" -eq 0 ] && [ "$f" -eq 0 ]; then
        report clang-tidy OK "$(echo "$C_FILES" | wc -w | tr -d ' ') files, checks from .clang-tidy"
    else
        grep -v '^[0-9]* warnings\? generated\.$' "$tmp/tidy.out"
        report clang-tidy FAIL "$n finding(s) in $f file(s), listed above"
    fi
}

# ---- clang-format ---------------------------------------------------------------
run_format() {
    need clang-format clang-format || { report clang-format FAIL "not installed"; return; }
    bad=""
    for f in $C_FILES $H_FILES; do
        clang-format --dry-run --Werror "$f" >/dev/null 2>&1 || bad="$bad $f"
    done
    if [ -z "$bad" ]; then
        report clang-format OK "layout of .clang-format"
    else
        for f in $bad; do
            echo "lint: $f is not formatted (clang-format -i $f; the diff below)"
            clang-format "$f" | diff -u "$f" - | sed -n '3,24p'
        done
        report clang-format FAIL "$(echo "$bad" | wc -w | tr -d ' ') file(s) to format:$bad"
    fi
}

for t in $TOOLS; do
    case $t in
    cppcheck) run_cppcheck ;;
    tidy) run_tidy ;;
    format) run_format ;;
    *) echo "lint: unknown tool '$t' (cppcheck, tidy, format)" >&2; exit 2 ;;
    esac
done

echo
echo "lint summary:"
printf '%s' "$summary"
exit $status
