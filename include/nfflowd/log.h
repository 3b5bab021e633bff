/* Diagnostics (daemon facility), never mixed with the record stream.
 * Every function keeps errno as it was. */
#ifndef NFFLOWD_LOG_H
#define NFFLOWD_LOG_H

#include <stdbool.h>
#include <stdint.h>
#include <syslog.h>

/* to_stderr: also write to standard error (foreground, client commands);
 * to_syslog: send to syslog with LOG_DAEMON under ident (NULL: keep the
 * ident already set, "nfflowd" at first). */
void log_init(const char *ident, bool to_stderr, bool to_syslog);

/* A non-blocking AF_UNIX socket of type (SOCK_DGRAM, SOCK_STREAM)
 * connected to path, or -1 with errno: how diagnostics and record lines
 * reach the syslog daemon. */
int log_socket_connect(const char *path, int type);

/* Uses ident for diagnostics, as the record lines do. */
void log_syslog_ident(const char *ident);

void log_msg(int priority, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
#define log_err(...) log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARNING, __VA_ARGS__)
#define log_notice(...) log_msg(LOG_NOTICE, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)

/* A rate limit for one kind of message: at most one line per interval,
 * with the number suppressed in between appended to the next line. */
struct log_rate {
	uint64_t interval_ns;
	uint64_t last_ns;
	uint64_t suppressed;
};
#define LOG_RATE_INIT(seconds) { (uint64_t)(seconds) * 1000000000u, 0, 0 }

void log_rated(struct log_rate *r, int priority, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
