/* The state dump's JSON lines (pure): counters and live entries. */
#ifndef NFFLOWD_STATEJSON_H
#define NFFLOWD_STATEJSON_H

#include <stddef.h>
#include <stdint.h>

#include "nfflowd/flowtab.h"

/* Every counter the daemon shows (SPEC §6, --dump-state, STATUS=). */
struct state_counters {
	uint64_t pid;
	uint64_t uptime_s;		/* since the daemon started */
	uint64_t events_new;
	uint64_t events_destroy;
	uint64_t events_ignored;	/* other protocols, own export */
	uint64_t events_malformed;
	uint64_t records;		/* records exported */
	uint64_t records_no_counters;	/* exported without accounting */
	uint64_t datagrams;
	uint64_t send_errors;
	uint64_t records_lost;		/* in datagrams that failed to send */
	uint64_t overruns;		/* netlink ENOBUFS */
	uint64_t resyncs;
	uint64_t lost_entries;		/* vanished without DESTROY */
	uint64_t ttl_expired;
	uint64_t live;
	uint64_t reloads_ok;
	uint64_t reloads_failed;
	uint64_t interim;		/* interim exports (active timeout) */
	uint64_t queries;		/* counter readings asked for */
	uint64_t ipv6;			/* IPv6 connections exported */
	uint64_t skipped_ipv6;		/* IPv6 connections a v5 collector
					 * could not carry (per collector) */
	uint64_t syslog_sent;		/* record lines syslog's socket took */
	uint64_t syslog_queued;		/* waiting for it now */
	uint64_t syslog_dropped;	/* lost beyond the backlog, at stop */
	uint64_t syslog_errors;		/* failed connects and sends */
	uint64_t netlink_drops;		/* event messages the kernel dropped
					 * (SO_MEMINFO), reliable delivery */
	uint64_t destroy_duplicates;	/* a DESTROY delivered again, ignored */
	uint64_t ttl_alive;		/* past ttl but alive: kept */
	uint64_t state_restored;	/* export states taken from the file */
	uint64_t ended_unseen;		/* ended while no daemon listened,
					 * exported from the state file */
	uint64_t nat_creates;		/* NAT create events (late included) */
	uint64_t nat_creates_late;	/* of those, not at the NEW event */
	uint64_t nat_deletes;		/* NAT delete events */
	uint64_t role_changes;		/* firewall pair: active <-> standby */
	uint64_t handovers;		/* handover dumps done */
	uint64_t handed_over;		/* connections they read */
	uint64_t standby_suppressed;	/* exports not sent while standby */
	uint64_t injected_quiet;	/* a peer's copies ended quiet here */
	uint64_t peer_copies_active;	/* the peer's new connections copied
					 * here while active: split brain? */
	uint8_t role;			/* 0 active, 1 handover, 2 standby */
	uint64_t checkpoints;		/* state files written */
	uint64_t checkpoint_errors;
	/* Why the latest reload failed; "" when it succeeded or none failed.
	 * `reload` waits for reloads_ok + reloads_failed to grow and prints
	 * this when reloads_failed grew. */
	char reload_error[512];
	/* The configuration file the daemon runs with (absolute), so that a
	 * client holding a file that moved the pidfile still finds it. */
	char config[256];
};

/* One JSON object on one line ending in '\n', into buf. Each returns the
 * length, or 0 when buf is too small (nothing useful written). */
size_t statejson_counters(char *buf, size_t len, const struct state_counters *c);
/* now_boot_ns gives the entry's age; a6 is an IPv6 entry's addresses
 * (flowtab_addr6), NULL for IPv4. */
size_t statejson_entry(char *buf, size_t len, const struct flow_entry *e,
		       const struct flow_addr6 *a6, uint64_t now_boot_ns);
size_t statejson_end(char *buf, size_t len, uint64_t entries);

#endif
