/* Diagnostics to stderr and/or syslog (LOG_DAEMON), errno-preserving. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "nfflowd/log.h"

static bool log_to_stderr = true;
static bool log_to_syslog;
static char log_ident[64] = "nfflowd";

/* Chooses where diagnostics go; may be called again after daemonising. */
void log_init(const char *ident, bool to_stderr, bool to_syslog)
{
	int saved = errno;

	if (ident)	/* NULL keeps the ident set before (e.g. the config's) */
		snprintf(log_ident, sizeof(log_ident), "%s", ident);
	log_to_stderr = to_stderr;
	if (log_to_syslog && !to_syslog)
		closelog();
	log_to_syslog = to_syslog;
	if (to_syslog)
		openlog(log_ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	errno = saved;
}

/* Opens (or reopens) syslog under ident, also when diagnostics go to
 * stderr only: the record lines (natlog) go to syslog with this ident.
 * syslog allows one ident per process, so both share it. */
void log_syslog_ident(const char *ident)
{
	int saved = errno;

	snprintf(log_ident, sizeof(log_ident), "%s", ident);
	closelog();
	openlog(log_ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	errno = saved;
}

__attribute__((format(printf, 2, 0)))
static void log_vmsg(int priority, const char *fmt, va_list ap)
{
	char line[1024];

	vsnprintf(line, sizeof(line), fmt, ap);
	if (log_to_syslog)
		syslog(LOG_DAEMON | priority, "%s", line);
	if (log_to_stderr)
		fprintf(stderr, "%s: %s\n", log_ident, line);
}

/* Logs one diagnostic line. */
void log_msg(int priority, const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(priority, fmt, ap);
	va_end(ap);
	errno = saved;
}

/* Logs at most once per r->interval_ns; counts what it holds back. */
void log_rated(struct log_rate *r, int priority, const char *fmt, ...)
{
	int saved = errno;
	struct timespec ts;
	uint64_t now;
	char line[900];
	va_list ap;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	if (r->last_ns != 0 && now - r->last_ns < r->interval_ns) {
		r->suppressed++;
		errno = saved;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (r->suppressed)
		log_msg(priority, "%s (%llu similar messages suppressed)", line,
			(unsigned long long)r->suppressed);
	else
		log_msg(priority, "%s", line);
	r->last_ns = now;
	r->suppressed = 0;
	errno = saved;
}
