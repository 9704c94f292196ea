/*
 * lightload.c - a light, steady load: one process busy PERCENT% of one CPU
 *
 * What it is for: the demos' effects (a race that loses updates, two
 * threads running at once) must show on a machine that is not idle, the
 * way a classroom laptop never is.  `make stress` starts this beside the
 * demos for its second pass; you can too:
 *
 *     ./build/tools/lightload &      (30% of one CPU until killed)
 *     ./race -m unsafe; kill %1
 *
 * How: a duty cycle.  Every period (default 10 ms) it spins on the clock
 * for PERCENT% of the period, then sleeps for the rest.  Spinning, not a
 * fixed amount of arithmetic, so the share is the same on a fast or slow
 * CPU; sleeping, so the scheduler sees a task that wakes up often, as
 * interactive programs (a browser, the projector software) do.  On a busy
 * machine it gets less than it asks: it spins by wall time, not CPU time.
 * At the end (or on SIGINT/SIGTERM) it prints the CPU share it really
 * used on stderr.
 *
 * Usage:   lightload [--percent P] [--period-ms MS] [--seconds S]
 * Exit:    0, 2 on bad usage, 1 if a clock or sleep call fails.
 *
 * See also: tools/stress.sh (the demo-effect rates), nanosleep(2),
 * stress-ng(1) --cpu-load, which does the same for many CPUs.
 */
#include "cli.h"
#include "err.h"
#include "timing.h"

#include <signal.h>
#include <stdio.h>

static volatile sig_atomic_t stop;

static void on_stop(int sig)
{
    (void)sig;
    stop = 1;
}

static const char usage[] =
    "usage: lightload [--percent P] [--period-ms MS] [--seconds S]\n"
    "\n"
    "Busy P% of one CPU in a duty cycle: spin P% of every period, sleep\n"
    "the rest.  Runs until killed, or S seconds.\n"
    "\n"
    "      --percent P      1..100 (default 30)\n"
    "      --period-ms MS   1..1000 (default 10)\n"
    "      --seconds S      0..86400, 0 = until killed (default 0)\n"
    "  -h, --help           this help\n"
    "\n"
    "example: lightload --percent 30 --seconds 60 &\n";

int main(int argc, char *argv[])
{
    kit_set_prog("lightload");
    double percent = 30, period_ms = 10, seconds = 0;
    enum { OPT_PERCENT = 256, OPT_PERIOD, OPT_SECONDS };
    static const struct option longopts[] = {
        {"percent", required_argument, NULL, OPT_PERCENT},
        {"period-ms", required_argument, NULL, OPT_PERIOD},
        {"seconds", required_argument, NULL, OPT_SECONDS},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_PERCENT:
            percent = opt_double("--percent", optarg, 1, 100);
            break;
        case OPT_PERIOD:
            period_ms = opt_double("--period-ms", optarg, 1, 1000);
            break;
        case OPT_SECONDS:
            seconds = opt_double("--seconds", optarg, 0, 86400);
            break;
        case 'h': kit_help(usage);
        default: kit_opt_fail(c, argv, longopts);
        }
    }
    kit_no_operands(argc, argv);

    struct sigaction sa = {.sa_handler = on_stop};
    if (sigemptyset(&sa.sa_mask) != 0 || sigaction(SIGINT, &sa, NULL) != 0 ||
        sigaction(SIGTERM, &sa, NULL) != 0)
        die_errno("sigaction");

    const double period = period_ms / 1000, busy = period * percent / 100;
    const double start = kit_now(), cpu0 = kit_cpu_seconds();
    double next = start;
    while (!stop && (seconds == 0 || kit_now() - start < seconds)) {
        while (kit_now() < next + busy && !stop)
            ; /* the busy part of the period: spin */
        next += period;
        double rest = next - kit_now();
        if (rest > 0)
            kit_sleep_ms(rest *
                         1000); /* the idle part; a stop waits <= 1 period */
        else
            next = kit_now(); /* we were held up: do not try to catch up */
    }
    double wall = kit_now() - start, cpu = kit_cpu_seconds() - cpu0;
    fprintf(stderr,
            "lightload: %.1f s, busy %.0f%% of one CPU (asked %.0f%%)\n", wall,
            wall > 0 ? 100 * cpu / wall : 0, percent);
    return 0;
}
