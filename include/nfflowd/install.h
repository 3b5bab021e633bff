/* `nfflowd install`: put the systemd unit in place and enable it, or say
 * precisely what to do where systemd does not run. */
#ifndef NFFLOWD_INSTALL_H
#define NFFLOWD_INSTALL_H

#include <stdio.h>

#define INSTALL_UNIT_NAME "nfflowd.service"
#define INSTALL_UNIT_DIR "/etc/systemd/system"
#define INSTALL_USER "nfflowd"

/* Installs and enables nfflowd.service for the configuration config_path
 * (the unit compiled into the binary goes to /etc/systemd/system unless a
 * package or `meson install` already put one in a system unit directory),
 * creates the unit's user if missing, runs `systemctl daemon-reload` and
 * `systemctl enable`, and reports on out, naming what it changed and the
 * status command. Without systemd as PID 1 it changes nothing and prints
 * the unit text and the commands to run. Idempotent. Errors go to stderr,
 * and so do the warnings about a configuration the service cannot start
 * with.
 * Returns the exit code: 0 done (or nothing to do), 1 not root or a step
 * failed. */
int install_run(const char *config_path, FILE *out);

#endif
