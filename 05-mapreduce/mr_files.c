/*
 * mr_files.c - the job's temporary files.  Not a phase of the slide but
 * what makes the process workers safe: the intermediate files mr-<m>-<r>
 * (map task m's partition r) and mr-out-<r> (reduce task r's sorted run)
 * live in a private temp directory, each written under a temporary name
 * and renamed (a reader never sees half a file).
 *
 * The cleanup is common/proc.h's, not a copy: mr_run opens a cleanup scope,
 * the directory is made by kit_mkdtemp (created and recorded with the stop
 * signals blocked) and the workers are forked by kit_fork.  At exit, on
 * SIGINT/SIGTERM/SIGHUP/SIGQUIT or when the scope closes, the workers are
 * killed and reaped and the directory is removed with the files that are in
 * it -- the cost of a cleanup is what exists, not every name that might.
 *
 * A write error in a worker process (a full TMPDIR: ENOSPC) is not a crash:
 * mr_io_failed sends its cause to the coordinator, which fails the job in
 * one line naming it instead of re-running the task (mr_procs.c).
 *
 * Before: mr_procs.c (the workers that write these files).
 */
#include "mr_internal.h"

#include "proc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

static char job_dir[PATHLEN]; /* "" when there is none */

void mr_make_tmpdir(void)
{
    if (job_dir[0])
        return;
    const char *base = getenv("TMPDIR");
    if (!base || !*base)
        base = "/tmp";
    char tmpl[PATHLEN];
    int n = snprintf(tmpl, sizeof tmpl, "%s/%s.XXXXXX", base, kit_prog());
    if (n < 0 || (size_t)n >= sizeof tmpl - 32)
        die("TMPDIR is too long: %s", base);
    kit_mkdtemp(tmpl); /* dies naming tmpl on failure */
    memcpy(job_dir, tmpl, (size_t)n + 1);
}

const char *mr_job_tmpdir(void) { return job_dir; }

void mr_remove_tmpdir(void)
{
    if (!job_dir[0])
        return;
    kit_remove_dir(job_dir);
    job_dir[0] = '\0';
}

/* dir/mr-<m>-<r><sfx> (m < 0: mr-out-<r><sfx>) */
void mr_inter_name(char *dst, int m, int r, const char *sfx)
{
    int n = m < 0 ? snprintf(dst, PATHLEN, "%s/mr-out-%d%s", job_dir, r, sfx)
                  : snprintf(dst, PATHLEN, "%s/mr-%d-%d%s", job_dir, m, r, sfx);
    if (n < 0 || n >= PATHLEN)
        die("internal error: an intermediate file name is too long");
}

/* ---------------------------------------------------------------------
 * I/O errors: in a worker process, the task fails with its cause
 * ------------------------------------------------------------------- */
static int report_fd = -1; /* a worker's result pipe; -1 in the coordinator */

void mr_io_report_to(int fd) { report_fd = fd; }

void mr_io_failed(const char *fmt, ...)
{
    int e = errno;
    char msg[MR_IO_MSG];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (n < 0)
        msg[0] = '\0';
    if (report_fd < 0) /* the coordinator, or a thread: die as usual */
        die("%s: %s", msg, strerror(e));
    mr_worker_send_error(report_fd, msg, e); /* mr_procs.c; _exits */
}

/* ---------------------------------------------------------------------
 * Writing and reading the intermediate files
 * ------------------------------------------------------------------- */

/* Publish b as `final`: write a temp name, then rename (atomic), so a
 * reader sees the whole file or none. */
void mr_publish(const buf_t *b, const char *tmp, const char *final)
{
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0)
        mr_io_failed("create %s", tmp);
    if (!kit_write_all(fd, b->p, b->len))
        mr_io_failed("write %s", tmp);
    if (close(fd) != 0) /* NFS and some full disks report here */
        mr_io_failed("close %s", tmp);
    if (rename(tmp, final) != 0)
        mr_io_failed("rename %s", tmp);
}

void mr_slurp(const char *path, buf_t *b)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        mr_io_failed("open %s", path);
    b->len = 0;
    struct stat st; /* one allocation, big enough, if fstat says */
    if (fstat(fd, &st) == 0 && st.st_size > 0)
        buf_reserve(b, (size_t)st.st_size + 1);
    for (;;) {
        buf_reserve(b, 1); /* room to see EOF (or a file that grew) */
        ssize_t n = kit_read_all(fd, b->p + b->len, b->cap - b->len);
        if (n < 0)
            mr_io_failed("read %s", path);
        if (n == 0)
            break;
        b->len += (size_t)n;
    }
    close(fd);
}
