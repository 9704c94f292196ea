/*
 * files.h - the files a user names on the command line: an output file
 * (-o PATH) that replaces nothing that was not ours, and input files that
 * are looked at before they are read.
 *
 *   kit_out_open / kit_out_commit / kit_out_abort
 *       -o PATH the way `sort -o` and editors do it.  When PATH is (or a
 *       symlink leads to) a regular file with one name, or nothing yet, the
 *       output goes to a temp file beside it (".kitXXXXXX" in the same
 *       directory, so rename() is atomic and a 250-character name still
 *       fits), and commit renames it over the file: readers see the old
 *       content or the new, never half; a failure before commit leaves the
 *       old file untouched.  The new file keeps an existing file's mode, or
 *       gets 0666 & ~umask.  A symlink stays a symlink: the file it names is
 *       replaced.  Anything else -- a device (/dev/null, /dev/stdout), a
 *       FIFO, a file with several hard links -- is written through, in
 *       place, as sort -o does: replacing it would cut the link, or put a
 *       regular file where a device was.  "-" is standard output.
 *
 *       The temp file is recorded in proc.h's cleanup (inside a cleanup
 *       scope), so SIGINT, SIGTERM, SIGHUP, SIGQUIT or die() remove it.
 *       One output file at a time:
 *
 *           FILE *out = kit_out_open(path);    -- dies on failure
 *           ... fprintf(out, ...) ...
 *           kit_out_commit();                   -- flushed, checked, renamed
 *
 *       Open the scope-using parts of a program (a MapReduce job, a pool)
 *       after kit_out_open and close them before kit_out_commit: scopes
 *       nest (proc.h).
 *
 *   kit_open_input
 *       open(O_RDONLY | O_NONBLOCK), then fstat, then back to blocking: a
 *       FIFO named as an input is refused (or read) without hanging in
 *       open() first, and a directory or device is named as such.
 *
 * See also: proc.h (the cleanup), rename(2), sort(1)'s -o, gnulib's
 * "supersede" module.
 */
#ifndef KIT_FILES_H
#define KIT_FILES_H

#include <stdbool.h>
#include <stdio.h>

/* Start writing path (see above).  Returns the stream to write to; dies
 * with a message naming path when it cannot be created. */
FILE *kit_out_open(const char *path);

/* Finish: flush and close the stream (checked), then put the file in
 * place.  Dies with a message naming the path on any failure; the old
 * file is then untouched and the temp file removed (by the exit cleanup). */
void kit_out_commit(void);

/* Give up: close the stream and remove the temp file; a written-through
 * target keeps what was written.  For the error paths that do not die. */
void kit_out_abort(void);

/* Open path for reading without blocking in open() (O_NONBLOCK, then
 * cleared).  With regular_only, anything but a regular file is refused.
 * Returns the descriptor; or -1 with *why set to a phrase for the message
 * "PROG: PATH: WHY" ("No such file or directory", "is a FIFO, not a
 * regular file"). */
int kit_open_input(const char *path, bool regular_only, const char **why);

/* "a FIFO", "a directory", "a character device", ... for a st_mode. */
const char *kit_file_kind(unsigned mode);

#endif
