/* The NetFlow v5 exporter: one UDP socket from source to the collector, the
 * open datagram, flow_sequence, the flush timer and the error counters. */
#ifndef NFFLOWD_EXPORT_H
#define NFFLOWD_EXPORT_H

#include <stdint.h>

#include "nfflowd/config.h"
#include "nfflowd/natlog.h"
#include "nfflowd/types.h"

struct event_base;
struct export;

struct export_stats {
	uint64_t records;	/* records put into datagrams */
	uint64_t datagrams;	/* datagrams emitted (sent or not) */
	uint64_t sent;		/* datagrams the kernel accepted */
	uint64_t send_errors;	/* datagrams that could not be sent */
	uint64_t records_lost;	/* records in those datagrams */
	uint64_t queue_drops;	/* datagrams dropped: send queue full */
};

/* Opens the socket (bound to source, connected to collector) and arms
 * nothing yet. nlog is borrowed and must outlive the exporter. Returns NULL
 * with err written when the socket cannot be set up. */
struct export *export_new(struct event_base *base, const struct config *cfg,
			  const struct natlog *nlog, char *err, size_t errlen);

/* Appends one record to the open datagram; a full datagram is sent at
 * once, a partial one when its oldest record has waited flush_interval. */
void export_add(struct export *x, const struct flow_record *r);

/* Sends the open datagram now, if it holds any record. */
void export_flush(struct export *x);

/* Moves the sequence number and counters of old into x (for a reload that
 * replaces the exporter), so the collector sees one unbroken sequence. */
void export_take_over(struct export *x, const struct export *old);

const struct export_stats *export_stats(const struct export *x);

/* Flushes and frees. */
void export_free(struct export *x);

#endif
