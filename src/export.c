/* NetFlow v5 sender: fills one datagram, sends it full or on a timer. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include <event2/event.h>

#include "nfflowd/ctsrc.h"
#include "nfflowd/export.h"
#include "nfflowd/log.h"
#include "nfflowd/nf5.h"

struct export {
	int fd;
	struct event *flush_ev;
	struct timeval flush_tv;
	const struct natlog *nlog;
	uint8_t engine_type, engine_id;
	uint32_t sequence;
	unsigned pending;
	struct flow_record recs[NF5_MAX_RECORDS];
	uint8_t buf[NF5_MAX_DATAGRAM];
	struct export_stats st;
	struct log_rate send_rate;
	char collector[80];
};

static void flush_cb(evutil_socket_t fd, short what, void *arg)
{
	export_flush(arg);
}

/* Sends one datagram. ECONNREFUSED on a connected UDP socket may report an
 * ICMP port unreachable that answered an earlier datagram, not this one:
 * the kernel clears the pending error when it reports it, so one retry
 * tells a stale error from a real one (SPEC §4). */
static int send_datagram(struct export *x, size_t len)
{
	int tries;

	for (tries = 0; tries < 2; tries++) {
		ssize_t n = send(x->fd, x->buf, len, MSG_DONTWAIT);

		if (n == (ssize_t)len)
			return 0;
		if (n >= 0)
			errno = EMSGSIZE;
		if (errno != ECONNREFUSED && errno != EINTR)
			break;
	}
	return -1;
}

/* Encodes and sends the open datagram; flow_sequence advances either way. */
void export_flush(struct export *x)
{
	struct nf5_header h;
	struct time_pair now;
	size_t len;

	if (x->pending == 0)
		return;
	evtimer_del(x->flush_ev);
	ctsrc_now(&now);
	nf5_header_init(&h, &now, x->sequence, x->engine_type, x->engine_id);
	len = nf5_encode(x->buf, sizeof(x->buf), &h, x->recs, x->pending);
	x->st.datagrams++;
	x->st.records += x->pending;
	x->sequence += x->pending;
	if (len > 0 && send_datagram(x, len) == 0) {
		x->st.sent++;
	} else {
		x->st.send_errors++;
		x->st.records_lost += x->pending;
		log_rated(&x->send_rate, LOG_WARNING,
			  "export to %s failed: %s (%llu datagrams lost so far)",
			  x->collector, strerror(errno),
			  (unsigned long long)x->st.send_errors);
	}
	natlog_datagram(x->nlog, &h, x->recs, x->pending);
	x->pending = 0;
}

/* Queues one record. */
void export_add(struct export *x, const struct flow_record *r)
{
	x->recs[x->pending++] = *r;
	if (x->pending == NF5_MAX_RECORDS)
		export_flush(x);
	else if (x->pending == 1)
		evtimer_add(x->flush_ev, &x->flush_tv);
}

static void format_collector(char *buf, size_t len, const struct config *cfg)
{
	if (cfg->collector.ss_family == AF_INET6)
		snprintf(buf, len, "[%s]:%u", cfg->collector_str, cfg->port);
	else
		snprintf(buf, len, "%s:%u", cfg->collector_str, cfg->port);
}

/* Opens the socket and the flush timer. */
struct export *export_new(struct event_base *base, const struct config *cfg,
			  const struct natlog *nlog, char *err, size_t errlen)
{
	struct export *x = calloc(1, sizeof(*x));
	double secs = cfg->flush_interval;

	if (!x) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	x->fd = -1;
	x->nlog = nlog;
	x->engine_type = cfg->engine_type;
	x->engine_id = cfg->engine_id;
	x->send_rate = (struct log_rate)LOG_RATE_INIT(10);
	x->flush_tv.tv_sec = (time_t)secs;
	x->flush_tv.tv_usec = (suseconds_t)((secs - (double)x->flush_tv.tv_sec) * 1e6);
	format_collector(x->collector, sizeof(x->collector), cfg);

	x->fd = socket(cfg->collector.ss_family,
		       SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (x->fd < 0) {
		snprintf(err, errlen, "export socket: %s", strerror(errno));
		goto fail;
	}
	if (bind(x->fd, (const struct sockaddr *)&cfg->source, cfg->addrlen) < 0) {
		snprintf(err, errlen, "cannot send from source %s: %s",
			 cfg->source_str, strerror(errno));
		goto fail;
	}
	if (connect(x->fd, (const struct sockaddr *)&cfg->collector,
		    cfg->addrlen) < 0) {
		snprintf(err, errlen, "cannot reach collector %s: %s",
			 x->collector, strerror(errno));
		goto fail;
	}
	x->flush_ev = evtimer_new(base, flush_cb, x);
	if (!x->flush_ev) {
		snprintf(err, errlen, "cannot create the flush timer");
		goto fail;
	}
	return x;
fail:
	if (x->fd >= 0)
		close(x->fd);
	free(x);
	return NULL;
}

/* Continues the old exporter's sequence and counters. */
void export_take_over(struct export *x, const struct export *old)
{
	x->sequence = old->sequence;
	x->st = old->st;
}

const struct export_stats *export_stats(const struct export *x)
{
	return &x->st;
}

/* Sends what is pending, then releases the socket and timer. */
void export_free(struct export *x)
{
	if (!x)
		return;
	export_flush(x);
	event_free(x->flush_ev);
	close(x->fd);
	free(x);
}
