/* NetFlow v5 datagram encoder and decoder: explicit big-endian byte stores
 * and loads, no struct overlays, so alignment and host order never matter. */
#include "nfflowd/nf5.h"

#include <string.h>

#include "nfflowd/bytes.h"

void nf5_header_init(struct nf5_header *h, const struct time_pair *now,
		     uint32_t flow_sequence, uint8_t engine_type,
		     uint8_t engine_id)
{
	memset(h, 0, sizeof(*h));
	/* Same rule as record_uptime_ms(), kept local so nf5 links alone. */
	h->sysuptime_ms = (uint32_t)(now->boot_ns / 1000000u);
	h->unix_secs = (uint32_t)(now->real_ns / 1000000000u);
	h->unix_nsecs = (uint32_t)(now->real_ns % 1000000000u);
	h->flow_sequence = flow_sequence;
	h->engine_type = engine_type;
	h->engine_id = engine_id;
	h->sampling_interval = 0;
}

/* Writes one 48-byte record at p (the v5 record layout, pads zeroed). */
static void encode_record(uint8_t *p, const struct flow_record *r)
{
	be_put32(p + 0, r->src);
	be_put32(p + 4, r->dst);
	be_put32(p + 8, r->nexthop);
	be_put16(p + 12, r->input);
	be_put16(p + 14, r->output);
	be_put32(p + 16, r->packets);
	be_put32(p + 20, r->octets);
	be_put32(p + 24, r->first);
	be_put32(p + 28, r->last);
	be_put16(p + 32, r->sport);
	be_put16(p + 34, r->dport);
	p[36] = 0;		/* pad1 */
	p[37] = r->tcp_flags;
	p[38] = r->proto;
	p[39] = r->tos;
	be_put16(p + 40, 0);	/* src_as */
	be_put16(p + 42, 0);	/* dst_as */
	p[44] = 0;		/* src_mask */
	p[45] = 0;		/* dst_mask */
	be_put16(p + 46, 0);	/* pad2 */
}

size_t nf5_encode(uint8_t *buf, size_t buflen, const struct nf5_header *h,
		  const struct flow_record *recs, unsigned n)
{
	size_t need;
	unsigned i;

	if (n == 0 || n > NF5_MAX_RECORDS)
		return 0;
	need = NF5_HEADER_LEN + (size_t)n * NF5_RECORD_LEN;
	if (buf == NULL || buflen < need)
		return 0;
	be_put16(buf + 0, NF5_VERSION);
	be_put16(buf + 2, (uint16_t)n);
	be_put32(buf + 4, h->sysuptime_ms);
	be_put32(buf + 8, h->unix_secs);
	be_put32(buf + 12, h->unix_nsecs);
	be_put32(buf + 16, h->flow_sequence);
	buf[20] = h->engine_type;
	buf[21] = h->engine_id;
	be_put16(buf + 22, h->sampling_interval);
	for (i = 0; i < n; i++)
		encode_record(buf + NF5_HEADER_LEN + (size_t)i * NF5_RECORD_LEN,
			      &recs[i]);
	return need;
}

/* Reads one 48-byte record at p; the AS, mask and pad fields are dropped. */
static void decode_record(const uint8_t *p, struct flow_record *r)
{
	memset(r, 0, sizeof(*r));
	r->src = be_get32(p + 0);
	r->dst = be_get32(p + 4);
	r->nexthop = be_get32(p + 8);
	r->input = be_get16(p + 12);
	r->output = be_get16(p + 14);
	r->packets = be_get32(p + 16);
	r->octets = be_get32(p + 20);
	r->first = be_get32(p + 24);
	r->last = be_get32(p + 28);
	r->sport = be_get16(p + 32);
	r->dport = be_get16(p + 34);
	r->tcp_flags = p[37];
	r->proto = p[38];
	r->tos = p[39];
}

/* Only the first max records are stored in recs (recs may be NULL when max
 * is 0, to validate only); the return value is the datagram's own count. */
int nf5_decode(const uint8_t *buf, size_t len, struct nf5_header *h,
	       struct flow_record *recs, unsigned max)
{
	unsigned count, i;

	if (buf == NULL || len < NF5_HEADER_LEN)
		return -1;
	if (be_get16(buf) != NF5_VERSION)
		return -1;
	count = be_get16(buf + 2);
	if (count == 0 || count > NF5_MAX_RECORDS)
		return -1;
	if (len != NF5_HEADER_LEN + (size_t)count * NF5_RECORD_LEN)
		return -1;
	if (h != NULL) {
		memset(h, 0, sizeof(*h));
		h->sysuptime_ms = be_get32(buf + 4);
		h->unix_secs = be_get32(buf + 8);
		h->unix_nsecs = be_get32(buf + 12);
		h->flow_sequence = be_get32(buf + 16);
		h->engine_type = buf[20];
		h->engine_id = buf[21];
		h->sampling_interval = be_get16(buf + 22);
	}
	for (i = 0; i < count && i < max; i++)
		decode_record(buf + NF5_HEADER_LEN + (size_t)i * NF5_RECORD_LEN,
			      &recs[i]);
	return (int)count;
}
