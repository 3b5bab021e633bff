/* NetFlow v5 sender: fills one datagram, sends it full or on a timer. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include <event2/event.h>

#include "nfflowd/ctsrc.h"
#include "nfflowd/export.h"
#include "nfflowd/log.h"
#include "nfflowd/nf5.h"

/* Datagrams the kernel could not take at once (EAGAIN): kept in order and
 * sent when the socket is writable again; beyond this many, dropped. */
#define QUEUE_MAX 256
#define EXPORT_SNDBUF (1 << 20)

struct queued {
	uint16_t len;
	uint16_t records;
	uint8_t bytes[NF5_MAX_DATAGRAM];
};

struct export {
	int fd;
	struct event *flush_ev;
	struct event *write_ev;
	struct queued *queue;	/* ring of QUEUE_MAX */
	unsigned q_head, q_len;
	unsigned last_records;	/* records in the last datagram sent */
	struct sockaddr_storage peer;	/* the collector */
	socklen_t peerlen;
	bool connected;
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

static void count_failure(struct export *x, unsigned records, int err);

/* Connects the socket to the collector. A collector with no route yet (a
 * firewall booting, a link down) is not fatal: the datagrams of the
 * meantime are counted as lost and the next one tries again. */
static int connect_collector(struct export *x)
{
	if (connect(x->fd, (const struct sockaddr *)&x->peer, x->peerlen) < 0)
		return -1;
	x->connected = true;
	return 0;
}

/* Sends one datagram. ECONNREFUSED on a connected UDP socket reports an
 * ICMP port unreachable that answered an earlier datagram, not this one:
 * that one is counted as lost (SPEC §4: a refused datagram costs its
 * records), and since the kernel clears the pending error when it reports
 * it, this datagram is sent again. Returns 0, or -1 with errno (EAGAIN:
 * try again when writable). */
static int send_datagram(struct export *x, const uint8_t *buf, size_t len,
			 unsigned records)
{
	int tries;

	if (!x->connected && connect_collector(x) < 0)
		return -1;
	for (tries = 0; tries < 3; tries++) {
		ssize_t n = send(x->fd, buf, len, MSG_DONTWAIT);

		if (n == (ssize_t)len) {
			x->last_records = records;
			return 0;
		}
		if (n >= 0)
			errno = EMSGSIZE;
		if (errno == ECONNREFUSED) {
			count_failure(x, x->last_records, ECONNREFUSED);
			x->last_records = 0;
		} else if (errno != EINTR) {
			break;
		}
	}
	if (errno == ENOBUFS)
		errno = EAGAIN;	/* a full device queue: wait as for EAGAIN */
	return -1;
}

static void count_failure(struct export *x, unsigned records, int err)
{
	x->st.send_errors++;
	x->st.records_lost += records;
	log_rated(&x->send_rate, LOG_WARNING,
		  "export to %s failed: %s (%llu datagrams lost so far)",
		  x->collector, strerror(err),
		  (unsigned long long)x->st.send_errors);
}

/* Sends queued datagrams in order until the queue is empty or the kernel
 * says EAGAIN again; a datagram that fails otherwise is lost and counted. */
static void send_queue(struct export *x)
{
	while (x->q_len > 0) {
		struct queued *q = &x->queue[x->q_head];

		if (send_datagram(x, q->bytes, q->len, q->records) < 0) {
			if (errno == EAGAIN)
				return;
			count_failure(x, q->records, errno);
		} else {
			x->st.sent++;
		}
		x->q_head = (x->q_head + 1) % QUEUE_MAX;
		x->q_len--;
	}
	event_del(x->write_ev);
}

static void writable_cb(evutil_socket_t fd, short what, void *arg)
{
	send_queue(arg);
}

/* Keeps a datagram for later; a full queue drops it, counted. */
static void enqueue(struct export *x, size_t len, unsigned records)
{
	struct queued *q;

	if (x->q_len == QUEUE_MAX) {
		x->st.queue_drops++;
		count_failure(x, records, ENOBUFS);
		return;
	}
	q = &x->queue[(x->q_head + x->q_len) % QUEUE_MAX];
	memcpy(q->bytes, x->buf, len);
	q->len = (uint16_t)len;
	q->records = (uint16_t)records;
	if (x->q_len++ == 0)
		event_add(x->write_ev, NULL);
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
	if (x->q_len > 0)
		enqueue(x, len, x->pending);	/* keep the order */
	else if (send_datagram(x, x->buf, len, x->pending) == 0)
		x->st.sent++;
	else if (errno == EAGAIN)
		enqueue(x, len, x->pending);
	else
		count_failure(x, x->pending, errno);
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
	int sndbuf = EXPORT_SNDBUF;

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
	x->peer = cfg->collector;
	x->peerlen = cfg->addrlen;
	if (connect_collector(x) < 0) {
		if (errno != ENETUNREACH && errno != EHOSTUNREACH) {
			snprintf(err, errlen, "cannot reach collector %s: %s",
				 x->collector, strerror(errno));
			goto fail;
		}
		log_warn("no route to collector %s yet (%s): records are counted as lost until there is one",
			 x->collector, strerror(errno));
	}
	(void)setsockopt(x->fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	x->queue = malloc(QUEUE_MAX * sizeof(*x->queue));
	x->flush_ev = evtimer_new(base, flush_cb, x);
	x->write_ev = event_new(base, x->fd, EV_WRITE | EV_PERSIST, writable_cb, x);
	if (!x->queue || !x->flush_ev || !x->write_ev) {
		snprintf(err, errlen, "cannot set up the exporter: out of memory");
		goto fail;
	}
	return x;
fail:
	if (x->flush_ev)
		event_free(x->flush_ev);
	if (x->write_ev)
		event_free(x->write_ev);
	free(x->queue);
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

/* Sends what is pending, waiting up to a second per datagram for a full
 * socket buffer, then releases everything. */
void export_free(struct export *x)
{
	struct timeval tv = { 1, 0 };
	bool stuck = false;
	int flags;

	if (!x)
		return;
	export_flush(x);
	if (x->q_len > 0) {
		flags = fcntl(x->fd, F_GETFL);
		if (flags >= 0)
			(void)fcntl(x->fd, F_SETFL, flags & ~O_NONBLOCK);
		(void)setsockopt(x->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		while (x->q_len > 0) {
			struct queued *q = &x->queue[x->q_head];

			if (!stuck && send(x->fd, q->bytes, q->len, 0) == (ssize_t)q->len) {
				x->st.sent++;
			} else {
				/* a send that timed out means the rest would too */
				stuck = stuck || errno == EAGAIN;
				count_failure(x, q->records, stuck ? ETIMEDOUT : errno);
			}
			x->q_head = (x->q_head + 1) % QUEUE_MAX;
			x->q_len--;
		}
	}
	event_free(x->flush_ev);
	event_free(x->write_ev);
	free(x->queue);
	close(x->fd);
	free(x);
}
