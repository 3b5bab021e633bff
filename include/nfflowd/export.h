/* One collector's exporter (NetFlow v5, v9 or IPFIX): a UDP socket from
 * source to the collector, the open datagram, the sequence, templates, the
 * flush timer and the error counters. */
#ifndef NFFLOWD_EXPORT_H
#define NFFLOWD_EXPORT_H

#include <stdbool.h>
#include <stdint.h>

#include "nfflowd/config.h"
#include "nfflowd/natlog.h"
#include "nfflowd/types.h"

struct event_base;
struct export;

struct export_stats {
	uint64_t records;	/* records put into datagrams */
	uint64_t datagrams;	/* datagrams emitted (sent or not) */
	uint64_t octets;	/* bytes of those datagrams */
	uint64_t sent;		/* datagrams the kernel accepted */
	uint64_t send_errors;	/* datagrams that could not be sent */
	uint64_t records_lost;	/* records in those datagrams */
	uint64_t queue_drops;	/* datagrams dropped: send queue full */
	uint64_t templates;	/* v9/IPFIX: datagrams that carried templates */
	uint64_t skipped_ipv6;	/* v5: IPv6 connections it cannot carry */
};

/* Opens the socket for collector cc (bound to its source, connected to
 * it). nlog, when not
 * NULL, gets the line of every v5 record (only a v5 exporter takes one);
 * it is borrowed and must outlive the exporter. Returns NULL with err
 * written when the socket cannot be set up. */
struct export *export_new(struct event_base *base, const struct config *cfg,
			  const struct config_collector *cc,
			  struct natlog *nlog, char *err, size_t errlen);

/* The v9 source id / IPFIX observation domain of cfg: observation_domain,
 * else one derived from /etc/machine-id (the host name without one). */
uint32_t export_domain(const struct config *cfg);

/* Builds this collector's records of one export of a connection (traffic
 * when its `flows` is on; a NAT event under its `nat_events` numbering)
 * and appends them; a full datagram is sent at once, a partial one when its
 * oldest record has waited flush_interval. */
void export_conn(struct export *x, const struct flow_conn *c);

/* Appends one v5 record (v5 exporters only). */
void export_add(struct export *x, const struct flow_record *r);

/* True when x exports to this collector (address, port, source and
 * version): a reload keeps its sequence going. */
bool export_same(const struct export *x, const struct config_collector *cc);

/* Sends the open datagram now, if it holds any record. */
void export_flush(struct export *x);

/* 5, 9 or 10. */
uint8_t export_version(const struct export *x);

/* Sends a v9/IPFIX exporter's templates now, so that its collector can
 * decode the first data at once (call after export_take_over, if any). */
void export_start(struct export *x);

/* Moves the sequence number and counters of old into x (for a reload that
 * replaces the exporter), so the collector sees one unbroken sequence; to
 * the same collector (export_same) also the socket, so the source port
 * and the transport session stay, with what is queued on it. */
void export_take_over(struct export *x, struct export *old);

const struct export_stats *export_stats(const struct export *x);

/* Flushes and frees. */
void export_free(struct export *x);

#endif
