/*
 * bq.h - a bounded blocking queue of pointers: Python's queue.Queue(maxsize)
 * in C, in the style of CS:APP's sbuf.
 *
 * A ring buffer of void * guarded by one mutex, with two condition
 * variables: producers wait on `not_full`, consumers on `not_empty`, always
 * in a while loop (a wakeup is a hint, not a promise).  bq_close() is
 * Python 3.13's Queue.shutdown(): every waiter wakes up, later puts fail,
 * gets drain what is left and then report BQ_CLOSED, so consumers can stop.
 *
 *     bq q;
 *     bq_init(&q, 16);
 *     producer:  bq_put(&q, item);                 ... bq_close(&q) when all are done
 *     consumer:  while (bq_get(&q, &item) == BQ_OK) use(item);
 *     bq_destroy(&q);                               after every thread has stopped
 *
 * Items are opaque pointers: the queue never dereferences or frees them.
 */
#ifndef KIT_BQ_H
#define KIT_BQ_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

typedef enum {
    BQ_OK = 0,  /* the item was put / got */
    BQ_TIMEOUT, /* a timed call's deadline passed first */
    BQ_CLOSED,  /* put: the queue is closed; get: closed AND drained */
    BQ_FULL,    /* bq_try_put: no free slot right now */
    BQ_EMPTY,   /* bq_try_get: no item right now */
} bq_status;

typedef struct bq {
    /* The items, oldest first, are buf[(head + i) % capacity] for
     * 0 <= i < count; the other slots are NULL. */
    void **buf;
    size_t capacity; /* >= 1, fixed by bq_init */
    size_t head;     /* slot of the oldest item (next to get); < capacity */
    size_t count;    /* items held: 0 <= count <= capacity */
    bool closed;     /* set once by bq_close, never cleared */
    pthread_mutex_t mutex;    /* guards every field of the struct */
    pthread_cond_t not_full;  /* signalled when count drops below capacity;
                               * broadcast on close */
    pthread_cond_t not_empty; /* signalled when count rises above 0;
                               * broadcast on close */
    /* Calls that found the queue full (put) or empty (get) and had to
     * wait: counted once per call, not once per wakeup. */
    unsigned long long put_waits;
    unsigned long long get_waits;
    size_t unfinished;       /* items put but not yet bq_task_done()'d */
    pthread_cond_t all_done; /* broadcast when unfinished drops to 0 */
} bq;

/* capacity >= 1; dies on failure. */
void bq_init(bq *q, size_t capacity);
/* No thread may still use q. */
void bq_destroy(bq *q);

/* Blocks while full; BQ_CLOSED if the queue is closed. */
bq_status bq_put(bq *q, void *item);
/* Blocks while empty; BQ_CLOSED once the queue is closed AND drained. */
bq_status bq_get(bq *q, void **item);
/* Like bq_put/bq_get, but give up after timeout_ms milliseconds (BQ_TIMEOUT). */
bq_status bq_put_timed(bq *q, void *item, double timeout_ms);
bq_status bq_get_timed(bq *q, void **item, double timeout_ms);
/* Never block: BQ_FULL / BQ_EMPTY instead (BQ_CLOSED as above). */
bq_status bq_try_put(bq *q, void *item);
bq_status bq_try_get(bq *q, void **item);

/* Wake every waiter; from now on puts fail and gets drain, then BQ_CLOSED. */
void bq_close(bq *q);

/* Python's Queue.task_done()/join(): a consumer calls bq_task_done() once per
 * item it has finished with; bq_join() waits until every item ever put has
 * been marked done.  Calling bq_task_done() more often than items were put
 * is a bug and dies. */
void bq_task_done(bq *q);
void bq_join(bq *q);

/* A consistent snapshot for reports and tests. */
size_t bq_size(bq *q);
void bq_stats(bq *q, unsigned long long *put_waits,
              unsigned long long *get_waits);

/* Human name of a status: "BQ_TIMEOUT". */
const char *bq_status_name(bq_status s);

#endif
