/* The daemon context: event loop, signals, timers, reload, clean stop. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <event2/event.h>

#include "nfflowd/clock.h"
#include "nfflowd/control.h"
#include "nfflowd/ctquery.h"
#include "nfflowd/ctsrc.h"
#include "nfflowd/daemon.h"
#include "nfflowd/export.h"
#include "nfflowd/kernel.h"
#include "nfflowd/log.h"
#include "nfflowd/metrics.h"
#include "nfflowd/natlog.h"
#include "nfflowd/notify.h"
#include "nfflowd/pipeline.h"
#include "nfflowd/pidfile.h"
#include "nfflowd/role.h"
#include "nfflowd/route.h"
#include "nfflowd/state.h"

#define TICK_SECONDS 1
#define STATUS_EVERY_TICKS 5
#define NS_PER_S 1000000000u
#define LOST_GRACE_NS 2000000000u
/* Active timeout: counter readings asked for per tick, at most. A table
 * whose entries all come due at once (a restart on a busy firewall) is
 * read at this pace: 250,000 entries in about a minute. */
#define QUERY_BUDGET 4096
/* At stop, record lines waiting for syslog get this long to leave. */
#define NATLOG_DRAIN_MS 2000

struct daemon_stats {
	uint64_t reloads_ok;
	uint64_t reloads_failed;
	uint64_t resyncs;		/* table dumps after lost events */
	uint64_t lost_entries;		/* vanished without a DESTROY seen */
	uint64_t netlink_drops;		/* SO_MEMINFO drops of the event socket */
	uint64_t checkpoints;		/* state files written */
	uint64_t checkpoint_errors;
	uint64_t role_changes;		/* active <-> standby */
	uint64_t handovers;		/* handover dumps done */
	uint64_t standby_suppressed;	/* exports not sent: standby */
};

/* The node's role in a firewall pair (README "Firewall pairs"). */
enum role_state {
	ROLE_ACTIVE = 0,	/* exports */
	ROLE_HANDOVER,		/* losing the role: the handover dump runs,
				 * exports still go out */
	ROLE_STANDBY,		/* learns, exports nothing */
};

/* Who decides the role: the address watch, or `nfflowd role`. */
enum role_mode { ROLE_AUTO = 0, ROLE_FORCE_ACTIVE, ROLE_FORCE_STANDBY };

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
	struct role *role;		/* active_when_address */
	enum role_state role_state;
	enum role_mode role_mode;
	bool handover_due;		/* a handover waits for the dump socket */
	struct event *ev_handover;	/* handover_delay after losing the role */
	bool handover_running;		/* its dump runs */
	uint64_t handed_before;		/* pl.st.handed_over at its start */
	struct control *ctl;
	uint64_t started_boot_ns;
	struct event *ev_term, *ev_int, *ev_hup, *ev_tick, *ev_watchdog;
	struct event *ev_resync;
	uint64_t last_resync_boot_ns;
	uint64_t lost_check_boot_ns;	/* when to drop what a resync missed */
	bool resync_running;		/* an asynchronous dump is under way */
	uint32_t last_drops;		/* ctsrc_drops at the last tick */
	int kept_fd;			/* conntrack socket from the fd store */
	pid_t ckpt_pid;			/* checkpoint writer running, or 0 */
	uint64_t next_ckpt_ns;		/* boot clock: next checkpoint due */
	uint64_t ckpt_changes;		/* state_changes() at the last one */
	bool ckpt_asap;			/* write one at the next tick */
	uint64_t ckpt_restored_seen;	/* restored connections ended so far */
	char reload_error[512];		/* why the latest reload failed */
	uint64_t watchdog_usec;
	unsigned ticks;
	int pidfd;
	struct daemon_stats st;
	struct log_rate overrun_rate;
	struct log_rate resync_rate;
	struct log_rate drop_rate;
	struct log_rate metrics_rate;
	uint64_t started_real_s;	/* Unix time of the start */
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

	if (d->role_state == ROLE_STANDBY) {
		/* the active peer exports; the table stays warm */
		d->st.standby_suppressed++;
		return;
	}
	if (c.kind != FLOW_KIND_TRAFFIC) {
		for (i = 0; i < d->nexp; i++)
			export_conn(d->exps[i], &c);
		return;
	}
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

/* The kernel has no entry that a reading asked for. */
static void on_gone(uint32_t id, void *arg)
{
	struct daemon *d = arg;
	struct time_pair now;

	ctsrc_now(&now);
	pipeline_gone(&d->pl, id, now.boot_ns);
}

/* The live table fetches what a batch of events will look up. */
static void on_ids(const uint32_t *ids, unsigned n, void *arg)
{
	const struct daemon *d = arg;

	flowtab_prefetch(d->pl.tab, ids, n);
}

static void on_event(const struct ct_event *ev, const struct time_pair *now,
		     bool from_dump, void *arg)
{
	struct daemon *d = arg;

	if (from_dump && d->handover_running)
		pipeline_handover(&d->pl, ev, now);
	else
		pipeline_event(&d->pl, ev, now, from_dump);
}

/* After lost events the table may hold connections whose DESTROY we never
 * saw, and miss some whose NEW we never saw. A fresh dump tells: what it
 * lists stays or is added. The rest is suspect, but its DESTROY may still
 * be on the way (a flush in progress keeps sending them after our dump),
 * so it gets LOST_GRACE_NS to end normally; what is still unseen then is
 * dropped and counted as lost, never exported: its counters and end are
 * unknown. Every insert sets FLOW_F_SEEN, so connections that begin after
 * the dump are not suspect. The dump runs in the event loop in slices
 * (ctsrc_dump_start), so events, exports and the control socket are
 * served meanwhile. */
static void resync_done(long n, const char *err, void *arg)
{
	struct daemon *d = arg;
	struct time_pair now;

	ctsrc_now(&now);
	d->resync_running = false;
	d->last_resync_boot_ns = now.boot_ns;
	if (n < 0) {
		/* a failed dump proves nothing: nothing is suspect */
		flowtab_set_flag(d->pl.tab, FLOW_F_SEEN);
		d->lost_check_boot_ns = 0;
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

static void on_resync(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;
	char err[CONFIG_ERR_MAX];

	if (d->resync_running)
		return;
	if (d->handover_running) {
		struct timeval again = { 1, 0 };

		evtimer_add(d->ev_resync, &again);	/* after the handover */
		return;
	}
	/* a check still pending from an earlier resync would judge the
	 * flags this dump is about to set: the new dump decides */
	d->lost_check_boot_ns = 0;
	flowtab_clear_flag(d->pl.tab, FLOW_F_SEEN);
	if (ctsrc_dump_start(d->src, resync_done, d, err, sizeof(err)) < 0) {
		resync_done(-1, err, d);
		return;
	}
	d->resync_running = true;
}

/* The second half of a resync: drops what neither the dump listed nor a
 * DESTROY ended within the grace period. */
static void check_lost(struct daemon *d, uint64_t now_boot_ns)
{
	size_t lost;

	if (d->lost_check_boot_ns == 0 || now_boot_ns < d->lost_check_boot_ns ||
	    d->resync_running)
		return;
	d->lost_check_boot_ns = 0;
	lost = flowtab_remove_unflagged(d->pl.tab, FLOW_F_SEEN);
	d->st.lost_entries += lost;
	if (lost > 0)
		log_warn("%zu connections ended while events were lost; not exported (%" PRIu64 " so far)",
			 lost, d->st.lost_entries);
}

/* At most one resync per resync_interval, however many overruns come. */
static void schedule_resync(struct daemon *d)
{
	struct timeval tv = { 0, 0 };
	struct time_pair now;
	uint64_t gap = (uint64_t)d->cfg.resync_interval * NS_PER_S;

	if (evtimer_pending(d->ev_resync, NULL) || d->resync_running)
		return;
	ctsrc_now(&now);
	if (d->last_resync_boot_ns != 0 && now.boot_ns - d->last_resync_boot_ns < gap) {
		uint64_t wait = gap - (now.boot_ns - d->last_resync_boot_ns);

		tv.tv_sec = (time_t)(wait / NS_PER_S);
		tv.tv_usec = (suseconds_t)(wait % NS_PER_S / 1000u);
	}
	evtimer_add(d->ev_resync, &tv);
}

/* With reliable delivery the kernel reports no overrun (ENOBUFS) but
 * still counts what it could not queue for us: a growing drop count means
 * events were lost, and so does one on a socket kept across a restart. */
static void check_drops(struct daemon *d)
{
	uint32_t drops = ctsrc_drops(d->src);

	if (drops == d->last_drops)
		return;
	d->st.netlink_drops += (uint32_t)(drops - d->last_drops);
	d->last_drops = drops;
	log_rated(&d->drop_rate, LOG_WARNING,
		  "the kernel dropped conntrack events for us (%" PRIu64 " so far): resynchronising",
		  d->st.netlink_drops);
	schedule_resync(d);
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
	c->lost_entries = d->st.lost_entries + flowtab_replaced(d->pl.tab) +
			  d->pl.st.gone + d->pl.st.ttl_expired + d->pl.st.replaced;
	c->ttl_expired = d->pl.st.ttl_expired;
	c->ttl_alive = d->pl.st.ttl_alive;
	c->netlink_drops = d->st.netlink_drops;
	c->destroy_duplicates = d->pl.st.destroy_duplicates;
	c->state_restored = d->pl.st.state_restored;
	c->ended_unseen = d->pl.st.ended_unseen;
	c->nat_creates = d->pl.st.nat_creates;
	c->nat_creates_late = d->pl.st.nat_creates_late;
	c->nat_deletes = d->pl.st.nat_deletes;
	c->role = (uint8_t)d->role_state;
	c->role_changes = d->st.role_changes;
	c->handovers = d->st.handovers;
	c->handed_over = d->pl.st.handed_over;
	c->standby_suppressed = d->st.standby_suppressed;
	c->injected_quiet = d->pl.st.injected_quiet;
	c->peer_copies_active = d->pl.st.peer_copies_active;
	c->checkpoints = d->st.checkpoints;
	c->checkpoint_errors = d->st.checkpoint_errors;
	snprintf(c->reload_error, sizeof(c->reload_error), "%s", d->reload_error);
	snprintf(c->config, sizeof(c->config), "%s", d->config_path);
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

/* The Prometheus text: the counters, each collector's, and the size of
 * the kernel's conntrack table. */
static size_t format_metrics(const struct daemon *d, char *buf, size_t len)
{
	struct metrics_collector col[CONFIG_MAX_COLLECTORS];
	struct state_counters c;
	struct metrics_input in;
	unsigned i;

	collect_counters(d, &c);
	memset(col, 0, sizeof(col));
	for (i = 0; i < d->nexp; i++) {
		const struct export_stats *xs = export_stats(d->exps[i]);
		const struct config_collector *cc = &d->cfg.collectors[i];

		snprintf(col[i].address, sizeof(col[i].address),
			 cc->collector.ss_family == AF_INET6 ? "[%s]:%u" : "%s:%u",
			 cc->collector_str, cc->port);
		col[i].protocol = cc->version == 5 ? "netflow_v5" :
				  cc->version == 9 ? "netflow_v9" : "ipfix";
		col[i].records = xs->records;
		col[i].datagrams = xs->datagrams;
		col[i].send_errors = xs->send_errors;
		col[i].records_lost = xs->records_lost;
		col[i].queue_drops = xs->queue_drops;
		col[i].templates = xs->templates;
		col[i].skipped_ipv6 = xs->skipped_ipv6;
	}
	in.c = &c;
	in.col = col;
	in.ncol = d->nexp;
	in.conntrack_count = kernel_get("nf_conntrack_count");
	in.conntrack_max = kernel_get("nf_conntrack_max");
	in.start_time_s = d->started_real_s;
	return metrics_format(buf, len, &in);
}

static size_t control_metrics(void *arg, char *buf, size_t len)
{
	return format_metrics(arg, buf, len);
}

static void role_update(struct daemon *d, const char *why);

/* `nfflowd role active|standby|auto`: a keepalived notify script's say,
 * until the next `role auto`. */
static void control_set_role(void *arg, enum control_request req)
{
	struct daemon *d = arg;

	d->role_mode = req == CONTROL_REQ_ROLE_ACTIVE ? ROLE_FORCE_ACTIVE :
		       req == CONTROL_REQ_ROLE_STANDBY ? ROLE_FORCE_STANDBY :
		       ROLE_AUTO;
	role_update(d, req == CONTROL_REQ_ROLE_ACTIVE ? "nfflowd role active" :
		    req == CONTROL_REQ_ROLE_STANDBY ? "nfflowd role standby" :
		    "nfflowd role auto");
}

/* What the daemon lends the control socket. */
static struct control_source control_src(struct daemon *d)
{
	struct control_source cs = {
		control_counters, control_table, control_now, control_metrics,
		control_set_role, d,
	};

	return cs;
}

/* Rewrites metrics_file (temporary file, rename) for node_exporter's
 * textfile collector, which must never read half a file. Readable by
 * all (the collector runs as another user), whatever the unit's umask. */
static void write_metrics(struct daemon *d)
{
	char text[METRICS_TEXT_MAX], tmp[CONFIG_PATH_MAX + 8];
	size_t n;
	int fd;

	if (d->cfg.metrics_file[0] == '\0')
		return;
	n = format_metrics(d, text, sizeof(text));
	snprintf(tmp, sizeof(tmp), "%s.tmp", d->cfg.metrics_file);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0 || fchmod(fd, 0644) < 0 || write(fd, text, n) != (ssize_t)n ||
	    close(fd) < 0 || (fd = -1, rename(tmp, d->cfg.metrics_file) < 0)) {
		int e = errno;

		if (fd >= 0)
			close(fd);
		(void)unlink(tmp);
		log_rated(&d->metrics_rate, LOG_WARNING, "metrics file %s: %s",
			  d->cfg.metrics_file, strerror(e));
	}
}

static void send_status(const struct daemon *d)
{
	char msg[512];

	memcpy(msg, "STATUS=", 7);
	format_counters(d, msg + 7, sizeof(msg) - 7);
	notify_send(msg);
}

/* The state file's records of a running daemon: the connections that
 * have been exported in the interim (what a restart must not export
 * again), with NAT events those whose create was sent (so that a restart
 * after a crash sends their delete when they ended meanwhile, and no
 * second create), and restored ones still waiting for their DESTROY. */
static void put_checkpoint(const struct daemon *d, struct state_out *o)
{
	size_t cursor = 0, i;
	const struct flow_entry *e;
	struct statefile_rec r;

	while ((e = flowtab_next(d->pl.tab, &cursor)) != NULL) {
		const struct flow_active *a = flowtab_active(d->pl.tab, e);

		if ((a == NULL || a->exports == 0) &&
		    !(e->flags & FLOW_F_NAT_SENT))
			continue;
		pipeline_state_rec(&d->pl, e, &r);
		state_put(o, &r);
	}
	for (i = 0; i < d->pl.nlimbo; i++)
		if (d->pl.limbo[i].family != 0)
			state_put(o, &d->pl.limbo[i]);
}

/* What changes the state file's content: interim exports, NAT events,
 * and restored connections that have ended (a crash must not find them in
 * a file again and export them twice). */
static uint64_t state_changes(const struct daemon *d)
{
	return d->pl.st.interim + d->pl.st.restored_ended + d->pl.st.ended_unseen +
	       d->pl.st.nat_creates + d->pl.st.nat_deletes;
}

/* Writes a checkpoint from a forked copy of the process, so that
 * neither encoding nor fsync stalls the event loop: the child sees the
 * table as it was at the fork and exits with 0 when the file is in place. */
static void checkpoint(struct daemon *d, const struct time_pair *now)
{
	pid_t pid;

	if (d->cfg.state_file[0] == '\0' || d->ckpt_pid > 0)
		return;
	pid = fork();
	if (pid < 0) {
		d->st.checkpoint_errors++;
		log_warn("checkpoint of %s: fork: %s", d->cfg.state_file,
			 strerror(errno));
		return;
	}
	if (pid == 0) {
		struct state_out o;
		char err[CONFIG_ERR_MAX];

		if (state_begin(&o, d->cfg.state_file, 0, now, err, sizeof(err)) < 0)
			goto fail;
		put_checkpoint(d, &o);
		if (state_commit(&o, err, sizeof(err)) < 0)
			goto fail;
		_exit(0);
fail:
		log_warn("checkpoint failed: %s", err);
		_exit(1);
	}
	d->ckpt_pid = pid;
	d->ckpt_changes = state_changes(d);
	d->ckpt_asap = false;
}

/* Collects a finished checkpoint writer (wait: until it ends). */
static void reap_checkpoint(struct daemon *d, bool wait)
{
	int status;
	pid_t r;

	if (d->ckpt_pid <= 0)
		return;
	do {
		r = waitpid(d->ckpt_pid, &status, wait ? 0 : WNOHANG);
	} while (r < 0 && errno == EINTR);
	if (r == 0)
		return;
	if (r > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0)
		d->st.checkpoints++;
	else
		d->st.checkpoint_errors++;
	d->ckpt_pid = 0;
}

/* Checkpoints are due every checkpoint_interval, when something that the
 * file records has changed since the last one, and at once after a
 * restored connection ended. */
static void maybe_checkpoint(struct daemon *d, const struct time_pair *now)
{
	reap_checkpoint(d, false);
	if (d->cfg.state_file[0] == '\0' || d->cfg.checkpoint_interval == 0)
		return;
	if (d->pl.st.restored_ended + d->pl.st.ended_unseen !=
	    d->ckpt_restored_seen) {
		d->ckpt_restored_seen = d->pl.st.restored_ended + d->pl.st.ended_unseen;
		d->ckpt_asap = true;
	}
	if (!d->ckpt_asap && now->boot_ns < d->next_ckpt_ns)
		return;
	/* due half a tick early, so that the tick that comes a little
	 * before the due time takes it rather than the one after */
	d->next_ckpt_ns = now->boot_ns +
			  (uint64_t)d->cfg.checkpoint_interval * NS_PER_S -
			  TICK_SECONDS * NS_PER_S / 2;
	if (d->ckpt_asap || state_changes(d) != d->ckpt_changes)
		checkpoint(d, now);
}

static const char *role_name(enum role_state s)
{
	return s == ROLE_ACTIVE ? "active" : s == ROLE_HANDOVER ? "handover"
							      : "standby";
}

/* What the role should be: `nfflowd role` when it forced one, else the
 * address watch, else active. */
/* The role, and the pipeline's view of it (a standby node counts the
 * peer's copies differently). */
static void set_role(struct daemon *d, enum role_state state)
{
	d->role_state = state;
	d->pl.standby = state == ROLE_STANDBY;
}

static bool want_active(const struct daemon *d)
{
	if (d->role_mode != ROLE_AUTO)
		return d->role_mode == ROLE_FORCE_ACTIVE;
	return d->role == NULL || role_present(d->role);
}

/* The end of the handover dump: what the node counted has gone out (the
 * exporters are flushed), and now it exports nothing, unless the role
 * came back meanwhile. */
static void handover_done(long n, const char *err, void *arg)
{
	struct daemon *d = arg;
	unsigned i;

	d->handover_running = false;
	d->st.handovers++;
	if (n < 0)
		log_warn("handover: the table dump failed (%s): what was counted since the last export of each connection is not exported",
			 err);
	for (i = 0; i < d->nexp; i++)
		export_flush(d->exps[i]);
	if (d->role_state == ROLE_HANDOVER) {
		set_role(d, ROLE_STANDBY);
		log_info("role: standby; handed over %" PRIu64 " connections (of %ld entries listed), with what they counted here until now",
			 d->pl.st.handed_over - d->handed_before, n < 0 ? 0 : n);
	}
}

/* Starts the handover dump, or leaves it for the tick while another dump
 * (a resync) runs. */
static void start_handover(struct daemon *d)
{
	char err[CONFIG_ERR_MAX];

	d->handover_due = false;
	if (d->resync_running) {
		d->handover_due = true;
		return;
	}
	d->handed_before = d->pl.st.handed_over;
	if (ctsrc_dump_start(d->src, handover_done, d, err, sizeof(err)) < 0) {
		handover_done(-1, err, d);
		return;
	}
	d->handover_running = true;
}

/* Follows a change of what the role should be. */
static void role_update(struct daemon *d, const char *why)
{
	bool active = want_active(d);

	if (active && d->role_state != ROLE_ACTIVE) {
		set_role(d, ROLE_ACTIVE);
		d->handover_due = false;
		if (d->ev_handover != NULL)
			evtimer_del(d->ev_handover);
		d->st.role_changes++;
		log_info("role: active (%s)", why);
	} else if (!active && d->role_state == ROLE_ACTIVE) {
		struct timeval tv = { (time_t)d->cfg.handover_delay, 0 };

		/* the traffic keeps coming here until the peer has taken the
		 * address over and announced it: count it, and let what
		 * ended just before end here, before the handover dump */
		set_role(d, ROLE_HANDOVER);
		d->st.role_changes++;
		log_info("role: losing the active role (%s): handing over in %" PRIu32 " s",
			 why, d->cfg.handover_delay);
		if (d->ev_handover == NULL || d->cfg.handover_delay == 0 ||
		    evtimer_add(d->ev_handover, &tv) < 0)
			start_handover(d);
	}
}

static void on_handover(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;

	if (d->role_state == ROLE_HANDOVER)
		start_handover(d);
}

static void on_role(bool present, void *arg)
{
	struct daemon *d = arg;
	char why[128];

	snprintf(why, sizeof(why), "%s %s", d->cfg.active_when_address,
		 present ? "configured here" : "gone from here");
	role_update(d, why);
}

/* The address watch of active_when_address (after a reload too). At the
 * start the role is taken as it is: there is nothing to hand over. */
static void setup_role(struct daemon *d, bool starting)
{
	const struct sockaddr_storage *ss = &d->cfg.active_addr;
	char err[CONFIG_ERR_MAX];
	const void *a;

	role_free(d->role);
	d->role = NULL;
	if (d->cfg.active_when_address[0] != '\0') {
		a = ss->ss_family == AF_INET6 ?
		    (const void *)&((const struct sockaddr_in6 *)ss)->sin6_addr :
		    (const void *)&((const struct sockaddr_in *)ss)->sin_addr;
		d->role = role_new(d->base, (uint8_t)ss->ss_family, a, on_role,
				   d, err, sizeof(err));
		if (d->role == NULL)
			log_err("active_when_address %s: %s; exporting as the active node",
				d->cfg.active_when_address, err);
	}
	if (starting) {
		set_role(d, want_active(d) ? ROLE_ACTIVE : ROLE_STANDBY);
		log_info("role: %s%s%s", role_name(d->role_state),
			 d->role ? ": active_when_address " : "",
			 d->role ? d->cfg.active_when_address : "");
		return;
	}
	role_update(d, d->role ? (role_present(d->role) ?
		    "active_when_address configured here" :
		    "active_when_address not configured here") :
		    "no active_when_address");
}

/* The late NAT creates of the connections a dump found (or all, when a
 * reload switched NAT events on): after the role is known, so that a
 * standby sends none of its peer's sessions. */
static void send_late_creates(struct daemon *d, const char *why)
{
	struct time_pair now;
	size_t late;

	ctsrc_now(&now);
	late = pipeline_late_creates(&d->pl, &now);
	if (late > 0)
		log_info("sent %zu late NAT create events (%s)", late, why);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;
	struct time_pair now;
	size_t n = 0, ended;
	uint64_t ttl_before = d->pl.st.ttl_expired;

	ctsrc_now(&now);
	check_drops(d);
	check_lost(d, now.boot_ns);
	if (d->handover_due)
		start_handover(d);
	ended = pipeline_expire_restored(&d->pl, &now);
	if (ended > 0)
		log_notice("%zu connections of the state file ended while no daemon listened: exported as ended with what was counted of them",
			   ended);
	if (d->query)
		n = pipeline_due(&d->pl, now.boot_ns, d->due, QUERY_BUDGET);
	n += pipeline_ttl(&d->pl, now.boot_ns, d->due + n, QUERY_BUDGET - n);
	if (n > 0 && d->query)
		ctquery_send(d->query, d->due, n);
	if (d->pl.st.ttl_expired > ttl_before)
		log_info("dropped %" PRIu64 " live entries older than ttl %" PRIu32 " s that the kernel no longer has",
			 d->pl.st.ttl_expired - ttl_before, d->cfg.ttl);
	maybe_checkpoint(d, &now);
	if (++d->ticks % STATUS_EVERY_TICKS == 0) {
		send_status(d);
		write_metrics(d);
	}
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

/* The counter-reading socket: readings for the active timeout, and the
 * question whether an entry past the ttl still exists. Without it
 * connections are still exported when they end, only not in the interim,
 * and entries past the ttl are dropped on age alone. */
static void setup_query(struct daemon *d)
{
	char err[CONFIG_ERR_MAX];

	if (!d->due)
		d->due = calloc(QUERY_BUDGET, sizeof(*d->due));
	if (!d->query)
		d->query = d->due ? ctquery_open(d->base, on_answer, on_gone, d,
						 err, sizeof(err)) : NULL;
	if (!d->query)
		log_warn("conntrack query socket: %s; no interim exports, and entries past the ttl are dropped without asking the kernel",
			 d->due ? err : "out of memory");
	d->pl.ttl_ask = d->query != NULL;
}

/* Moves the pidfile and the control socket where the new configuration
 * wants them, so that `stop`, `reload` and --dump-state find the daemon
 * by the new file. 0, or -1 with err and both left as they were. */
static int move_runtime_paths(struct daemon *d, const struct config *nc,
			      char *err, size_t errlen)
{
	const struct control_source cs = control_src(d);
	struct control *ctl = NULL;
	pid_t holder = 0;
	int pidfd = -1;

	if (strcmp(nc->pidfile, d->cfg.pidfile) != 0) {
		pidfd = pidfile_acquire(nc->pidfile, &holder);
		if (pidfd < 0) {
			if (errno == EEXIST)
				snprintf(err, errlen, "pidfile %s: held by pid %ld",
					 nc->pidfile, (long)holder);
			else
				snprintf(err, errlen, "pidfile %s: %s", nc->pidfile,
					 strerror(errno));
			return -1;
		}
	}
	if (strcmp(nc->control_socket, d->cfg.control_socket) != 0) {
		char cerr[256];

		ctl = control_open(d->base, nc->control_socket, &cs, cerr,
				   sizeof(cerr));
		if (!ctl) {
			snprintf(err, errlen, "control socket %s: %s",
				 nc->control_socket, cerr);
			if (pidfd >= 0)
				pidfile_release(pidfd, nc->pidfile);
			return -1;
		}
	}
	if (pidfd >= 0) {
		pidfile_release(d->pidfd, d->cfg.pidfile);
		d->pidfd = pidfd;
		log_notice("pidfile moved from %s to %s", d->cfg.pidfile, nc->pidfile);
	}
	if (ctl) {
		control_close(d->ctl);
		d->ctl = ctl;
		log_notice("control socket moved from %s to %s",
			   d->cfg.control_socket, nc->control_socket);
	}
	return 0;
}

/* Keys a running daemon cannot change: named, and kept as they are. */
static void keep_restart_keys(const struct daemon *d, struct config *nc)
{
	if (nc->netlink_buffer != d->cfg.netlink_buffer)
		log_warn("reload: \"netlink_buffer\" changed; it takes effect at the next restart (%" PRIu32 " bytes stay in force)",
			 d->cfg.netlink_buffer);
	if (nc->netlink_reliable != d->cfg.netlink_reliable)
		log_warn("reload: \"netlink_reliable\" changed; it takes effect at the next restart (%s stays in force)",
			 d->cfg.netlink_reliable ? "true" : "false");
	nc->netlink_buffer = d->cfg.netlink_buffer;
	nc->netlink_reliable = d->cfg.netlink_reliable;
}

/* Re-reads the configuration; swaps it in only when it is valid and every
 * new exporter could be opened. The table and netlink socket stay. */
static void reload(struct daemon *d)
{
	struct config nc;
	struct export *nx[CONFIG_MAX_COLLECTORS];
	char err[CONFIG_ERR_MAX], msg[96];
	bool logged_by_v5;
	unsigned i;

	snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%" PRIu64,
		 clock_ns(CLOCK_MONOTONIC) / 1000u);
	notify_send(msg);
	if (config_load(d->config_path, &nc, err, sizeof(err)) < 0 ||
	    open_exporters(d, &nc, nx, &logged_by_v5, err, sizeof(err)) < 0)
		goto fail;
	if (move_runtime_paths(d, &nc, err, sizeof(err)) < 0) {
		for (i = 0; i < nc.ncollectors; i++)
			export_free(nx[i]);
		goto fail;
	}
	/* Records already queued leave under the settings they were made
	 * with; an exporter to the same collector continues the sequence on
	 * the same socket. */
	swap_exporters(d, nx, nc.ncollectors);
	d->logged_by_v5 = logged_by_v5;
	keep_restart_keys(d, &nc);
	d->cfg = nc;
	natlog_configure(d->nlog, &d->cfg);
	pipeline_configure(&d->pl, &d->cfg);
	setup_route(d);
	setup_query(d);
	setup_role(d, false);
	send_late_creates(d, "NAT events switched on");
	if (d->cfg.kernel_setup)
		kernel_setup(&d->cfg);
	d->st.reloads_ok++;
	d->reload_error[0] = '\0';
	log_info("configuration reloaded from %s", d->config_path);
	notify_send("READY=1");
	return;
fail:
	log_err("reload failed, keeping the running configuration: %s", err);
	snprintf(d->reload_error, sizeof(d->reload_error), "%s", err);
	d->st.reloads_failed++;
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

/* Hands the event socket to systemd's file descriptor store, so that a
 * restart (systemctl restart, an upgrade, Restart= after a crash) gets the
 * same socket back with the events that queued in it meanwhile. FDPOLL=0:
 * systemd would close a stored socket that reports an error, and a full
 * netlink buffer reports ENOBUFS. */
static void keep_socket(struct daemon *d)
{
	if (ctsrc_kept(d->src)) {
		/* drops while no daemon read are events lost: resync */
		d->last_drops = 0;
		log_notice("conntrack socket taken from the service manager's file descriptor store: events of the restart are read now");
		return;
	}
	d->last_drops = ctsrc_drops(d->src);
	if (notify_send_fd("FDSTORE=1\nFDNAME=conntrack\nFDPOLL=0",
			   ctsrc_fd(d->src)) == 0)
		log_info("conntrack socket handed to the service manager's file descriptor store");
}

struct restore_buf {
	struct statefile_rec *recs;
	size_t n, cap;
	bool nomem;
};

static void collect_rec(const struct statefile_rec *r, void *arg)
{
	struct restore_buf *b = arg;

	if (b->n == b->cap) {
		size_t ncap = b->cap ? b->cap * 2 : 1024;
		struct statefile_rec *nr = realloc(b->recs, ncap * sizeof(*nr));

		if (nr == NULL) {
			b->nomem = true;
			return;
		}
		b->recs = nr;
		b->cap = ncap;
	}
	b->recs[b->n++] = *r;
}

/* Takes the export state of the previous daemon from the state file, after
 * the startup dump: a file that cannot be used is named in one log line
 * and ignored; the daemon starts anyway. */
static void restore_state(struct daemon *d)
{
	struct restore_buf b = { NULL, 0, 0, false };
	struct statefile_header h;
	struct time_pair now;
	char err[CONFIG_ERR_MAX];
	long n, matched;

	if (d->cfg.state_file[0] == '\0')
		return;
	n = state_read(d->cfg.state_file, collect_rec, &b, &h, err, sizeof(err));
	if (n < 0 || b.nomem) {
		log_warn("state file %s ignored: %s", d->cfg.state_file,
			 b.nomem ? "out of memory" : err);
		free(b.recs);
		return;
	}
	ctsrc_now(&now);
	matched = pipeline_restore(&d->pl, b.recs, b.n, &now);
	free(b.recs);
	if (matched < 0) {
		log_warn("state file %s ignored: out of memory", d->cfg.state_file);
		return;
	}
	if (n > 0)
		log_info("state file %s (%s): %ld connections, %ld still alive, %zu ended since it was written",
			 d->cfg.state_file, (h.flags & STATEFILE_F_CLEAN) ?
			 "written at a clean stop" : "a checkpoint", n, matched,
			 d->pl.nlimbo);
}

/* The stop's state file: every live connection with what was exported of
 * it and, from one last table dump, what the kernel counted until now, so
 * that a connection that ends before the next start is exported then with
 * all but what it carried in between. */
struct stop_writer {
	struct daemon *d;
	struct state_out o;
};

static void stop_entry(const struct ct_event *ev, const struct time_pair *now,
		       bool from_dump, void *arg)
{
	struct stop_writer *w = arg;
	struct flowtab *t = w->d->pl.tab;
	struct flow_entry *e = flowtab_lookup(t, ev->id);
	struct statefile_rec r;

	if (e == NULL || (e->flags & FLOW_F_MARK) || !flowtab_same_conn(t, e, ev))
		return;
	pipeline_state_rec(&w->d->pl, e, &r);
	if (ev->has_counters) {
		r.has_seen = true;
		r.seen_orig_packets = ev->orig_packets;
		r.seen_orig_bytes = ev->orig_bytes;
		r.seen_reply_packets = ev->reply_packets;
		r.seen_reply_bytes = ev->reply_bytes;
		r.seen_boot_ns = now->boot_ns;
	}
	e->flags |= FLOW_F_MARK;
	state_put(&w->o, &r);
}

static void write_stop_state(struct daemon *d)
{
	struct stop_writer w;
	struct statefile_rec r;
	struct time_pair now;
	const struct flow_entry *ce;
	char err[CONFIG_ERR_MAX];
	size_t cursor = 0, i;
	long n;

	if (d->cfg.state_file[0] == '\0')
		return;
	memset(&w, 0, sizeof(w));
	w.d = d;
	reap_checkpoint(d, true);
	ctsrc_now(&now);
	if (state_begin(&w.o, d->cfg.state_file, STATEFILE_F_CLEAN, &now, err,
			sizeof(err)) < 0) {
		d->st.checkpoint_errors++;
		log_err("cannot save the export state: %s", err);
		return;
	}
	n = ctsrc_dump_with(d->src, stop_entry, &w, err, sizeof(err));
	if (n < 0)
		log_warn("last table reading failed (%s): the state file has no counters since the last export", err);
	while ((ce = flowtab_next(d->pl.tab, &cursor)) != NULL) {
		struct flow_entry *e = flowtab_lookup(d->pl.tab, ce->id);

		if (e->flags & FLOW_F_MARK) {
			e->flags &= (uint16_t)~FLOW_F_MARK;
			continue;
		}
		pipeline_state_rec(&d->pl, e, &r);
		state_put(&w.o, &r);
	}
	for (i = 0; i < d->pl.nlimbo; i++)
		if (d->pl.limbo[i].family != 0)
			state_put(&w.o, &d->pl.limbo[i]);
	if (state_commit(&w.o, err, sizeof(err)) < 0) {
		d->st.checkpoint_errors++;
		log_err("cannot save the export state: %s", err);
		return;
	}
	d->st.checkpoints++;
	log_info("export state of %" PRIu64 " connections saved to %s (%" PRIu64 " bytes)",
		 w.o.w.records, d->cfg.state_file, w.o.bytes);
}

/* Opens everything in the order SPEC §6 gives: events subscribed before
 * the table dump, so that nothing falls between the two. */
static int daemon_open(struct daemon *d)
{
	struct ctsrc_opts o = {
		.rcvbuf = d->cfg.netlink_buffer,
		.reliable = d->cfg.netlink_reliable,
		.fd = d->kept_fd,
		.on_ids = on_ids,
	};
	const struct control_source cs = control_src(d);
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
	setup_role(d, true);
	d->src = ctsrc_open(d->base, &o, on_event, on_overrun, d, err, sizeof(err));
	d->kept_fd = -1;	/* taken by ctsrc_open */
	if (!d->src) {
		log_err("%s", err);
		return -1;
	}
	keep_socket(d);
	kernel_setup(&d->cfg);
	n = ctsrc_dump(d->src, err, sizeof(err));
	if (n < 0) {
		log_err("%s", err);
		return -1;
	}
	restore_state(d);
	send_late_creates(d, "connections that began before the start");
	log_info("loaded %ld existing connections; exporting from %s to %s port %u%s; netlink buffer %" PRIu32 " bytes, reliable delivery %s",
		 n, d->cfg.source_str, d->cfg.collector_str, d->cfg.port,
		 d->cfg.ncollectors > 1 ? " and more collectors" : "",
		 ctsrc_rcvbuf(d->src), d->cfg.netlink_reliable ? "on" : "off");
	for (i = 0; i < d->cfg.ncollectors; i++) {
		const struct config_collector *cc = &d->cfg.collectors[i];
		char desc[96];

		log_info("collector %u: %s port %u from %s, %s", i + 1,
			 cc->collector_str, cc->port, cc->source_str,
			 config_collector_desc(cc, desc, sizeof(desc)));
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
	d->ev_handover = evtimer_new(d->base, on_handover, d);
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
				 &d->ev_tick, &d->ev_watchdog, &d->ev_resync,
				 &d->ev_handover };
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
	role_free(d->role);
	d->role = NULL;
	if (d->src)
		ctsrc_close(d->src);
	d->src = NULL;
	pipeline_free(&d->pl);
	if (d->base)
		event_base_free(d->base);
	d->base = NULL;
}

/* Creates the directory a runtime file goes in when it is missing (the
 * default /run/nfflowd when the daemon runs by hand; the unit's
 * RuntimeDirectory has it already). One level; failures show when the
 * file itself cannot be made. */
static void make_parent_dir(const char *path)
{
	char dir[CONFIG_PATH_MAX];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash == NULL || slash == dir)
		return;
	*slash = '\0';
	if (mkdir(dir, 0755) == 0)
		log_info("created %s", dir);
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
	d.drop_rate = (struct log_rate)LOG_RATE_INIT(10);
	d.metrics_rate = (struct log_rate)LOG_RATE_INIT(60);
	d.watchdog_usec = notify_init();
	d.kept_fd = notify_listen_fd("conntrack");
	ctsrc_now(&t0);
	d.started_boot_ns = t0.boot_ns;
	d.started_real_s = t0.real_ns / 1000000000u;
	signal(SIGPIPE, SIG_IGN);

	/* A stop or reload signal that comes once the pidfile names us but
	 * before the loop handles signals waits instead of killing us. */
	sigemptyset(&startup);
	sigaddset(&startup, SIGHUP);
	sigaddset(&startup, SIGTERM);
	sigaddset(&startup, SIGINT);
	sigprocmask(SIG_BLOCK, &startup, NULL);
	make_parent_dir(d.cfg.pidfile);
	make_parent_dir(d.cfg.control_socket);
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
	ctsrc_dump_cancel(d.src);
	ctsrc_drain(d.src);
	for (unsigned i = 0; i < d.nexp; i++)
		export_flush(d.exps[i]);
	write_stop_state(&d);
	natlog_drain(d.nlog, NATLOG_DRAIN_MS);
	format_counters(&d, counters, sizeof(counters));
	log_info("stopped: %s", counters);
	rc = 0;
out:
	if (d.kept_fd >= 0)
		close(d.kept_fd);
	reap_checkpoint(&d, true);
	daemon_close(&d);
	pidfile_release(d.pidfd, d.cfg.pidfile);
	notify_close();
	return rc;
}
