/* The service manager notification protocol: one datagram per message to
 * the UNIX socket named by $NOTIFY_SOCKET (a path, or @name for the
 * abstract namespace). Without NOTIFY_SOCKET nothing is sent. */
#ifndef NFFLOWD_NOTIFY_H
#define NFFLOWD_NOTIFY_H

#include <stdint.h>

/* Reads $NOTIFY_SOCKET and $WATCHDOG_USEC; returns the watchdog interval in
 * microseconds (0 when none is asked for). */
uint64_t notify_init(void);

/* Sends text (e.g. "READY=1\nSTATUS=..."). Returns 0, or -1 on failure or
 * when no socket is configured. */
int notify_send(const char *text);

/* Sends text with fd attached (for "FDSTORE=1"). 0, or -1. */
int notify_send_fd(const char *text, int fd);

/* The file descriptor systemd passed us under this name (from its file
 * descriptor store), or -1. Passed descriptors under other names are
 * closed; LISTEN_* are removed from the environment. */
int notify_listen_fd(const char *name);

void notify_close(void);

#endif
