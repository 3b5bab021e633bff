/* The flow-tools style CSV line for one exported record (SPEC §5). */
#include "nfflowd/csvline.h"

#include <inttypes.h>
#include <stdio.h>

/* Writes a host-order IPv4 address as a dotted quad into a 16-byte buffer. */
static void dotted(char out[16], uint32_t a)
{
	snprintf(out, 16, "%u.%u.%u.%u", (unsigned)(a >> 24),
		 (unsigned)((a >> 16) & 0xFF), (unsigned)((a >> 8) & 0xFF),
		 (unsigned)(a & 0xFF));
}

size_t csvline_format(char *buf, size_t len, const struct nf5_header *h,
		      const char *exaddr, const struct flow_record *r)
{
	char src[16], dst[16], hop[16];
	int n;

	if (buf == NULL || len == 0)
		return 0;
	dotted(src, r->src);
	dotted(dst, r->dst);
	dotted(hop, r->nexthop);
	n = snprintf(buf, len,
		     "%" PRIu32 ",%" PRIu32 ",%" PRIu32 ",%s,%" PRIu32
		     ",%" PRIu32 ",%" PRIu32 ",%" PRIu32 ",%s,%s,%s,%u,%u,%u"
		     ",%u,%u,%u,%u",
		     h->unix_secs, h->unix_nsecs, h->sysuptime_ms,
		     exaddr != NULL ? exaddr : "0.0.0.0", r->packets, r->octets,
		     r->first, r->last, src, dst, hop, (unsigned)r->input,
		     (unsigned)r->output, (unsigned)r->sport,
		     (unsigned)r->dport, (unsigned)r->proto, (unsigned)r->tos,
		     (unsigned)r->tcp_flags);
	if (n < 0 || (size_t)n >= len) {
		buf[0] = '\0';
		return 0;
	}
	return (size_t)n;
}
