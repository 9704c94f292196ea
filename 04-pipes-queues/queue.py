#!/usr/bin/python3
"""queue.py - the Python twin of ./queue and ./mpqueue: producers and
consumers through queue.Queue (threads) and multiprocessing.Queue
(processes: a pipe, a feeder thread and pickling underneath).

P producers put ITEMS numbered items in all; C consumers get until a
sentinel (None, one per consumer) and report what they got.  Checked:
every item delivered exactly once.  What you will observe: both exact;
multiprocessing.Queue many times slower per item than queue.Queue.

Usage:  /usr/bin/python3 04-pipes-queues/queue.py [-p P] [-c C] [-n ITEMS] [--json]
See also: queue.c (a bounded queue from a mutex and two condition
variables), mpqueue.c (the same between processes, over a pipe).
"""
import os, sys   # this file is queue.py: "import queue" must not find it, but the standard library's
sys.path = [p for p in sys.path if os.path.realpath(p or ".") != os.path.dirname(os.path.realpath(__file__))]
import argparse, json, multiprocessing as mp, queue, threading, time


def produce(q, first, count):
    for i in range(first, first + count):
        q.put(i)


def consume(q, results):
    got = []
    while (item := q.get()) is not None:
        got.append(item)
    results.put(got)


def run(kind, Worker, Queue, p, c, n, capacity):
    q, results = Queue(capacity), Queue()
    share = [n // p + (i < n % p) for i in range(p)]
    prods = [Worker(target=produce, args=(q, sum(share[:i]), share[i])) for i in range(p)]
    cons = [Worker(target=consume, args=(q, results)) for _ in range(c)]
    t0 = time.perf_counter()
    [w.start() for w in prods + cons]
    [w.join() for w in prods]
    [q.put(None) for _ in cons]           # one sentinel per consumer: "no more"
    got = [i for _ in cons for i in results.get()]   # before join: drain the pipe
    [w.join() for w in cons]
    secs = time.perf_counter() - t0
    seen = set(got)
    return {"queue": kind, "producers": p, "consumers": c, "items": n, "delivered": len(got),
            "missing": n - len(seen & set(range(n))), "duplicates": len(got) - len(seen),
            "exactly_once": sorted(got) == list(range(n)), "items_per_sec": n / secs, "seconds": secs}


def ranged(lo, hi):                       # argparse type: an integer in lo..hi
    def parse(s):
        if not (s.lstrip("-").isdigit() and lo <= int(s) <= hi):
            raise argparse.ArgumentTypeError(f"expected an integer in {lo}..{hi}, got '{s}'")
        return int(s)
    return parse


def main():
    p = argparse.ArgumentParser(epilog="example: /usr/bin/python3 04-pipes-queues/queue.py -p 2 -c 2 -n 100000")
    p.add_argument("-p", "--producers", type=ranged(1, 64), default=2, help="1..64 (2)")
    p.add_argument("-c", "--consumers", type=ranged(1, 64), default=2, help="1..64 (2)")
    p.add_argument("-n", "--items", type=ranged(0, 10**7), default=20000, help="0..10000000 (20000)")
    p.add_argument("--capacity", type=ranged(1, 10**6), default=16, help="queue size, 1..1000000 (16)")
    p.add_argument("--json", action="store_true")
    a = p.parse_args()
    fork = mp.get_context("fork")
    runs = [run("queue.Queue", threading.Thread, queue.Queue, a.producers, a.consumers, a.items, a.capacity),
            run("multiprocessing.Queue", fork.Process, fork.Queue, a.producers, a.consumers, a.items, a.capacity)]
    if a.json:
        print(json.dumps({"runs": runs}))
    for r in runs if not a.json else []:
        print(f"{r['queue']:22} {r['items']} items  {r['items_per_sec']:10.0f} items/s  missing {r['missing']}"
              f"  duplicates {r['duplicates']}  {'exactly once: OK' if r['exactly_once'] else 'WRONG'}")
    return 0 if all(r["exactly_once"] for r in runs) else 1


if __name__ == "__main__":
    raise SystemExit(main())
