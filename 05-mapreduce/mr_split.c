/*
 * mr_split.c - SPLITTING, the slide's first step: open the inputs and cut
 * them into splits, one per map task, like HDFS blocks; every boundary
 * moves to just after a separator, so no word is cut in two.
 *
 * Before: mr_job.c (which calls mr_job_open_inputs and mr_split_plan).
 * Next: mr_map.c, where a map task reads its split.
 */
#include "mr_internal.h"
#include "mr_split.h"

#include "files.h"
#include "proc.h"
#include "words.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

uint64_t mr_default_block(uint64_t total, int jobs)
{
    /* About 4 splits per worker, and at least 8: enough to balance the
     * load and to lose little to a crash, few enough that per-task costs
     * (a table, R files) stay small -- and their number, hence memory,
     * does not grow with the input.  The "at least 8" makes -j 1 and -j 2
     * run the same tasks, so comparing them measures the parallelism. */
    uint64_t splits = 4 * (uint64_t)(jobs > 2 ? jobs : 2);
    uint64_t want = total / splits + 1;
    uint64_t min = 1u << 20;
    want = want < min ? min : want;
    return (want + 65535) / 65536 * 65536;
}

/* "-" (standard input) that is not a regular file -- a pipe, a terminal --
 * cannot be read at an offset: copy it into the job's directory first, as
 * `hdfs dfs -put` would.  A closed stdin was reopened write-only on
 * /dev/null by kit_set_prog, so reading it fails here (EBADF): the job
 * stops with a message instead of reading a file opened as descriptor 0. */
static int spool_stdin(void)
{
    mr_make_tmpdir();
    char path[PATHLEN];
    snprintf(path, sizeof path, "%s/stdin", mr_job_tmpdir());
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
    if (fd < 0)
        die_errno("create %s", path);
    char *tmp = xmalloc(CHUNK);
    for (;;) {
        ssize_t n = read(STDIN_FILENO, tmp, CHUNK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            die_errno("standard input");
        if (n == 0)
            break;
        if (!kit_write_all(fd, tmp, (size_t)n))
            die_errno("write %s", path);
    }
    free(tmp);
    return fd;
}

/* Every input is looked at before it is read: kit_open_input opens with
 * O_NONBLOCK and fstat()s, so a FIFO named as a FILE is refused at once
 * instead of hanging in open() until a writer comes. */
void mr_job_open_inputs(mr_job *job)
{
    const mr_config *cfg = job->cfg;
    job->nfiles = cfg->nfiles;
    job->fds = xcalloc((size_t)job->nfiles, sizeof *job->fds);
    job->sizes = xcalloc((size_t)job->nfiles, sizeof *job->sizes);
    job->names = xcalloc((size_t)job->nfiles, sizeof *job->names);
    int stdin_fd = -1;
    for (int i = 0; i < job->nfiles; i++) {
        const char *f = cfg->files[i];
        struct stat st;
        if (strcmp(f, "-") == 0) {
            job->names[i] = "standard input";
            if (stdin_fd < 0) {
                if (fstat(STDIN_FILENO, &st) != 0)
                    die_errno("standard input");
                stdin_fd = S_ISREG(st.st_mode) ? STDIN_FILENO : spool_stdin();
            }
            job->fds[i] = stdin_fd;
        } else {
            const char *why;
            job->names[i] = f;
            job->fds[i] = kit_open_input(f, true, &why);
            if (job->fds[i] < 0)
                die("%s: %s", f, why);
        }
        if (fstat(job->fds[i], &st) != 0)
            die_errno("%s", job->names[i]);
        job->sizes[i] = (uint64_t)st.st_size;
        job->total += job->sizes[i];
    }
}

void mr_read_at(int fd, const char *name, uint64_t size, char *p, size_t n,
                uint64_t off)
{
    while (n > 0) {
        ssize_t r = pread(fd, p, n, (off_t)off);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            die_errno("%s: read failed", name);
        }
        if (r == 0)
            die("%s: changed size while being read (it was %llu bytes)", name,
                (unsigned long long)size);
        p += r;
        n -= (size_t)r;
        off += (uint64_t)r;
    }
}

/* Boundary b of a file moves to just after the first separator at or
 * after b-1, so the record that straddles b stays whole in the earlier
 * split (Hadoop's LineRecordReader does the same with lines). */
static uint64_t align_boundary(int fd, const char *name, uint64_t size,
                               uint64_t b)
{
    char win[4096];
    uint64_t pos = b - 1;
    while (pos < size) {
        size_t n = size - pos < sizeof win ? (size_t)(size - pos) : sizeof win;
        mr_read_at(fd, name, size, win, n, pos);
        size_t i = words_cut(win, n, 0);
        if (i < n)
            return pos + i + 1;
        pos += n;
    }
    return size;
}

mr_split *mr_split_plan(int nfiles, const int *fds, const uint64_t *sizes,
                        const char *const *names, uint64_t block, int jobs,
                        int *nsplits)
{
    if (block == 0) {
        uint64_t total = 0;
        for (int f = 0; f < nfiles; f++)
            total += sizes[f];
        block = mr_default_block(total, jobs);
    }
    size_t cap = 16;
    int M = 0;
    mr_split *splits = xmalloc(cap * sizeof *splits);
    for (int f = 0; f < nfiles; f++) {
        char unnamed[32];
        const char *name = names ? names[f] : unnamed;
        if (!names)
            snprintf(unnamed, sizeof unnamed, "input file %d", f);
        uint64_t start = 0, size = sizes[f];
        while (start < size) {
            uint64_t end = size;
            if (size - start > block) {
                /* the next HDFS block boundary after start */
                uint64_t b = (start / block + 1) * block;
                end = align_boundary(fds[f], name, size, b);
            }
            if (M >= MR_MAX_SPLITS)
                die("--block-size %llu makes more than %d splits: use a larger "
                    "one",
                    (unsigned long long)block, MR_MAX_SPLITS);
            if ((size_t)M == cap) {
                cap *= 2;
                splits = xrealloc(splits, cap * sizeof *splits);
            }
            splits[M++] = (mr_split){f, start, end};
            start = end;
        }
    }
    *nsplits = M;
    if (M == 0) {
        free(splits);
        return NULL;
    }
    return splits;
}

void mr_job_check_sizes(const mr_job *job)
{
    for (int f = 0; f < job->nfiles; f++) {
        struct stat st;
        if (fstat(job->fds[f], &st) != 0)
            die_errno("%s", job->names[f]);
        if ((uint64_t)st.st_size != job->sizes[f])
            die("%s: changed size while being read (%llu bytes, now %llu)",
                job->names[f], (unsigned long long)job->sizes[f],
                (unsigned long long)st.st_size);
    }
}

void mr_job_close_inputs(mr_job *job)
{
    for (int f = 0; f < job->nfiles; f++) {
        bool dup = false; /* "-" twice is one descriptor */
        for (int g = 0; g < f; g++)
            dup |= job->fds[g] == job->fds[f];
        if (!dup && job->fds[f] != STDIN_FILENO)
            close(job->fds[f]);
    }
    free(job->fds);
    free(job->sizes);
    free(job->names);
}
