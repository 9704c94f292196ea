/*
 * err.h - error reporting for every program of the kit.
 *
 * Two kinds of failure, two exit codes (the kit's convention):
 *   usage errors   -> one line on stderr naming the option, exit 2
 *   runtime errors -> message on stderr, exit 1
 *
 * System calls report through errno; pthread functions *return* an error
 * code and leave errno alone.  Keep the two paths apart: die_errno() reads
 * errno, die_code() takes the code you were given.
 */
#ifndef KIT_ERR_H
#define KIT_ERR_H

#include <stdnoreturn.h>

#define KIT_EXIT_RUNTIME 1
#define KIT_EXIT_USAGE 2

#if defined(__GNUC__)
#define KIT_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define KIT_PRINTF(a, b)
#endif

/* Name printed in front of every message ("race: ...").  Call it first in
 * main(): it also makes the standard streams safe (kit_std_streams_ok) and,
 * once, arranges for the final write to be checked (kit_finish_stdout at
 * exit), so no program needs more than this one line for either. */
void kit_set_prog(const char *name);
const char *kit_prog(void);

/* Descriptors 0, 1 and 2 that are closed at start are opened on /dev/null
 * in the mode that makes their use fail (stdin write-only, stdout and
 * stderr read-only; gnulib's xstdopen does the same): no file opened later
 * can take their place (`prog a.txt - <&-` would read a.txt twice), and a
 * read of a closed stdin or a write to a closed stdout still fails with
 * EBADF, as it would have.  Dies if /dev/null cannot be opened. */
void kit_std_streams_ok(void);

/* The final write checked: flush and close stdout; if that fails (stdout
 * closed, /dev/full, a disk full, EPIPE with SIGPIPE ignored), say so once
 * ("threads: write error on standard output: No space left on device") and
 * _exit(1).  Silent after die()/usage_error(), which have reported already.
 * kit_set_prog registers it with atexit(); registered first, it runs last,
 * after every other exit handler has had its chance to print. */
void kit_finish_stdout(void);

noreturn void die(const char *fmt, ...) KIT_PRINTF(1, 2);
noreturn void die_errno(const char *fmt, ...)
    KIT_PRINTF(1, 2); /* appends strerror(errno) */
noreturn void die_code(int err, const char *fmt, ...)
    KIT_PRINTF(2, 3); /* appends strerror(err) */
void warn_msg(const char *fmt, ...) KIT_PRINTF(1, 2);
void warn_errno(const char *fmt, ...) KIT_PRINTF(1, 2);
noreturn void usage_error(const char *fmt, ...)
    KIT_PRINTF(1, 2); /* one line, exit 2 */

#endif
