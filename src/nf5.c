/* NetFlow v5 datagram encoder and decoder: explicit big-endian byte stores
 * and loads, no struct overlays, so alignment and host order never matter. */
#include "nfflowd/nf5.h"

#include <string.h>

/* Stores a 16-bit value big-endian at p. */
static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* Stores a 32-bit value big-endian at p. */
static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* Loads a big-endian 16-bit value from p. */
static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}

/* Loads a big-endian 32-bit value from p. */
static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

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
	put32(p + 0, r->src);
	put32(p + 4, r->dst);
	put32(p + 8, r->nexthop);
	put16(p + 12, r->input);
	put16(p + 14, r->output);
	put32(p + 16, r->packets);
	put32(p + 20, r->octets);
	put32(p + 24, r->first);
	put32(p + 28, r->last);
	put16(p + 32, r->sport);
	put16(p + 34, r->dport);
	p[36] = 0;		/* pad1 */
	p[37] = r->tcp_flags;
	p[38] = r->proto;
	p[39] = r->tos;
	put16(p + 40, 0);	/* src_as */
	put16(p + 42, 0);	/* dst_as */
	p[44] = 0;		/* src_mask */
	p[45] = 0;		/* dst_mask */
	put16(p + 46, 0);	/* pad2 */
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
	put16(buf + 0, NF5_VERSION);
	put16(buf + 2, (uint16_t)n);
	put32(buf + 4, h->sysuptime_ms);
	put32(buf + 8, h->unix_secs);
	put32(buf + 12, h->unix_nsecs);
	put32(buf + 16, h->flow_sequence);
	buf[20] = h->engine_type;
	buf[21] = h->engine_id;
	put16(buf + 22, h->sampling_interval);
	for (i = 0; i < n; i++)
		encode_record(buf + NF5_HEADER_LEN + (size_t)i * NF5_RECORD_LEN,
			      &recs[i]);
	return need;
}

/* Reads one 48-byte record at p; the AS, mask and pad fields are dropped. */
static void decode_record(const uint8_t *p, struct flow_record *r)
{
	memset(r, 0, sizeof(*r));
	r->src = get32(p + 0);
	r->dst = get32(p + 4);
	r->nexthop = get32(p + 8);
	r->input = get16(p + 12);
	r->output = get16(p + 14);
	r->packets = get32(p + 16);
	r->octets = get32(p + 20);
	r->first = get32(p + 24);
	r->last = get32(p + 28);
	r->sport = get16(p + 32);
	r->dport = get16(p + 34);
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
	if (get16(buf) != NF5_VERSION)
		return -1;
	count = get16(buf + 2);
	if (count == 0 || count > NF5_MAX_RECORDS)
		return -1;
	if (len != NF5_HEADER_LEN + (size_t)count * NF5_RECORD_LEN)
		return -1;
	if (h != NULL) {
		memset(h, 0, sizeof(*h));
		h->sysuptime_ms = get32(buf + 4);
		h->unix_secs = get32(buf + 8);
		h->unix_nsecs = get32(buf + 12);
		h->flow_sequence = get32(buf + 16);
		h->engine_type = buf[20];
		h->engine_id = buf[21];
		h->sampling_interval = get16(buf + 22);
	}
	for (i = 0; i < count && i < max; i++)
		decode_record(buf + NF5_HEADER_LEN + (size_t)i * NF5_RECORD_LEN,
			      &recs[i]);
	return (int)count;
}
