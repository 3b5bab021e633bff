/* NetFlow v9 (RFC 3954) and IPFIX (RFC 7011) export messages (pure).
 *
 * One data record per direction of a connection, with the NAT translation
 * in it: the pre-NAT addresses and ports as the packets arrived at the
 * firewall and the post-NAT ones as they left (IPFIX IEs 225-228 for IPv4,
 * 281-282 for IPv6; the same numbers as v9 field types). The reply travels
 * as its own record (flowDirection 1, biflowDirection 2), not as an
 * RFC 5103 reverse field set, so that collectors without biflow support
 * (nfdump among them) show it. Times are absolute (flowStart/EndMilliseconds,
 * IEs 152/153), counters 64-bit deltas (IEs 1/2). */
#ifndef NFFLOWD_NFX_H
#define NFFLOWD_NFX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nfflowd/types.h"

#define NFX_VERSION_V9 9
#define NFX_VERSION_IPFIX 10
/* Largest message: a 1500-byte MTU less IPv6 and UDP headers, rounded down. */
#define NFX_MAX_DATAGRAM 1400

/* Template ids: IPv4 and IPv6 records, without and with interfaces and
 * next hop (distinct ids, so a reload that switches `interfaces` never
 * redefines a template a collector already holds). */
#define NFX_TEMPLATE_V4 256
#define NFX_TEMPLATE_V6 257
#define NFX_TEMPLATE_V4_IF 258
#define NFX_TEMPLATE_V6_IF 259

/* One direction of a connection as exported. Addresses in network order
 * (IPv4 in the first 4 bytes), ports and the rest in host order. */
struct nfx_rec {
	uint8_t family;		/* AF_INET or AF_INET6 */
	uint8_t proto;
	uint8_t direction;	/* 0: original (initiator's packets), 1: reply */
	uint8_t end_reason;	/* enum flow_end */
	uint8_t src[16], dst[16];	/* as the packets arrived (pre-NAT) */
	uint8_t xsrc[16], xdst[16];	/* as they left (post-NAT) */
	uint16_t sport, dport;		/* 0 for ICMP/ICMPv6 */
	uint16_t xsport, xdport;
	uint16_t icmp_type_code;	/* type << 8 | code; ICMP/ICMPv6 only */
	uint64_t packets, octets;
	uint64_t start_ms, end_ms;	/* Unix epoch ms */
	uint32_t in_if, out_if;
	uint8_t nexthop[16];
};

/* The records of one export of a connection: the original direction
 * always, the reply when it carried packets or the counters are unknown
 * (the rule of v5's record 3). Returns 1 or 2; 0 for a protocol other than
 * TCP, UDP, ICMP, ICMPv6. */
unsigned nfx_rec_build(const struct flow_conn *c, struct nfx_rec out[2]);

/* Header fields that vary per message. */
struct nfx_header {
	uint32_t export_secs;	/* Unix seconds at export */
	uint32_t sysuptime_ms;	/* v9 only: uptime ms mod 2^32 */
	uint32_t sequence;	/* v9: messages before this one;
				 * IPFIX: data records before this one */
	uint32_t domain;	/* v9 source id / IPFIX observation domain */
};

/* A message being filled. */
struct nfx_msg {
	uint8_t version;	/* NFX_VERSION_V9 or NFX_VERSION_IPFIX */
	bool interfaces;	/* records carry ifIndex and next hop */
	size_t len;		/* bytes used, header included */
	size_t set_off;		/* offset of the open data set, 0: none */
	uint16_t set_id;	/* template id of the open data set */
	unsigned records;	/* data records in the message */
	unsigned count;		/* v9 header count: template + data records */
	uint8_t buf[NFX_MAX_DATAGRAM];
};

/* Starts an empty message; with templates, a template set with the IPv4
 * and IPv6 templates comes first. */
void nfx_begin(struct nfx_msg *m, uint8_t version, bool interfaces,
	       bool templates);

/* Appends one data record. Returns false when it does not fit (the
 * message is unchanged: finish it and begin another). */
bool nfx_add(struct nfx_msg *m, const struct nfx_rec *r);

/* Closes the open set (padded to 4 bytes) and writes the header. Returns
 * the message length. */
size_t nfx_finish(struct nfx_msg *m, const struct nfx_header *h);

#endif
