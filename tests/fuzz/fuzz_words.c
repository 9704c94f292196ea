/*
 * fuzz_words.c - libFuzzer target: the UTF-8 word tokenizer of lab 05.
 *
 * Not only "no crash": for every input the fast tokenizer (words_scan) must
 * produce exactly the words of the slow reference (words_ref.h: a
 * hand-written strict decoder and iswalnum_l/towlower_l per code point),
 * and cutting the input where words_cut says must never split a word:
 * scanning [0, cut) and [cut, n) gives the same words as [0, n).
 *
 *   clang -std=c11 -D_POSIX_C_SOURCE=200809L -g -O1 \
 *       -fsanitize=fuzzer,address,undefined -Icommon \
 *       tests/fuzz/fuzz_words.c 05-mapreduce/words.c common/\*.c -o fw
 *   ./fw -max_total_time=60 tests/fuzz/corpus/words
 *
 * Every input that ever failed here is a regression test in
 * tests/test_05_words.c (suite lab05_words).
 */
#include "../../05-mapreduce/words.h"
#include "words_ref.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void fail(const char *what, const uint8_t *data, size_t size,
                 const ref_words *want, const ref_words *got)
{
    fprintf(stderr, "fuzz_words: %s (input %zu bytes)\n", what, size);
    fprintf(stderr, "want %zu words:\n%s\ngot %zu words:\n%s\n", want->count,
            want->s ? want->s : "", got->count, got->s ? got->s : "");
    (void)data;
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Copy into a buffer of exactly `size` bytes, so ASan catches any read
     * past the end (libFuzzer's own buffer is exact too, but be sure). */
    char *buf = malloc(size ? size : 1);
    if (buf == NULL)
        return 0;
    if (size)
        memcpy(buf, data, size);

    ref_words want = {0}, got = {0}, split = {0};
    ref_scan(buf, size, &want);
    size_t n = words_scan(buf, size, ref_collect, &got);
    if (n != got.count)
        fail("words_scan's return value differs from its callback count", data,
             size, &want, &got);
    if (want.count != got.count || want.len != got.len ||
        (want.len && memcmp(want.s, got.s, want.len) != 0))
        fail("words_scan disagrees with the reference", data, size, &want,
             &got);

    /* words_cut from an offset chosen by the input itself. */
    size_t off = size ? (size_t)data[0] * 7919u % (size + 1) : 0;
    size_t cut = words_cut(buf, size, off);
    if (cut < off || cut > size)
        fail("words_cut out of range", data, size, &want, &got);
    for (size_t i = off; i < cut; i++) {
        unsigned char b = (unsigned char)buf[i];
        int sep =
            b < 0x80 && !((b >= '0' && b <= '9') || (b >= 'a' && b <= 'z') ||
                          (b >= 'A' && b <= 'Z'));
        if (sep)
            fail("words_cut skipped an ASCII separator", data, size, &want,
                 &got);
    }
    words_scan(buf, cut, ref_collect, &split);
    words_scan(buf + cut, size - cut, ref_collect, &split);
    if (split.count != got.count || split.len != got.len ||
        (got.len && memcmp(split.s, got.s, got.len) != 0))
        fail("cutting at words_cut changed the words", data, size, &got,
             &split);

    /* words_cut_back: [0, back) ends at a separator (or is empty). */
    size_t back = words_cut_back(buf, size);
    if (back > size || (back > 0 && words_cut(buf, size, back - 1) != back - 1))
        fail("words_cut_back is not at a separator", data, size, &want, &got);
    ref_words split2 = {0};
    words_scan(buf, back, ref_collect, &split2);
    words_scan(buf + back, size - back, ref_collect, &split2);
    if (split2.count != got.count || split2.len != got.len ||
        (got.len && memcmp(split2.s, got.s, got.len) != 0))
        fail("cutting at words_cut_back changed the words", data, size, &got,
             &split2);

    free(want.s);
    free(got.s);
    free(split.s);
    free(split2.s);
    free(buf);
    return 0;
}
