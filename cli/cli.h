/*
 * What the CLI's files share: usage errors and the help text.
 */
#ifndef WSP_CLI_H
#define WSP_CLI_H

#include <stdio.h>

#define EXIT_PASS 0
#define EXIT_FAIL 1
#define EXIT_USAGE 2

/* Prints "wsprobe: MESSAGE (see --help)" on one line and exits with 2. */
void cli_usage_error(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));
/* Prints the help, made from the library's option table. */
void cli_help(FILE *out);
/* wsprobe merge [--json FILE] [-q] REPORT.json... */
int cli_merge(int argc, char **argv);

#endif
