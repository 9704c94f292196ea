/*
 * files.c - see files.h.
 *
 * State of the one output file: out_fp is the stream, out_temp the temp
 * file's path ("" when writing through), out_final the file the temp is
 * renamed onto (the symlink's target when path was a symlink).  out_fp is
 * NULL when no output is open.
 */
#include "files.h"

#include "err.h"
#include "proc.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static FILE *out_fp;
static bool out_is_stdout;
static char out_temp[KIT_TEMP_PATH_MAX];
static char out_final[KIT_TEMP_PATH_MAX];

const char *kit_file_kind(unsigned mode)
{
    if (S_ISREG(mode))
        return "a regular file";
    if (S_ISDIR(mode))
        return "a directory";
    if (S_ISFIFO(mode))
        return "a FIFO";
    if (S_ISCHR(mode))
        return "a character device";
    if (S_ISBLK(mode))
        return "a block device";
    if (S_ISSOCK(mode))
        return "a socket";
    return "not a regular file";
}

/* Write through: the thing at path stays what it is (device, FIFO, a file
 * with other names), and receives the output. */
static FILE *open_through(const char *path)
{
    out_temp[0] = '\0';
    snprintf(out_final, sizeof out_final, "%s", path);
    out_fp = fopen(path, "w");
    if (out_fp == NULL)
        die_errno("%s", path);
    return out_fp;
}

/* The file path's symlinks lead to, in out[0..n): readlink() until a
 * non-link, a relative target taken from the link's directory.  false with
 * errno set (ELOOP after 40 links, like the kernel; ENAMETOOLONG). */
static bool follow_links(const char *path, char *out, size_t n)
{
    char cur[KIT_TEMP_PATH_MAX], target[KIT_TEMP_PATH_MAX];
    if (snprintf(cur, sizeof cur, "%s", path) >= (int)sizeof cur) {
        errno = ENAMETOOLONG;
        return false;
    }
    for (int hops = 0;; hops++) {
        struct stat lst;
        if (lstat(cur, &lst) != 0 || !S_ISLNK(lst.st_mode))
            break; /* not a link (or gone): cur is the file */
        if (hops == 40) {
            errno = ELOOP;
            return false;
        }
        ssize_t len = readlink(cur, target, sizeof target - 1);
        if (len < 0)
            return false;
        target[len] = '\0';
        const char *slash = strrchr(cur, '/');
        int dirlen = target[0] == '/' || !slash ? 0 : (int)(slash - cur) + 1;
        char next[KIT_TEMP_PATH_MAX];
        int w = snprintf(next, sizeof next, "%.*s%s", dirlen, cur, target);
        if (w < 0 || (size_t)w >= sizeof next) {
            errno = ENAMETOOLONG;
            return false;
        }
        memcpy(cur, next, (size_t)w + 1);
    }
    if (strlen(cur) >= n) {
        errno = ENAMETOOLONG;
        return false;
    }
    strcpy(out, cur);
    return true;
}

/* The umask, without changing it for good (umask() can only be read by
 * setting it).  Called before any thread exists. */
static mode_t current_umask(void)
{
    mode_t m = umask(077);
    umask(m);
    return m;
}

FILE *kit_out_open(const char *path)
{
    if (out_fp != NULL)
        die("internal error: kit_out_open: one output file at a time");
    if (strcmp(path, "-") == 0) {
        out_is_stdout = true;
        out_fp = stdout;
        return out_fp;
    }
    out_is_stdout = false;
    struct stat st;
    bool exists = stat(path, &st) == 0; /* follows symlinks */
    if (!exists && errno != ENOENT)
        die_errno("%s", path);
    if (!exists) {
        struct stat lst; /* a dangling symlink: let fopen create its target */
        if (lstat(path, &lst) == 0)
            return open_through(path);
    }
    if (exists && (!S_ISREG(st.st_mode) || st.st_nlink > 1))
        return open_through(path);

    /* The file to replace: the symlink's target (resolved), or path. */
    if (!follow_links(path, out_final, sizeof out_final))
        die_errno("%s", path);
    /* The temp file beside it: same directory, hence same file system. */
    const char *slash = strrchr(out_final, '/');
    int dirlen = slash ? (int)(slash - out_final) + 1 : 0;
    int n = snprintf(out_temp, sizeof out_temp, "%.*s.kitXXXXXX", dirlen,
                     out_final);
    if (n < 0 || (size_t)n >= sizeof out_temp)
        die("%s: path too long", path);

    kit_cleanup_scope_open(); /* the temp file goes on a signal, too */
    int fd = kit_mkstemp(out_temp);
    mode_t mode = exists ? (st.st_mode & 07777) : (0666 & ~current_umask());
    if (fchmod(fd, mode) != 0)
        die_errno("%s: fchmod", out_temp);
    out_fp = fdopen(fd, "w");
    if (out_fp == NULL)
        die_errno("%s: fdopen", out_temp);
    return out_fp;
}

void kit_out_commit(void)
{
    if (out_fp == NULL)
        die("internal error: kit_out_commit without kit_out_open");
    FILE *f = out_fp;
    out_fp = NULL;
    const char *name = out_is_stdout ? "standard output" : out_final;
    if (out_is_stdout) {
        if (fflush(f) != 0 || ferror(f))
            die_errno("writing %s", name);
        return;
    }
    bool bad = fflush(f) != 0 || ferror(f);
    int e = errno;
    if (fclose(f) != 0 && !bad) {
        bad = true;
        e = errno;
    }
    if (bad) {
        errno = e;
        die_errno("writing %s", name); /* the exit cleanup removes the temp */
    }
    if (out_temp[0] == '\0')
        return; /* written through: nothing to rename */
    sigset_t old;
    kit_block_stop_signals(&old); /* renamed and forgotten as one step */
    if (rename(out_temp, out_final) != 0) {
        e = errno;
        kit_restore_signals(&old);
        errno = e;
        die_errno("%s: cannot replace it", name);
    }
    kit_forget_temp(out_temp);
    kit_restore_signals(&old);
    out_temp[0] = '\0';
    kit_cleanup_scope_close();
}

void kit_out_abort(void)
{
    if (out_fp == NULL)
        return;
    FILE *f = out_fp;
    out_fp = NULL;
    if (out_is_stdout)
        return;
    (void)fclose(f); /* giving up: its errors do not matter any more */
    if (out_temp[0] != '\0') {
        kit_unlink_temp(out_temp);
        out_temp[0] = '\0';
        kit_cleanup_scope_close();
    }
}

int kit_open_input(const char *path, bool regular_only, const char **why)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK);
    if (fd < 0) {
        *why = strerror(errno);
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        *why = strerror(errno);
        close(fd);
        return -1;
    }
    if (S_ISDIR(st.st_mode) || (regular_only && !S_ISREG(st.st_mode))) {
        static char msg[64];
        snprintf(msg, sizeof msg, "is %s, not a regular file",
                 kit_file_kind(st.st_mode));
        *why = msg;
        close(fd);
        return -1;
    }
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0) {
        *why = strerror(errno);
        close(fd);
        return -1;
    }
    return fd;
}
