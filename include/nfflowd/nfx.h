/* NetFlow v9 (RFC 3954) and IPFIX (RFC 7011) export messages (pure).
 *
 * One data record per direction of a connection: the pre-NAT addresses
 * and ports as the packets arrived at the firewall and the post-NAT ones
 * as they left (IPFIX IEs 225-228 for IPv4, 281-282 for IPv6; the same
 * numbers as v9 field types), its zone (ingressVRFID, IE 234) and TCP
 * flags derived from conntrack's state (IE 6). The reply travels as its
 * own record (biflowDirection 2), not as an RFC 5103 reverse field set,
 * so that collectors without biflow support (nfdump among them) show it;
 * both directions are observed as they enter the firewall, so
 * flowDirection (IE 61) is 0 (ingress) in both. NAT session events
 * (RFC 8158) have templates of their own, and options templates describe
 * the sampling (none), the interfaces and the exporter's totals. Times
 * are absolute (flowStart/EndMilliseconds, IEs 152/153), counters 64-bit
 * deltas (IEs 1/2). */
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

/* Template ids: IPv4 and IPv6 traffic records, without and with
 * interfaces and next hop; NAT session events; the options templates.
 * Every layout has its own id (a reload that switches `interfaces`, or an
 * upgrade that changed a layout, never redefines a template a collector
 * holds: 256-259 were the traffic layouts before tcp flags and zone). */
#define NFX_TEMPLATE_V4 260
#define NFX_TEMPLATE_V6 261
#define NFX_TEMPLATE_V4_IF 262
#define NFX_TEMPLATE_V6_IF 263
#define NFX_TEMPLATE_NAT4 264
#define NFX_TEMPLATE_NAT6 265
#define NFX_TEMPLATE_OPT_SAMPLING 266
#define NFX_TEMPLATE_OPT_IFNAME 267
#define NFX_TEMPLATE_OPT_STATS 268
#define NFX_TEMPLATE_OPT_EXPORTER 269

/* NAT event numbering (natEvent, IE 230). */
enum nfx_nat_mode {
	NFX_NAT_OFF = 0,
	NFX_NAT_RFC8158,	/* NAT44 session create 4, delete 5; IPv6 to
				 * IPv6 (no RFC 8158 value): 1 and 2 */
	NFX_NAT_LEGACY,		/* 1 create, 2 delete, for every family */
};

/* One record as exported: one direction of a connection (kind
 * NFX_KIND_FLOW), or one NAT session event (NFX_KIND_NAT). Addresses in
 * network order (IPv4 in the first 4 bytes), ports and the rest in host
 * order. */
enum { NFX_KIND_FLOW = 0, NFX_KIND_NAT = 1 };

struct nfx_rec {
	uint8_t kind;
	uint8_t family;		/* AF_INET or AF_INET6 */
	uint8_t proto;
	uint8_t direction;	/* 0: original (initiator's packets), 1: reply */
	uint8_t end_reason;	/* enum flow_end */
	uint8_t tcp_flags;	/* derived (record_tcp_flags) */
	uint8_t nat_event;	/* NAT: natEvent value */
	uint8_t src[16], dst[16];	/* as the packets arrived (pre-NAT) */
	uint8_t xsrc[16], xdst[16];	/* as they left (post-NAT) */
	uint16_t sport, dport;		/* 0 for ICMP/ICMPv6 in flows; NAT
					 * events: the ICMP id in sport */
	uint16_t xsport, xdport;
	uint16_t icmp_type_code;	/* type << 8 | code; ICMP/ICMPv6 only */
	uint32_t zone;			/* conntrack zone (ingressVRFID) */
	uint64_t packets, octets;
	uint64_t start_ms, end_ms;	/* Unix epoch ms */
	uint64_t event_ms;		/* NAT: observation time */
	uint32_t in_if, out_if;
	uint8_t nexthop[16];
};

/* The records of one traffic export of a connection: the original
 * direction always, the reply when it carried packets or the counters are
 * unknown (the rule of v5's record 3). Any protocol. Returns 1 or 2; 0
 * for a NAT event (see nfx_event_build). */
unsigned nfx_rec_build(const struct flow_conn *c, struct nfx_rec out[2]);

/* The NAT session event of c (kind FLOW_KIND_NAT_CREATE or _DELETE) under
 * a numbering; false for anything else or NFX_NAT_OFF. */
bool nfx_event_build(const struct flow_conn *c, enum nfx_nat_mode mode,
		     struct nfx_rec *out);

/* Header fields that vary per message. */
struct nfx_header {
	uint32_t export_secs;	/* Unix seconds at export */
	uint32_t sysuptime_ms;	/* v9 only: uptime ms mod 2^32 */
	uint32_t sequence;	/* v9: messages before this one;
				 * IPFIX: data records before this one */
	uint32_t domain;	/* v9 source id / IPFIX observation domain */
};

/* What the options records say (RFC 7011 section 4, RFC 3954 section 6):
 * every packet is counted (sampling interval 1, space 0); the exporter's
 * totals so far; the exporting process and when it started (so that a
 * collector sees a restart: a NAT session created before it and never
 * deleted ended by then at the latest, or was lost with the process); the
 * name and description of each interface index the records use. */
#define NFX_IFNAME_LEN 16
#define NFX_IFDESCR_LEN 32
struct nfx_ifname {
	uint32_t index;
	char name[NFX_IFNAME_LEN];	/* zero padded, not terminated when full */
	char descr[NFX_IFDESCR_LEN];
};

struct nfx_options {
	uint32_t domain;	/* scope of the sampling and statistics records */
	uint64_t messages, records, octets;	/* exported so far */
	uint32_t process_id;	/* exportingProcessId */
	uint64_t init_ms;	/* systemInitTimeMilliseconds: when the
				 * exporting process started, Unix ms */
	const struct nfx_ifname *ifs;
	unsigned nifs;
	size_t keep_free;	/* bytes the interface records leave free (for
				 * the data record that follows) */
};

/* A message being filled. */
struct nfx_msg {
	uint8_t version;	/* NFX_VERSION_V9 or NFX_VERSION_IPFIX */
	bool interfaces;	/* records carry ifIndex and next hop */
	size_t len;		/* bytes used, header included */
	size_t set_off;		/* offset of the open data set, 0: none */
	uint16_t set_id;	/* template id of the open data set */
	unsigned records;	/* data records in the message (flows, events) */
	unsigned opt_records;	/* options data records (IPFIX counts them
				 * in the sequence too) */
	unsigned count;		/* v9 header count: every record */
	uint8_t buf[NFX_MAX_DATAGRAM];
};

/* Starts an empty message; with templates, a template set (traffic for
 * IPv4 and IPv6 in this variant, NAT events for both) and an options
 * template set come first. */
void nfx_begin(struct nfx_msg *m, uint8_t version, bool interfaces,
	       bool templates);

/* Appends the options data records (after nfx_begin with templates):
 * sampling, exporter statistics, the exporting process, then as many
 * interface names as fit with opt->keep_free bytes to spare, starting at
 * opt->ifs[0]. Returns how many interface records went in; nothing is
 * added (0) when the first three do not fit. */
unsigned nfx_add_options(struct nfx_msg *m, const struct nfx_options *opt);

/* Appends one data record. Returns false when it does not fit (the
 * message is unchanged: finish it and begin another). */
bool nfx_add(struct nfx_msg *m, const struct nfx_rec *r);

/* Closes the open set (padded to 4 bytes) and writes the header. Returns
 * the message length. */
size_t nfx_finish(struct nfx_msg *m, const struct nfx_header *h);

#endif
