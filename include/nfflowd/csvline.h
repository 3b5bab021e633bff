/* The flow-tools CSV line of SPEC §5 (pure). */
#ifndef NFFLOWD_CSVLINE_H
#define NFFLOWD_CSVLINE_H

#include <stddef.h>

#include "nfflowd/nf5.h"
#include "nfflowd/types.h"

#define CSVLINE_MAX 256
/* The exporter address is shorter than this (NUL included). */
#define CSVLINE_EXADDR_MAX 64

/* Formats one record as carried by the datagram with header h:
 * unix_secs,unix_nsecs,sysuptime,exaddr,dpkts,doctets,first,last,srcaddr,
 * dstaddr,nexthop,input,output,srcport,dstport,prot,tos,tcp_flags
 * No trailing newline. Returns the length, or 0 if buf is too small. */
size_t csvline_format(char *buf, size_t len, const struct nf5_header *h,
		      const char *exaddr, const struct flow_record *r);

#endif
