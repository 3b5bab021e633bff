/* The client of the control socket: `nfflowd --dump-state [--json]`. */
#ifndef NFFLOWD_DUMPSTATE_H
#define NFFLOWD_DUMPSTATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

/* What `reload` needs of the daemon's counters. */
struct dumpstate_reloads {
	uint64_t ok;		/* reloads that took the new configuration */
	uint64_t failed;	/* reloads the daemon refused */
	char error[512];	/* why the latest one failed; "" when none */
	char config[256];	/* the daemon's configuration file */
};

/* Connects to the daemon's control socket at path, asks for the state and
 * prints it to out: a header of counters and a table of live connections,
 * or with json one JSON document. Errors go to stderr. Returns the exit
 * status (1 when no daemon answers). */
int dumpstate_run(const char *path, bool json, FILE *out);

/* Asks for the metrics (Prometheus text) and copies them to out. Errors
 * go to stderr. Returns the exit status (1 when no daemon answers). */
int dumpstate_metrics(const char *path, FILE *out);

/* Asks only for the counters; fills *line (malloc'ed JSON text, caller
 * frees) for `check`. Returns 0, or -1 with errno set (EPROTO: the reply
 * was no counters line). */
int dumpstate_counters(const char *path, char **line);

/* The same for another request answered with the counters line (req with
 * its '\n', e.g. "role standby\n"). */
int dumpstate_request(const char *path, const char *req, char **line);

/* Asks for the counters and fills *r from them. Returns 0, or -1 with
 * errno set: from connecting or reading (no daemon answers), EPROTO for a
 * reply without the reload counters. */
int dumpstate_reloads(const char *path, struct dumpstate_reloads *r);

/* The running nfflowd (same executable, found through /proc and its
 * control socket) that says it runs with configuration file config, or 0.
 * For a file whose pidfile the daemon has not moved to yet. */
pid_t dumpstate_find_daemon(const char *config);

/* Writes text from the daemon to out, control characters as '?'. */
void dumpstate_put_text(FILE *out, const char *text);

/* Finds the UNIX stream socket process pid listens on (its control
 * socket, wherever the file it was started with put it) through /proc.
 * Returns 0 with the path in path, or -1 (ENOENT: none found). */
int dumpstate_find_socket(pid_t pid, char *path, size_t len);

#endif
