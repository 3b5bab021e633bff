/* Diagnostics to stderr and/or syslog (LOG_DAEMON), errno-preserving.
 *
 * Syslog gets them through a non-blocking datagram socket of this module,
 * framed as syslog(3) frames them: syslog(3) itself waits, without limit,
 * while /dev/log is full, and a stalled syslog daemon would then stop the
 * whole daemon at its next diagnostic. A diagnostic that finds the socket
 * full, or no syslog daemon at all, is dropped and counted; the next one
 * that goes through says how many. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "nfflowd/clock.h"
#include "nfflowd/log.h"
#include "nfflowd/logq.h"

#define LOG_PATH "/dev/log"

static bool log_to_stderr = true;
static bool log_to_syslog;
static char log_ident[64] = "nfflowd";
static int log_fd = -1;
static uint64_t log_dropped;	/* diagnostics the full socket refused */

int log_socket_connect(const char *path, int type)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t len = strlen(path);
	int fd;

	if (len >= sizeof(sa.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(sa.sun_path, path, len + 1);
	fd = socket(AF_UNIX, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int err = errno;

		close(fd);
		errno = err;
		return -1;
	}
	return fd;
}

/* Connects the diagnostics socket to /dev/log; -1 when nobody listens. */
static int log_connect(void)
{
	if (log_fd < 0)
		log_fd = log_socket_connect(LOG_PATH, SOCK_DGRAM);
	return log_fd < 0 ? -1 : 0;
}

static void log_disconnect(void)
{
	if (log_fd >= 0)
		close(log_fd);
	log_fd = -1;
}

/* Sends one diagnostic line to syslog without ever waiting. */
static void log_send(int priority, const char *line)
{
	char msg[LOGQ_HEADER_MAX + 1100];
	time_t now = time(NULL);
	struct tm tm;
	size_t len;
	int attempt;

	if (localtime_r(&now, &tm) == NULL)
		memset(&tm, 0, sizeof(tm));
	len = logq_header(msg, sizeof(msg), LOG_DAEMON | priority, &tm,
			  log_ident, (long)getpid());
	if (log_dropped > 0)
		len += (size_t)snprintf(msg + len, sizeof(msg) - len,
					"(%llu earlier messages lost: syslog socket full or absent) ",
					(unsigned long long)log_dropped);
	len += (size_t)snprintf(msg + len, sizeof(msg) - len, "%s", line);
	if (len >= sizeof(msg))
		len = sizeof(msg) - 1;
	/* A restarted syslog daemon has a new socket: reconnect once. */
	for (attempt = 0; attempt < 2; attempt++) {
		if (log_connect() < 0)
			break;
		if (send(log_fd, msg, len, MSG_DONTWAIT | MSG_NOSIGNAL) >= 0) {
			log_dropped = 0;
			return;
		}
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			break;
		log_disconnect();
	}
	log_dropped++;
}

/* Chooses where diagnostics go; may be called again after daemonising. */
void log_init(const char *ident, bool to_stderr, bool to_syslog)
{
	int saved = errno;

	if (ident)	/* NULL keeps the ident set before (e.g. the config's) */
		snprintf(log_ident, sizeof(log_ident), "%s", ident);
	log_to_stderr = to_stderr;
	if (log_to_syslog && !to_syslog)
		log_disconnect();
	log_to_syslog = to_syslog;
	if (to_syslog)
		(void)log_connect();
	errno = saved;
}

/* Takes the ident of the record lines (natlog) for diagnostics too, so
 * that both come from one program name, as with syslog(3). */
void log_syslog_ident(const char *ident)
{
	snprintf(log_ident, sizeof(log_ident), "%s", ident);
}

__attribute__((format(printf, 2, 0)))
static void log_vmsg(int priority, const char *fmt, va_list ap)
{
	char line[1024];

	vsnprintf(line, sizeof(line), fmt, ap);
	if (log_to_syslog)
		log_send(priority, line);
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
	uint64_t now = clock_ns(CLOCK_MONOTONIC);
	char line[900];
	va_list ap;

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
