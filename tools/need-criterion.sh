#!/bin/sh
# need-criterion.sh CC - make sure Criterion (the test framework) is usable.
# If it is missing, install it with apt-get (as root, or through sudo), saying
# so; where that is impossible, stop at once with the exact command to run.
cc=${1:-cc}
probe() {
    printf '#include <criterion/criterion.h>\nTest(probe, ok) {}\n' |
        $cc -x c - -o /dev/null -lcriterion >/dev/null 2>&1
}
probe && exit 0

pkg=libcriterion-dev
echo "make test: Criterion (Debian/Ubuntu package $pkg) is not installed." >&2
if command -v apt-get >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ]; then sudo=; elif command -v sudo >/dev/null 2>&1; then sudo=sudo; else sudo=none; fi
    if [ "$sudo" != none ]; then
        echo "make test: installing it now: ${sudo:+sudo }apt-get install -y $pkg" >&2
        $sudo apt-get update -qq >&2 && $sudo apt-get install -y -qq $pkg >&2 && probe && exit 0
        echo "make test: the install did not work; see the messages above." >&2
        exit 1
    fi
    echo "make test: install it with:  sudo apt-get install -y $pkg" >&2
elif command -v brew >/dev/null 2>&1; then
    echo "make test: install it with:  brew install criterion" >&2
else
    echo "make test: install Criterion 2.4 from your package manager (https://github.com/Snaipe/Criterion)." >&2
fi
exit 1
