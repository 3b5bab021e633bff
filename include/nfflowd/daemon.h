/* The daemon: owns the event base and every I/O module, runs until
 * SIGTERM/SIGINT, reloads on SIGHUP. */
#ifndef NFFLOWD_DAEMON_H
#define NFFLOWD_DAEMON_H

#include <stdbool.h>

#include "nfflowd/config.h"

/* Runs the daemon with an already validated configuration read from
 * config_path (re-read on SIGHUP). ready_fd, when >= 0, is the write end of
 * a pipe to the process that started us: one byte is written to it once
 * the daemon is ready, and standard input, output (unless the config sends
 * records there) and error are then detached. Returns the exit status. */
int daemon_run(const char *config_path, const struct config *cfg,
	       int ready_fd);

#endif
