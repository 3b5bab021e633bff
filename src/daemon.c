/* The daemon context: event loop, signals, timers, reload, clean stop. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "nfflowd/clock.h"
#include "nfflowd/control.h"
#include "nfflowd/ctquery.h"
#include "nfflowd/ctsrc.h"
#include "nfflowd/daemon.h"
#include "nfflowd/export.h"
#include "nfflowd/kernel.h"
#include "nfflowd/log.h"
#include "nfflowd/natlog.h"
#include "nfflowd/notify.h"
#include "nfflowd/pipeline.h"
#include "nfflowd/pidfile.h"
#include "nfflowd/route.h"

#define TICK_SECONDS 1
#define STATUS_EVERY_TICKS 5
#define RESYNC_MIN_GAP_NS 1000000000u
#define LOST_GRACE_NS 2000000000u
/* Active timeout: counter readings asked for per tick, at most. A table
 * whose entries all come due at once (a restart on a busy firewall) is
 * read at this pace: 250,000 entries in about a minute. */
#define QUERY_BUDGET 4096
/* At stop, record lines waiting for syslog get this long to leave. */
#define NATLOG_DRAIN_MS 2000

struct daemon_stats {
	uint64_t ttl_expired;		/* entries dropped by the TTL sweep */
	uint64_t reloads_ok;
	uint64_t reloads_failed;
	uint64_t resyncs;		/* table dumps after lost events */
	uint64_t lost_entries;		/* vanished without a DESTROY seen */
};

struct daemon {
	struct event_base *base;
	const char *config_path;
	struct config cfg;
	struct natlog *nlog;		/* the local copy of the records */
	struct pipeline pl;		/* live table, records */
	struct ctsrc *src;
	struct export *exps[CONFIG_MAX_COLLECTORS];	/* one per collector */
	unsigned nexp;
	bool logged_by_v5;		/* a v5 exporter writes the local copy */
	uint64_t log_sequence;		/* local copy without a v5 collector */
	uint64_t records_no_counters;	/* v5 records without accounting */
	struct ctquery *query;		/* active timeout readings */
	struct ct_query *due;		/* QUERY_BUDGET */
	struct route *route;		/* interfaces: true */
	struct control *ctl;
	uint64_t started_boot_ns;
	struct event *ev_term, *ev_int, *ev_hup, *ev_tick, *ev_watchdog;
	struct event *ev_resync;
	uint64_t last_resync_boot_ns;
	uint64_t lost_check_boot_ns;	/* when to drop what a resync missed */
	uint64_t watchdog_usec;
	unsigned ticks;
	int pidfd;
	struct daemon_stats st;
	struct log_rate overrun_rate;
	struct log_rate resync_rate;
};

static void schedule_resync(struct daemon *d);

/* The local copy when no v5 collector carries it: the v5 records, with
 * the header of the moment they are made. */
static void log_without_v5(struct daemon *d, const struct flow_conn *c)
{
	struct flow_record recs[RECORD_MAX_PER_EVENT];
	struct nf5_header h;
	struct time_pair now;
	unsigned n;

	if (!natlog_enabled(d->nlog))
		return;
	n = record_build_conn(c, d->cfg.untranslated_records, recs);
	if (n == 0)
		return;
	ctsrc_now(&now);
	nf5_header_init(&h, &now, (uint32_t)d->log_sequence, d->cfg.engine_type,
			d->cfg.engine_id);
	d->log_sequence += n;
	natlog_datagram(d->nlog, &h, recs, n);
}

/* One export of a connection to every collector. */
static void emit_conn(const struct flow_conn *conn, void *arg)
{
	struct daemon *d = arg;
	struct flow_conn c = *conn;
	unsigned i;

	if (d->route)
		route_fill(d->route, &c);
	if (!c.has_counters) {
		struct flow_record recs[RECORD_MAX_PER_EVENT];

		d->records_no_counters += record_build_conn(&c,
			d->cfg.untranslated_records, recs);
	}
	for (i = 0; i < d->nexp; i++)
		export_conn(d->exps[i], &c);
	if (!d->logged_by_v5)
		log_without_v5(d, &c);
}

/* A counter reading for the active timeout. */
static void on_answer(const struct ct_event *ev, const struct time_pair *now,
		      void *arg)
{
	struct daemon *d = arg;

	pipeline_interim(&d->pl, ev, now);
}

static void on_event(const struct ct_event *ev, const struct time_pair *now,
		     bool from_dump, void *arg)
{
	struct daemon *d = arg;

	pipeline_event(&d->pl, ev, now, from_dump);
}

/* After lost events the table may hold connections whose DESTROY we never
 * saw, and miss some whose NEW we never saw. A fresh dump tells: what it
 * lists stays or is added. The rest is suspect, but its DESTROY may still
 * be on the way (a flush in progress keeps sending them after our dump),
 * so it gets LOST_GRACE_NS to end normally; what is still unseen then is
 * dropped and counted as lost, never exported: its counters and end are
 * unknown. Every insert sets FLOW_F_SEEN, so connections that begin after
 * the dump are not suspect. */
static void on_resync(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;
	struct time_pair now;
	char err[CONFIG_ERR_MAX];
	long n;

	ctsrc_drain(d->src);
	flowtab_clear_flag(d->pl.tab, FLOW_F_SEEN);
	n = ctsrc_dump(d->src, err, sizeof(err));
	ctsrc_now(&now);
	d->last_resync_boot_ns = now.boot_ns;
	if (n < 0) {
		log_warn("resynchronisation failed, will retry: %s", err);
		schedule_resync(d);
		return;
	}
	d->st.resyncs++;
	d->lost_check_boot_ns = now.boot_ns + LOST_GRACE_NS;
	log_rated(&d->resync_rate, LOG_WARNING,
		  "resynchronised with the kernel table after lost events: %ld connections listed",
		  n);
}

/* The second half of a resync: drops what neither the dump listed nor a
 * DESTROY ended within the grace period. */
static void check_lost(struct daemon *d, uint64_t now_boot_ns)
{
	size_t lost;

	if (d->lost_check_boot_ns == 0 || now_boot_ns < d->lost_check_boot_ns)
		return;
	d->lost_check_boot_ns = 0;
	lost = flowtab_remove_unflagged(d->pl.tab, FLOW_F_SEEN);
	d->st.lost_entries += lost;
	if (lost > 0)
		log_warn("%zu connections ended while events were lost; not exported (%" PRIu64 " so far)",
			 lost, d->st.lost_entries);
}

/* At most one resync a second, however many overruns come. */
static void schedule_resync(struct daemon *d)
{
	struct timeval tv = { 0, 0 };
	struct time_pair now;

	if (evtimer_pending(d->ev_resync, NULL))
		return;
	ctsrc_now(&now);
	if (d->last_resync_boot_ns != 0 &&
	    now.boot_ns - d->last_resync_boot_ns < RESYNC_MIN_GAP_NS)
		tv.tv_sec = 1;
	evtimer_add(d->ev_resync, &tv);
}

static void on_overrun(void *arg)
{
	struct daemon *d = arg;

	log_rated(&d->overrun_rate, LOG_WARNING,
		  "conntrack event overrun: events were lost (%" PRIu64 " overruns so far)",
		  ctsrc_stats(d->src)->overruns);
	schedule_resync(d);
}

/* Every counter, for the control socket, STATUS= and the log at stop. */
static void collect_counters(const struct daemon *d, struct state_counters *c)
{
	const struct ctsrc_stats *cs = ctsrc_stats(d->src);
	struct time_pair now;
	unsigned i;

	ctsrc_now(&now);
	memset(c, 0, sizeof(*c));
	for (i = 0; i < d->nexp; i++) {
		const struct export_stats *xs = export_stats(d->exps[i]);

		c->records += xs->records;
		c->datagrams += xs->datagrams;
		c->send_errors += xs->send_errors;
		c->records_lost += xs->records_lost;
		c->skipped_ipv6 += xs->skipped_ipv6;
	}
	c->interim = d->pl.st.interim;
	c->queries = d->pl.st.queries;
	c->ipv6 = d->pl.st.ipv6;
	c->pid = (uint64_t)getpid();
	c->uptime_s = (now.boot_ns - d->started_boot_ns) / 1000000000u;
	c->events_new = cs->ev_new;
	c->events_destroy = cs->ev_destroy;
	c->events_ignored = cs->ignored + d->pl.st.self_ignored;
	c->events_malformed = cs->malformed;
	c->records_no_counters = d->records_no_counters;
	c->overruns = cs->overruns;
	c->resyncs = d->st.resyncs;
	c->lost_entries = d->st.lost_entries + flowtab_replaced(d->pl.tab);
	c->ttl_expired = d->st.ttl_expired;
	c->live = flowtab_count(d->pl.tab);
	c->reloads_ok = d->st.reloads_ok;
	c->reloads_failed = d->st.reloads_failed;
	if (d->nlog) {
		const struct natlog_stats *ns = natlog_stats(d->nlog);

		c->syslog_sent = ns->sent;
		c->syslog_queued = natlog_queued(d->nlog);
		c->syslog_dropped = ns->dropped;
		c->syslog_errors = ns->errors;
	}
}

/* One line with the main counters, for STATUS= and the log at stop. */
static void format_counters(const struct daemon *d, char *buf, size_t len)
{
	struct state_counters c;

	collect_counters(d, &c);
	snprintf(buf, len,
		 "live %" PRIu64 ", events new %" PRIu64 " destroy %" PRIu64
		 ", records %" PRIu64 ", datagrams %" PRIu64
		 ", send errors %" PRIu64 ", overruns %" PRIu64
		 ", lost %" PRIu64 ", ttl expired %" PRIu64
		 ", malformed %" PRIu64 ", syslog lines %" PRIu64
		 " dropped %" PRIu64,
		 c.live, c.events_new, c.events_destroy, c.records, c.datagrams,
		 c.send_errors, c.overruns, c.lost_entries, c.ttl_expired,
		 c.events_malformed, c.syslog_sent, c.syslog_dropped);
}

static void control_counters(void *arg, struct state_counters *out)
{
	collect_counters(arg, out);
}

static const struct flowtab *control_table(void *arg)
{
	const struct daemon *d = arg;

	return d->pl.tab;
}

static uint64_t control_now(void *arg)
{
	struct time_pair now;

	ctsrc_now(&now);
	return now.boot_ns;
}

static void send_status(const struct daemon *d)
{
	char msg[512];

	memcpy(msg, "STATUS=", 7);
	format_counters(d, msg + 7, sizeof(msg) - 7);
	notify_send(msg);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;
	struct time_pair now;
	size_t n;

	ctsrc_now(&now);
	check_lost(d, now.boot_ns);
	if (d->query) {
		size_t due = pipeline_due(&d->pl, now.boot_ns, d->due, QUERY_BUDGET);

		if (due > 0)
			ctquery_send(d->query, d->due, due);
	}
	n = flowtab_sweep(d->pl.tab, now.boot_ns, (uint64_t)d->cfg.ttl * 1000000000u);
	if (n > 0) {
		d->st.ttl_expired += n;
		log_info("dropped %zu live entries older than ttl %" PRIu32 " s",
			 n, d->cfg.ttl);
	}
	if (++d->ticks % STATUS_EVERY_TICKS == 0)
		send_status(d);
}

static void on_watchdog(evutil_socket_t fd, short what, void *arg)
{
	notify_send("WATCHDOG=1");
}

static void on_stop(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *d = arg;

	log_info("received %s, stopping", strsignal((int)sig));
	event_base_loopbreak(d->base);
}

/* Kernels since 5.x default nf_conntrack_events to 2, "only while someone
 * listens": a connection created while no daemon ran then never reports
 * its DESTROY, and a restart would lose it. 1 makes the kernel keep the
 * event extension on every new connection. */
static void events_setup(const struct config *cfg)
{
	int v = kernel_get(KERNEL_EVENTS);

	if (v < 0 || v == 1)
		return;
	if (!cfg->kernel_setup)
		log_warn("net.netfilter.%s is %d: connections made while nfflowd is not running %s",
			 KERNEL_EVENTS, v, v == 0 ? "and all others report nothing" :
			 "will not report their end");
	else if (kernel_set(KERNEL_EVENTS, 1) < 0)
		log_warn("cannot set net.netfilter.%s to 1: %s", KERNEL_EVENTS,
			 strerror(errno));
	else
		log_notice("set net.netfilter.%s from %d to 1 (events for every connection, also across restarts)",
			   KERNEL_EVENTS, v);
}

/* Turns on per-connection counters and timestamps if asked to. */
static void kernel_setup(const struct config *cfg)
{
	static const char *const names[] = { KERNEL_ACCT, KERNEL_TIMESTAMP };
	size_t i;

	events_setup(cfg);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		int v = kernel_get(names[i]);

		if (v < 0)
			log_warn("cannot read net.netfilter.%s: %s", names[i],
				 strerror(errno));
		else if (v == 0 && !cfg->kernel_setup)
			log_warn("net.netfilter.%s is off: records will lack %s",
				 names[i], i == 0 ? "packet and byte counts" :
				 "the kernel's start and stop times");
		else if (v == 0 && kernel_set(names[i], 1) < 0)
			log_warn("cannot switch on net.netfilter.%s: %s",
				 names[i], strerror(errno));
		else if (v == 0)
			log_notice("switched on net.netfilter.%s (connections that already exist keep none)",
				   names[i]);
	}
}

/* One exporter per collector of cfg. The local copy goes with the first
 * v5 collector's datagrams. Returns 0, or -1 with err (none left open). */
static int open_exporters(struct daemon *d, const struct config *cfg,
			  struct export **out, bool *logged_by_v5, char *err,
			  size_t errlen)
{
	struct natlog *nlog = d->nlog;
	unsigned i;

	*logged_by_v5 = false;
	for (i = 0; i < cfg->ncollectors; i++) {
		out[i] = export_new(d->base, cfg, &cfg->collectors[i], nlog, err,
				    errlen);
		if (!out[i]) {
			while (i-- > 0)
				export_free(out[i]);
			return -1;
		}
		if (cfg->collectors[i].version == 5 && nlog) {
			*logged_by_v5 = true;
			nlog = NULL;
		}
	}
	return 0;
}

/* The old exporter whose sequence and counters new exporter i continues:
 * the one to the same collector, else the one in the same position with
 * the same protocol (a collector moved to another address continues its
 * sequence, as with a single collector). -1 for none. */
static int predecessor(const struct daemon *d, struct export **nx, unsigned i)
{
	unsigned j;

	for (j = 0; j < d->nexp; j++)
		if (d->exps[j] && export_same(nx[i], &d->cfg.collectors[j]))
			return (int)j;
	if (i < d->nexp && d->exps[i] &&
	    d->cfg.collectors[i].version == export_version(nx[i]))
		return (int)i;
	return -1;
}

/* Replaces the exporters, continuing sequences where it can; templates go
 * out at once. */
static void swap_exporters(struct daemon *d, struct export **nx, unsigned n)
{
	unsigned i, j;
	int k;

	for (j = 0; j < d->nexp; j++)
		export_flush(d->exps[j]);
	for (i = 0; i < n; i++) {
		k = predecessor(d, nx, i);
		if (k >= 0) {
			export_take_over(nx[i], d->exps[k]);
			export_free(d->exps[k]);
			d->exps[k] = NULL;
		}
	}
	for (i = 0; i < n; i++)
		export_start(nx[i]);
	for (j = 0; j < d->nexp; j++)
		export_free(d->exps[j]);
	memcpy(d->exps, nx, n * sizeof(nx[0]));
	d->nexp = n;
}

/* Route lookups exactly when `interfaces` is on. */
static void setup_route(struct daemon *d)
{
	char err[CONFIG_ERR_MAX];

	if (!d->cfg.interfaces) {
		route_free(d->route);
		d->route = NULL;
	} else if (!d->route) {
		d->route = route_new(d->base, err, sizeof(err));
		if (!d->route)
			log_warn("interfaces: %s; exporting 0 for them", err);
	}
}

/* The counter-reading socket, once an active timeout is set; without it
 * connections are still exported when they end, only not in the interim. */
static void setup_query(struct daemon *d)
{
	char err[CONFIG_ERR_MAX];

	if (d->cfg.active_timeout == 0 || d->query)
		return;
	if (!d->due)
		d->due = calloc(QUERY_BUDGET, sizeof(*d->due));
	d->query = d->due ? ctquery_open(d->base, on_answer, d, err, sizeof(err))
			  : NULL;
	if (!d->query)
		log_warn("active_timeout: %s; connections are exported only when they end",
			 d->due ? err : "out of memory");
}

/* Re-reads the configuration; swaps it in only when it is valid and every
 * new exporter could be opened. The table and netlink socket stay. */
static void reload(struct daemon *d)
{
	struct config nc;
	struct export *nx[CONFIG_MAX_COLLECTORS];
	char err[CONFIG_ERR_MAX], msg[96];
	bool logged_by_v5;

	snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%" PRIu64,
		 clock_ns(CLOCK_MONOTONIC) / 1000u);
	notify_send(msg);
	if (config_load(d->config_path, &nc, err, sizeof(err)) < 0 ||
	    open_exporters(d, &nc, nx, &logged_by_v5, err, sizeof(err)) < 0) {
		log_err("reload failed, keeping the running configuration: %s", err);
		d->st.reloads_failed++;
		notify_send("READY=1");
		return;
	}
	/* Records already queued leave under the settings they were made
	 * with; an exporter to the same collector continues the sequence. */
	swap_exporters(d, nx, nc.ncollectors);
	d->logged_by_v5 = logged_by_v5;
	if (strcmp(nc.pidfile, d->cfg.pidfile) != 0 ||
	    strcmp(nc.control_socket, d->cfg.control_socket) != 0) {
		log_warn("pidfile and control_socket changes take effect at restart");
		memcpy(nc.pidfile, d->cfg.pidfile, sizeof(nc.pidfile));
		memcpy(nc.control_socket, d->cfg.control_socket, sizeof(nc.control_socket));
	}
	if (nc.netlink_buffer != d->cfg.netlink_buffer)
		log_warn("netlink_buffer changes take effect at restart");
	nc.netlink_buffer = d->cfg.netlink_buffer;
	d->cfg = nc;
	natlog_configure(d->nlog, &d->cfg);
	pipeline_configure(&d->pl, &d->cfg);
	setup_route(d);
	setup_query(d);
	if (d->cfg.kernel_setup)
		kernel_setup(&d->cfg);
	d->st.reloads_ok++;
	log_info("configuration reloaded from %s", d->config_path);
	notify_send("READY=1");
}

static void on_hup(evutil_socket_t sig, short what, void *arg)
{
	reload(arg);
}

static int add_signal(struct daemon *d, struct event **ev, int sig,
		      event_callback_fn fn)
{
	*ev = evsignal_new(d->base, sig, fn, d);
	return *ev && evsignal_add(*ev, NULL) == 0 ? 0 : -1;
}

/* Opens everything in the order SPEC §6 gives: events subscribed before
 * the table dump, so that nothing falls between the two. */
static int daemon_open(struct daemon *d)
{
	struct ctsrc_opts o = {
		.rcvbuf = d->cfg.netlink_buffer,
		.reliable = d->cfg.netlink_reliable,
	};
	const struct control_source cs = {
		control_counters, control_table, control_now, d,
	};
	struct timeval tick = { TICK_SECONDS, 0 };
	char err[CONFIG_ERR_MAX];
	unsigned i;
	long n;

	d->base = event_base_new();
	if (!d->base) {
		log_err("cannot create the event loop");
		return -1;
	}
	d->nlog = natlog_new(d->base);
	if (!d->nlog) {
		log_err("out of memory");
		return -1;
	}
	natlog_configure(d->nlog, &d->cfg);
	if (open_exporters(d, &d->cfg, d->exps, &d->logged_by_v5, err,
			   sizeof(err)) < 0) {
		log_err("%s", err);
		return -1;
	}
	d->nexp = d->cfg.ncollectors;
	for (i = 0; i < d->nexp; i++)
		export_start(d->exps[i]);
	if (pipeline_init(&d->pl, 0, emit_conn, d) < 0) {
		log_err("cannot allocate the live table");
		return -1;
	}
	pipeline_configure(&d->pl, &d->cfg);
	setup_route(d);
	setup_query(d);
	d->src = ctsrc_open(d->base, &o, on_event, on_overrun, d, err, sizeof(err));
	if (!d->src) {
		log_err("%s", err);
		return -1;
	}
	kernel_setup(&d->cfg);
	n = ctsrc_dump(d->src, err, sizeof(err));
	if (n < 0) {
		log_err("%s", err);
		return -1;
	}
	log_info("loaded %ld existing connections; exporting from %s to %s port %u%s; netlink buffer %" PRIu32 " bytes, reliable delivery %s",
		 n, d->cfg.source_str, d->cfg.collector_str, d->cfg.port,
		 d->cfg.ncollectors > 1 ? " and more collectors" : "",
		 ctsrc_rcvbuf(d->src), d->cfg.netlink_reliable ? "on" : "off");
	for (i = 0; i < d->cfg.ncollectors; i++) {
		const struct config_collector *cc = &d->cfg.collectors[i];

		log_info("collector %u: %s port %u from %s, %s", i + 1,
			 cc->collector_str, cc->port, cc->source_str,
			 config_version_name(cc->version));
	}

	if (add_signal(d, &d->ev_term, SIGTERM, on_stop) < 0 ||
	    add_signal(d, &d->ev_int, SIGINT, on_stop) < 0 ||
	    add_signal(d, &d->ev_hup, SIGHUP, on_hup) < 0) {
		log_err("cannot register signal handlers");
		return -1;
	}
	d->ctl = control_open(d->base, d->cfg.control_socket, &cs, err,
			      sizeof(err));
	if (!d->ctl) {
		log_err("control socket %s: %s", d->cfg.control_socket, err);
		return -1;
	}
	d->ev_resync = evtimer_new(d->base, on_resync, d);
	if (!d->ev_resync) {
		log_err("cannot create the resync timer");
		return -1;
	}
	d->ev_tick = event_new(d->base, -1, EV_PERSIST, on_tick, d);
	if (!d->ev_tick || event_add(d->ev_tick, &tick) < 0) {
		log_err("cannot start the timer");
		return -1;
	}
	if (d->watchdog_usec > 0) {
		struct timeval wd = {
			(time_t)(d->watchdog_usec / 2 / 1000000u),
			(suseconds_t)(d->watchdog_usec / 2 % 1000000u),
		};

		d->ev_watchdog = event_new(d->base, -1, EV_PERSIST, on_watchdog, d);
		if (!d->ev_watchdog || event_add(d->ev_watchdog, &wd) < 0) {
			log_err("cannot start the watchdog timer");
			return -1;
		}
	}
	return 0;
}

static void daemon_close(struct daemon *d)
{
	struct event **evs[] = { &d->ev_term, &d->ev_int, &d->ev_hup,
				 &d->ev_tick, &d->ev_watchdog, &d->ev_resync };
	size_t i;

	for (i = 0; i < sizeof(evs) / sizeof(evs[0]); i++) {
		if (*evs[i])
			event_free(*evs[i]);
		*evs[i] = NULL;
	}
	if (d->ctl)
		control_close(d->ctl);
	d->ctl = NULL;
	for (i = 0; i < d->nexp; i++)
		export_free(d->exps[i]);
	d->nexp = 0;
	natlog_free(d->nlog);
	d->nlog = NULL;
	ctquery_close(d->query);
	d->query = NULL;
	free(d->due);
	d->due = NULL;
	route_free(d->route);
	d->route = NULL;
	if (d->src)
		ctsrc_close(d->src);
	d->src = NULL;
	pipeline_free(&d->pl);
	if (d->base)
		event_base_free(d->base);
	d->base = NULL;
}

/* After readiness: let the parent go and leave the terminal. */
static void detach(int ready_fd, bool keep_stdout)
{
	char ok = 'R';
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);

	log_init(NULL, false, true);
	if (null >= 0) {
		dup2(null, STDIN_FILENO);
		if (!keep_stdout)
			dup2(null, STDOUT_FILENO);
		dup2(null, STDERR_FILENO);
		close(null);
	}
	if (write(ready_fd, &ok, 1) != 1)
		log_warn("cannot tell the starting process we are ready: %s",
			 strerror(errno));
	close(ready_fd);
}

/* Runs until stopped; see daemon.h. */
int daemon_run(const char *config_path, const struct config *cfg, int ready_fd)
{
	struct daemon d;
	struct time_pair t0;
	sigset_t startup;
	char counters[512];
	pid_t holder = 0;
	int rc = 1;

	memset(&d, 0, sizeof(d));
	d.config_path = config_path;
	d.cfg = *cfg;
	d.overrun_rate = (struct log_rate)LOG_RATE_INIT(10);
	d.resync_rate = (struct log_rate)LOG_RATE_INIT(10);
	d.watchdog_usec = notify_init();
	ctsrc_now(&t0);
	d.started_boot_ns = t0.boot_ns;
	signal(SIGPIPE, SIG_IGN);

	/* A stop or reload signal that comes once the pidfile names us but
	 * before the loop handles signals waits instead of killing us. */
	sigemptyset(&startup);
	sigaddset(&startup, SIGHUP);
	sigaddset(&startup, SIGTERM);
	sigaddset(&startup, SIGINT);
	sigprocmask(SIG_BLOCK, &startup, NULL);
	d.pidfd = pidfile_acquire(d.cfg.pidfile, &holder);
	if (d.pidfd < 0) {
		if (errno == EEXIST) {
			log_notice("already running (pid %ld)", (long)holder);
			return 0;
		}
		log_err("pidfile %s: %s", d.cfg.pidfile, strerror(errno));
		return 1;
	}
	if (daemon_open(&d) < 0)
		goto out;
	sigprocmask(SIG_UNBLOCK, &startup, NULL);

	notify_send("READY=1");
	send_status(&d);
	log_info("ready (pid %ld)", (long)getpid());
	if (ready_fd >= 0)
		detach(ready_fd, d.cfg.to_stdout);

	event_base_dispatch(d.base);

	notify_send("STOPPING=1");
	ctsrc_drain(d.src);
	for (unsigned i = 0; i < d.nexp; i++)
		export_flush(d.exps[i]);
	natlog_drain(d.nlog, NATLOG_DRAIN_MS);
	format_counters(&d, counters, sizeof(counters));
	log_info("stopped: %s", counters);
	rc = 0;
out:
	daemon_close(&d);
	pidfile_release(d.pidfd, d.cfg.pidfile);
	notify_close();
	return rc;
}
