#!/usr/bin/python3
"""parallel.py - the Python twin of ./parallel: the lecture's parallel map.

count_primes(x) over TASKS inputs (the same inputs as ./parallel: x_i =
step * (TASKS - i), step = SIZE // TASKS), three ways:
  loop      [count_primes(x) for x in xs]               the baseline
  joblib    Parallel(n_jobs=N)(delayed(count_primes)(x) for x in xs)
  pool      multiprocessing.Pool(N).map(count_primes, xs)
What you will observe: the same results in the same order; with 2 CPUs a
speedup below 2x (starting workers and shipping arguments costs: joblib's
loky backend starts fresh interpreters), and the whole thing tens of times
slower than the C, because the loop is bytecode.

Usage:  /usr/bin/python3 02-threads/parallel.py [-j N] [--tasks N] [--size X] [--json]
See also: parallel.c and pool.c (the same map on C threads or forked workers).
"""
import argparse, atexit, json, multiprocessing as mp, os, time
from joblib import Parallel, delayed
from joblib.externals.loky import get_reusable_executor
from joblib.externals.loky.backend import resource_tracker as loky_tracker
from multiprocessing import resource_tracker as mp_tracker


def count_primes(x):                      # primes <= x, trial division, slow on purpose
    return sum(all(k % d for d in range(2, int(k ** 0.5) + 1)) for k in range(2, x + 1))


def stop_helpers():
    """joblib keeps its workers for the next call, and two resource trackers
    that end only once they notice we are gone: end them all now, so that
    no process outlives the program (private attributes, joblib 1.2)."""
    get_reusable_executor().shutdown(wait=True)
    for t in (loky_tracker._resource_tracker, mp_tracker._resource_tracker):
        if t._pid is not None:
            os.close(t._fd)                      # EOF: the tracker cleans up and exits
            os.waitpid(t._pid, 0)
            t._fd = t._pid = None


def ranged(lo, hi):                       # argparse type: an integer in lo..hi
    def parse(s):
        if not (s.lstrip("-").isdigit() and lo <= int(s) <= hi):
            raise argparse.ArgumentTypeError(f"expected an integer in {lo}..{hi}, got '{s}'")
        return int(s)
    return parse


def main():
    p = argparse.ArgumentParser(epilog="example: /usr/bin/python3 02-threads/parallel.py -j 2 --size 50000")
    p.add_argument("-j", "--jobs", type=ranged(1, 256), default=2, help="workers, 1..256 (2)")
    p.add_argument("-n", "--tasks", type=ranged(1, 100000), default=16, help="inputs (16)")
    p.add_argument("-s", "--size", type=ranged(1, 5000000), default=40000, help="largest input (40000)")
    p.add_argument("--json", action="store_true")
    a = p.parse_args()
    atexit.register(stop_helpers)          # registered first, so it runs after joblib's own
    step = max(a.size // a.tasks, 1)
    xs = [step * (a.tasks - i) for i in range(a.tasks)]
    t0 = time.perf_counter(); want = [count_primes(x) for x in xs]; base = time.perf_counter() - t0
    runs = []
    for backend in ("joblib", "pool"):
        t0 = time.perf_counter()
        if backend == "joblib":
            got = Parallel(n_jobs=a.jobs)(delayed(count_primes)(x) for x in xs)
        else:
            with mp.get_context("fork").Pool(a.jobs) as pool:
                got = pool.map(count_primes, xs)
        secs = time.perf_counter() - t0
        runs.append({"backend": backend, "seconds": secs, "speedup": base / secs, "ok": got == want})
    out = {"jobs": a.jobs, "tasks": a.tasks, "size": a.size, "baseline_seconds": base, "runs": runs}
    if a.json:
        return print(json.dumps(out))
    print(f"count_primes over {a.tasks} inputs up to {a.size}; plain loop: {base:.3f} s\n")
    for r in runs:
        print(f"  {r['backend']:7} n_jobs={a.jobs}  {r['seconds']:7.3f} s  {r['speedup']:5.2f}x  "
              f"{'same results, same order' if r['ok'] else 'RESULTS DIFFER'}")
    print("\nboth run the tasks in worker processes (no GIL to share); joblib's default backend"
          "\n(loky) first starts fresh interpreters: with little work, that start is the cost.")
    return 0 if all(r["ok"] for r in runs) else 1


if __name__ == "__main__":
    raise SystemExit(main())
