/*
 * deadlock.c - two locks taken in opposite order: a deadlock, and two fixes
 *
 * Two bank accounts, alice and bob, each guarded by its own mutex.  Two
 * tellers (threads) move money between them: teller 1 from alice to bob,
 * teller 2 from bob to alice.  A transfer locks the account it takes money
 * from, then the one it pays into.  So teller 1 locks alice then bob, teller
 * 2 locks bob then alice: each can end up holding the lock the other waits
 * for, and both wait forever.
 *
 * To make that happen every time rather than by luck, each teller holds its
 * first lock for a moment (--pause, 1 ms) before taking the second; the
 * output says so.  A watchdog (the main thread) notices when no transfer has
 * completed for a second, prints who holds which lock and waits for which
 * (the cycle), and exits with status 3: the program never hangs.
 *
 *   --fix order     every teller locks the accounts in one global order
 *                   (alice before bob), so no cycle can form
 *   --fix trylock   take the first lock, only *try* the second; if it is
 *                   busy, let go of the first, back off and retry
 *
 * Both fixes complete every transfer, and the totals show that money is
 * conserved.
 *
 * Usage:   ./deadlock [--fix none|order|trylock] [-n TRANSFERS]
 *                     [--pause MS] [--json]
 * Exit:    0 all transfers done and money conserved, 1 money went wrong,
 *          2 bad usage, 3 deadlock (reported by the watchdog)
 *
 * See also: race.c (why the accounts need locks at all), README.md;
 * OSTEP ch. 32 (Common Concurrency Problems); pthread_mutex_trylock(3p).
 */
#include "cli.h"
#include "err.h"
#include "json.h"
#include "table.h"
#include "timing.h"
#include "xpthread.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

enum fix { FIX_NONE, FIX_ORDER, FIX_TRYLOCK };
static const char *const fix_names[] = {"none", "order", "trylock", NULL};

enum {
    NACCOUNTS = 2,
    NTELLERS = 2,
    START_BALANCE = 1000,
    NOBODY = -1,       /* no teller / no account, in the watchdog's view */
    EXIT_DEADLOCK = 3, /* the kit's status for "the watchdog gave up" */
    MAX_TRANSFERS = 1000000,
};
/* No transfer for this long, and the watchdog calls it a deadlock.  A
 * transfer takes about --pause (at most 100 ms), so a second is plenty. */
static const double WATCHDOG_SECONDS = 1.0;
static const double MAX_PAUSE_MS = 100;

struct account {
    const char *name;
    pthread_mutex_t lock; /* guards balance */
    long long balance;    /* guarded by lock */
    atomic_int holder;    /* teller holding lock, or NOBODY (for the report) */
};

struct bank;

/* One thread: moves `amount` from `from` to `to`, `transfers` times. */
struct teller {
    int id;                    /* 0 or 1, printed as "teller 1", "teller 2" */
    struct bank *bank;         /* the accounts and the settings */
    struct account *from, *to; /* money goes from -> to */
    long long amount;          /* per transfer */
    atomic_int waits_for;      /* account it is blocked on, or NOBODY */
    long long backoffs;        /* trylock: times it let go; read after join */
    uint32_t seed;             /* trylock: its own random numbers */
};

struct bank {
    enum fix fix;
    long long transfers; /* per teller */
    double pause_ms;     /* held with the first lock, before the second */
    struct account acct[NACCOUNTS];
    struct teller teller[NTELLERS];
    kit_gate gate;          /* both tellers start together */
    atomic_llong completed; /* transfers done: the watchdog's pulse */
    atomic_int finished;    /* tellers that have done all their transfers */
};

/* ---- locking, with a record of who holds and who waits ----------------- */

static int account_id(const struct bank *b, const struct account *a)
{
    return (int)(a - b->acct);
}

static void take(struct teller *t, struct account *a)
{
    atomic_store(&t->waits_for, account_id(t->bank, a));
    xmutex_lock(&a->lock); /* a deadlocked teller stays here forever */
    atomic_store(&t->waits_for, NOBODY);
    atomic_store(&a->holder, t->id);
}

static bool try_take(struct teller *t, struct account *a)
{
    if (!xmutex_trylock(&a->lock))
        return false;
    atomic_store(&a->holder, t->id);
    return true;
}

static void give(struct account *a)
{
    atomic_store(&a->holder, NOBODY);
    xmutex_unlock(&a->lock);
}

/* Hold the first lock a moment before taking the second: while we wait, the
 * other teller takes its first lock, and the trap is set every time. */
static void widen_window(const struct bank *b)
{
    if (b->pause_ms > 0)
        kit_sleep_ms(b->pause_ms);
}

/* Caller holds both locks. */
static void move_money(struct teller *t)
{
    t->from->balance -= t->amount;
    t->to->balance += t->amount;
}

/* A random number in [0, 1): xorshift32, private to each teller, because
 * rand() shares one hidden state between threads. */
static double random01(uint32_t *state)
{
    uint32_t x = *state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    *state = x;
    return (double)x / 4294967296.0;
}

/* ---- the bug and its two fixes: three ways to do one transfer ---------- */

/* The bug: lock the account you take from, then the one you pay into.  The
 * two tellers take the same two locks in opposite orders. */
static void transfer_naive(struct teller *t)
{
    take(t, t->from);
    widen_window(t->bank);
    take(t, t->to);
    move_money(t);
    give(t->to);
    give(t->from);
}

/* Fix 1: one global order (lower account number first), whichever way the
 * money goes.  Whoever gets the first lock can always get the second, so
 * nobody waits while holding what the other needs. */
static void transfer_ordered(struct teller *t)
{
#ifndef HANDOUT
    const struct bank *b = t->bank;
    bool from_first = account_id(b, t->from) < account_id(b, t->to);
    struct account *first = from_first ? t->from : t->to;
    struct account *second = from_first ? t->to : t->from;
#else
    /* TODO(03.3): make `first` the account with the lower number
     * (account_id()) and `second` the other one, so that both tellers
     * lock in the same order, whichever way the money goes. */
    struct account *first = t->from;
    struct account *second = t->to;
#endif
    take(t, first);
    widen_window(t->bank);
    take(t, second);
    move_money(t);
    give(second);
    give(first);
}

/* Fix 2: never wait while holding a lock.  If the second lock is busy, let go
 * of the first and retry after a random pause, so that the two tellers do not
 * keep colliding in lockstep (a livelock). */
static void transfer_trylock(struct teller *t)
{
    for (;;) {
        take(t, t->from);
        widen_window(t->bank);
        if (try_take(t, t->to))
            break;
        give(t->from);
        t->backoffs++;
        /* Up to four pauses: time for the other teller, who may hold its
         * first lock right now, to finish its transfer. */
        kit_sleep_ms((t->bank->pause_ms + 0.1) * 4 * random01(&t->seed));
    }
    move_money(t);
    give(t->to);
    give(t->from);
}

static void *teller_main(void *arg)
{
    struct teller *t = arg;
    struct bank *b = t->bank;
    gate_wait(&b->gate);
    for (long long i = 0; i < b->transfers; i++) {
        switch (b->fix) {
        case FIX_NONE: transfer_naive(t); break;
        case FIX_ORDER: transfer_ordered(t); break;
        case FIX_TRYLOCK: transfer_trylock(t); break;
        }
        atomic_fetch_add(&b->completed, 1);
    }
    atomic_fetch_add(&b->finished, 1);
    return NULL;
}

/* ---- the watchdog ------------------------------------------------------ */

/* Wait until every teller has finished (true), or until no transfer has
 * completed for WATCHDOG_SECONDS (false). */
static bool watch(struct bank *b)
{
    long long seen = -1;
    double last_progress = kit_now();
    while (atomic_load(&b->finished) < NTELLERS) {
        kit_sleep_ms(10);
        long long done = atomic_load(&b->completed);
        if (done != seen) {
            seen = done;
            last_progress = kit_now();
        } else if (kit_now() - last_progress >= WATCHDOG_SECONDS) {
            return false;
        }
    }
    return true;
}

/* One teller's place in the wait-for graph, as the watchdog sees it. */
struct snapshot {
    int holds;     /* account whose lock it holds, or NOBODY */
    int waits_for; /* account whose lock it is blocked on, or NOBODY */
};

/* Follow "waits for an account, held by a teller, who waits for..." from
 * teller 0: a deadlock is a path that comes back to where it started. */
static bool find_cycle(const struct snapshot s[NTELLERS],
                       const int holder[NACCOUNTS])
{
    int t = 0;
    for (int step = 0; step < NTELLERS; step++) {
        if (s[t].waits_for == NOBODY || holder[s[t].waits_for] == NOBODY)
            return false;
        t = holder[s[t].waits_for];
        if (t == 0)
            return true;
    }
    return false;
}

static const char *account_name(const struct bank *b, int a)
{
    return a == NOBODY ? "nothing" : b->acct[a].name;
}

/* The fields both reports start with (the run's settings and outcome). */
static void json_head(json_w *j, const struct bank *b, long long done,
                      bool deadlock, double seconds)
{
    json_start(j, stdout);
    json_obj(j, NULL);
    json_str(j, "fix", fix_names[b->fix]);
    json_int(j, "transfers", b->transfers);
    json_double(j, "pause_ms", b->pause_ms);
    json_int(j, "completed", done);
    json_bool(j, "deadlock", deadlock);
    json_double(j, "seconds", seconds);
}

static void report_deadlock(struct bank *b, bool json, double seconds)
{
    int holder[NACCOUNTS];
    struct snapshot s[NTELLERS];
    for (int a = 0; a < NACCOUNTS; a++)
        holder[a] = atomic_load(&b->acct[a].holder);
    for (int t = 0; t < NTELLERS; t++) {
        s[t].waits_for = atomic_load(&b->teller[t].waits_for);
        s[t].holds = NOBODY;
        for (int a = 0; a < NACCOUNTS; a++)
            if (holder[a] == t)
                s[t].holds = a;
    }
    bool cycle = find_cycle(s, holder);
    long long done = atomic_load(&b->completed);

    if (json) {
        json_w j;
        json_head(&j, b, done, true, seconds);
        json_arr(&j, "tellers");
        for (int t = 0; t < NTELLERS; t++) {
            json_obj(&j, NULL);
            json_int(&j, "teller", t + 1);
            json_str(&j, "from", b->teller[t].from->name);
            json_str(&j, "to", b->teller[t].to->name);
            json_str(&j, "holds", account_name(b, s[t].holds));
            json_str(&j, "waits_for", account_name(b, s[t].waits_for));
            json_end(&j);
        }
        json_end(&j);
        json_bool(&j, "cycle", cycle);
        json_end(&j);
        json_finish(&j);
    } else {
        printf("watchdog: no transfer completed for %.1f s ", WATCHDOG_SECONDS);
        printf("(%lld of %lld done).  Who holds what:\n", done,
               NTELLERS * b->transfers);
        for (int t = 0; t < NTELLERS; t++)
            printf("  teller %d (%s -> %s): holds %s, waits for %s\n", t + 1,
                   b->teller[t].from->name, b->teller[t].to->name,
                   account_name(b, s[t].holds),
                   account_name(b, s[t].waits_for));
        if (cycle)
            printf("  a cycle: teller 1 waits for teller 2, who waits for "
                   "teller 1.\nDEADLOCK: neither can ever go on.  Fixes: "
                   "--fix order, --fix trylock.\n");
        else
            printf("DEADLOCK or livelock: no progress, though no cycle of "
                   "waits was caught.\n");
    }
}

/* ---- the report when every transfer is done ---------------------------- */

static long long expected_balance(const struct bank *b, int a)
{
    long long v = START_BALANCE;
    for (int t = 0; t < NTELLERS; t++) {
        const struct teller *x = &b->teller[t];
        if (account_id(b, x->from) == a)
            v -= x->amount * b->transfers;
        if (account_id(b, x->to) == a)
            v += x->amount * b->transfers;
    }
    return v;
}

/* True when every balance is what the transfers add up to. */
static bool report_done(const struct bank *b, bool json, double seconds)
{
    long long before = 0, after = 0, backoffs = 0;
    bool exact = true;
    for (int a = 0; a < NACCOUNTS; a++) {
        before += START_BALANCE;
        after += b->acct[a].balance;
        exact = exact && b->acct[a].balance == expected_balance(b, a);
    }
    for (int t = 0; t < NTELLERS; t++)
        backoffs += b->teller[t].backoffs;
    long long done = atomic_load(&b->completed);
    bool ok = exact && before == after;

    if (json) {
        json_w j;
        json_head(&j, b, done, false, seconds);
        json_int(&j, "backoffs", backoffs);
        json_arr(&j, "accounts");
        for (int a = 0; a < NACCOUNTS; a++) {
            json_obj(&j, NULL);
            json_str(&j, "name", b->acct[a].name);
            json_int(&j, "start", START_BALANCE);
            json_int(&j, "final", b->acct[a].balance);
            json_int(&j, "expected", expected_balance(b, a));
            json_end(&j);
        }
        json_end(&j);
        json_int(&j, "total_before", before);
        json_int(&j, "total_after", after);
        json_bool(&j, "conserved", ok);
        json_end(&j);
        json_finish(&j);
        return ok;
    }

    kit_table tb;
    tbl_init(&tb);
    tbl_col(&tb, "account", TBL_LEFT);
    tbl_col(&tb, "start", TBL_RIGHT);
    tbl_col(&tb, "final", TBL_RIGHT);
    tbl_col(&tb, "expected", TBL_RIGHT);
    for (int a = 0; a < NACCOUNTS; a++) {
        tbl_cell(&tb, "%s", b->acct[a].name);
        tbl_cell(&tb, "%d", START_BALANCE);
        tbl_cell(&tb, "%lld", b->acct[a].balance);
        tbl_cell(&tb, "%lld", expected_balance(b, a));
    }
    tbl_cell(&tb, "total");
    tbl_cell(&tb, "%lld", before);
    tbl_cell(&tb, "%lld", after);
    tbl_cell(&tb, "%lld", before);
    tbl_print(&tb, stdout);
    printf("\n%lld of %lld transfers in %.2f s", done, NTELLERS * b->transfers,
           seconds);
    if (b->fix == FIX_TRYLOCK)
        printf(", %lld back-off%s", backoffs, backoffs == 1 ? "" : "s");
    printf("\n");
    if (ok)
        printf("OK: every transfer completed and money is conserved (%lld "
               "before, %lld after).\n",
               before, after);
    else
        printf("WRONG: the balances do not add up: a transfer ran without "
               "both locks?\n");
    return ok;
}

/* ---- main -------------------------------------------------------------- */

static void explain(const struct bank *b)
{
    printf("deadlock: 2 tellers, %lld transfers each between alice and bob; ",
           b->transfers);
    printf("fix: %s\n", fix_names[b->fix]);
    switch (b->fix) {
    case FIX_NONE:
        printf("  teller 1 locks alice then bob; "
               "teller 2 locks bob then alice.\n");
        break;
    case FIX_ORDER:
        printf("  both tellers lock alice before bob (one global order: no "
               "cycle can form).\n");
        break;
    case FIX_TRYLOCK:
        printf("  each teller only tries its second lock; if busy, it lets go "
               "of the first\n  and retries after a random pause (it never "
               "waits while holding a lock).\n");
        break;
    }
    if (b->pause_ms == 0)
        printf("  no pause while holding the first lock: a narrow window, so "
               "any deadlock\n  comes by luck.\n\n");
    else if (b->fix == FIX_NONE)
        printf("  each holds its first lock for %g ms before taking the "
               "second: the pause\n  widens the window, so the deadlock "
               "comes every time, not by luck.\n\n",
               b->pause_ms);
    else
        printf("  each holds its first lock for %g ms before taking the "
               "second: the same wide\n  window that deadlocks without the "
               "fix.\n\n",
               b->pause_ms);
}

static const char usage[] =
    "usage: deadlock [-f none|order|trylock] [-n TRANSFERS] [--pause MS] "
    "[--json]\n"
    "\n"
    "Two tellers move money between alice and bob, each account behind\n"
    "its own mutex: teller 1 locks alice then bob, teller 2 bob then alice.\n"
    "A watchdog reports the deadlock (who holds which lock, who waits for\n"
    "which) and exits 3.\n"
    "\n"
    "  -f, --fix FIX        none (default: deadlocks), order (one global\n"
    "                       lock order), trylock (back off and retry)\n"
    "  -n, --transfers N    per teller, 1..1000000 (default 100)\n"
    "      --pause MS       hold the first lock MS ms, 0..100 (default 1):\n"
    "                       a wide window, so it deadlocks every time\n"
    "      --json           one JSON object instead of the table\n"
    "  -h, --help           this help\n"
    "\n"
    "examples:\n"
    "  ./deadlock                 deadlocks; the watchdog explains, exit 3\n"
    "  ./deadlock --fix order     every transfer done, money conserved\n"
    "  ./deadlock --pause 0 -n 100000\n"
    "                             no pause: a deadlock only by luck\n"
    "\n"
    "exit status: 0 done, money conserved; 1 balances wrong; 2 bad usage;\n"
    "             3 deadlock\n";

int main(int argc, char *argv[])
{
    kit_set_prog("deadlock");
    static struct bank b = {
        .fix = FIX_NONE,
        .transfers = 100,
        .pause_ms = 1,
        .acct = {{.name = "alice"}, {.name = "bob"}},
    };
    bool json = false;

    enum { OPT_JSON = 256, OPT_PAUSE };
    /* --pause is long only: -p means --producers in the kit. */
    static const struct option longopts[] = {
        {"fix", required_argument, NULL, 'f'},
        {"transfers", required_argument, NULL, 'n'},
        {"pause", required_argument, NULL, OPT_PAUSE},
        {"json", no_argument, NULL, OPT_JSON},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, ":f:n:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'f':
            b.fix = (enum fix)opt_choice("--fix", optarg, fix_names);
            break;
        case 'n':
            b.transfers = opt_int("--transfers", optarg, 1, MAX_TRANSFERS);
            break;
        case OPT_PAUSE:
            b.pause_ms = opt_double("--pause", optarg, 0, MAX_PAUSE_MS);
            break;
        case OPT_JSON: json = true; break;
        case 'h': kit_help(usage);
        default: kit_opt_fail(c, argv, longopts);
        }
    }
    kit_no_operands(argc, argv);

    for (int a = 0; a < NACCOUNTS; a++) {
        xmutex_init(&b.acct[a].lock);
        b.acct[a].balance = START_BALANCE;
        atomic_init(&b.acct[a].holder, NOBODY);
    }
    /* teller 1 pays 3 from alice to bob, teller 2 pays 2 back: different
     * amounts, so a lost transfer shows in the balances. */
    for (int t = 0; t < NTELLERS; t++) {
        struct teller *x = &b.teller[t];
        x->id = t;
        x->bank = &b;
        x->from = &b.acct[t];
        x->to = &b.acct[(t + 1) % NACCOUNTS];
        x->amount = 3 - t;
        x->seed = 2463534242u + (uint32_t)t; /* any non-zero, one per teller */
        atomic_init(&x->waits_for, NOBODY);
    }
    atomic_init(&b.completed, 0);
    atomic_init(&b.finished, 0);
    gate_init(&b.gate, NTELLERS);

    if (!json) {
        explain(&b);
        if (fflush(stdout) != 0) /* show the story before the wait */
            die_errno("stdout");
    }

    pthread_t tid[NTELLERS];
    double t0 = kit_now();
    for (int t = 0; t < NTELLERS; t++)
        xpthread_create(&tid[t], teller_main, &b.teller[t]);

    if (!watch(&b)) {
        report_deadlock(&b, json, kit_now() - t0);
        if (fflush(stdout) != 0)
            die_errno("stdout");
        /* The tellers are stuck in pthread_mutex_lock for good: they cannot
         * be joined or cancelled.  Ending the process ends them. */
        exit(EXIT_DEADLOCK);
    }
    for (int t = 0; t < NTELLERS; t++)
        xpthread_join(tid[t]); /* after this, the balances are safe to read */
    double seconds = kit_now() - t0;

    bool ok = report_done(&b, json, seconds);
    if (fflush(stdout) != 0)
        die_errno("stdout");
    for (int a = 0; a < NACCOUNTS; a++)
        xmutex_destroy(&b.acct[a].lock);
    gate_destroy(&b.gate);
    return ok ? 0 : KIT_EXIT_RUNTIME;
}
