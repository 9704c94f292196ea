#!/usr/bin/python3
"""race.py - the Python twin of ./race: counter += 1 from several threads.

  unsafe   counter += 1, nothing else.  Honest result on CPython 3.10 and
           later: usually NOTHING is lost.  The GIL is handed over only at
           certain points (a backward jump of the loop, a call), never
           between the load and the store of "+=": the GIL hides this race.
           It is still a race: the language promises nothing (and the
           free-threaded build, 3.13t, has no GIL).
  yield    the race the GIL does not hide: read, call something that lets
           the GIL go (time.sleep(0), like ./race --yield), write.  Lost.
  lock     the same read-call-write inside "with lock:": always exact.

Usage:  /usr/bin/python3 03-race-conditions/race.py [-m unsafe|yield|lock|all]
            [-t THREADS] [-n ITERATIONS] [--json]
See also: race.c (where the unsafe row loses updates in C).
"""
import argparse, json, threading, time

counter = 0
lock = threading.Lock()


def unsafe(n):
    global counter
    for _ in range(n):
        counter += 1


def read_call_write():
    global counter
    v = counter
    time.sleep(0)                         # a call that lets the GIL go
    counter = v + 1


def slow(n):
    for _ in range(n):
        read_call_write()


def locked(n):
    for _ in range(n):
        with lock:                        # the whole read-call-write, one thread at a time
            read_call_write()


def ranged(lo, hi):                       # argparse type: an integer in lo..hi
    def parse(s):
        if not (s.lstrip("-").isdigit() and lo <= int(s) <= hi):
            raise argparse.ArgumentTypeError(f"expected an integer in {lo}..{hi}, got '{s}'")
        return int(s)
    return parse


def main():
    global counter
    p = argparse.ArgumentParser(epilog="example: /usr/bin/python3 03-race-conditions/race.py -m yield -t 4")
    p.add_argument("-m", "--mode", choices=["unsafe", "yield", "lock", "all"], default="all")
    p.add_argument("-t", "--threads", type=ranged(1, 64), default=2, help="1..64 (2)")
    p.add_argument("-n", "--iterations", type=ranged(1, 10**8), default=0,
                   help="per thread (default 1000000 unsafe, 10000 yield and lock)")
    p.add_argument("--json", action="store_true")
    a = p.parse_args()
    results = []
    for mode, fn in (("unsafe", unsafe), ("yield", slow), ("lock", locked)):
        if a.mode not in (mode, "all"):
            continue
        n = a.iterations or (1000000 if mode == "unsafe" else 10000)
        counter = 0
        ts = [threading.Thread(target=fn, args=(n,)) for _ in range(a.threads)]
        t0 = time.perf_counter()
        [t.start() for t in ts]
        [t.join() for t in ts]
        results.append({"mode": mode, "expected": a.threads * n, "got": counter,
                        "lost": a.threads * n - counter, "seconds": time.perf_counter() - t0})
    if a.json:
        print(json.dumps({"threads": a.threads, "iterations": a.iterations, "results": results}))
    else:
        for r in results:
            verdict = ("OK" if r["lost"] == 0 else "WRONG") if r["mode"] == "lock" else \
                      ("DATA RACE: updates lost" if r["lost"] else "DATA RACE: hidden by the GIL, nothing lost")
            print(f"{r['mode']:7} expected {r['expected']:9}  got {r['got']:9}  lost {r['lost']:8}  {verdict}")
    return 1 if any(r["mode"] == "lock" and r["lost"] for r in results) else 0


if __name__ == "__main__":
    raise SystemExit(main())
