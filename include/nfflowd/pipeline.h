/* What happens to one conntrack event (pure): the live table takes NEW and
 * dump entries; a DESTROY leaves it and becomes one export of the whole
 * connection (struct flow_conn), handed to an emit callback (the exporters
 * in the daemon, a sink in the benchmarks and tests). With an active
 * timeout, connections that live longer are exported in the interim from
 * fresh counter readings, and the final export carries the remainder. */
#ifndef NFFLOWD_PIPELINE_H
#define NFFLOWD_PIPELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nfflowd/config.h"
#include "nfflowd/flowtab.h"
#include "nfflowd/record.h"
#include "nfflowd/statefile.h"
#include "nfflowd/types.h"

typedef void (*pipeline_emit_fn)(const struct flow_conn *c, void *arg);

struct pipeline_stats {
	uint64_t self_ignored;		/* events of our own export flow */
	uint64_t destroy_unknown;	/* DESTROY for an id not in the table */
	uint64_t exports;		/* connections exported (final) */
	uint64_t exports_no_counters;	/* of those, without accounting */
	uint64_t interim;		/* interim exports (active timeout) */
	uint64_t queries;		/* counter readings asked for */
	uint64_t query_stale;		/* answers for an entry since gone */
	uint64_t ipv6;			/* IPv6 connections exported (final) */
	uint64_t table_full;		/* entries not stored: table full */
	uint64_t ttl_expired;		/* past ttl and gone (or not askable) */
	uint64_t ttl_alive;		/* past ttl, the kernel still has it */
	uint64_t gone;			/* asked for, the kernel had none, and
					 * no DESTROY came: dropped unexported */
	uint64_t replaced;		/* a reading showed the id reused */
	uint64_t destroy_duplicates;	/* DESTROY of a connection exported */
	uint64_t state_restored;	/* export states taken from a file */
	uint64_t ended_unseen;		/* exported from a file at start */
	uint64_t restored_ended;	/* of a file, ended by a queued DESTROY */
	uint64_t nat_creates;		/* NAT create events (late included) */
	uint64_t nat_creates_late;	/* of those, not at the NEW event */
	uint64_t nat_deletes;		/* NAT delete events */
	uint64_t injected_quiet;	/* copied from a peer firewall, ended
					 * without a packet here: not exported */
	uint64_t handed_over;		/* connections read by handover dumps */
	uint64_t peer_copies_active;	/* conntrackd copies of the peer's new
					 * connections while this node was
					 * active: the peer forwards too (a
					 * split brain, or its traffic still
					 * draining after a switch-over) */
};

/* DESTROY events remembered to recognise one delivered twice. */
#define PIPELINE_RECENT 16384

/* After the kernel says an entry does not exist, its DESTROY may still be
 * on the way: it is dropped (unexported) only this much later. The same
 * grace is given to the connections of a state file that the startup dump
 * no longer lists, for their DESTROY queued in a kept socket. */
#define PIPELINE_GONE_GRACE_NS 2000000000u
/* A ttl check that got no answer is asked again this much later. */
#define PIPELINE_TTL_RETRY_NS 10000000000u

struct pipeline_recent {
	uint32_t id;
	uint32_t fp;		/* start stamp or tuple fingerprint */
	uint32_t used;
};

/* Export flows of this and earlier configurations: after a reload to
 * another collector the old flow lingers in conntrack until it times out,
 * and it is ours too (SPEC §3: never export our own export traffic). */
#define PIPELINE_SELF_MAX (2 * CONFIG_MAX_COLLECTORS)

/* Entries newly past the active timeout are looked for in at least this
 * many entries per pipeline_due call (all of a table up to 8 times it). */
#define PIPELINE_SCAN_MIN 32768

/* A connection waiting for its next counter reading. */
struct pipeline_due_item {
	uint64_t due_ns;	/* boot clock */
	uint32_t id;
};

struct pipeline {
	struct flowtab *tab;
	uint64_t ttl_ns;		/* 0 = entries never expire */
	bool ttl_ask;			/* ask the kernel before dropping */
	struct pipeline_recent *recent;	/* PIPELINE_RECENT, by id hash */
	struct statefile_rec *limbo;	/* restored, not in the dump; by id */
	size_t nlimbo;
	uint64_t limbo_until_ns;	/* boot clock: end of their grace */
	uint64_t limbo_real_ms;		/* Unix ms: when they were restored */
	struct record_self self[PIPELINE_SELF_MAX];	/* newest first */
	unsigned nself;
	uint64_t active_ns;		/* active timeout, 0 = off */
	bool nat_events;		/* some collector takes NAT events */
	bool pair;			/* a firewall pair's node: entries a
					 * program creates are the peer's */
	bool standby;			/* the daemon's role: standby */
	bool defer_late;		/* creates of dumped connections wait
					 * for pipeline_late_creates (until its
					 * first call: the startup dump) */
	size_t due_cursor;		/* where the next scan goes on */
	struct pipeline_due_item *dq;	/* ring of dq_cap, in due order */
	size_t dq_cap, dq_head, dq_len;
	pipeline_emit_fn emit;
	void *emit_arg;
	struct pipeline_stats st;
};

/* Creates the live table (max_entries 0: unbounded). Returns 0 or -1. */
int pipeline_init(struct pipeline *p, size_t max_entries, pipeline_emit_fn emit,
		  void *emit_arg);

/* Takes the settings that shape exports from cfg (no pointer is kept);
 * the export flows of earlier configurations stay recognised as ours. */
void pipeline_configure(struct pipeline *p, const struct config *cfg);

/* Applies one event received at now (from_dump: listed by a table dump).
 * With NAT events on, a NEW of a translated connection is exported as a
 * NAT create (kind FLOW_KIND_NAT_CREATE), its DESTROY as a NAT delete
 * after the traffic export (preceded by a late create when none was
 * sent); one found by a dump waits for pipeline_late_creates. */
void pipeline_event(struct pipeline *p, const struct ct_event *ev,
		    const struct time_pair *now, bool from_dump);

/* Active timeout: writes to out up to max entries whose counters are due
 * to be read (alive longer than the timeout since their start or their
 * last reading), and schedules their next reading one timeout later (so
 * an unanswered query is retried then). Entries already read wait in due
 * order; new ones are found by a scan that goes round the table, an
 * eighth of it per call at most. Returns how many. */
size_t pipeline_due(struct pipeline *p, uint64_t now_boot_ns,
		    struct ct_query *out, size_t max);

/* A fresh reading of an entry's counters (the answer to a query, an
 * UPDATE with counters). With an active timeout, exports what was counted
 * since the last export, as an interim export, when it is more than
 * nothing. It also answers a ttl check: the entry is alive. A reading of
 * another connection under the entry's id (reused) replaces the entry. */
void pipeline_interim(struct pipeline *p, const struct ct_event *ev,
		      const struct time_pair *now);

/* A firewall pair's handover (the node loses the active role): ev is one
 * entry of a table dump with its counters. Learns it if it was not known
 * and exports what it counted since its last export as an interim export
 * (whatever the active timeout), so that the peer, which counts from the
 * switch on, exports the rest. */
void pipeline_handover(struct pipeline *p, const struct ct_event *ev,
		       const struct time_pair *now);

/* The kernel answered a query for id: no such entry. Unless its DESTROY
 * comes within PIPELINE_GONE_GRACE_NS, pipeline_ttl drops it. */
void pipeline_gone(struct pipeline *p, uint32_t id, uint64_t now_boot_ns);

/* The ttl (SPEC §2) without double counting: entries older than ttl are
 * not dropped on age alone; the kernel is asked (queries written to out,
 * at most max) and only entries it says are gone, after the grace, are
 * dropped (counted in st.gone / st.ttl_expired). Without ttl_ask they are
 * dropped at once, as before. Returns how many queries were written. */
size_t pipeline_ttl(struct pipeline *p, uint64_t now_boot_ns,
		    struct ct_query *out, size_t max);

/* Takes the export states of a state file (after the startup dump, so
 * that the table holds what is alive): a record that matches a live entry
 * (id, tuples, zone, start stamp) gives it its export state; the others
 * wait PIPELINE_GONE_GRACE_NS for a DESTROY queued meanwhile, then
 * pipeline_expire_restored exports them as ended. Copies what it needs.
 * Returns the number matched, or -1 when out of memory. */
long pipeline_restore(struct pipeline *p, const struct statefile_rec *recs,
		      size_t n, const struct time_pair *now);

/* Exports the restored connections no event ended in time (reason
 * FLOW_END_FORCED, counters from the last reading the file had, else
 * none) and forgets them. Returns how many, 0 before the grace is over. */
size_t pipeline_expire_restored(struct pipeline *p, const struct time_pair *now);

/* Sends the late NAT create events of the connections a dump found and
 * that no create was sent for: the startup dump's, after pipeline_restore
 * has marked those whose create an earlier run sent (until this is first
 * called, dumped connections wait for it; later dumps, a resync's, send
 * theirs at once), or every connection's when a reload switched NAT
 * events on. Returns how many. */
size_t pipeline_late_creates(struct pipeline *p, const struct time_pair *now);

/* The state file's record of a live entry (no reading: has_seen false). */
void pipeline_state_rec(const struct pipeline *p, const struct flow_entry *e,
			struct statefile_rec *r);

void pipeline_free(struct pipeline *p);

#endif
