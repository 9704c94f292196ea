/*
 * json.h - a tiny streaming JSON writer for --json output.
 *
 *     json_w j;
 *     json_start(&j, stdout);
 *     json_obj(&j, NULL);                 // {
 *     json_int(&j, "threads", 2);         //   "threads":2,
 *     json_arr(&j, "results");            //   "results":[
 *     json_obj(&j, NULL); ... json_end(&j); //   {...}
 *     json_end(&j);                       //   ]
 *     json_end(&j);                       // }
 *     json_finish(&j);                    // newline, flush, check errors
 *
 * Keys are written only inside objects (pass NULL inside arrays).  Commas
 * are placed for you.  Doubles that are not finite are written as null.
 */
#ifndef KIT_JSON_H
#define KIT_JSON_H

#include <stdbool.h>
#include <stdio.h>

#define JSON_MAX_DEPTH 16

typedef struct {
    FILE *out;
    int depth;                      /* open objects/arrays */
    bool first[JSON_MAX_DEPTH + 1]; /* no value written yet at this depth */
    char close[JSON_MAX_DEPTH + 1]; /* '}' or ']' to end each open level */
} json_w;

void json_start(json_w *j, FILE *out);
void json_obj(json_w *j, const char *key);
void json_arr(json_w *j, const char *key);
void json_end(json_w *j);
void json_int(json_w *j, const char *key, long long v);
void json_uint(json_w *j, const char *key, unsigned long long v);
void json_double(json_w *j, const char *key, double v);
void json_bool(json_w *j, const char *key, bool v);
void json_str(json_w *j, const char *key, const char *s);
void json_null(json_w *j, const char *key);
/* Ends the line and flushes; dies (exit 1) if the stream had an error. */
void json_finish(json_w *j);

#endif
