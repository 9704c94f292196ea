#!/bin/sh
# make-bench-text.sh - the English text that lab 05's benchmarks count.
#
# Usage: sh 05-mapreduce/make-bench-text.sh [DIR]      (default: bench-data)
#        sh 05-mapreduce/make-bench-text.sh --dictionary [DIR]
# Makes DIR/english-50M.txt (a 50 MB text), DIR/english-200M.txt (it four
# times) and DIR/english-800M.txt (sixteen times): 4x the input, exactly
# the same vocabulary.  With --dictionary, DIR/dictionary-200M.txt instead:
# the high-vocabulary text (below).  They stay out of git (bench-data/ is
# in .gitignore).  Running it again reuses them.  Needs ~1.1 GB of disk.
#
# Why generated: no Debian package ships 40 MB or more of public-domain
# English prose, and the kit fetches nothing but Debian packages.  So the
# text is synthetic but shaped like English: words drawn from the
# American-English word list (Debian package wamerican, /usr/share/dict/words)
# with Zipf's law (the r-th most frequent word appears ~1/r as often, as in
# real text), sentences of 5-20 words with capitals and punctuation, lines
# of ~70 columns, paragraphs.  The seed is fixed: every run makes the same
# bytes.
#
# The dictionary text (--dictionary): 220,000 distinct words -- every ASCII
# word of the list, lowercased, then the same words with a suffix ("s",
# "ed", "ing", ...) until there are 220,000 -- each equally likely, 50 MB
# repeated to 200 MB.  Every map task then meets nearly the whole
# vocabulary: the worst case for memory that grows with map tasks x
# vocabulary, which is what it is for (bench.steps reports peak RSS on it).
set -eu
dict=/usr/share/dict/words
if [ "${1:-}" = --dictionary ]; then
    dir=${2:-bench-data}
    one=$dir/dictionary-50M.txt
    out=$dir/dictionary-200M.txt
    if [ -s "$out" ]; then
        exit 0
    fi
    if [ ! -r "$dict" ]; then
        echo "make-bench-text: $dict is missing: apt-get install wamerican" >&2
        exit 1
    fi
    mkdir -p "$dir"
    trap 'rm -f "$one.tmp.$$" "$out.tmp.$$"' EXIT INT TERM
    echo "make-bench-text: writing $out (220000 distinct words, uniform) ..." >&2
    awk -v target=52428800 -v seed=20240602 -v want=220000 '
        /^[A-Za-z]+$/ { x = tolower($0); if (!(x in seen)) { seen[x] = 1; w[++n] = x } }
        END {
            nb = n
            split("s ed ing er ly ness less ful ish able", suf, " ")
            for (s = 1; n < want && s <= 10; s++)
                for (i = 1; i <= nb && n < want; i++) {
                    v = w[i] suf[s]
                    if (!(v in seen)) { seen[v] = 1; w[++n] = v }
                }
            srand(seed)
            bytes = 0; col = 0; line = ""
            while (bytes < target) {
                word = w[int(rand() * n) + 1]
                if (col + length(word) + 1 > 70) {
                    print line; bytes += length(line) + 1; line = word; col = length(word)
                } else {
                    line = (col ? line " " : "") word; col += length(word) + (col ? 1 : 0)
                }
            }
            print line
        }' "$dict" > "$one.tmp.$$"
    cat "$one.tmp.$$" "$one.tmp.$$" "$one.tmp.$$" "$one.tmp.$$" > "$out.tmp.$$"
    rm -f "$one.tmp.$$"
    mv "$out.tmp.$$" "$out"
    exit 0
fi
dir=${1:-bench-data}
small=$dir/english-50M.txt
big=$dir/english-200M.txt
huge=$dir/english-800M.txt
if [ -s "$small" ] && [ -s "$big" ] && [ -s "$huge" ]; then
    exit 0
fi
if [ ! -r "$dict" ]; then
    echo "make-bench-text: $dict is missing: apt-get install wamerican" >&2
    exit 1
fi
mkdir -p "$dir"
tmp=$small.tmp.$$
trap 'rm -f "$tmp" "$big.tmp.$$" "$huge.tmp.$$"' EXIT INT TERM
if [ ! -s "$small" ]; then
echo "make-bench-text: writing $small (Zipf-distributed words from $dict) ..." >&2
awk -v target=52428800 -v seed=20240601 '
    /^[A-Za-z]+$/ { w[++n] = $0 }  # ASCII words only: the coreutils oracle can check the answer
    END {
        srand(seed)
        for (i = n; i > 1; i--) {            # shuffle: rank is not alphabetical
            j = int(rand() * i) + 1; t = w[i]; w[i] = w[j]; w[j] = t
        }
        total = 0
        for (i = 1; i <= n; i++) { total += 1 / i; cum[i] = total }
        bytes = 0; col = 0; left = 0; line = ""
        while (bytes < target) {
            x = rand() * total; lo = 1; hi = n   # binary search the Zipf CDF
            while (lo < hi) { mid = int((lo + hi) / 2); if (cum[mid] < x) lo = mid + 1; else hi = mid }
            word = w[lo]
            if (left == 0) {                     # a new sentence
                left = 5 + int(rand() * 16)
                word = toupper(substr(word, 1, 1)) substr(word, 2)
            }
            left--
            if (left == 0) word = word (rand() < 0.8 ? "." : (rand() < 0.5 ? "?" : "!"))
            else if (rand() < 0.08) word = word ","
            if (col + length(word) + 1 > 70) {
                print line; bytes += length(line) + 1; line = word; col = length(word)
                if (rand() < 0.06) { print ""; bytes++ }
            } else {
                line = (col ? line " " : "") word; col += length(word) + (col ? 1 : 0)
            }
        }
        print line
    }' "$dict" > "$tmp"
mv "$tmp" "$small"
fi
echo "make-bench-text: writing $big (4 copies) ..." >&2
cat "$small" "$small" "$small" "$small" > "$big.tmp.$$"
mv "$big.tmp.$$" "$big"
echo "make-bench-text: writing $huge (16 copies) ..." >&2
cat "$big" "$big" "$big" "$big" > "$huge.tmp.$$"
mv "$huge.tmp.$$" "$huge"
