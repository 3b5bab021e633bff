/* Plain data shared by the pure modules: conntrack events, flow records,
 * and the pair of clock readings that every time conversion takes. */
#ifndef NFFLOWD_TYPES_H
#define NFFLOWD_TYPES_H

#include <stdbool.h>
#include <stdint.h>

/* One direction of a conntrack entry. Addresses and ports in host byte
 * order. For ICMP and ICMPv6, sport is the ICMP id and dport is
 * type << 8 | code. For IPv6 entries src and dst are 0 here and the
 * addresses are in struct ct_addr6 (ports stay here). */
struct ct_tuple {
	uint32_t src;
	uint32_t dst;
	uint16_t sport;
	uint16_t dport;
};

/* The addresses of one direction of an IPv6 entry, network byte order. */
struct ct_addr6 {
	uint8_t src[16];
	uint8_t dst[16];
};

enum ct_event_type {
	CT_EVENT_NEW = 1,	/* NEW event (NLM_F_CREATE) */
	CT_EVENT_UPDATE,	/* any other IPCTNL_MSG_CT_NEW, incl. dump replies */
	CT_EVENT_DESTROY,	/* IPCTNL_MSG_CT_DELETE */
};

/* What one conntrack netlink message says, decoded (see ctmsg.h). */
struct ct_event {
	enum ct_event_type type;
	uint32_t id;		/* conntrack id (CTA_ID) */
	uint8_t family;		/* AF_INET or AF_INET6 (nfgen_family) */
	uint8_t proto;		/* any IPPROTO_*; ports 0 where it has none */
	uint8_t tcp_state;	/* enum tcp_conntrack, 0 when absent */
	uint16_t zone;		/* conntrack zone (CTA_ZONE), 0 when absent */
	/* The netlink port id of the request that caused the event (its
	 * message header's nlmsg_pid): 0 for the kernel's own events; a
	 * program's for an entry it created or deleted (conntrackd
	 * injecting a peer's entries, `conntrack -I/-D/-F`). */
	uint32_t requester;
	bool has_counters;	/* CTA_COUNTERS_ORIG and _REPLY both present */
	bool has_start;		/* CTA_TIMESTAMP_START present */
	bool has_stop;		/* CTA_TIMESTAMP_STOP present */
	uint32_t status;	/* IPS_* bits, 0 when absent */
	struct ct_tuple orig;
	struct ct_tuple reply;
	struct ct_addr6 orig6;	/* AF_INET6 only, else all zero */
	struct ct_addr6 reply6;
	uint64_t orig_packets, orig_bytes;
	uint64_t reply_packets, reply_bytes;
	uint64_t start_ns;	/* CLOCK_REALTIME ns, valid if has_start */
	uint64_t stop_ns;	/* CLOCK_REALTIME ns, valid if has_stop */
};

/* The same instant read from CLOCK_REALTIME and CLOCK_BOOTTIME. Pure code
 * never reads a clock; callers pass one of these in. */
struct time_pair {
	uint64_t real_ns;
	uint64_t boot_ns;
};

/* What the kernel needs to find one entry and report its counters now
 * (an IPCTNL_MSG_CT_GET by original tuple); id tells the answer apart. */
struct ct_query {
	uint32_t id;
	uint8_t family;
	uint8_t proto;
	uint16_t zone;
	struct ct_tuple orig;
	struct ct_addr6 orig6;
};

/* Why a connection is exported now (values of IPFIX flowEndReason, IE 136). */
enum flow_end {
	FLOW_END_IDLE = 1,	/* conntrack timed the entry out: UDP, ICMP,
				 * other protocols, TCP that never closed */
	FLOW_END_ACTIVE = 2,	/* interim export: active timeout */
	FLOW_END_DETECTED = 3,	/* TCP closed by FIN or reset */
	FLOW_END_FORCED = 4,	/* ended while no daemon listened: exported
				 * from the state file at start */
};

/* What one export of a connection is: traffic (its counters), or a NAT
 * session event (RFC 8158) of a translated connection. */
enum flow_kind {
	FLOW_KIND_TRAFFIC = 0,
	FLOW_KIND_NAT_CREATE,	/* at NEW; late: found by a dump, or sent
				 * just before the delete when NEW was lost */
	FLOW_KIND_NAT_DELETE,	/* at DESTROY */
};

/* TCP header flags as exported (tcpControlBits, the v5 tcp_flags byte). */
#define TCPF_FIN 0x01
#define TCPF_SYN 0x02
#define TCPF_RST 0x04
#define TCPF_ACK 0x10

/* One export of a connection, handed by the pipeline to every collector:
 * the whole connection at DESTROY, or its counter deltas since the last
 * export at an active timeout. Each protocol builds its records from it
 * (record_build_conn for v5, nfx_dirrec_build for v9 and IPFIX). */
struct flow_conn {
	const struct ct_event *ev;	/* tuples, family, proto, id */
	enum flow_end reason;
	enum flow_kind kind;
	bool late;			/* NAT create not at the NEW event */
	/* TCP flags derived from conntrack's state (record_tcp_flags): of
	 * the original direction and of the reply; 0 for other protocols. */
	uint8_t tcp_flags, rtcp_flags;
	uint64_t event_real_ms;		/* NAT event: when, Unix epoch ms */
	bool has_counters;		/* the deltas below are real */
	uint64_t orig_packets, orig_bytes;	/* deltas for this export */
	uint64_t reply_packets, reply_bytes;
	uint64_t start_boot_ns;		/* interval covered, boot clock */
	uint64_t end_boot_ns;
	uint64_t start_real_ms;		/* the same, Unix epoch ms */
	uint64_t end_real_ms;
	/* With `interfaces`: ifIndex where the original direction came in
	 * and went out (the reply travels the other way), and the next hop
	 * of each direction; network order, IPv4 in the first 4 bytes; all
	 * zero when unknown or off. */
	uint32_t in_if, out_if;
	uint8_t nexthop[16];		/* towards the post-NAT destination */
	uint8_t rnexthop[16];		/* the reply's, towards the initiator */
};

/* One NetFlow v5 flow record before encoding. Host byte order throughout;
 * first/last are milliseconds of system uptime (CLOCK_BOOTTIME) mod 2^32. */
struct flow_record {
	uint32_t src;
	uint32_t dst;
	uint32_t nexthop;
	uint16_t input;
	uint16_t output;
	uint32_t packets;
	uint32_t octets;
	uint32_t first;
	uint32_t last;
	uint16_t sport;
	uint16_t dport;
	uint8_t tcp_flags;
	uint8_t proto;
	uint8_t tos;
};

#endif
