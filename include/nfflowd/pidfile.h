/* The pidfile, locked with a POSIX record lock while the daemon runs. */
#ifndef NFFLOWD_PIDFILE_H
#define NFFLOWD_PIDFILE_H

#include <sys/types.h>

/* Creates/opens and locks path, then writes our pid. Returns the fd (kept
 * open for the daemon's life), or -1: errno EEXIST means another process
 * holds it and *holder is its pid. */
int pidfile_acquire(const char *path, pid_t *holder);

/* The pid of the process holding the lock on path, 0 if none (no file or
 * not locked: a stale file), -1 on other errors (errno set). */
pid_t pidfile_running(const char *path);

/* Unlinks path and closes fd. */
void pidfile_release(int fd, const char *path);

#endif
