/* NetFlow v5 datagram encoder (pure). Wire layout per Cisco's NetFlow v5
 * export format: 24-byte header, then up to 30 records of 48 bytes, all
 * fields big-endian. */
#ifndef NFFLOWD_NF5_H
#define NFFLOWD_NF5_H

#include <stddef.h>
#include <stdint.h>

#include "nfflowd/types.h"

#define NF5_VERSION 5
#define NF5_HEADER_LEN 24
#define NF5_RECORD_LEN 48
#define NF5_MAX_RECORDS 30
#define NF5_MAX_DATAGRAM (NF5_HEADER_LEN + NF5_MAX_RECORDS * NF5_RECORD_LEN)

/* Header fields that vary per datagram (count is the number of records). */
struct nf5_header {
	uint32_t sysuptime_ms;	/* uptime ms mod 2^32 at export */
	uint32_t unix_secs;	/* wall clock at export */
	uint32_t unix_nsecs;
	uint32_t flow_sequence;	/* records sent before this datagram */
	uint8_t engine_type;
	uint8_t engine_id;
	uint16_t sampling_interval;
};

/* Builds the header from a time pair (the instant of export). */
void nf5_header_init(struct nf5_header *h, const struct time_pair *now,
		     uint32_t flow_sequence, uint8_t engine_type,
		     uint8_t engine_id);

/* Encodes one datagram of n records into buf. Returns the number of bytes
 * written, or 0 if n is 0 or above NF5_MAX_RECORDS or buf is too small. */
size_t nf5_encode(uint8_t *buf, size_t buflen, const struct nf5_header *h,
		  const struct flow_record *recs, unsigned n);

/* Decodes a datagram (for tests and tools). Returns the record count, or
 * -1 if the bytes are not a well-formed v5 datagram. */
int nf5_decode(const uint8_t *buf, size_t len, struct nf5_header *h,
	       struct flow_record *recs, unsigned max);

#endif
