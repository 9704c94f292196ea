#!/usr/bin/python3
"""wordcount.py - the Python twin of ./wordcount: collections.Counter, and a
map-reduce on multiprocessing.Pool.

The kit's word rule (words.h): a word is a maximal run of Unicode letters
and digits in UTF-8, lowercased; every invalid UTF-8 byte separates words.
Output: word<TAB>count, sorted bytewise (code-point order is UTF-8 byte
order).  Byte-identical to ./wordcount on English and Russian text.  Python
asks str.isalnum(), the C glibc's iswalnum(): they differ on 2,299 rare code
points (Python counts '²' and '½' as digits, glibc some combining marks as
letters), and there the two outputs differ too.

  -j 1   Counter(words) over the whole text: one process
  -j N   map: Pool(N) counts splits (cut at line ends, never inside a word)
         into one Counter each; reduce: the parent adds the Counters

Usage:  /usr/bin/python3 05-mapreduce/wordcount.py [-j N] [--stats FILE] [FILE...]
See also: wordcount.c, mr.c (the same job on C threads or processes).
"""
import argparse, json, multiprocessing as mp, os, re, sys, time
from collections import Counter

WORD = re.compile(r"[^\W_]+")             # \w is isalnum() or '_': take '_' out


def lower(w):     # like C's towlower(), one code point at a time: str.lower() makes
    if "\u0130" in w or "\u03a3" in w:  # 'İ' two code points, and a final 'Σ' 'ς'
        return "".join(c.lower()[0] for c in w)
    return w.lower()


def count(text):                          # map: one split -> its Counter
    return Counter(map(lower, WORD.findall(text)))


def splits(text, n):                      # about n pieces, each ending at a '\n'
    start, step = 0, max(len(text) // n, 1)
    while start < len(text):
        end = text.find("\n", start + step)
        end = len(text) if end < 0 else end + 1
        yield text[start:end]
        start = end


def main():
    p = argparse.ArgumentParser(epilog="example: /usr/bin/python3 05-mapreduce/wordcount.py -j 2 05-mapreduce/README.md")
    p.add_argument("-j", "--jobs", type=int, choices=range(1, 257), default=os.cpu_count(), metavar="1..256")
    p.add_argument("--stats", metavar="FILE", help="one JSON object of counts and timings ('-': stderr)")
    p.add_argument("files", nargs="*", default=["-"])
    a = p.parse_args()
    t0 = time.perf_counter()
    data = b"".join(sys.stdin.buffer.read() if f == "-" else open(f, "rb").read() for f in a.files)
    text = data.decode("utf-8", errors="replace")   # an invalid byte -> U+FFFD, not a letter
    if a.jobs == 1:
        total, tasks = count(text), 1
    else:
        total, pieces = Counter(), list(splits(text, 4 * a.jobs))
        with mp.get_context("fork").Pool(a.jobs) as pool:
            for c in pool.imap_unordered(count, pieces):   # reduce as the maps finish
                total.update(c)
        tasks = len(pieces)
    sys.stdout.buffer.write("".join(f"{w}\t{n}\n" for w, n in sorted(total.items())).encode())
    if a.stats:
        stats = {"bytes": len(data), "words": sum(total.values()), "distinct": len(total),
                 "map_tasks": tasks, "jobs": a.jobs, "seconds": {"total": time.perf_counter() - t0}}
        out = sys.stderr if a.stats == "-" else open(a.stats, "w")
        print(json.dumps(stats), file=out)


if __name__ == "__main__":
    main()
