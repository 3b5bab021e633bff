/* The local copy of each record (SPEC §5): syslog and/or standard output.
 *
 * Syslog lines are framed as syslog(3) frames them, queued (struct logq,
 * at most syslog.backlog lines) and sent in batches on a non-blocking
 * socket of their own, connected to syslog.socket (/dev/log): with
 * sendmmsg, one message per datagram, to a datagram socket; as lines
 * ending in LF, many per sendmsg, to a stream socket (rsyslog's imptcp
 * path=, syslog-ng's unix-stream), which syslog(3) also falls back to when
 * the socket is not a datagram one. A full socket makes the lines wait for it to drain (an
 * EV_WRITE event), an absent or refusing one for a reconnect once a
 * second; lines beyond the backlog are dropped, counted and reported in
 * the log at most once per interval. Nothing here ever blocks, except
 * natlog_drain at stop, for a bounded time. */
#ifndef NFFLOWD_NATLOG_H
#define NFFLOWD_NATLOG_H

#include <stdbool.h>
#include <stdint.h>

#include "nfflowd/config.h"
#include "nfflowd/nf5.h"
#include "nfflowd/types.h"

struct event_base;
struct natlog;

struct natlog_stats {
	uint64_t sent;		/* syslog lines the socket took */
	uint64_t dropped;	/* lost: backlog full, unsendable, or at stop */
	uint64_t errors;	/* failed connects and sends */
};

/* A sink with both outputs off until configured. With base NULL nothing
 * waits for events: the caller calls natlog_flush again (benchmarks). */
struct natlog *natlog_new(struct event_base *base);

/* Takes the sink settings from a validated configuration (no pointer into
 * it is kept); lines already waiting stay and keep their place. */
void natlog_configure(struct natlog *n, const struct config *cfg);

/* True when either output is on. */
bool natlog_enabled(const struct natlog *n);

/* Writes the line of each of the count records carried by the datagram
 * h: stdout at once, syslog queued and sent as far as the socket takes. */
void natlog_datagram(struct natlog *n, const struct nf5_header *h,
		     const struct flow_record *recs, unsigned count);

/* Sends waiting syslog lines until none is left or the socket is full. */
void natlog_flush(struct natlog *n);

/* At stop: delivers what waits, waiting at most timeout_ms for the socket;
 * what is still left is counted as dropped. */
void natlog_drain(struct natlog *n, unsigned timeout_ms);

/* Syslog lines waiting now. */
uint64_t natlog_queued(const struct natlog *n);

const struct natlog_stats *natlog_stats(const struct natlog *n);

void natlog_free(struct natlog *n);

#endif
