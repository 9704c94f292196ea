/* tjson.c - see tjson.h.  A recursive-descent reader that skips what it
 * does not need; strings are compared raw (the kit's keys need no escapes). */
#include "tjson.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static const char *ws(const char *p)
{
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
        p++;
    return p;
}

static const char *skip_value(const char *p, int depth);

static const char *skip_string(const char *p)
{
    if (*p != '"')
        return NULL;
    for (p++; *p && *p != '"'; p++) {
        if ((unsigned char)*p < 0x20)
            return NULL;
        if (*p == '\\') {
            p++;
            if (*p == 'u') {
                for (int i = 1; i <= 4; i++)
                    if (!isxdigit((unsigned char)p[i]))
                        return NULL;
                p += 4;
            } else if (!strchr("\"\\/bfnrt", *p) || !*p) {
                return NULL;
            }
        }
    }
    return *p == '"' ? p + 1 : NULL;
}

static const char *skip_number(const char *p)
{
    if (*p == '-')
        p++;
    if (*p == '0')
        p++;
    else if (isdigit((unsigned char)*p))
        while (isdigit((unsigned char)*p))
            p++;
    else
        return NULL;
    if (*p == '.') {
        p++;
        if (!isdigit((unsigned char)*p))
            return NULL;
        while (isdigit((unsigned char)*p))
            p++;
    }
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-')
            p++;
        if (!isdigit((unsigned char)*p))
            return NULL;
        while (isdigit((unsigned char)*p))
            p++;
    }
    return p;
}

static const char *skip_container(const char *p, int depth, char close,
                                  bool obj)
{
    p = ws(p + 1);
    if (*p == close)
        return p + 1;
    for (;;) {
        if (obj) {
            p = skip_string(p);
            if (!p)
                return NULL;
            p = ws(p);
            if (*p != ':')
                return NULL;
            p = ws(p + 1);
        }
        p = skip_value(p, depth + 1);
        if (!p)
            return NULL;
        p = ws(p);
        if (*p == close)
            return p + 1;
        if (*p != ',')
            return NULL;
        p = ws(p + 1);
    }
}

static const char *skip_value(const char *p, int depth)
{
    if (depth > 64)
        return NULL;
    p = ws(p);
    switch (*p) {
    case '{': return skip_container(p, depth, '}', true);
    case '[': return skip_container(p, depth, ']', false);
    case '"': return skip_string(p);
    case 't': return strncmp(p, "true", 4) == 0 ? p + 4 : NULL;
    case 'f': return strncmp(p, "false", 5) == 0 ? p + 5 : NULL;
    case 'n': return strncmp(p, "null", 4) == 0 ? p + 4 : NULL;
    default: return skip_number(p);
    }
}

bool tj_valid(const char *doc)
{
    if (!doc)
        return false;
    const char *p = skip_value(doc, 0);
    return p && *ws(p) == '\0';
}

/* The value at path, or NULL. */
static const char *find(const char *doc, const char *path)
{
    if (!tj_valid(doc))
        return NULL;
    const char *p = ws(doc);
    while (path && *path) {
        size_t len = strcspn(path, ".");
        if (*p == '{') {
            p = ws(p + 1);
            bool found = false;
            while (*p == '"') {
                const char *kend = skip_string(p);
                bool match = (size_t)(kend - p - 2) == len &&
                             strncmp(p + 1, path, len) == 0;
                p = ws(ws(kend) + 1); /* past ':' */
                if (match) {
                    found = true;
                    break;
                }
                p = ws(skip_value(p, 0));
                if (*p == ',')
                    p = ws(p + 1);
            }
            if (!found)
                return NULL;
        } else if (*p == '[') {
            char *end;
            long idx = strtol(path, &end, 10);
            if (end != path + len || idx < 0)
                return NULL;
            p = ws(p + 1);
            if (*p == ']')
                return NULL;
            for (long i = 0; i < idx; i++) {
                p = ws(skip_value(p, 0));
                if (*p != ',')
                    return NULL;
                p = ws(p + 1);
            }
        } else {
            return NULL;
        }
        path += len;
        if (*path == '.')
            path++;
    }
    return p;
}

bool tj_has(const char *doc, const char *path)
{
    return find(doc, path) != NULL;
}

bool tj_num(const char *doc, const char *path, double *out)
{
    const char *p = find(doc, path);
    if (!p || !(*p == '-' || isdigit((unsigned char)*p)))
        return false;
    *out = strtod(p, NULL);
    return true;
}

bool tj_bool(const char *doc, const char *path, bool *out)
{
    const char *p = find(doc, path);
    if (!p)
        return false;
    if (strncmp(p, "true", 4) == 0)
        *out = true;
    else if (strncmp(p, "false", 5) == 0)
        *out = false;
    else
        return false;
    return true;
}

/* The string's value, escapes decoded (\uXXXX as UTF-8, surrogates not
 * paired: the kit writes \u only for control characters). */
bool tj_str(const char *doc, const char *path, char *buf, size_t n)
{
    const char *p = find(doc, path);
    if (!p || *p != '"' || n == 0)
        return false;
    const char *end = skip_string(p) - 1; /* the closing quote */
    size_t len = 0;
    for (p++; p < end && len + 4 < n; p++) {
        if (*p != '\\') {
            buf[len++] = *p;
            continue;
        }
        p++;
        switch (*p) {
        case 'b': buf[len++] = '\b'; break;
        case 'f': buf[len++] = '\f'; break;
        case 'n': buf[len++] = '\n'; break;
        case 'r': buf[len++] = '\r'; break;
        case 't': buf[len++] = '\t'; break;
        case 'u': {
            unsigned cp = (unsigned)strtoul(
                (char[5]){p[1], p[2], p[3], p[4], 0}, NULL, 16);
            p += 4;
            if (cp < 0x80) {
                buf[len++] = (char)cp;
            } else if (cp < 0x800) {
                buf[len++] = (char)(0xC0 | (cp >> 6));
                buf[len++] = (char)(0x80 | (cp & 0x3F));
            } else {
                buf[len++] = (char)(0xE0 | (cp >> 12));
                buf[len++] = (char)(0x80 | ((cp >> 6) & 0x3F));
                buf[len++] = (char)(0x80 | (cp & 0x3F));
            }
            break;
        }
        default: buf[len++] = *p; /* " \ / */
        }
    }
    buf[len] = '\0';
    return true;
}

int tj_len(const char *doc, const char *path)
{
    const char *p = find(doc, path);
    if (!p || (*p != '[' && *p != '{'))
        return -1;
    bool obj = *p == '{';
    char close = obj ? '}' : ']';
    p = ws(p + 1);
    if (*p == close)
        return 0;
    int n = 0;
    for (;;) {
        if (obj)
            p = ws(ws(skip_string(p)) + 1);
        p = ws(skip_value(p, 0));
        n++;
        if (*p != ',')
            return n;
        p = ws(p + 1);
    }
}
