/* xpthread.c - see xpthread.h. */
#include "xpthread.h"

#include "err.h"

#include <errno.h>
#include <stdlib.h>
#include <time.h>

void xpthread_create(pthread_t *t, void *(*fn)(void *), void *arg)
{
    int rc = pthread_create(t, NULL, fn, arg);
    if (rc != 0)
        die_code(rc, "pthread_create");
}

void *xpthread_join(pthread_t t)
{
    void *ret;
    int rc = pthread_join(t, &ret);
    if (rc != 0)
        die_code(rc, "pthread_join");
    return ret;
}

void xmutex_init(pthread_mutex_t *m)
{
    int rc = pthread_mutex_init(m, NULL);
    if (rc != 0)
        die_code(rc, "pthread_mutex_init");
}

void xmutex_destroy(pthread_mutex_t *m)
{
    int rc = pthread_mutex_destroy(m);
    if (rc != 0)
        die_code(rc, "pthread_mutex_destroy");
}

void xmutex_lock(pthread_mutex_t *m)
{
    int rc = pthread_mutex_lock(m);
    if (rc != 0)
        die_code(rc, "pthread_mutex_lock");
}

void xmutex_unlock(pthread_mutex_t *m)
{
    int rc = pthread_mutex_unlock(m);
    if (rc != 0)
        die_code(rc, "pthread_mutex_unlock");
}

bool xmutex_trylock(pthread_mutex_t *m)
{
    int rc = pthread_mutex_trylock(m);
    if (rc == EBUSY)
        return false;
    if (rc != 0)
        die_code(rc, "pthread_mutex_trylock");
    return true;
}

void xcond_init(pthread_cond_t *c)
{
    int rc = pthread_cond_init(c, NULL);
    if (rc != 0)
        die_code(rc, "pthread_cond_init");
}

void xcond_destroy(pthread_cond_t *c)
{
    int rc = pthread_cond_destroy(c);
    if (rc != 0)
        die_code(rc, "pthread_cond_destroy");
}

void xcond_wait(pthread_cond_t *c, pthread_mutex_t *m)
{
    int rc = pthread_cond_wait(c, m);
    if (rc != 0)
        die_code(rc, "pthread_cond_wait");
}

bool xcond_timedwait(pthread_cond_t *c, pthread_mutex_t *m,
                     const struct timespec *deadline)
{
    int rc = pthread_cond_timedwait(c, m, deadline);
    if (rc == ETIMEDOUT)
        return false;
    if (rc != 0)
        die_code(rc, "pthread_cond_timedwait");
    return true;
}

void xcond_signal(pthread_cond_t *c)
{
    int rc = pthread_cond_signal(c);
    if (rc != 0)
        die_code(rc, "pthread_cond_signal");
}

void xcond_broadcast(pthread_cond_t *c)
{
    int rc = pthread_cond_broadcast(c);
    if (rc != 0)
        die_code(rc, "pthread_cond_broadcast");
}

struct timespec kit_deadline_ms(double ms)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
        die_errno("clock_gettime");
    if (ms < 0)
        ms = 0;
    long long ns = (long long)ts.tv_nsec + (long long)(ms * 1e6);
    ts.tv_sec += (time_t)(ns / 1000000000LL);
    ts.tv_nsec = (long)(ns % 1000000000LL);
    return ts;
}

void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (p == NULL)
        die("out of memory (%zu bytes)", n);
    return p;
}

void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (p == NULL)
        die("out of memory (%zu x %zu bytes)", n, size);
    return p;
}

void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (q == NULL)
        die("out of memory (%zu bytes)", n);
    return q;
}

void gate_init(kit_gate *g, int n)
{
    xmutex_init(&g->m);
    xcond_init(&g->open);
    g->expected = n;
    g->arrived = 0;
}

void gate_wait(kit_gate *g)
{
    xmutex_lock(&g->m);
    if (++g->arrived == g->expected)
        xcond_broadcast(&g->open);
    while (g->arrived <
           g->expected) /* while, not if: wakeups can be spurious */
        xcond_wait(&g->open, &g->m);
    xmutex_unlock(&g->m);
}

void gate_destroy(kit_gate *g)
{
    xcond_destroy(&g->open);
    xmutex_destroy(&g->m);
}
