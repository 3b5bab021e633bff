/* One collector's sender: fills one datagram (v5 records, or a v9/IPFIX
 * message with templates when due), sends it full or on a timer. */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <poll.h>
#include <sys/socket.h>

#include <event2/event.h>

#include "nfflowd/clock.h"
#include "nfflowd/ctsrc.h"
#include "nfflowd/export.h"
#include "nfflowd/log.h"
#include "nfflowd/nf5.h"
#include "nfflowd/nfx.h"
#include "nfflowd/record.h"

/* Datagrams finished during one turn of the event loop (one read pass
 * over a batch of conntrack events, say) wait in a ring and leave
 * together at the end of the turn, SEND_BATCH per sendmmsg(); so do those
 * the kernel could not take at once (EAGAIN), when the socket is writable
 * again. Beyond QUEUE_MAX waiting, a new one is dropped and counted. */
#define QUEUE_MAX 256
#define SEND_BATCH 32
#define EXPORT_SNDBUF (1 << 20)
#define MAX_DATAGRAM (NF5_MAX_DATAGRAM > NFX_MAX_DATAGRAM ? NF5_MAX_DATAGRAM \
							  : NFX_MAX_DATAGRAM)
#define NS_PER_S 1000000000u
/* At stop, datagrams still queued get this long in all to leave. */
#define EXPORT_DRAIN_MS 500
/* Interface indices named in the options records; names are read again
 * at most this often. */
#define IF_MAX 64
#define IF_REFRESH_NS (10ull * NS_PER_S)

struct queued {
	uint16_t len;
	uint16_t records;
	uint8_t bytes[MAX_DATAGRAM];
};

struct export {
	int fd;
	struct event *flush_ev;
	struct event *write_ev;	/* armed while waiting is set */
	struct event *send_ev;	/* made active: send at the turn's end */
	struct queued *queue;	/* ring of QUEUE_MAX */
	unsigned q_head, q_len;
	bool waiting;		/* the socket was full: wait for writable */
	struct mmsghdr mm[SEND_BATCH];
	struct iovec iov[SEND_BATCH];
	unsigned last_records;	/* records in the last datagram sent */
	bool connected;
	struct timeval flush_tv;
	struct natlog *nlog;
	uint8_t engine_type, engine_id;
	uint8_t version;	/* 5, 9 or 10 */
	bool untranslated;
	bool interfaces;
	bool flows;		/* traffic records (else NAT events only) */
	uint8_t nat_mode;	/* enum nfx_nat_mode */
	uint32_t domain;	/* v9 source id / IPFIX observation domain */
	struct nfx_ifname ifs[IF_MAX];	/* indices the records used */
	unsigned nifs, if_cursor;
	bool ifs_new;		/* an index not yet named to the collector */
	uint64_t ifs_read_ns;	/* when their names were read */
	struct config_collector cc;	/* who we export to */
	uint32_t sequence;	/* v5, IPFIX: records; v9: datagrams */
	unsigned pending;	/* records in the open datagram */
	struct flow_record recs[NF5_MAX_RECORDS];	/* v5 */
	struct nfx_msg msg;	/* v9/IPFIX, open when pending > 0 */
	uint32_t tmpl_packets;	/* template refresh: every N datagrams */
	uint64_t tmpl_ns;	/* and every T (boot clock ns) */
	uint32_t since_tmpl;	/* datagrams since templates went out */
	uint64_t tmpl_boot_ns;	/* when they last went out, 0 never */
	uint8_t buf[MAX_DATAGRAM];
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
	if (connect(x->fd, (const struct sockaddr *)&x->cc.collector,
		    x->cc.addrlen) < 0)
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

/* Drops the oldest n queued datagrams (sent or counted). */
static void dequeue(struct export *x, unsigned n)
{
	x->q_head = (x->q_head + n) % QUEUE_MAX;
	x->q_len -= n;
}

/* Whether the socket has room for a datagram now (poll() reports no
 * error and consumes none). */
static bool has_room(int fd)
{
	struct pollfd pfd = { fd, POLLOUT, 0 };

	return poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLOUT);
}

/* One sendmmsg() of up to SEND_BATCH queued datagrams, oldest first.
 * Returns 1 when it made progress, 0 when the socket is full (wait for
 * writable).
 *
 * sendmmsg() reports an error only when it sent nothing; once it has
 * sent some, it stops at a failing datagram and the error is lost. That
 * datagram is then sent again alone through send_datagram(), which
 * knows what each error means. If that succeeds at once, the error that
 * stopped the batch was one the kernel reports once and forgets: a full
 * send buffer that has drained, or the collector's ICMP error for the
 * datagram before it, which send() reports as ECONNREFUSED (SPEC §4).
 * A buffer that had been full still is short of room a moment later
 * (POLLOUT needs half of it free), so with room the stop is taken for a
 * refusal and the datagram before is counted as lost, as send_datagram()
 * does when it sees the error itself. */
static int send_run(struct export *x)
{
	unsigned k = x->q_len < SEND_BATCH ? x->q_len : SEND_BATCH, i;
	unsigned before = x->last_records;
	uint64_t errs;
	int n;

	if (!x->connected && connect_collector(x) < 0)
		n = -1;
	else {
		for (i = 0; i < k; i++) {
			struct queued *q = &x->queue[(x->q_head + i) % QUEUE_MAX];

			x->iov[i].iov_base = q->bytes;
			x->iov[i].iov_len = q->len;
		}
		n = sendmmsg(x->fd, x->mm, k, MSG_DONTWAIT);
	}
	if (n > 0) {
		for (i = 0; i < (unsigned)n; i++) {
			if (x->mm[i].msg_len != x->iov[i].iov_len)
				count_failure(x, x->queue[x->q_head].records, EMSGSIZE);
			else
				x->st.sent++;
			x->last_records = x->queue[x->q_head].records;
			dequeue(x, 1);
		}
		if ((unsigned)n == k)
			return 1;
		if (!has_room(x->fd))
			return 0;
		before = x->last_records;
	} else if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) {
		return 0;
	} else if (errno == ECONNREFUSED) {
		/* a refusal of the last datagram sent, reported (and
		 * cleared) by this call: count it as send_datagram does */
		count_failure(x, x->last_records, ECONNREFUSED);
		x->last_records = 0;
		return 1;
	} else if (errno == EINTR) {
		return 1;
	}
	/* The oldest datagram alone, for its own error. A refusal it meets
	 * itself is one the stop was not (that one was consumed): counted
	 * there, not twice. */
	errs = x->st.send_errors;
	if (send_datagram(x, x->queue[x->q_head].bytes, x->queue[x->q_head].len,
			  x->queue[x->q_head].records) == 0) {
		x->st.sent++;
		if (n > 0 && x->st.send_errors == errs)
			count_failure(x, before, ECONNREFUSED);
	} else if (errno == EAGAIN) {
		return 0;
	} else {
		count_failure(x, x->queue[x->q_head].records, errno);
	}
	dequeue(x, 1);
	return 1;
}

/* Sends queued datagrams in order until the queue is empty or the socket
 * is full; then waits for it to be writable. A datagram that fails
 * otherwise is lost and counted. */
static void send_queue(struct export *x)
{
	while (x->q_len > 0) {
		if (send_run(x))
			continue;
		if (!x->waiting) {
			x->waiting = true;
			event_add(x->write_ev, NULL);
		}
		return;
	}
	if (x->waiting) {
		event_del(x->write_ev);
		x->waiting = false;
	}
}

static void writable_cb(evutil_socket_t fd, short what, void *arg)
{
	send_queue(arg);
}

/* The end of the loop turn in which datagrams were queued. */
static void send_cb(evutil_socket_t fd, short what, void *arg)
{
	struct export *x = arg;

	if (!x->waiting)
		send_queue(x);
}

/* Queues the datagram at bytes for the end of the turn (or for when the
 * socket is writable again); a full queue first sends what it can, and
 * when the socket is full too, the datagram is dropped and counted. */
static void emit(struct export *x, const uint8_t *bytes, size_t len,
		 unsigned records)
{
	struct queued *q;

	x->st.datagrams++;
	x->st.records += records;
	x->st.octets += len;
	if (x->q_len == QUEUE_MAX && !x->waiting)
		send_queue(x);
	if (x->q_len == QUEUE_MAX) {
		x->st.queue_drops++;
		count_failure(x, records, ENOBUFS);
		return;
	}
	q = &x->queue[(x->q_head + x->q_len) % QUEUE_MAX];
	memcpy(q->bytes, bytes, len);
	q->len = (uint16_t)len;
	q->records = (uint16_t)records;
	if (x->q_len++ == 0 && !x->waiting)
		event_active(x->send_ev, EV_TIMEOUT, 0);
}

/* v5: flow_sequence counts records before this datagram. */
static void flush_v5(struct export *x, const struct time_pair *now)
{
	struct nf5_header h;
	size_t len;

	nf5_header_init(&h, now, x->sequence, x->engine_type, x->engine_id);
	len = nf5_encode(x->buf, sizeof(x->buf), &h, x->recs, x->pending);
	x->sequence += x->pending;
	emit(x, x->buf, len, x->pending);
	natlog_datagram(x->nlog, &h, x->recs, x->pending);
}

/* v9: the sequence counts datagrams; IPFIX: data records, options data
 * records among them (RFC 7011 section 3.1). */
static void flush_nfx(struct export *x, const struct time_pair *now)
{
	struct nfx_header h = {
		.export_secs = (uint32_t)(now->real_ns / NS_PER_S),
		.sysuptime_ms = record_uptime_ms(now->boot_ns),
		.sequence = x->sequence,
		.domain = x->domain,
	};
	size_t len = nfx_finish(&x->msg, &h);

	x->sequence += x->version == NFX_VERSION_V9 ? 1 :
		       x->msg.records + x->msg.opt_records;
	emit(x, x->msg.buf, len, x->msg.records);
}

/* Encodes and sends the open datagram; the sequence advances either way. */
void export_flush(struct export *x)
{
	struct time_pair now;

	if (x->pending == 0)
		return;
	evtimer_del(x->flush_ev);
	ctsrc_now(&now);
	if (x->version == NF5_VERSION)
		flush_v5(x, &now);
	else
		flush_nfx(x, &now);
	x->pending = 0;
}

/* Queues one v5 record. */
void export_add(struct export *x, const struct flow_record *r)
{
	x->recs[x->pending++] = *r;
	if (x->pending == NF5_MAX_RECORDS)
		export_flush(x);
	else if (x->pending == 1)
		evtimer_add(x->flush_ev, &x->flush_tv);
}

/* True when the next message must carry the templates: the first one,
 * and then every tmpl_packets datagrams or tmpl_ns, whichever comes first. */
static bool templates_due(const struct export *x, uint64_t now_boot_ns)
{
	if (x->tmpl_boot_ns == 0 || x->ifs_new)
		return true;
	if (x->tmpl_packets != 0 && x->since_tmpl >= x->tmpl_packets)
		return true;
	return x->tmpl_ns != 0 && now_boot_ns - x->tmpl_boot_ns >= x->tmpl_ns;
}

/* When the first exporter of this process was set up, Unix ms: the
 * exporting process's start as the options records give it. */
static uint64_t started_ms;

/* Reads an interface's name and description (its alias, else its name)
 * into f; both empty when the index is gone. */
static void read_ifname(struct nfx_ifname *f)
{
	char name[IF_NAMESIZE], path[64];
	FILE *fp;

	memset(f->name, 0, sizeof(f->name));
	memset(f->descr, 0, sizeof(f->descr));
	if (if_indextoname(f->index, name) == NULL)
		return;
	memcpy(f->name, name, strnlen(name, sizeof(f->name)));
	snprintf(path, sizeof(path), "/sys/class/net/%s/ifalias", name);
	if ((fp = fopen(path, "re")) != NULL) {
		if (fgets(f->descr, sizeof(f->descr), fp) != NULL)
			f->descr[strcspn(f->descr, "\n")] = 0;
		fclose(fp);
	}
	if (f->descr[0] == 0)
		memcpy(f->descr, f->name, sizeof(f->name));
}

/* Remembers an interface index that a record uses (up to IF_MAX). */
static void note_if(struct export *x, uint32_t index)
{
	unsigned i;

	if (index == 0)
		return;
	for (i = 0; i < x->nifs; i++)
		if (x->ifs[i].index == index)
			return;
	if (x->nifs == IF_MAX)
		return;
	x->ifs[x->nifs].index = index;
	read_ifname(&x->ifs[x->nifs]);
	x->nifs++;
	x->ifs_new = true;	/* named in the next message */
}

/* The options records of a template message: the exporter's totals and
 * the interface names, as many as fit, going round when they do not all. */
static void add_options(struct export *x, uint64_t now_boot_ns)
{
	/* room for the data record that made the message: the largest (an
	 * IPv6 record with interfaces, 139 bytes) with its set header and
	 * padding */
	struct nfx_options o = {
		.domain = x->domain,
		.messages = x->st.datagrams,
		.records = x->st.records,
		.octets = x->st.octets,
		.process_id = (uint32_t)getpid(),
		.init_ms = started_ms,
		.keep_free = 160,
	};
	unsigned i, n;

	if (now_boot_ns - x->ifs_read_ns >= IF_REFRESH_NS) {
		for (i = 0; i < x->nifs; i++)
			read_ifname(&x->ifs[i]);
		x->ifs_read_ns = now_boot_ns;
	}
	if (x->if_cursor >= x->nifs)
		x->if_cursor = 0;
	o.ifs = x->ifs + x->if_cursor;
	o.nifs = x->nifs - x->if_cursor;
	n = nfx_add_options(&x->msg, &o);
	x->if_cursor += n;
	if (x->if_cursor >= x->nifs)
		x->ifs_new = false;	/* every name has gone out */
}

/* Starts the next v9/IPFIX message, with templates when due. */
static void begin_nfx(struct export *x)
{
	struct time_pair now;
	bool tmpl;

	ctsrc_now(&now);
	tmpl = templates_due(x, now.boot_ns);
	nfx_begin(&x->msg, x->version, x->interfaces, tmpl);
	if (tmpl) {
		add_options(x, now.boot_ns);
		x->st.templates++;
		x->since_tmpl = 0;
		x->tmpl_boot_ns = now.boot_ns;
	}
	x->since_tmpl++;
}

/* Appends one direction record to the open message, sending a full one. */
static void add_nfx(struct export *x, const struct nfx_rec *r)
{
	if (x->pending == 0)
		begin_nfx(x);
	if (!nfx_add(&x->msg, r)) {
		if (x->pending == 0)
			x->pending = 1;	/* templates without data still go */
		export_flush(x);
		begin_nfx(x);
		if (!nfx_add(&x->msg, r))
			return;	/* cannot happen: one record always fits */
	}
	if (x->pending++ == 0)
		evtimer_add(x->flush_ev, &x->flush_tv);
}

void export_conn(struct export *x, const struct flow_conn *c)
{
	unsigned i, n;

	if (x->version == NF5_VERSION) {
		struct flow_record recs[RECORD_MAX_PER_EVENT];

		if (c->kind != FLOW_KIND_TRAFFIC)
			return;
		if (c->ev->family == AF_INET6) {
			x->st.skipped_ipv6++;
			return;
		}
		n = record_build_conn(c, x->untranslated, recs);
		for (i = 0; i < n; i++)
			export_add(x, &recs[i]);
	} else if (c->kind == FLOW_KIND_TRAFFIC) {
		struct nfx_rec recs[2];

		if (!x->flows)
			return;
		if (x->interfaces) {
			note_if(x, c->in_if);
			note_if(x, c->out_if);
		}
		n = nfx_rec_build(c, recs);
		for (i = 0; i < n; i++)
			add_nfx(x, &recs[i]);
	} else {
		struct nfx_rec ev;

		if (nfx_event_build(c, (enum nfx_nat_mode)x->nat_mode, &ev))
			add_nfx(x, &ev);
	}
}

/* The default observation domain: a hash of the machine id (the host
 * name where there is none), never 0, so that two exporters differ. */
static uint32_t machine_domain(void)
{
	char id[256] = "";
	uint32_t h = 2166136261u;
	FILE *fp = fopen("/etc/machine-id", "re");
	size_t i;

	if (fp != NULL) {
		if (fgets(id, sizeof(id), fp) == NULL)
			id[0] = 0;
		fclose(fp);
	}
	if (id[0] == 0 || id[0] == '\n')
		(void)gethostname(id, sizeof(id) - 1);
	for (i = 0; id[i] != 0 && id[i] != '\n'; i++)
		h = (h ^ (uint8_t)id[i]) * 16777619u;
	return h != 0 ? h : 1;
}

uint32_t export_domain(const struct config *cfg)
{
	return cfg->observation_domain != 0 ? cfg->observation_domain
					    : machine_domain();
}

/* A template-only message right away, so that a collector can decode the
 * first data without waiting (also after a reload or collector change). */
static void send_templates(struct export *x)
{
	struct time_pair now;

	begin_nfx(x);
	ctsrc_now(&now);
	x->pending = 1;	/* a message to finish, with no data record */
	flush_nfx(x, &now);
	x->pending = 0;
}

static void format_collector(char *buf, size_t len,
			     const struct config_collector *cc)
{
	const char *v = config_version_name(cc->version);

	if (cc->collector.ss_family == AF_INET6)
		snprintf(buf, len, "[%s]:%u (%s)", cc->collector_str, cc->port, v);
	else
		snprintf(buf, len, "%s:%u (%s)", cc->collector_str, cc->port, v);
}

bool export_same(const struct export *x, const struct config_collector *cc)
{
	return x->cc.version == cc->version && x->cc.port == cc->port &&
	       x->cc.addrlen == cc->addrlen &&
	       memcmp(&x->cc.collector, &cc->collector, cc->addrlen) == 0 &&
	       memcmp(&x->cc.source, &cc->source, cc->addrlen) == 0;
}

/* Opens the socket and the flush timer. */
struct export *export_new(struct event_base *base, const struct config *cfg,
			  const struct config_collector *cc,
			  struct natlog *nlog, char *err, size_t errlen)
{
	struct export *x = calloc(1, sizeof(*x));
	double secs = cfg->flush_interval;
	int sndbuf = EXPORT_SNDBUF;
	unsigned i;

	if (!x) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	x->fd = -1;
	if (started_ms == 0)
		started_ms = clock_ns(CLOCK_REALTIME) / 1000000u;
	x->nlog = cc->version == NF5_VERSION ? nlog : NULL;
	x->engine_type = cfg->engine_type;
	x->engine_id = cfg->engine_id;
	x->version = cc->version;
	x->untranslated = cfg->untranslated_records;
	x->interfaces = cfg->interfaces;
	x->flows = cc->flows;
	x->nat_mode = cc->nat_events;
	x->domain = export_domain(cfg);
	x->cc = *cc;
	x->tmpl_packets = cfg->template_refresh_packets;
	x->tmpl_ns = (uint64_t)cfg->template_refresh_seconds * NS_PER_S;
	x->send_rate = (struct log_rate)LOG_RATE_INIT(10);
	x->flush_tv.tv_sec = (time_t)secs;
	x->flush_tv.tv_usec = (suseconds_t)((secs - (double)x->flush_tv.tv_sec) * 1e6);
	format_collector(x->collector, sizeof(x->collector), cc);

	x->fd = socket(cc->collector.ss_family,
		       SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (x->fd < 0) {
		snprintf(err, errlen, "export socket: %s", strerror(errno));
		goto fail;
	}
	if (bind(x->fd, (const struct sockaddr *)&cc->source, cc->addrlen) < 0) {
		snprintf(err, errlen, "cannot send from source %s: %s",
			 cc->source_str, strerror(errno));
		goto fail;
	}
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
	for (i = 0; i < SEND_BATCH; i++) {
		x->mm[i].msg_hdr.msg_iov = &x->iov[i];
		x->mm[i].msg_hdr.msg_iovlen = 1;
	}
	x->queue = malloc(QUEUE_MAX * sizeof(*x->queue));
	x->flush_ev = evtimer_new(base, flush_cb, x);
	x->write_ev = event_new(base, x->fd, EV_WRITE | EV_PERSIST, writable_cb, x);
	x->send_ev = event_new(base, -1, 0, send_cb, x);
	if (!x->queue || !x->flush_ev || !x->write_ev || !x->send_ev) {
		snprintf(err, errlen, "cannot set up the exporter: out of memory");
		goto fail;
	}
	return x;
fail:
	if (x->flush_ev)
		event_free(x->flush_ev);
	if (x->write_ev)
		event_free(x->write_ev);
	if (x->send_ev)
		event_free(x->send_ev);
	free(x->queue);
	if (x->fd >= 0)
		close(x->fd);
	free(x);
	return NULL;
}

/* Continues the old exporter's sequence and counters; to the same
 * collector also its socket (so its source port) and the datagrams still
 * queued on it, which the old exporter then no longer has. */
void export_take_over(struct export *x, struct export *old)
{
	int fd;
	struct queued *q;
	unsigned head, len;

	x->sequence = old->sequence;
	x->st = old->st;
	if (!export_same(old, &x->cc))
		return;
	event_del(old->write_ev);
	event_del(old->send_ev);
	old->waiting = false;
	event_del(x->write_ev);
	x->waiting = false;
	fd = x->fd;
	x->fd = old->fd;
	old->fd = fd;
	x->connected = old->connected;
	x->last_records = old->last_records;
	q = x->queue;
	head = x->q_head;
	len = x->q_len;
	x->queue = old->queue;
	x->q_head = old->q_head;
	x->q_len = old->q_len;
	old->queue = q;
	old->q_head = head;
	old->q_len = len;
	event_free(x->write_ev);
	x->write_ev = event_new(event_get_base(x->flush_ev), x->fd,
				EV_WRITE | EV_PERSIST, writable_cb, x);
	if (x->write_ev && x->q_len > 0 && event_add(x->write_ev, NULL) == 0)
		x->waiting = true;	/* sent once writable: at once */
}

uint8_t export_version(const struct export *x)
{
	return x->version;
}

void export_start(struct export *x)
{
	if (x->version != NF5_VERSION)
		send_templates(x);
}

const struct export_stats *export_stats(const struct export *x)
{
	return &x->st;
}

/* Sends what is pending, waiting for a full socket buffer at most
 * EXPORT_DRAIN_MS in all (what is still queued then is counted as lost),
 * then releases everything. */
void export_free(struct export *x)
{
	uint64_t until = clock_ns(CLOCK_MONOTONIC) + EXPORT_DRAIN_MS * 1000000ull;

	if (!x)
		return;
	export_flush(x);
	while (x->q_len > 0) {
		struct queued *q = &x->queue[x->q_head];
		struct pollfd pfd = { x->fd, POLLOUT, 0 };
		uint64_t now = clock_ns(CLOCK_MONOTONIC);
		ssize_t n = send(x->fd, q->bytes, q->len, MSG_DONTWAIT);

		if (n < 0 && (errno == EAGAIN || errno == ENOBUFS) && now < until &&
		    poll(&pfd, 1, (int)((until - now) / 1000000u) + 1) >= 0)
			continue;
		if (n == (ssize_t)q->len)
			x->st.sent++;
		else
			count_failure(x, q->records, n < 0 && errno != EAGAIN ?
				      errno : ETIMEDOUT);
		x->q_head = (x->q_head + 1) % QUEUE_MAX;
		x->q_len--;
	}
	event_free(x->flush_ev);
	if (x->write_ev)
		event_free(x->write_ev);
	event_free(x->send_ev);
	free(x->queue);
	close(x->fd);
	free(x);
}
