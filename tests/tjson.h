/*
 * tjson.h - just enough JSON for tests: validate a document and read values
 * by path.  A path is dot-separated keys and array indices:
 * "results.0.got".  All functions return false when the document is not
 * valid JSON or the path does not lead to a value of that type.
 */
#ifndef KIT_TJSON_H
#define KIT_TJSON_H

#include <stdbool.h>
#include <stddef.h>

bool tj_valid(const char *doc); /* exactly one value + blanks */
bool tj_num(const char *doc, const char *path, double *out);
bool tj_bool(const char *doc, const char *path, bool *out);
bool tj_str(const char *doc, const char *path, char *buf, size_t n);
bool tj_has(const char *doc, const char *path);
/* Number of elements of the array (or members of the object) at path. */
int tj_len(const char *doc, const char *path);

#endif
