/* timing.c - see timing.h. */
#include "timing.h"

#include "err.h"

#include <errno.h>
#include <time.h>

static double clock_seconds(clockid_t id)
{
    struct timespec ts;
    if (clock_gettime(id, &ts) != 0)
        die_errno("clock_gettime");
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double kit_now(void) { return clock_seconds(CLOCK_MONOTONIC); }
double kit_cpu_seconds(void) { return clock_seconds(CLOCK_PROCESS_CPUTIME_ID); }
double kit_thread_cpu_seconds(void)
{
    return clock_seconds(CLOCK_THREAD_CPUTIME_ID);
}

void kit_sleep_ms(double ms)
{
    if (ms <= 0)
        return;
    struct timespec req;
    req.tv_sec = (time_t)(ms / 1000.0);
    req.tv_nsec = (long)((ms - (double)req.tv_sec * 1000.0) * 1e6);
    if (req.tv_nsec >= 1000000000L)
        req.tv_nsec = 999999999L;
    struct timespec rem;
    while (nanosleep(&req, &rem) != 0) {
        if (errno != EINTR)
            die_errno("nanosleep");
        req = rem;
    }
}
