#!/usr/bin/python3
"""gil.py - the Python twin of ./gil: the real GIL, not an emulation.

T workers against one thread doing the same total work, three ways:
  cpu  threads     (gil: true)   CPU-bound threads take turns: speedup ~1x
  cpu  processes   (gil: false)  one interpreter (one GIL) each: ~T x
  io   threads     (gil: true)   time.sleep() releases the GIL: ~T x
What you will observe: the rows ./gil emulates in C, from CPython itself.
Every time is the best of 3 runs (like timeit); on a busy machine there
is no free core, and no row can reach T x.

Usage:  /usr/bin/python3 02-threads/gil.py [-t T] [--cpu-ms MS] [--json]
See also: gil.c (the lock built in C), sys.getswitchinterval().
"""
import argparse, json, multiprocessing as mp, os, sys, threading, time

IO_ROUNDS, IO_WAIT = 40, 0.002            # like gil.c: 40 waits of 2 ms


def spin(n):                              # pure bytecode: holds the GIL
    return sum(i * i % 7 for i in range(n))


def io(_):
    for _ in range(IO_ROUNDS):
        time.sleep(IO_WAIT)               # a blocking call: the GIL released


def serial(fn, arg, t):                   # the baseline: one thread, T x the work
    t0 = time.perf_counter()
    [fn(arg) for _ in range(t)]
    return time.perf_counter() - t0


def timed(start, fn, arg, t):
    workers = [start(target=fn, args=(arg,)) for _ in range(t)]
    t0 = time.perf_counter()
    [w.start() for w in workers]
    [w.join() for w in workers]
    return time.perf_counter() - t0


def ranged(lo, hi):                       # argparse type: an integer in lo..hi
    def parse(s):
        if not (s.lstrip("-").isdigit() and lo <= int(s) <= hi):
            raise argparse.ArgumentTypeError(f"expected an integer in {lo}..{hi}, got '{s}'")
        return int(s)
    return parse


def main():
    p = argparse.ArgumentParser(epilog="example: /usr/bin/python3 02-threads/gil.py -t 2 --cpu-ms 300")
    p.add_argument("-t", "--threads", type=ranged(1, 16), default=2, help="workers, 1..16 (2)")
    p.add_argument("--cpu-ms", type=ranged(10, 5000), default=100, help="CPU work per worker (100)")
    p.add_argument("--json", action="store_true")
    a = p.parse_args()
    t0 = time.perf_counter(); spin(200000)  # calibrate: iterations per ms
    n = int(200000 / ((time.perf_counter() - t0) * 1000) * a.cpu_ms)
    fork = mp.get_context("fork")
    runs = []
    for work, gil, start, fn, arg in [("cpu", True, threading.Thread, spin, n),
                                      ("cpu", False, fork.Process, spin, n),
                                      ("io", True, threading.Thread, io, None)]:
        base = min(serial(fn, arg, a.threads) for _ in range(3))   # best of 3, like timeit:
        secs = min(timed(start, fn, arg, a.threads) for _ in range(3))  # the least disturbed
        runs.append({"work": work, "gil": gil, "how": "threads" if gil else "processes",
                     "seconds": secs, "speedup": base / secs, "baseline_seconds": base})
    out = {"threads": a.threads, "switch_ms": sys.getswitchinterval() * 1000,
           "cpus": os.cpu_count(), "runs": runs}
    if a.json:
        return print(json.dumps(out))
    print(f"{a.threads} workers vs 1 thread doing the same work (CPython {sys.version.split()[0]})\n")
    print(f"{'work':5} {'workers':10} {'GIL shared':10} {'time':>8} {'speedup':>8}")
    for r in runs:
        print(f"{r['work']:5} {r['how']:10} {'yes' if r['gil'] else 'no':10} {r['seconds']:7.3f}s {r['speedup']:7.2f}x")
    print("\nCPU-bound threads share one GIL and take turns; processes each have their"
          "\nown interpreter; a thread waiting in time.sleep() holds no GIL at all.")


if __name__ == "__main__":
    main()
