/* The client of the control socket: `nfflowd --dump-state [--json]`. */
#ifndef NFFLOWD_DUMPSTATE_H
#define NFFLOWD_DUMPSTATE_H

#include <stdbool.h>
#include <stdio.h>

/* Connects to the daemon's control socket at path, asks for the state and
 * prints it to out: a header of counters and a table of live connections,
 * or with json one JSON document. Errors go to stderr. Returns the exit
 * status (1 when no daemon answers). */
int dumpstate_run(const char *path, bool json, FILE *out);

/* Asks only for the counters; fills *line (malloc'ed JSON text, caller
 * frees) for `check`. Returns 0 or -1. */
int dumpstate_counters(const char *path, char **line);

#endif
