#!/usr/bin/python3
"""spawn.py - the Python twin of ./spawn: what does it cost to start a
process (multiprocessing.Process) and a thread (threading.Thread)?

Each is created, started and joined COUNT times, one at a time, doing
nothing.  What you will observe: a process costs tens to hundreds of times more
than a thread with the default start method on Linux ("fork"), and more
again with "spawn" (a fresh interpreter that imports this module: the
default on macOS and Windows, and from Python 3.14 on Linux too).

Usage:  /usr/bin/python3 01-processes/spawn.py [-n COUNT]
            [--start-method fork|spawn|forkserver] [--json]
See also: spawn.c (fork + waitpid vs pthread_create + pthread_join).
"""
import argparse, json, multiprocessing as mp, threading, time


def nothing():
    pass


def per_start_us(make, count):
    t0 = time.perf_counter()
    for _ in range(count):
        w = make(target=nothing)
        w.start()
        w.join()
    return (time.perf_counter() - t0) / count * 1e6


def ranged(lo, hi):                       # argparse type: an integer in lo..hi
    def parse(s):
        if not (s.lstrip("-").isdigit() and lo <= int(s) <= hi):
            raise argparse.ArgumentTypeError(f"expected an integer in {lo}..{hi}, got '{s}'")
        return int(s)
    return parse


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                epilog="example: /usr/bin/python3 01-processes/spawn.py -n 500")
    p.add_argument("-n", "--count", type=ranged(1, 100000), default=100, help="how many of each, 1..100000 (100)")
    p.add_argument("--start-method", choices=["fork", "spawn", "forkserver"], default="fork")
    p.add_argument("--json", action="store_true", help="one JSON object on stdout")
    a = p.parse_args()
    ctx = mp.get_context(a.start_method)
    proc_us = per_start_us(ctx.Process, a.count)
    thread_us = per_start_us(threading.Thread, a.count)
    r = {"count": a.count, "fork_us": proc_us, "thread_us": thread_us,
         "ratio": proc_us / thread_us, "start_method": a.start_method}
    if a.json:
        print(json.dumps(r))
        return
    print(f"{a.count} x start + join, one at a time (start method '{a.start_method}')\n")
    print(f"  multiprocessing.Process  {proc_us:10.1f} us each")
    print(f"  threading.Thread         {thread_us:10.1f} us each")
    print(f"\na process costs {r['ratio']:.0f}x a thread: a new process copies (fork) or"
          f"\nstarts (spawn) an interpreter; a thread shares this one.")


if __name__ == "__main__":
    main()
