/*
 * server_net.c - the server's and the load generator's socket helpers
 *
 * Every call here has a deadline, because a server that waits forever on a
 * peer is a server one silent client can stop: reads go through poll(),
 * sends have SO_SNDTIMEO, connects are non-blocking then polled.  Writes use
 * MSG_NOSIGNAL, so a peer that left gives EPIPE instead of killing us.
 *
 * See also: server.c (the lesson), TLPI 61.1 (readn/writen), 63.2 (poll),
 * accept(2), connect(2) "EINPROGRESS", socket(7) SO_SNDTIMEO.
 */
#include "server.h"

#include "cli.h"
#include "err.h"
#include "timing.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

/*
 * The deadline bounds the whole line, not each recv: a client that sends one
 * byte a second cannot hold a thread for longer than the timeout either.
 * stop_fd (the server's stop pipe) ends the wait at once when it becomes
 * readable: a server must be able to stop whatever its clients do.
 */
enum rl read_line(int fd, char *buf, size_t cap, double deadline, int stop_fd)
{
    size_t len = 0;
    for (;;) {
        double left_ms = (deadline - kit_now()) * 1000.0;
        if (left_ms <= 0)
            return RL_TIMEOUT;
        struct pollfd p[2] = {{.fd = fd, .events = POLLIN},
                              {.fd = stop_fd, .events = POLLIN}};
        int r = poll(p, stop_fd >= 0 ? 2 : 1, (int)ceil(left_ms));
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return RL_ERR;
        if (r == 0)
            return RL_TIMEOUT;
        if (stop_fd >= 0 && p[1].revents != 0)
            return RL_STOPPED;
        ssize_t n = recv(fd, buf + len, cap - 1 - len, 0);
        if (n < 0 &&
            (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
            continue;
        if (n < 0)
            return RL_ERR; /* ECONNRESET and friends: the peer is gone */
        if (n == 0)
            return RL_EOF; /* the peer closed before finishing its line */
        char *nl = memchr(buf + len, '\n', (size_t)n);
        len += (size_t)n;
        if (nl != NULL) {
            /* "DOUBLE 21\0junk\n" must not read as "DOUBLE 21": C strings
             * end at the first NUL, the protocol's lines at the '\n'. */
            if (memchr(buf, '\0', (size_t)(nl - buf)) != NULL)
                return RL_NUL;
            *nl = '\0';
            if (nl > buf && nl[-1] == '\r') /* tolerate telnet-style CRLF */
                nl[-1] = '\0';
            return RL_OK;
        }
        if (len >= cap - 1)
            return RL_LONG;
    }
}

bool send_str(int fd, const char *s)
{
    size_t len = strlen(s);
    while (len > 0) {
        /* MSG_NOSIGNAL: a peer that already closed gives EPIPE, not SIGPIPE. */
        ssize_t n = send(fd, s, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false; /* the peer is gone, or SO_SNDTIMEO expired */
        s += n;
        len -= (size_t)n;
    }
    return true;
}

/* Every socket gets a deadline: reads go through poll (read_line), but a
 * send to a peer that stopped reading would block forever without this. */
bool set_timeouts(int fd, double ms)
{
    struct timeval tv;
    tv.tv_sec = (time_t)(ms / 1000.0);
    tv.tv_usec = (suseconds_t)((ms - (double)tv.tv_sec * 1000.0) * 1000.0);
    return setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) == 0 &&
           setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0;
}

bool set_nonblocking(int fd, bool on)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0)
        return false;
    fl = on ? (fl | O_NONBLOCK) : (fl & ~O_NONBLOCK);
    return fcntl(fd, F_SETFL, fl) == 0;
}

void xclose(int fd)
{
    if (close(fd) != 0)
        warn_errno("close");
}

/* Sleep ms, unless fd (a stop pipe) becomes readable first: true if the
 * whole time passed.  poll() counts whole milliseconds: the rest is slept. */
bool sleep_unless_readable(int fd, double ms)
{
    double end = kit_now() + ms / 1000.0;
    for (;;) {
        double left_ms = (end - kit_now()) * 1000.0;
        if (left_ms <= 0)
            return true;
        if (left_ms < 1) {
            kit_sleep_ms(left_ms);
            return true;
        }
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int r = poll(&p, 1, (int)left_ms);
        if (r > 0)
            return false;
        if (r < 0 && errno != EINTR)
            die_errno("poll");
    }
}

/*
 * Say why, then hang up so that the reason arrives.  A close() with unread
 * input (the rest of the garbage) makes TCP send a reset, which can destroy
 * the reason before the client reads it.  So: half-close (the client sees
 * our FIN after the message), discard what it still sends for a short,
 * bounded while, then close: Apache's "lingering close".
 */
void refuse_and_close(int fd, const char *why, double timeout_ms)
{
    if (send_str(fd, why) && shutdown(fd, SHUT_WR) == 0) {
        double ms = timeout_ms < 100 ? timeout_ms : 100;
        double end = kit_now() + ms / 1000.0;
        size_t drained = 0;
        char junk[512];
        while (drained < 64 * 1024) { /* until EOF, an error, or the end */
            double left_ms = (end - kit_now()) * 1000.0;
            struct pollfd p = {.fd = fd, .events = POLLIN};
            if (left_ms <= 0 || poll(&p, 1, (int)ceil(left_ms)) <= 0)
                break;
            ssize_t n = recv(fd, junk, sizeof junk, 0);
            if (n <= 0)
                break;
            drained += (size_t)n;
        }
    }
    xclose(fd);
}

/* connect(2) with a deadline: non-blocking connect, then poll for it. */
int connect_to(const struct sockaddr *sa, socklen_t salen, double deadline)
{
    int fd = socket(sa->sa_family, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    int soerr = 0;
    socklen_t sl = sizeof soerr;
    if (!set_nonblocking(fd, true))
        goto fail;
    if (connect(fd, sa, salen) != 0) {
        if (errno != EINPROGRESS && errno != EINTR)
            goto fail;
        for (;;) {
            double left_ms = (deadline - kit_now()) * 1000.0;
            struct pollfd p = {.fd = fd, .events = POLLOUT};
            int r = left_ms > 0 ? poll(&p, 1, (int)ceil(left_ms)) : 0;
            if (r < 0 && errno == EINTR)
                continue;
            if (r < 0)
                goto fail;
            if (r == 0) {
                errno = ETIMEDOUT;
                goto fail;
            }
            break;
        }
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0)
            goto fail;
        if (soerr != 0) {
            errno = soerr;
            goto fail;
        }
    }
    if (!set_nonblocking(fd, false))
        goto fail;
    return fd;
fail:
    soerr = errno;
    close(fd);
    errno = soerr;
    return -1;
}

/* A listening socket on 127.0.0.1 only: nothing off this machine reaches it. */
int listen_loopback(int port, int *bound)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        die_errno("socket");
    /* So that --serve can restart on the same --port while connections of
     * the previous run linger in TIME_WAIT. */
    int one = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0)
        die_errno("setsockopt SO_REUSEADDR");
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((unsigned short)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0)
        die_errno("bind 127.0.0.1:%d", port);
    if (listen(fd, 1024) != 0) /* the kernel caps it at somaxconn */
        die_errno("listen");
    /* Non-blocking: a client that resets between poll and accept gives
     * EAGAIN/ECONNABORTED, not a hang in accept. */
    if (!set_nonblocking(fd, true))
        die_errno("fcntl");
    socklen_t len = sizeof a;
    if (getsockname(fd, (struct sockaddr *)&a, &len) != 0)
        die_errno("getsockname");
    *bound = ntohs(a.sin_port);
    return fd;
}

bool parse_request(const char *line, long long *n)
{
    return strncmp(line, "DOUBLE ", 7) == 0 &&
           kit_parse_ll(line + 7, 0, N_LIMIT - 1, n) == KIT_PARSE_OK;
}
