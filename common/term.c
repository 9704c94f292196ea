/* term.c - see term.h.
 * TIOCGWINSZ is not in POSIX.1-2008 but every Unix has it; these macros
 * make the system headers show it under -D_POSIX_C_SOURCE. */
#define _DEFAULT_SOURCE
#define _DARWIN_C_SOURCE
#include "term.h"

#include "cli.h"

#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

bool kit_use_color(FILE *f)
{
    const char *nc = getenv("NO_COLOR");
    if (nc && *nc)
        return false;
    const char *term = getenv("TERM");
    if (term && strcmp(term, "dumb") == 0)
        return false;
    return isatty(fileno(f)) == 1;
}

const char *kit_color(FILE *f, const char *name)
{
    static const struct {
        const char *name, *seq;
    } tab[] = {
        {"red", "\033[31m"}, {"green", "\033[32m"}, {"yellow", "\033[33m"},
        {"bold", "\033[1m"}, {"reset", "\033[0m"},
    };
    if (!kit_use_color(f))
        return "";
    for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++)
        if (strcmp(tab[i].name, name) == 0)
            return tab[i].seq;
    return "";
}

void kit_progress(const char *label, double done, double total)
{
    if (!kit_use_color(stderr) || total <= 0)
        return;
    enum { W = 30 };
    double f = done / total;
    if (f < 0)
        f = 0;
    if (f > 1)
        f = 1;
    int fill = (int)(f * W);
    char bar[W + 1];
    for (int i = 0; i < W; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[W] = '\0';
    fprintf(stderr, "\r%s [%s] %3d%%", label, bar, (int)(f * 100));
    if (done >= total)
        fputc('\n', stderr);
    fflush(stderr);
}

int kit_term_width(void)
{
    struct winsize ws;
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 20)
        return ws.ws_col;
    const char *cols = getenv("COLUMNS");
    if (cols) {
        long long c;
        if (kit_parse_ll(cols, 20, 1000, &c) == KIT_PARSE_OK)
            return (int)c;
    }
    return 80;
}
