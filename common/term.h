/*
 * term.h - colour and progress, only where a person is watching.
 *
 * Colour and progress bars go to stderr, only when it is a terminal, and
 * never when NO_COLOR is set (https://no-color.org) or TERM is "dumb".
 */
#ifndef KIT_TERM_H
#define KIT_TERM_H

#include <stdbool.h>
#include <stdio.h>

bool kit_use_color(FILE *f);
/* ANSI sequence for colour name ("red", "green", "yellow", "bold", "reset")
 * if kit_use_color(f), else "". */
const char *kit_color(FILE *f, const char *name);
/* Draw "label [#####.....]  42%" on stderr if it is a TTY; done >= total
 * ends the line. */
void kit_progress(const char *label, double done, double total);
/* Terminal width of stdout, or 80 when unknown. */
int kit_term_width(void);

#endif
