/*
 * xpthread.h - checked wrappers: the call, then a check, then a clear death.
 *
 * pthread functions return an error code (they do not set errno), so these
 * report with die_code(); the system-call wrappers report with die_errno().
 * They are real functions, not assert(): the call must still happen when
 * the program is compiled with -DNDEBUG.
 */
#ifndef KIT_XPTHREAD_H
#define KIT_XPTHREAD_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

void xpthread_create(pthread_t *t, void *(*fn)(void *), void *arg);
void *xpthread_join(pthread_t t);
void xmutex_init(pthread_mutex_t *m);
void xmutex_destroy(pthread_mutex_t *m);
void xmutex_lock(pthread_mutex_t *m);
void xmutex_unlock(pthread_mutex_t *m);
/* true if locked, false if busy (EBUSY); any other error dies. */
bool xmutex_trylock(pthread_mutex_t *m);
void xcond_init(pthread_cond_t *c);
void xcond_destroy(pthread_cond_t *c);
void xcond_wait(pthread_cond_t *c, pthread_mutex_t *m);
/* false on timeout; deadline is absolute, on CLOCK_REALTIME (portable). */
bool xcond_timedwait(pthread_cond_t *c, pthread_mutex_t *m,
                     const struct timespec *deadline);
void xcond_signal(pthread_cond_t *c);
void xcond_broadcast(pthread_cond_t *c);

/* Absolute CLOCK_REALTIME deadline ms milliseconds from now. */
struct timespec kit_deadline_ms(double ms);

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);

/*
 * A start gate: n threads call gate_wait(); none returns until all n have
 * arrived, so their work really overlaps.  Single use.  Built from a mutex
 * and a condition variable because pthread_barrier_t is missing on macOS.
 */
typedef struct {
    pthread_mutex_t m;
    pthread_cond_t open;
    int expected; /* threads that must arrive */
    int arrived;  /* threads that have arrived; gate is open when == expected */
} kit_gate;

void gate_init(kit_gate *g, int n);
void gate_wait(kit_gate *g);
void gate_destroy(kit_gate *g);

#endif
