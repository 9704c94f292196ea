/*
 * ncpus.c - kit_ncpus (see proc.h): how many CPUs this process may use.
 *
 * Not sysconf(_SC_NPROCESSORS_ONLN): under `taskset -c 0` (or a container's
 * cpuset) the machine has 2 CPUs online, but the process may run on 1, and
 * "2 workers, 2 CPUs: expect 2x" would be a false promise.  The affinity
 * mask is Linux's (sched_getaffinity); elsewhere, online CPUs.
 */
#ifdef __linux__
/* Linux-only: sched_getaffinity() and CPU_COUNT() need _GNU_SOURCE, and it
 * must come before any system header.  This file holds nothing else. */
#define _GNU_SOURCE
#include <sched.h>
#endif

#include "proc.h"

#include <unistd.h>

int kit_ncpus(void)
{
#ifdef __linux__
    cpu_set_t allowed;
    CPU_ZERO(&allowed);
    if (sched_getaffinity(0, sizeof allowed, &allowed) == 0) {
        int n = CPU_COUNT(&allowed);
        if (n >= 1)
            return n;
    }
    /* more CPUs than a cpu_set_t holds (EINVAL): fall back */
#endif
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n >= 1 ? (int)n : 1;
}
