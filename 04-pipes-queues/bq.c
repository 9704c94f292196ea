/*
 * bq.c - the bounded blocking queue (see bq.h): one mutex, two condition
 * variables, waits in while loops.
 *
 * The shape of every blocking call is the same, and worth learning by heart:
 *
 *     lock
 *     while (the thing I need is not there && not closed)
 *         wait on its condition variable         (releases the lock while asleep)
 *     act on the ring buffer
 *     signal the OTHER condition variable        (I made room / I added an item)
 *     unlock
 *
 * `while`, not `if`: pthread_cond_wait may return without a signal (a
 * spurious wakeup), and even after a real signal another thread may have
 * taken the slot or item first.  Re-checking the condition makes both
 * harmless.
 */
#include "bq.h"

#include "err.h"
#include "xpthread.h"

#include <stdint.h>
#include <stdlib.h>

void bq_init(bq *q, size_t capacity)
{
    if (capacity < 1 || capacity > SIZE_MAX / sizeof(void *))
        die("bq_init: capacity must be at least 1 (got %zu)", capacity);
    q->buf = xcalloc(capacity, sizeof(void *));
    q->capacity = capacity;
    q->head = 0;
    q->count = 0;
    q->closed = false;
    q->put_waits = 0;
    q->get_waits = 0;
    q->unfinished = 0;
    xmutex_init(&q->mutex);
    xcond_init(&q->not_full);
    xcond_init(&q->not_empty);
    xcond_init(&q->all_done);
}

void bq_destroy(bq *q)
{
    xcond_destroy(&q->all_done);
    xcond_destroy(&q->not_empty);
    xcond_destroy(&q->not_full);
    xmutex_destroy(&q->mutex);
    free(q->buf);
    q->buf = NULL;
}

/* The ring buffer itself.  Callers hold q->mutex and have checked that
 * there is room (push) or an item (pop). */
static void ring_push(bq *q, void *item)
{
    q->buf[(q->head + q->count) % q->capacity] = item;
    q->count++;
    q->unfinished++;
}

static void *ring_pop(bq *q)
{
    void *item = q->buf[q->head];
    q->buf[q->head] = NULL; /* the queue no longer holds it */
    q->head = (q->head + 1) % q->capacity;
    q->count--;
    return item;
}

bq_status bq_put(bq *q, void *item)
{
#ifndef HANDOUT
    xmutex_lock(&q->mutex);
    if (q->count == q->capacity && !q->closed)
        q->put_waits++; /* counted once per call: this put had to block */
    while (q->count == q->capacity && !q->closed)
        xcond_wait(&q->not_full, &q->mutex); /* sleeps without the lock */
    if (q->closed) {
        xmutex_unlock(&q->mutex);
        return BQ_CLOSED;
    }
    ring_push(q, item);
    xcond_signal(&q->not_empty); /* one item: one getter may proceed */
    xmutex_unlock(&q->mutex);
    return BQ_OK;
#else
    /* TODO(04.1): lock; while the queue is full and not closed, wait on
     * not_full; if closed, unlock and return BQ_CLOSED; else ring_push(),
     * signal not_empty, unlock, return BQ_OK.  Count a blocked call in
     * q->put_waits.  (bq_put_timed below has the same shape.) */
    (void)q;
    (void)item;
    return BQ_CLOSED;
#endif
}

bq_status bq_get(bq *q, void **item)
{
#ifndef HANDOUT
    xmutex_lock(&q->mutex);
    if (q->count == 0 && !q->closed)
        q->get_waits++;
    while (q->count == 0 && !q->closed)
        xcond_wait(&q->not_empty, &q->mutex);
    if (q->count == 0) { /* so closed, and nothing left to drain */
        xmutex_unlock(&q->mutex);
        return BQ_CLOSED;
    }
    *item = ring_pop(q);
    xcond_signal(&q->not_full); /* one free slot: one putter may proceed */
    xmutex_unlock(&q->mutex);
    return BQ_OK;
#else
    /* TODO(04.2): lock; while the queue is empty and not closed, wait on
     * not_empty; if it is still empty (closed and drained), unlock and
     * return BQ_CLOSED; else *item = ring_pop(), signal not_full, unlock,
     * return BQ_OK.  Count a blocked call in q->get_waits. */
    (void)q;
    *item = NULL;
    return BQ_CLOSED;
#endif
}

bq_status bq_put_timed(bq *q, void *item, double timeout_ms)
{
    struct timespec deadline = kit_deadline_ms(timeout_ms);
    xmutex_lock(&q->mutex);
    if (q->count == q->capacity && !q->closed)
        q->put_waits++;
    while (q->count == q->capacity && !q->closed) {
        if (!xcond_timedwait(&q->not_full, &q->mutex, &deadline)) {
            /* Timed out; but the slot may have freed at the same moment:
             * the loop condition decides, not the return value. */
            if (q->count == q->capacity && !q->closed) {
                xmutex_unlock(&q->mutex);
                return BQ_TIMEOUT;
            }
        }
    }
    if (q->closed) {
        xmutex_unlock(&q->mutex);
        return BQ_CLOSED;
    }
    ring_push(q, item);
    xcond_signal(&q->not_empty);
    xmutex_unlock(&q->mutex);
    return BQ_OK;
}

bq_status bq_get_timed(bq *q, void **item, double timeout_ms)
{
    struct timespec deadline = kit_deadline_ms(timeout_ms);
    xmutex_lock(&q->mutex);
    if (q->count == 0 && !q->closed)
        q->get_waits++;
    while (q->count == 0 && !q->closed) {
        if (!xcond_timedwait(&q->not_empty, &q->mutex, &deadline)) {
            if (q->count == 0 && !q->closed) {
                xmutex_unlock(&q->mutex);
                return BQ_TIMEOUT;
            }
        }
    }
    if (q->count == 0) {
        xmutex_unlock(&q->mutex);
        return BQ_CLOSED;
    }
    *item = ring_pop(q);
    xcond_signal(&q->not_full);
    xmutex_unlock(&q->mutex);
    return BQ_OK;
}

bq_status bq_try_put(bq *q, void *item)
{
    bq_status s = BQ_OK;
    xmutex_lock(&q->mutex);
    if (q->closed) {
        s = BQ_CLOSED;
    } else if (q->count == q->capacity) {
        s = BQ_FULL;
    } else {
        ring_push(q, item);
        xcond_signal(&q->not_empty);
    }
    xmutex_unlock(&q->mutex);
    return s;
}

bq_status bq_try_get(bq *q, void **item)
{
    bq_status s = BQ_OK;
    xmutex_lock(&q->mutex);
    if (q->count > 0) {
        *item = ring_pop(q);
        xcond_signal(&q->not_full);
    } else {
        s = q->closed ? BQ_CLOSED : BQ_EMPTY;
    }
    xmutex_unlock(&q->mutex);
    return s;
}

void bq_close(bq *q)
{
    xmutex_lock(&q->mutex);
    q->closed = true;
    /* Broadcast, not signal: EVERY waiter must wake and see `closed`
     * (putters give up, getters drain and stop). */
    xcond_broadcast(&q->not_full);
    xcond_broadcast(&q->not_empty);
    xmutex_unlock(&q->mutex);
}

void bq_task_done(bq *q)
{
    xmutex_lock(&q->mutex);
    if (q->unfinished == 0) {
        xmutex_unlock(&q->mutex);
        die("bq_task_done: called more times than items were put");
    }
    if (--q->unfinished == 0)
        xcond_broadcast(&q->all_done);
    xmutex_unlock(&q->mutex);
}

void bq_join(bq *q)
{
    xmutex_lock(&q->mutex);
    while (q->unfinished > 0)
        xcond_wait(&q->all_done, &q->mutex);
    xmutex_unlock(&q->mutex);
}

size_t bq_size(bq *q)
{
    xmutex_lock(&q->mutex);
    size_t n = q->count;
    xmutex_unlock(&q->mutex);
    return n;
}

void bq_stats(bq *q, unsigned long long *put_waits,
              unsigned long long *get_waits)
{
    xmutex_lock(&q->mutex);
    if (put_waits)
        *put_waits = q->put_waits;
    if (get_waits)
        *get_waits = q->get_waits;
    xmutex_unlock(&q->mutex);
}

const char *bq_status_name(bq_status s)
{
    switch (s) {
    case BQ_OK: return "BQ_OK";
    case BQ_TIMEOUT: return "BQ_TIMEOUT";
    case BQ_CLOSED: return "BQ_CLOSED";
    case BQ_FULL: return "BQ_FULL";
    case BQ_EMPTY: return "BQ_EMPTY";
    }
    return "BQ_?";
}
