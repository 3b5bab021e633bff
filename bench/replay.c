/* Pipeline replay benchmark: realistic conntrack event messages, built in
 * memory, go through the code that handles a netlink read in the daemon —
 * ctmsg_parse, the live table, record_build, and the real exporter
 * (export_add: nf5_encode every 30 records, send() to a UDP sink on
 * 127.0.0.1, natlog: the CSV line of every record, queued and sent to the
 * syslog socket in batches when syslog is on). Prints events/s, ns/event
 * and allocations/event.
 *
 * usage: replay [-n EVENTS] [-w LIVE] [-c PAIRS] [-s | -k | -S SOCKET] [-t SECONDS]
 *               [-x v5|ipfix|ipfix-nat|nat-only]
 *   -n  events to time (default 4000000; NEW and DESTROY count one each)
 *   -w  connections alive at any time, i.e. the live table size (65536)
 *   -c  connections per replayed cycle (default max(262144, 4 * LIVE))
 *   -s  syslog on: the record lines go to a datagram socket of this
 *       program's own (a private path), read by a thread of it with
 *       recvmmsg as a syslog daemon reads its socket, and counted
 *   -k  syslog on, to a stream socket of this program's own (LF-framed
 *       lines, as rsyslog's imptcp path= input reads them), counted
 *   -S  syslog on, to the syslog daemon listening on SOCKET instead
 *   -t  stop after this many seconds even if fewer events were timed (60)
 *   -x  the exporter: NetFlow v5 (default), IPFIX, IPFIX with NAT session
 *       events (RFC 8158 numbering), or NAT events alone ("flows": false);
 *       the bytes sent per ended connection are printed (bytes_per_conn)
 *
 * Each event goes through pipeline_event(), the daemon's own per-event
 * code; the walk over a received buffer mirrors ctsrc.c (walk_buf,
 * handle_ct), which is tied to its socket. The clock is read once per
 * message because the kernel sends each event in a datagram of its own.
 * With syslog on, the event loop runs once (without waiting) after each
 * buffer, as the daemon's loop does between reads: that is where a full
 * syslog socket that drained again gets its waiting lines. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <event2/event.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>

#include "nfflowd/clock.h"
#include "nfflowd/config.h"
#include "nfflowd/ctmsg.h"
#include "nfflowd/ctsrc.h"
#include "nfflowd/export.h"
#include "nfflowd/flowtab.h"
#include "nfflowd/natlog.h"
#include "nfflowd/pipeline.h"
#include "nfflowd/record.h"

#include "alloccount.h"
#include "ctgen.h"

#define BATCH_BYTES (32 * 1024)	/* the kernel's largest netlink skb */
#define SINK_NAP_NS 1000000
#define SINK_LIFETIME_S 900
#define SYSLOG_BEHIND 8192	/* lines waiting before the replay waits */
#define SYSLOG_STALL_NS 10000000000u	/* a reader idle this long: give up */
#define SINK_MSGS 64		/* datagrams a syslog reader takes per call */
#define SINK_MSG_BYTES 2048

/* One buffer of messages as one read would deliver it. */
struct batch {
	size_t off, len;
};

/* The replayed message stream: cycle pairs of NEW and DESTROY, in order. */
struct stream {
	uint8_t *bytes;
	size_t used, cap;
	struct batch *batches;
	size_t nbatches, batches_cap;
	uint64_t events;	/* messages per cycle */
};

/* What the daemon's context holds for the per-event path: the pipeline
 * (the daemon's own per-event code) and the counters ctsrc keeps. */
struct pipe_ctx {
	struct pipeline pl;
	struct export *exp;
	struct event_base *loop;	/* run after each buffer; NULL: never */
	struct natlog *nlog;		/* with loop: waited for when behind */
	struct event *tick;		/* bounds each wait for the reader */
	bool stalled;			/* the reader stopped taking lines */
	uint64_t ev_new, ev_destroy, ev_other, ignored, malformed;
};

/* A reader thread that drains a socket until told to stop. */
struct sink {
	int fd;
	pthread_t thread;
	volatile int stop;
	bool syslog;		/* a syslog reader: blocks in recvmmsg */
	bool stream;		/* a stream syslog reader: accepts, counts LF */
	uint64_t datagrams, bytes;
};

/* Reads and discards datagrams until stop is set (bounded lifetime). It
 * never blocks in recv: it drains what is queued, then sleeps 1 ms. A
 * reader blocked in recv would make every send() wake it up across CPUs,
 * a cost the daemon does not pay when its collector is on another host.
 * The syslog reader does block, as syslog daemons do, and takes what is
 * queued in batches (recvmmsg). */
static void *sink_main(void *arg)
{
	struct sink *s = arg;
	char buf[65536];	/* per thread: two sinks run at once */
	char msgs[SINK_MSGS][SINK_MSG_BYTES];
	struct mmsghdr mm[SINK_MSGS];
	struct iovec iov[SINK_MSGS];
	const struct timespec nap = { 0, SINK_NAP_NS };
	uint64_t end = clock_ns(CLOCK_MONOTONIC) + (uint64_t)SINK_LIFETIME_S * 1000000000u;
	unsigned i;

	for (i = 0; i < SINK_MSGS; i++) {
		iov[i].iov_base = msgs[i];
		iov[i].iov_len = sizeof(msgs[i]);
		memset(&mm[i], 0, sizeof(mm[i]));
		mm[i].msg_hdr.msg_iov = &iov[i];
		mm[i].msg_hdr.msg_iovlen = 1;
	}
	if (s->stream) {
		struct timeval tv = { 0, 200000 };
		int c = -1;

		while (c < 0 && !s->stop && clock_ns(CLOCK_MONOTONIC) < end)
			c = accept4(s->fd, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0)
			return NULL;
		(void)setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		while (clock_ns(CLOCK_MONOTONIC) < end) {
			ssize_t n = recv(c, buf, sizeof(buf), 0);
			uint64_t lines = 0;
			const char *q, *e;

			if (n <= 0) {
				if (n == 0 || s->stop)
					break;
				continue;
			}
			for (q = buf, e = buf + n;
			     (q = memchr(q, '\n', (size_t)(e - q))) != NULL; q++)
				lines++;
			__atomic_fetch_add(&s->datagrams, lines, __ATOMIC_RELAXED);
			__atomic_fetch_add(&s->bytes, (uint64_t)n, __ATOMIC_RELAXED);
		}
		close(c);
		return NULL;
	}
	while (s->syslog && clock_ns(CLOCK_MONOTONIC) < end) {
		int n = recvmmsg(s->fd, mm, SINK_MSGS, MSG_WAITFORONE, NULL);

		if (n > 0) {
			uint64_t bytes = 0;

			for (i = 0; i < (unsigned)n; i++)
				bytes += mm[i].msg_len;
			__atomic_fetch_add(&s->datagrams, (uint64_t)n, __ATOMIC_RELAXED);
			__atomic_fetch_add(&s->bytes, bytes, __ATOMIC_RELAXED);
		} else if (s->stop) {
			break;
		}
	}
	while (!s->syslog && clock_ns(CLOCK_MONOTONIC) < end) {
		ssize_t n = recv(s->fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (n >= 0) {
			__atomic_fetch_add(&s->datagrams, 1, __ATOMIC_RELAXED);
			__atomic_fetch_add(&s->bytes, (uint64_t)n, __ATOMIC_RELAXED);
		} else if (s->stop) {
			break;
		} else {
			nanosleep(&nap, NULL);
		}
	}
	return NULL;
}

/* Starts the reader thread on an already bound socket. */
static int sink_start(struct sink *s)
{
	struct timeval tv = { 0, 200000 };
	int big = 16 << 20;

	(void)setsockopt(s->fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big));
	if (setsockopt(s->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0)
		return -1;
	return pthread_create(&s->thread, NULL, sink_main, s) == 0 ? 0 : -1;
}

/* Tells the reader to stop once the socket is idle, and joins it. */
static void sink_stop(struct sink *s)
{
	s->stop = 1;
	pthread_join(s->thread, NULL);
	close(s->fd);
}

/* Opens the UDP collector sink on 127.0.0.1 with a kernel-chosen port. */
static int udp_sink_open(struct sink *s, uint16_t *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t alen = sizeof(a);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s->fd < 0 || bind(s->fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    getsockname(s->fd, (struct sockaddr *)&a, &alen) < 0)
		return -1;
	*port = ntohs(a.sin_port);
	return sink_start(s);
}

/* Binds a socket of our own at path for the record lines: a datagram
 * socket, or a listening stream socket. */
static int syslog_sink_open(struct sink *s, const char *path, bool stream)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };

	if (strlen(path) >= sizeof(a.sun_path))
		return -1;
	strcpy(a.sun_path, path);
	unlink(path);
	s->syslog = true;
	s->stream = stream;
	s->fd = socket(AF_UNIX, (stream ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC, 0);
	if (s->fd < 0 || bind(s->fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		return -1;
	if (stream && listen(s->fd, 4) < 0)
		return -1;
	return sink_start(s);
}

/* The queue limit of a new AF_UNIX datagram socket in this network
 * namespace (net.unix.max_dgram_qlen), -1 if unreadable. */
static long dgram_qlen(void)
{
	FILE *f = fopen("/proc/sys/net/unix/max_dgram_qlen", "r");
	long v = -1;

	if (f != NULL) {
		if (fscanf(f, "%ld", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

/* Appends one message to the stream, starting a new batch when the
 * current one would exceed BATCH_BYTES. */
static int stream_add(struct stream *st, const struct ctgen_conn *c,
		      bool destroy)
{
	uint8_t msg[CTGEN_MSG_MAX];
	size_t len = ctgen_msg(msg, c, destroy);
	struct batch *b;

	if (st->used + len > st->cap) {
		size_t ncap = st->cap ? st->cap * 2 : 1 << 20;
		uint8_t *nb = realloc(st->bytes, ncap);

		if (!nb)
			return -1;
		st->bytes = nb;
		st->cap = ncap;
	}
	b = st->nbatches ? &st->batches[st->nbatches - 1] : NULL;
	if (!b || b->len + len > BATCH_BYTES) {
		if (st->nbatches == st->batches_cap) {
			size_t ncap = st->batches_cap ? st->batches_cap * 2 : 1024;
			struct batch *nbt = realloc(st->batches,
						    ncap * sizeof(*nbt));

			if (!nbt)
				return -1;
			st->batches = nbt;
			st->batches_cap = ncap;
		}
		b = &st->batches[st->nbatches++];
		b->off = st->used;
		b->len = 0;
	}
	memcpy(st->bytes + st->used, msg, len);
	st->used += len;
	b->len += len;
	st->events++;
	return 0;
}

/* Builds one cycle of pairs connections: step k opens connection k and
 * closes connection k - live (mod pairs), so live connections are open at
 * any time and the cycle can be replayed again and again. */
static int stream_build(struct stream *st, uint32_t pairs, uint32_t live,
			uint64_t base_real_ns)
{
	struct ctgen_conn c;
	uint32_t k;

	for (k = 0; k < pairs; k++) {
		ctgen_conn(k, base_real_ns, &c);
		if (stream_add(st, &c, false) < 0)
			return -1;
		ctgen_conn((k + pairs - live) % pairs, base_real_ns, &c);
		if (stream_add(st, &c, true) < 0)
			return -1;
	}
	return 0;
}

static void emit_conn(const struct flow_conn *c, void *arg)
{
	export_conn(arg, c);
}

/* ctsrc.c handle_ct: parse one message, count it, deliver it. */
static void handle_ct(struct pipe_ctx *p, const struct nlmsghdr *nlh, int rem,
		      const struct time_pair *now)
{
	struct ct_event ev;

	switch (ctmsg_parse(nlh, (size_t)rem, NULL, &ev)) {
	case CTMSG_MALFORMED:
		p->malformed++;
		return;
	case CTMSG_IGNORED:
		p->ignored++;
		return;
	case CTMSG_OK:
		break;
	}
	if (ev.type == CT_EVENT_NEW)
		p->ev_new++;
	else if (ev.type == CT_EVENT_DESTROY)
		p->ev_destroy++;
	else
		p->ev_other++;
	pipeline_event(&p->pl, &ev, now, false);
}

/* ctsrc.c walk_buf for event datagrams: every message of one buffer. */
static unsigned walk_buf(struct pipe_ctx *p, const uint8_t *buf, size_t len)
{
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;
	int rem = (int)len;
	unsigned messages = 0;

	while (ctmsg_walk_ok(nlh, rem)) {
		struct time_pair now;

		messages++;
		ctsrc_now(&now);
		if (nlh->nlmsg_type >= NLMSG_MIN_TYPE)
			handle_ct(p, nlh, rem, &now);
		else
			p->ignored++;
		nlh = mnl_nlmsg_next(nlh, &rem);
	}
	if (rem > 0)
		p->malformed++;
	return messages;
}

/* The tick that ends a wait for the syslog reader. */
static void on_tick(evutil_socket_t fd, short what, void *arg)
{
}

/* Runs the event loop without waiting, as the daemon's loop turns between
 * reads; while more than SYSLOG_BEHIND lines wait for the syslog reader,
 * waits for it to take them (the daemon would not wait, and drop beyond
 * its backlog instead: the benchmark measures the rate at which every
 * line arrives). Each wait lasts at most 100 ms (the tick; re-adding it
 * allocates nothing); the whole replay stops, as stalled, at the deadline
 * or when the reader took nothing for SYSLOG_STALL_NS. Returns false then. */
static bool keep_pace(struct pipe_ctx *p, uint64_t deadline_ns)
{
	const struct timeval tick = { 0, 100000 };
	uint64_t last = UINT64_MAX, since = 0;

	event_base_loop(p->loop, EVLOOP_NONBLOCK);
	while (natlog_queued(p->nlog) > SYSLOG_BEHIND) {
		uint64_t now = clock_ns(CLOCK_MONOTONIC);
		uint64_t q = natlog_queued(p->nlog);

		if (q < last) {
			last = q;
			since = now;
		}
		if (now >= deadline_ns || now - since >= SYSLOG_STALL_NS) {
			p->stalled = true;
			return false;
		}
		event_add(p->tick, &tick);
		event_base_loop(p->loop, EVLOOP_ONCE);
	}
	return true;
}

/* The timed part (also the region callgrind collects): replays whole
 * cycles until want events are done or the deadline passes. */
static __attribute__((noinline)) uint64_t replay_timed(struct pipe_ctx *p,
						       const struct stream *st,
						       uint64_t want,
						       uint64_t deadline_ns)
{
	uint64_t done = 0;
	size_t b;

	for (b = 0; done < want; b = (b + 1) % st->nbatches) {
		if (b % 64 == 0 && clock_ns(CLOCK_MONOTONIC) >= deadline_ns)
			break;
		done += walk_buf(p, st->bytes + st->batches[b].off,
				 st->batches[b].len);
		if (p->loop != NULL && !keep_pace(p, deadline_ns))
			break;
	}
	return done;
}

/* The measured phase alone, a function of its own so that callgrind can
 * collect just it (--toggle-collect=replay_measured). */
static __attribute__((noinline)) uint64_t replay_measured(struct pipe_ctx *p,
							  const struct stream *st,
							  uint64_t want,
							  uint64_t deadline_ns)
{
	return replay_timed(p, st, want, deadline_ns);
}

/* Waits (at most 10 s) until the sink has read sent datagrams. */
static void sink_settle(struct sink *s, uint64_t sent)
{
	uint64_t end = clock_ns(CLOCK_MONOTONIC) + 10000000000u;

	while (__atomic_load_n(&s->datagrams, __ATOMIC_RELAXED) < sent &&
	       clock_ns(CLOCK_MONOTONIC) < end)
		usleep(10000);
}

/* Runs the event loop until no syslog line waits (at most 10 s), as the
 * daemon's loop would after a burst, then waits for our own reader (when
 * there is one) to have read every line sent. */
static void syslog_settle(struct event_base *base, struct natlog *n,
			  struct sink *reader)
{
	uint64_t end = clock_ns(CLOCK_MONOTONIC) + 10000000000u;
	struct timeval tv = { 0, 10000 };

	while (natlog_queued(n) > 0 && clock_ns(CLOCK_MONOTONIC) < end) {
		event_base_loopexit(base, &tv);
		event_base_loop(base, EVLOOP_ONCE);
		natlog_flush(n);
	}
	if (reader != NULL)
		sink_settle(reader, natlog_stats(n)->sent);
}

/* Our own syslog reader's socket, removed at exit on every path. */
static char own_path[sizeof(((struct sockaddr_un *)0)->sun_path)];

static void unlink_own_path(void)
{
	if (own_path[0] != '\0')
		unlink(own_path);
}

static void usage(void)
{
	fprintf(stderr, "usage: replay [-n EVENTS] [-w LIVE] [-c PAIRS] [-s | -k | -S SOCKET] [-t SECONDS] [-x v5|ipfix|ipfix-nat|nat-only]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	uint64_t want = 4000000, limit_s = 60;
	uint32_t live = 65536, pairs = 0;
	bool use_syslog = false, use_stream = false;
	struct sink udp = { .fd = -1 }, logsink = { .fd = -1 };
	const char *log_path = NULL, *xmode = "v5", *xjson;
	int own_log = 0, opt;
	uint16_t port;
	char json[768], err[CONFIG_ERR_MAX];
	struct config cfg;
	struct natlog *nlog;
	const struct natlog_stats *ns;
	struct event_base *base;
	struct stream st = { 0 };
	struct pipe_ctx p = { 0 };
	struct time_pair now;
	const struct export_stats *xs;
	uint64_t rec0, sent0, dropped0, sink0, oct0;
	uint64_t t0, c0, a0, t1, c1, a1, done, warm;

	while ((opt = getopt(argc, argv, "n:w:c:skS:t:x:")) != -1) {
		switch (opt) {
		case 'n': want = strtoull(optarg, NULL, 10); break;
		case 'w': live = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'c': pairs = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 's': use_syslog = true; break;
		case 'k': use_syslog = use_stream = true; break;
		case 'S': use_syslog = true; log_path = optarg; break;
		case 't': limit_s = strtoull(optarg, NULL, 10); break;
		case 'x': xmode = optarg; break;
		default: usage();
		}
	}
	if (want == 0 || live == 0 || live > (1u << 24) || limit_s == 0)
		usage();
	if (strcmp(xmode, "v5") == 0)
		xjson = NULL;
	else if (strcmp(xmode, "ipfix") == 0)
		xjson = "\"nat_events\": \"off\", \"flows\": true";
	else if (strcmp(xmode, "ipfix-nat") == 0)
		xjson = "\"nat_events\": \"rfc8158\", \"flows\": true";
	else if (strcmp(xmode, "nat-only") == 0)
		xjson = "\"nat_events\": \"rfc8158\", \"flows\": false";
	else
		usage();
	/* A cycle long enough that most ids are not hot in the cache. */
	if (pairs == 0)
		pairs = live * 4 < 262144 ? 262144 : live * 4;
	if (pairs <= live)
		usage();

	if (udp_sink_open(&udp, &port) < 0) {
		perror("udp sink");
		return 1;
	}
	if (use_syslog && log_path == NULL) {
		snprintf(own_path, sizeof(own_path), "/tmp/nfflowd-replay-%ld.sock",
			 (long)getpid());
		if (syslog_sink_open(&logsink, own_path, use_stream) < 0) {
			perror("syslog sink");
			return 1;
		}
		atexit(unlink_own_path);
		own_log = 1;
		log_path = own_path;
	}
	if (xjson == NULL)
		snprintf(json, sizeof(json),
			 "{\"source\": \"127.0.0.1\", \"collector\": \"127.0.0.1\", "
			 "\"port\": %u, \"syslog\": {\"enabled\": %s, \"ident\": \"nfflowd-bench\", "
			 "\"socket\": \"%s\"}}",
			 port, use_syslog ? "true" : "false",
			 log_path != NULL ? log_path : "/dev/log");
	else
		snprintf(json, sizeof(json),
			 "{\"source\": \"127.0.0.1\", \"collectors\": [{\"address\": "
			 "\"127.0.0.1\", \"port\": %u, \"version\": 10, %s}], "
			 "\"observation_domain\": 1, "
			 "\"syslog\": {\"enabled\": %s, \"ident\": \"nfflowd-bench\", "
			 "\"socket\": \"%s\"}}",
			 port, xjson, use_syslog ? "true" : "false",
			 log_path != NULL ? log_path : "/dev/log");
	if (config_parse(json, strlen(json), "bench", &cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	base = event_base_new();
	nlog = base ? natlog_new(base) : NULL;
	if (nlog == NULL) {
		fprintf(stderr, "setup: no event base\n");
		return 1;
	}
	natlog_configure(nlog, &cfg);
	if (use_syslog) {
		p.loop = base;
		p.nlog = nlog;
		p.tick = evtimer_new(base, on_tick, NULL);
		if (p.tick == NULL) {
			fprintf(stderr, "setup: no timer\n");
			return 1;
		}
	}
	p.exp = export_new(base, &cfg, &cfg.collectors[0], nlog, err,
			   sizeof(err));
	if (!p.exp || pipeline_init(&p.pl, 0, emit_conn, p.exp) < 0) {
		fprintf(stderr, "setup: %s\n", base ? err : "no event base");
		return 1;
	}
	pipeline_configure(&p.pl, &cfg);

	ctsrc_now(&now);
	if (stream_build(&st, pairs, live, now.real_ns - 3600ull * 1000000000u) < 0) {
		fprintf(stderr, "out of memory building the stream\n");
		return 1;
	}
	fprintf(stderr, "replay: %" PRIu64 " messages per cycle in %zu buffers of up to %d bytes (%.1f MiB), %u live connections%s\n",
		st.events, st.nbatches, BATCH_BYTES, (double)st.used / 1048576.0,
		live, use_syslog ? (own_log ? (use_stream ? ", syslog on (to our own stream reader)"
					       : ", syslog on (to our own datagram reader)")
				   : ", syslog on (to a syslog daemon)") : "");

	/* One untimed cycle fills the table and warms the caches. */
	warm = replay_timed(&p, &st, st.events,
			    clock_ns(CLOCK_MONOTONIC) + limit_s * 1000000000u);
	memset(&p.ev_new, 0, sizeof(p) - offsetof(struct pipe_ctx, ev_new));
	memset(&p.pl.st, 0, sizeof(p.pl.st));
	export_flush(p.exp);
	if (use_syslog)
		syslog_settle(base, nlog, own_log ? &logsink : NULL);
	rec0 = export_stats(p.exp)->records;
	oct0 = export_stats(p.exp)->octets;
	ns = natlog_stats(nlog);
	sent0 = ns->sent;
	dropped0 = ns->dropped;
	sink0 = __atomic_load_n(&logsink.datagrams, __ATOMIC_RELAXED);

	a0 = alloccount_get();
	t0 = clock_ns(CLOCK_MONOTONIC);
	c0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
	done = replay_measured(&p, &st, want, t0 + limit_s * 1000000000u);
	c1 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
	t1 = clock_ns(CLOCK_MONOTONIC);
	a1 = alloccount_get();

	export_flush(p.exp);
	xs = export_stats(p.exp);
	sink_settle(&udp, xs->sent);
	if (use_syslog)
		syslog_settle(base, nlog, own_log ? &logsink : NULL);
	printf("export=%s bytes=%" PRIu64 " bytes_per_conn=%.1f nat_events=%" PRIu64 " ",
	       xmode, xs->octets - oct0,
	       p.ev_destroy ? (double)(xs->octets - oct0) / (double)p.ev_destroy : 0.0,
	       p.pl.st.nat_creates + p.pl.st.nat_deletes);
	printf("mode=%s events=%" PRIu64 " warmup_events=%" PRIu64
	       " live=%zu wall_s=%.3f cpu_s=%.3f events_per_s=%.0f"
	       " ns_per_event=%.1f cpu_ns_per_event=%.1f"
	       " records=%" PRIu64 " datagrams=%" PRIu64 " sent=%" PRIu64
	       " send_errors=%" PRIu64 " sink_datagrams=%" PRIu64
	       " allocs=%" PRIu64 " allocs_per_event=%.6f"
	       " new=%" PRIu64 " destroy=%" PRIu64 " malformed=%" PRIu64
	       " destroy_unknown=%" PRIu64 " syslog_target=%s"
	       " syslog_sent=%" PRIu64 " syslog_dropped=%" PRIu64
	       " syslog_queued=%" PRIu64 " syslog_errors=%" PRIu64
	       " syslog_read=%" PRIu64 " dgram_qlen=%ld\n",
	       use_syslog ? "syslog" : "nosyslog", done, warm,
	       flowtab_count(p.pl.tab), (double)(t1 - t0) / 1e9,
	       (double)(c1 - c0) / 1e9,
	       (double)done * 1e9 / (double)(t1 - t0),
	       (double)(t1 - t0) / (double)done,
	       (double)(c1 - c0) / (double)done, xs->records - rec0, xs->datagrams,
	       xs->sent, xs->send_errors,
	       __atomic_load_n(&udp.datagrams, __ATOMIC_RELAXED), a1 - a0,
	       (double)(a1 - a0) / (double)done, p.ev_new, p.ev_destroy,
	       p.malformed, p.pl.st.destroy_unknown,
	       !use_syslog ? "none" : !own_log ? "syslog-daemon" :
	       use_stream ? "own-stream-reader" : "own-dgram-reader",
	       ns->sent - sent0, ns->dropped - dropped0, natlog_queued(nlog),
	       ns->errors,
	       own_log ? __atomic_load_n(&logsink.datagrams, __ATOMIC_RELAXED) - sink0 : 0,
	       dgram_qlen());

	if (p.stalled)
		fprintf(stderr, "replay: stopped early: the syslog reader took no line for %u s, or the time limit passed while it lagged\n",
			(unsigned)(SYSLOG_STALL_NS / 1000000000u));
	export_free(p.exp);
	if (p.tick != NULL)
		event_free(p.tick);
	natlog_free(nlog);
	event_base_free(base);
	pipeline_free(&p.pl);
	sink_stop(&udp);
	if (own_log)
		sink_stop(&logsink);
	free(st.bytes);
	free(st.batches);
	return p.malformed == 0 && done > 0 && !p.stalled ? 0 : 1;
}
