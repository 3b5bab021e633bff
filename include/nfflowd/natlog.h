/* The local copy of each record (SPEC §5): syslog and/or standard output. */
#ifndef NFFLOWD_NATLOG_H
#define NFFLOWD_NATLOG_H

#include <stdbool.h>

#include "nfflowd/config.h"
#include "nfflowd/nf5.h"
#include "nfflowd/types.h"

struct natlog {
	bool to_syslog;
	bool to_stdout;
	int syslog_prio;	/* facility | priority */
	char exaddr[64];
};

/* Copies what it needs from cfg (no pointer into it is kept). */
void natlog_configure(struct natlog *n, const struct config *cfg);

/* Writes the line of each of the n records carried by the datagram h. */
void natlog_datagram(const struct natlog *n, const struct nf5_header *h,
		     const struct flow_record *recs, unsigned count);

#endif
