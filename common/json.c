/* json.c - see json.h. */
#include "json.h"

#include "err.h"

#include <math.h>

void json_start(json_w *j, FILE *out)
{
    j->out = out;
    j->depth = 0;
    j->first[0] = true;
}

static void put_string(FILE *out, const char *s)
{
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"': fputs("\\\"", out); break;
        case '\\': fputs("\\\\", out); break;
        case '\n': fputs("\\n", out); break;
        case '\r': fputs("\\r", out); break;
        case '\t': fputs("\\t", out); break;
        default:
            if (*p < 0x20)
                fprintf(out, "\\u%04x", *p);
            else
                fputc(*p, out);
        }
    }
    fputc('"', out);
}

/* Comma and key before a value. */
static void lead(json_w *j, const char *key)
{
    if (!j->first[j->depth])
        fputc(',', j->out);
    j->first[j->depth] = false;
    if (key) {
        put_string(j->out, key);
        fputc(':', j->out);
    }
}

static void open_level(json_w *j, const char *key, char c)
{
    if (j->depth >= JSON_MAX_DEPTH)
        die("json: nesting deeper than %d", JSON_MAX_DEPTH);
    lead(j, key);
    fputc(c, j->out);
    j->first[++j->depth] = true;
    j->close[j->depth] = c == '{' ? '}' : ']';
}

void json_obj(json_w *j, const char *key) { open_level(j, key, '{'); }
void json_arr(json_w *j, const char *key) { open_level(j, key, '['); }

void json_end(json_w *j)
{
    if (j->depth <= 0)
        die("json: json_end without an open object or array");
    fputc(j->close[j->depth--], j->out);
}

void json_int(json_w *j, const char *key, long long v)
{
    lead(j, key);
    fprintf(j->out, "%lld", v);
}

void json_uint(json_w *j, const char *key, unsigned long long v)
{
    lead(j, key);
    fprintf(j->out, "%llu", v);
}

void json_double(json_w *j, const char *key, double v)
{
    lead(j, key);
    if (isfinite(v))
        fprintf(j->out, "%.6g", v);
    else
        fputs("null", j->out);
}

void json_bool(json_w *j, const char *key, bool v)
{
    lead(j, key);
    fputs(v ? "true" : "false", j->out);
}

void json_str(json_w *j, const char *key, const char *s)
{
    lead(j, key);
    put_string(j->out, s);
}

void json_null(json_w *j, const char *key)
{
    lead(j, key);
    fputs("null", j->out);
}

void json_finish(json_w *j)
{
    if (j->depth != 0)
        die("json: %d object(s) or array(s) left open", j->depth);
    fputc('\n', j->out);
    if (fflush(j->out) != 0 || ferror(j->out))
        die_errno("writing JSON output");
}
