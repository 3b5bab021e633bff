/* Writes the flow-tools CSV line of each exported record: to standard
 * output, and to syslog through a queue and a socket of its own. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "nfflowd/clock.h"
#include "nfflowd/csvline.h"
#include "nfflowd/log.h"
#include "nfflowd/logq.h"
#include "nfflowd/natlog.h"
#include "nfflowd/nf5.h"

/* Messages handed to the kernel by one sendmmsg (datagram socket) or one
 * sendmsg (stream socket). */
#define BATCH 64
#define STREAM_BATCH 256
/* An absent or refusing socket is tried again after this long. */
#define RETRY_NS 1000000000u
#define RETRY_TV { 1, 0 }
/* Drops are reported at most once per this many seconds. */
#define DROP_REPORT_SECONDS 10
/* The send buffer asked for (the kernel doubles it, up to twice
 * wmem_max). A datagram socket holds a whole datagram queue of 512 in it
 * (each small datagram takes about 1 KiB there). On a stream socket it
 * holds lines the syslog daemon has not read yet, which are lost with it
 * if it dies: 256 KiB asked for is about 3,000 lines at stake, and still
 * many full writes of 256 lines. */
#define SNDBUF_DGRAM (1 << 20)
#define SNDBUF_STREAM (256 << 10)

struct natlog {
	struct event_base *base;
	struct event *write_ev;		/* the socket can take more */
	struct event *retry_ev;		/* time to connect again */
	struct event *report_ev;	/* time to report drops again */
	struct event *flush_ev;		/* send at the end of this loop turn */
	bool to_syslog;
	bool to_stdout;
	int prival;			/* facility | priority */
	char ident[CONFIG_IDENT_MAX];
	char path[CONFIG_SOCKET_PATH_MAX];
	char exaddr[CSVLINE_EXADDR_MAX];
	int fd;				/* -1: not connected */
	bool stream;			/* fd is a SOCK_STREAM socket */
	size_t stream_off;		/* bytes of the oldest line already
					 * written to the stream */
	bool waiting;			/* write_ev armed (persistent) */
	bool down;			/* an outage was reported */
	int last_err;			/* why the last send or connect failed */
	uint64_t retry_after_ns;	/* no connect before (monotonic) */
	struct logq q;
	bool hdr_valid;
	uint32_t hdr_secs;		/* the second hdr was made for */
	size_t hdrlen;
	char hdr[LOGQ_HEADER_MAX];
	struct natlog_stats st;
	uint64_t dropped_reported;
	struct mmsghdr mm[BATCH];
	struct iovec iov[STREAM_BATCH];
	uint64_t stdout_dropped;	/* lines stdout could not take at once */
	struct log_rate stdout_rate;
	size_t outlen;			/* the datagram's lines for stdout */
	char out[NF5_MAX_RECORDS * CSVLINE_MAX];
};

/* Writes the lines gathered for stdout without ever waiting: whatever
 * stdout cannot take now (a full pipe, a stopped terminal) is dropped
 * whole, line by line, and counted. A socket (journald's stdout stream)
 * is written with MSG_DONTWAIT; anything else in pieces of at most
 * PIPE_BUF bytes, each only when poll() says it fits. */
static void stdout_flush(struct natlog *n)
{
	size_t off = 0;

	while (off < n->outlen) {
		size_t len = n->outlen - off, cut;
		struct pollfd pfd = { STDOUT_FILENO, POLLOUT, 0 };
		ssize_t w;

		if (len > PIPE_BUF) {	/* whole lines, at most PIPE_BUF */
			for (cut = PIPE_BUF; cut > 0 && n->out[off + cut - 1] != '\n'; cut--)
				;
			len = cut ? cut : PIPE_BUF;
		}
		w = send(STDOUT_FILENO, n->out + off, len, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (w < 0 && errno == ENOTSOCK)
			w = poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLOUT) ?
			    write(STDOUT_FILENO, n->out + off, len) : -1;
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	if (off < n->outlen) {
		size_t i, lines = 0;

		for (i = off; i < n->outlen; i++)
			lines += n->out[i] == '\n';
		n->stdout_dropped += lines;
		log_rated(&n->stdout_rate, LOG_WARNING,
			  "stdout cannot take record lines now: %" PRIu64 " dropped so far",
			  n->stdout_dropped);
	}
	n->outlen = 0;
}

/* Logs the drop total when it grew since the last report. */
static void report_drops(struct natlog *n)
{
	if (n->st.dropped == n->dropped_reported)
		return;
	log_warn("syslog: %" PRIu64 " record lines dropped so far (%" PRIu64
		 " since the last report): the backlog of %" PRIu64
		 " lines for %s was full (%s)",
		 n->st.dropped, n->st.dropped - n->dropped_reported, n->q.max,
		 n->path, n->last_err ? strerror(n->last_err) : "socket full");
	n->dropped_reported = n->st.dropped;
}

/* Reports new drops and holds the next report back for an interval. */
static void report_and_wait(struct natlog *n)
{
	struct timeval tv = { DROP_REPORT_SECONDS, 0 };

	if (n->st.dropped == n->dropped_reported)
		return;		/* quiet: the next drop reports at once */
	report_drops(n);
	if (n->report_ev != NULL)
		event_add(n->report_ev, &tv);
}

static void on_report(evutil_socket_t fd, short what, void *arg)
{
	report_and_wait(arg);
}

/* Counts k lost lines; the first drop after a quiet interval is logged at
 * once, later ones when the interval ends. */
static void drop(struct natlog *n, uint64_t k)
{
	n->st.dropped += k;
	if (n->report_ev == NULL || !evtimer_pending(n->report_ev, NULL))
		report_and_wait(n);
}

static void close_socket(struct natlog *n)
{
	if (n->write_ev != NULL) {
		event_free(n->write_ev);
		n->write_ev = NULL;
	}
	if (n->fd >= 0)
		close(n->fd);
	n->fd = -1;
	n->waiting = false;
	n->stream_off = 0;	/* a line cut short is sent whole again */
}

/* Remembers a failure of the socket; lines wait for the retry. */
static void socket_failed(struct natlog *n, int err, const char *what)
{
	struct timeval tv = RETRY_TV;

	n->st.errors++;
	n->last_err = err;
	close_socket(n);
	n->retry_after_ns = clock_ns(CLOCK_MONOTONIC) + RETRY_NS;
	if (n->retry_ev != NULL && !evtimer_pending(n->retry_ev, NULL))
		event_add(n->retry_ev, &tv);
	if (!n->down) {
		log_warn("syslog: cannot %s %s (%s); record lines wait for it, up to %" PRIu64,
			 what, n->path, strerror(err), n->q.max);
		n->down = true;
	}
}

static void flush(struct natlog *n, bool retry_now, bool writable);

/* The full socket drained some: send more. The event stays armed until
 * nothing waits, so that a socket that takes a few lines at a time (a
 * queue of 10 datagrams) costs no epoll_ctl per turn. */
static void on_writable(evutil_socket_t fd, short what, void *arg)
{
	flush(arg, false, true);
}

/* The retry timer is due: connect now. (libevent's timers run on the
 * loop's cached clock, which may be a little behind retry_after_ns.) */
static void on_retry(evutil_socket_t fd, short what, void *arg)
{
	flush(arg, true, false);
}

static void on_flush(evutil_socket_t fd, short what, void *arg)
{
	natlog_flush(arg);
}

/* Connects to the syslog socket unless a retry is not due yet: a datagram
 * socket as /dev/log is, or a stream socket (rsyslog's imptcp, syslog-ng's
 * unix-stream) as syslog(3) falls back to when connect says EPROTOTYPE. A
 * stream listener with a full backlog says EAGAIN: tried again later. */
static int open_socket(struct natlog *n, bool now)
{
	int sndbuf;
	int fd;

	if (!now && clock_ns(CLOCK_MONOTONIC) < n->retry_after_ns)
		return -1;
	fd = log_socket_connect(n->path, SOCK_DGRAM);
	n->stream = false;
	if (fd < 0 && errno == EPROTOTYPE) {	/* a stream socket there */
		fd = log_socket_connect(n->path, SOCK_STREAM);
		n->stream = true;
	}
	if (fd < 0) {
		socket_failed(n, errno, "connect to");
		return -1;
	}
	sndbuf = n->stream ? SNDBUF_STREAM : SNDBUF_DGRAM;
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	n->fd = fd;
	n->last_err = 0;	/* a later drop is the socket's being full */
	if (n->base != NULL) {
		n->write_ev = event_new(n->base, fd, EV_WRITE | EV_PERSIST,
					on_writable, n);
		if (n->write_ev == NULL) {
			socket_failed(n, ENOMEM, "watch");
			return -1;
		}
	}
	if (n->down) {
		log_notice("syslog: %s takes record lines again; %" PRIu64 " waiting lines follow",
			   n->path, logq_count(&n->q));
		n->down = false;
	}
	return 0;
}

struct natlog *natlog_new(struct event_base *base)
{
	struct natlog *n = calloc(1, sizeof(*n));
	unsigned i;

	if (n == NULL)
		return NULL;
	n->base = base;
	n->fd = -1;
	n->stdout_rate = (struct log_rate)LOG_RATE_INIT(10);
	logq_init(&n->q, CONFIG_DEFAULT_SYSLOG_BACKLOG);
	snprintf(n->path, sizeof(n->path), "%s", CONFIG_DEFAULT_SYSLOG_SOCKET);
	for (i = 0; i < BATCH; i++) {
		n->mm[i].msg_hdr.msg_iov = &n->iov[i];
		n->mm[i].msg_hdr.msg_iovlen = 1;
	}
	if (base != NULL) {
		n->retry_ev = evtimer_new(base, on_retry, n);
		n->report_ev = evtimer_new(base, on_report, n);
		n->flush_ev = evtimer_new(base, on_flush, n);
		if (n->retry_ev == NULL || n->report_ev == NULL ||
		    n->flush_ev == NULL) {
			natlog_free(n);
			return NULL;
		}
	}
	tzset();
	return n;
}

void natlog_configure(struct natlog *n, const struct config *cfg)
{
	if (cfg->syslog_enabled)
		log_syslog_ident(cfg->syslog_ident);
	n->to_syslog = cfg->syslog_enabled;
	n->to_stdout = cfg->to_stdout;
	n->prival = cfg->syslog_facility | cfg->syslog_priority;
	snprintf(n->ident, sizeof(n->ident), "%s", cfg->syslog_ident);
	snprintf(n->exaddr, sizeof(n->exaddr), "%s", cfg->source_str);
	n->hdr_valid = false;
	logq_set_max(&n->q, cfg->syslog_backlog);
	if (strcmp(n->path, cfg->syslog_socket) != 0) {
		close_socket(n);
		snprintf(n->path, sizeof(n->path), "%s", cfg->syslog_socket);
		n->retry_after_ns = 0;
		n->down = false;
	}
}

bool natlog_enabled(const struct natlog *n)
{
	return n != NULL && (n->to_syslog || n->to_stdout);
}

/* The syslog(3) header for lines made in second secs (local time). */
static void header_for(struct natlog *n, uint32_t secs)
{
	time_t t = (time_t)secs;
	struct tm tm;

	if (n->hdr_valid && n->hdr_secs == secs)
		return;
	if (localtime_r(&t, &tm) == NULL)
		memset(&tm, 0, sizeof(tm));
	n->hdrlen = logq_header(n->hdr, sizeof(n->hdr), n->prival, &tm,
				n->ident, (long)getpid());
	n->hdr_secs = secs;
	n->hdr_valid = true;
}

void natlog_datagram(struct natlog *n, const struct nf5_header *h,
		     const struct flow_record *recs, unsigned count)
{
	char line[CSVLINE_MAX];
	unsigned i;

	if (!natlog_enabled(n))
		return;
	if (n->to_syslog)
		header_for(n, h->unix_secs);
	for (i = 0; i < count; i++) {
		size_t len = csvline_format(line, sizeof(line), h, n->exaddr,
					    &recs[i]);

		if (len == 0) {		/* cannot happen with a valid config */
			if (n->to_syslog)
				drop(n, 1);
			continue;
		}
		line[len] = '\n';	/* the frame's end on a stream socket */
		if (n->to_syslog &&
		    logq_push(&n->q, n->hdr, n->hdrlen, line, len + 1) < 0)
			drop(n, 1);
		if (n->to_stdout && n->outlen + len + 1 <= sizeof(n->out)) {
			memcpy(n->out + n->outlen, line, len + 1);
			n->outlen += len + 1;
		}
	}
	if (n->to_stdout)
		stdout_flush(n);
	if (!n->to_syslog)
		return;
	/* Lines of one loop turn (one netlink read, say) leave together: a
	 * send wakes the syslog daemon once, whatever it carries. */
	if (n->flush_ev == NULL || logq_count(&n->q) >= STREAM_BATCH)
		natlog_flush(n);
	else if (!n->waiting && !event_pending(n->flush_ev, EV_TIMEOUT, NULL))
		event_active(n->flush_ev, EV_TIMEOUT, 0);
}

/* One sendmsg of the oldest lines to a stream socket, each ending in LF
 * (RFC 6587 section 3.4.2, non-transparent framing), continuing a line
 * that an earlier write cut short. Returns what send_batch returns. */
static int send_stream(struct natlog *n)
{
	unsigned k = logq_peek(&n->q, n->iov, STREAM_BATCH), i;
	struct msghdr mh;
	ssize_t r;
	size_t left;

	n->iov[0].iov_base = (char *)n->iov[0].iov_base + n->stream_off;
	n->iov[0].iov_len -= n->stream_off;
	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = n->iov;
	mh.msg_iovlen = k;
	r = sendmsg(n->fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (r < 0)
		return -1;
	left = (size_t)r;
	for (i = 0; i < k && left >= n->iov[i].iov_len; i++)
		left -= n->iov[i].iov_len;
	logq_pop(&n->q, i);
	n->st.sent += i;
	n->stream_off = i == 0 ? n->stream_off + left : left;
	if (i < k) {		/* a short write: the buffer is full */
		errno = EAGAIN;
		return -1;
	}
	return 1;
}

/* One sendmmsg of the oldest lines to a datagram socket, a message each
 * (without the LF kept for streams). Returns what send_batch returns. */
static int send_dgram(struct natlog *n)
{
	unsigned k = logq_peek(&n->q, n->iov, BATCH), i;
	int r;

	for (i = 0; i < k; i++)
		n->iov[i].iov_len--;
	r = sendmmsg(n->fd, n->mm, k, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (r < 0)
		return -1;
	logq_pop(&n->q, (uint64_t)r);
	n->st.sent += (uint64_t)r;
	if ((unsigned)r < k) {
		/* Most often the queue is full; any other error shows on the
		 * next send, which comes when the socket is writable (a dead
		 * peer makes it so at once). */
		errno = EAGAIN;
		return -1;
	}
	return 1;
}

/* Sends the oldest lines. Returns 1 when more may go at once, 0 when the
 * socket is full (errno EAGAIN) or gone. */
static int send_batch(struct natlog *n)
{
	if ((n->stream ? send_stream(n) : send_dgram(n)) > 0)
		return 1;
	if (errno == EINTR)
		return 1;
	if (errno == EAGAIN || errno == EWOULDBLOCK) {
		n->last_err = 0;
		return 0;
	}
	if (errno == EMSGSIZE && !n->stream) {	/* this line can never go */
		n->st.errors++;
		logq_pop(&n->q, 1);
		drop(n, 1);
		return 1;
	}
	socket_failed(n, errno, "send to");	/* the daemon went away */
	return 0;
}

/* Sends what waits; an absent socket is tried again only once its retry
 * is due, or at once with retry_now. While the socket is full only its
 * writable event (writable) sends. */
static void flush(struct natlog *n, bool retry_now, bool writable)
{
	if (n == NULL || (n->waiting && !writable))
		return;
	if (logq_count(&n->q) > 0 && n->fd < 0 &&
	    open_socket(n, retry_now) < 0)
		return;
	while (logq_count(&n->q) > 0) {
		if (send_batch(n))
			continue;
		if (n->fd >= 0 && n->write_ev != NULL && !n->waiting) {
			n->waiting = true;
			event_add(n->write_ev, NULL);
		}
		return;
	}
	if (n->waiting) {
		event_del(n->write_ev);
		n->waiting = false;
	}
}

void natlog_flush(struct natlog *n)
{
	flush(n, false, false);
}

void natlog_drain(struct natlog *n, unsigned timeout_ms)
{
	uint64_t deadline = clock_ns(CLOCK_MONOTONIC) + (uint64_t)timeout_ms * 1000000u;
	uint64_t left;

	if (n == NULL)
		return;
	if (n->write_ev != NULL)
		event_del(n->write_ev);
	n->waiting = false;
	while (logq_count(&n->q) > 0) {
		uint64_t now = clock_ns(CLOCK_MONOTONIC);
		struct pollfd p;

		if (now >= deadline)
			break;
		if (n->fd < 0 && open_socket(n, true) < 0)
			break;
		if (send_batch(n))
			continue;
		if (n->fd < 0)
			break;
		p.fd = n->fd;
		p.events = POLLOUT;
		(void)poll(&p, 1, (int)((deadline - now) / 1000000u) + 1);
	}
	report_drops(n);
	left = logq_count(&n->q);
	if (left > 0) {
		logq_pop(&n->q, left);
		n->st.dropped += left;
		n->dropped_reported = n->st.dropped;
		log_warn("syslog: %" PRIu64 " record lines could not be delivered to %s at stop",
			 left, n->path);
	}
}

uint64_t natlog_queued(const struct natlog *n)
{
	return n != NULL ? logq_count(&n->q) : 0;
}

const struct natlog_stats *natlog_stats(const struct natlog *n)
{
	return &n->st;
}

void natlog_free(struct natlog *n)
{
	if (n == NULL)
		return;
	close_socket(n);
	if (n->retry_ev != NULL)
		event_free(n->retry_ev);
	if (n->report_ev != NULL)
		event_free(n->report_ev);
	if (n->flush_ev != NULL)
		event_free(n->flush_ev);
	logq_free(&n->q);
	free(n);
}
