#!/bin/sh
# need-mpi.sh - make sure Open MPI (mpicc, mpirun) is usable, for lab 05's
# wordcount_mpi and its tests.  If it is missing, install it with apt-get (as
# root, or through sudo), saying so; where that is impossible, say how in one
# line and exit 1: `make test` then runs without it and the MPI tests skip,
# saying why.  (The same behaviour as need-criterion.sh.)
have() { command -v mpicc >/dev/null 2>&1 && command -v mpirun >/dev/null 2>&1; }
have && exit 0

pkgs="openmpi-bin libopenmpi-dev"
if command -v apt-get >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ]; then sudo=; elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo=sudo; else sudo=none; fi
    if [ "$sudo" != none ]; then
        echo "make test: Open MPI is not installed; installing it now: ${sudo:+sudo }apt-get install -y $pkgs" >&2
        $sudo apt-get update -qq >&2 && $sudo apt-get install -y -qq $pkgs >&2 && have && exit 0
        echo "make test: the install did not work (see above); the MPI tests will skip." >&2
        exit 1
    fi
    echo "make test: Open MPI is not installed, the MPI tests will skip; install it with:  sudo apt-get install -y $pkgs" >&2
elif command -v brew >/dev/null 2>&1; then
    echo "make test: Open MPI is not installed, the MPI tests will skip; install it with:  brew install open-mpi" >&2
else
    echo "make test: Open MPI is not installed, the MPI tests will skip; install openmpi (mpicc, mpirun) from your package manager." >&2
fi
exit 1
