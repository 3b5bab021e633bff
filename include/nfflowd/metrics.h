/* Every counter of --dump-state in the Prometheus text exposition format
 * (pure): served on the control socket ("metrics") and written to
 * metrics_file for node_exporter's textfile collector. */
#ifndef NFFLOWD_METRICS_H
#define NFFLOWD_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "nfflowd/statejson.h"

/* One collector's exporter counters, labelled by where it sends. */
struct metrics_collector {
	char address[72];	/* "198.51.100.5:2055", "[2001:db8::5]:2055" */
	const char *protocol;	/* "netflow_v5", "netflow_v9", "ipfix" */
	uint64_t records;
	uint64_t datagrams;
	uint64_t send_errors;
	uint64_t records_lost;
	uint64_t queue_drops;
	uint64_t templates;
	uint64_t skipped_ipv6;
};

/* What the text is made of; conntrack_count/_max are -1 when unknown. */
struct metrics_input {
	const struct state_counters *c;
	const struct metrics_collector *col;
	unsigned ncol;
	int64_t conntrack_count;	/* net.netfilter.nf_conntrack_count */
	int64_t conntrack_max;		/* net.netfilter.nf_conntrack_max */
	uint64_t start_time_s;		/* Unix time the daemon started */
};

/* Largest text metrics_format writes (eight collectors). */
#define METRICS_TEXT_MAX 16384

/* Writes the exposition text into buf. Returns its length, or 0 when buf
 * is too small. */
size_t metrics_format(char *buf, size_t len, const struct metrics_input *in);

#endif
