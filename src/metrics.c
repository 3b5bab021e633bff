/* The Prometheus text exposition format (version 0.0.4) of the counters:
 * one # HELP and # TYPE line per family, counters named *_total, gauges
 * for what goes down as well as up, label values escaped as the format
 * wants (backslash, double quote, newline). */
#include "nfflowd/metrics.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* The text being written: out of room once, out of room for good. */
struct text {
	char *buf;
	size_t len, n;
	bool full;
};

__attribute__((format(printf, 2, 3)))
static void put(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int w;

	if (t->full)
		return;
	va_start(ap, fmt);
	w = vsnprintf(t->buf + t->n, t->len - t->n, fmt, ap);
	va_end(ap);
	if (w < 0 || (size_t)w >= t->len - t->n) {
		t->full = true;
		return;
	}
	t->n += (size_t)w;
}

/* A family's HELP and TYPE lines. */
static void family(struct text *t, const char *name, const char *type,
		   const char *help)
{
	put(t, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A family of one unlabelled sample. */
static void one(struct text *t, const char *name, const char *type,
		const char *help, uint64_t v)
{
	family(t, name, type, help);
	put(t, "%s %" PRIu64 "\n", name, v);
}

/* A label value as the format wants it. */
static void escape(char *out, size_t len, const char *in)
{
	size_t o = 0;

	for (; *in != '\0' && o + 3 < len; in++) {
		if (*in == '\\' || *in == '"') {
			out[o++] = '\\';
			out[o++] = *in;
		} else if (*in == '\n') {
			out[o++] = '\\';
			out[o++] = 'n';
		} else {
			out[o++] = *in;
		}
	}
	out[o] = '\0';
}

/* One family with a sample per collector. */
static void per_collector(struct text *t, const struct metrics_input *in,
			  const char *name, const char *help, size_t offset)
{
	unsigned i;

	family(t, name, "counter", help);
	for (i = 0; i < in->ncol; i++) {
		const struct metrics_collector *c = &in->col[i];
		char addr[2 * sizeof(c->address)];
		uint64_t v;

		memcpy(&v, (const char *)c + offset, sizeof(v));
		escape(addr, sizeof(addr), c->address);
		put(t, "%s{collector=\"%s\",protocol=\"%s\"} %" PRIu64 "\n", name,
		    addr, c->protocol, v);
	}
}

size_t metrics_format(char *buf, size_t len, const struct metrics_input *in)
{
	const struct state_counters *c = in->c;
	struct text t = { buf, len, 0, false };

	if (buf == NULL || len == 0)
		return 0;
	buf[0] = '\0';
	family(&t, "nfflowd_conntrack_events_total", "counter",
	       "Conntrack events read, by kind (ignored: other protocols and the daemon's own export flow; malformed: not trusted).");
	put(&t, "nfflowd_conntrack_events_total{type=\"new\"} %" PRIu64 "\n"
		"nfflowd_conntrack_events_total{type=\"destroy\"} %" PRIu64 "\n"
		"nfflowd_conntrack_events_total{type=\"ignored\"} %" PRIu64 "\n"
		"nfflowd_conntrack_events_total{type=\"malformed\"} %" PRIu64 "\n",
	    c->events_new, c->events_destroy, c->events_ignored,
	    c->events_malformed);
	per_collector(&t, in, "nfflowd_records_exported_total",
		      "Flow records put into export datagrams.",
		      offsetof(struct metrics_collector, records));
	per_collector(&t, in, "nfflowd_datagrams_total",
		      "Export datagrams sent or attempted.",
		      offsetof(struct metrics_collector, datagrams));
	per_collector(&t, in, "nfflowd_send_errors_total",
		      "Export datagrams that could not be sent.",
		      offsetof(struct metrics_collector, send_errors));
	per_collector(&t, in, "nfflowd_records_lost_total",
		      "Flow records in datagrams that could not be sent.",
		      offsetof(struct metrics_collector, records_lost));
	per_collector(&t, in, "nfflowd_queue_drops_total",
		      "Export datagrams dropped because the send queue was full.",
		      offsetof(struct metrics_collector, queue_drops));
	per_collector(&t, in, "nfflowd_template_datagrams_total",
		      "NetFlow v9 and IPFIX datagrams that carried templates.",
		      offsetof(struct metrics_collector, templates));
	per_collector(&t, in, "nfflowd_skipped_ipv6_total",
		      "IPv6 connections a NetFlow v5 collector cannot carry.",
		      offsetof(struct metrics_collector, skipped_ipv6));
	one(&t, "nfflowd_records_no_counters_total", "counter",
	    "NetFlow v5 records exported without packet and byte counts (accounting off).",
	    c->records_no_counters);
	one(&t, "nfflowd_connections_exported_ipv6_total", "counter",
	    "IPv6 connections exported.", c->ipv6);
	one(&t, "nfflowd_interim_exports_total", "counter",
	    "Interim exports of connections that outlived the active timeout.",
	    c->interim);
	one(&t, "nfflowd_counter_readings_total", "counter",
	    "Counter readings asked of the kernel (active timeout, ttl checks).",
	    c->queries);
	one(&t, "nfflowd_live_connections", "gauge",
	    "Connections in the live table.", c->live);
	one(&t, "nfflowd_netlink_overruns_total", "counter",
	    "Conntrack event socket overruns (ENOBUFS).", c->overruns);
	one(&t, "nfflowd_netlink_drops_total", "counter",
	    "Conntrack event messages the kernel dropped for the daemon (SO_MEMINFO).",
	    c->netlink_drops);
	one(&t, "nfflowd_resyncs_total", "counter",
	    "Resynchronisations with the kernel's table after lost events.",
	    c->resyncs);
	one(&t, "nfflowd_lost_connections_total", "counter",
	    "Connections that ended unseen and could not be exported.",
	    c->lost_entries);
	one(&t, "nfflowd_ttl_expired_total", "counter",
	    "Live-table entries past the ttl that the kernel no longer had.",
	    c->ttl_expired);
	one(&t, "nfflowd_ttl_alive_total", "counter",
	    "Live-table entries past the ttl that the kernel still had.",
	    c->ttl_alive);
	one(&t, "nfflowd_destroy_duplicates_total", "counter",
	    "DESTROY events delivered again and not exported twice.",
	    c->destroy_duplicates);
	family(&t, "nfflowd_reloads_total", "counter",
	       "Configuration reloads, by result.");
	put(&t, "nfflowd_reloads_total{result=\"ok\"} %" PRIu64 "\n"
		"nfflowd_reloads_total{result=\"failed\"} %" PRIu64 "\n",
	    c->reloads_ok, c->reloads_failed);
	one(&t, "nfflowd_state_restored_total", "counter",
	    "Export states taken from the state file at start.",
	    c->state_restored);
	one(&t, "nfflowd_ended_unseen_total", "counter",
	    "Connections of the state file that ended while no daemon listened, exported at start.",
	    c->ended_unseen);
	family(&t, "nfflowd_nat_events_total", "counter",
	       "NAT session events (RFC 8158), by kind; late creates are among the creates.");
	put(&t, "nfflowd_nat_events_total{event=\"create\"} %" PRIu64 "\n"
		"nfflowd_nat_events_total{event=\"create_late\"} %" PRIu64 "\n"
		"nfflowd_nat_events_total{event=\"delete\"} %" PRIu64 "\n",
	    c->nat_creates, c->nat_creates_late, c->nat_deletes);
	family(&t, "nfflowd_role", "gauge",
	       "Firewall pair role: 1 for the role the node is in.");
	put(&t, "nfflowd_role{role=\"active\"} %d\n"
		"nfflowd_role{role=\"handover\"} %d\n"
		"nfflowd_role{role=\"standby\"} %d\n",
	    c->role == 0, c->role == 1, c->role == 2);
	one(&t, "nfflowd_role_changes_total", "counter",
	    "Changes between the active and the standby role.", c->role_changes);
	one(&t, "nfflowd_handovers_total", "counter",
	    "Handover dumps done on losing the active role.", c->handovers);
	one(&t, "nfflowd_standby_suppressed_total", "counter",
	    "Exports not sent because the node was standby.",
	    c->standby_suppressed);
	one(&t, "nfflowd_injected_quiet_total", "counter",
	    "Connections copied here from a peer firewall that ended without a packet here.",
	    c->injected_quiet);
	one(&t, "nfflowd_peer_copies_active_total", "counter",
	    "New connections of the peer firewall copied here while this node was active: the peer forwards too (split brain, or a switch-over draining).",
	    c->peer_copies_active);
	one(&t, "nfflowd_checkpoints_total", "counter",
	    "State files written.", c->checkpoints);
	one(&t, "nfflowd_checkpoint_errors_total", "counter",
	    "State files that could not be written.", c->checkpoint_errors);
	one(&t, "nfflowd_syslog_lines_sent_total", "counter",
	    "Record lines the syslog socket took.", c->syslog_sent);
	one(&t, "nfflowd_syslog_lines_queued", "gauge",
	    "Record lines waiting for the syslog socket.", c->syslog_queued);
	one(&t, "nfflowd_syslog_lines_dropped_total", "counter",
	    "Record lines lost beyond the syslog backlog or at stop.",
	    c->syslog_dropped);
	one(&t, "nfflowd_syslog_errors_total", "counter",
	    "Failed connects and sends to the syslog socket.", c->syslog_errors);
	if (in->conntrack_count >= 0)
		one(&t, "nfflowd_conntrack_table_entries", "gauge",
		    "Entries in the kernel's conntrack table (net.netfilter.nf_conntrack_count).",
		    (uint64_t)in->conntrack_count);
	if (in->conntrack_max >= 0)
		one(&t, "nfflowd_conntrack_table_limit", "gauge",
		    "Size limit of the kernel's conntrack table (net.netfilter.nf_conntrack_max).",
		    (uint64_t)in->conntrack_max);
	one(&t, "nfflowd_start_time_seconds", "gauge",
	    "Start time of the daemon, seconds since the Unix epoch.",
	    in->start_time_s);
	return t.full ? 0 : t.n;
}
