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

/* Name printed in front of every message ("race: ..."). */
void kit_set_prog(const char *name);
const char *kit_prog(void);

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
