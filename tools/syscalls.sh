#!/bin/sh
# syscalls.sh - `make syscalls`: process vs thread at the kernel's level.
#
# fork() and pthread_create() both end in clone(2) (clone3 on newer glibc).
# The difference is the flags: a thread shares the address space and is
# part of the same thread group (CLONE_VM|CLONE_THREAD); a process shares
# neither.  strace shows it.
BIN_DIR=${BIN_DIR:-.}
if ! command -v strace >/dev/null 2>&1; then
    echo "make syscalls: strace is not installed: sudo apt-get install -y strace" >&2
    exit 1
fi
[ "$(uname -s)" = Linux ] || { echo "make syscalls: strace and clone(2) are Linux-only" >&2; exit 1; }
log=$(mktemp "${TMPDIR:-/tmp}/kit-syscalls.XXXXXX") || exit 1
trap 'rm -f "$log"' EXIT INT TERM

echo "One fork() and one pthread_create(), traced (./spawn --count 1):"
if ! strace -f -qq -e trace=clone,clone3,fork,vfork -o "$log" "$BIN_DIR/spawn" --count 1 >/dev/null 2>&1; then
    echo "make syscalls: strace could not trace (ptrace not permitted here?)" >&2
    cat "$log" >&2
    exit 1
fi
grep -E 'clone3?\(|fork\(' "$log" | grep -v 'resumed>' | while IFS= read -r line; do
    case "$line" in
    *CLONE_THREAD*) kind="pthread_create -> a THREAD : shares memory (CLONE_VM) and the thread group (CLONE_THREAD)" ;;
    *) kind="fork           -> a PROCESS: own copy of memory, no CLONE_VM, no CLONE_THREAD" ;;
    esac
    printf '\n  %s\n    %s\n' "$kind" "$(printf '%s' "$line" | cut -c1-160)"
done
echo
echo "Same system call, different sharing: that is the whole difference."
