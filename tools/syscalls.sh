#!/bin/sh
# syscalls.sh - `make syscalls`: process vs thread at the kernel's level.
#
# fork() and pthread_create() both end in clone(2) or clone3(2) (glibc 2.34+
# creates threads with clone3 and still forks with clone; the kernel runs
# both through kernel_clone()), and this script says which it saw.
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
# One traced call per line: "PID name(args) = result".  Print each under
# what made it, wrapped at argument boundaries (", ", or "|" inside the
# flags) so that no flag is cut; remember which system calls were used.
calls=$(grep -E '(clone3?|v?fork)\(' "$log" | grep -v 'resumed>' | sed 's/^[0-9]* *//')
[ -n "$calls" ] || { echo "make syscalls: strace saw no fork or clone" >&2; cat "$log" >&2; exit 1; }
printf '%s\n' "$calls" | while IFS= read -r line; do
    case "$line" in
    *CLONE_THREAD*) kind="pthread_create -> a THREAD : shares memory (CLONE_VM) and the thread group (CLONE_THREAD)" ;;
    *) kind="fork           -> a PROCESS: own copy of memory, no CLONE_VM, no CLONE_THREAD" ;;
    esac
    printf '\n  %s\n' "$kind"
    printf '%s\n' "$line" | awk -v max=100 '{
        out = "    "; rest = $0
        while (length(out) + length(rest) > max) {
            room = max - length(out); cut = 0
            for (i = 1; i < length(rest) && i <= room; i++) {
                if (substr(rest, i, 2) == ", ") cut = i
                else if (substr(rest, i, 1) == "|") cut = i
            }
            if (cut == 0) break
            print out substr(rest, 1, cut); rest = substr(rest, cut + 1); sub(/^ /, "", rest)
            out = "        "
        }
        print out rest }'
done
fork_call=$(printf '%s\n' "$calls" | grep -v CLONE_THREAD | head -n 1 | sed 's/(.*//')
thread_call=$(printf '%s\n' "$calls" | grep CLONE_THREAD | head -n 1 | sed 's/(.*//')
echo
if [ "$fork_call" = "$thread_call" ]; then
    echo "Same system call ($fork_call), different sharing: that is the whole difference."
else
    # glibc uses clone3 for threads where the kernel has it (Linux >= 5.3),
    # and still plain clone for fork(); both enter the kernel's kernel_clone().
    echo "fork() called $fork_call, pthread_create() called $thread_call: two entry points of the"
    echo "kernel's one kernel_clone().  Different sharing flags: that is the whole difference."
fi
