/* Plain data shared by the pure modules: conntrack events, flow records,
 * and the pair of clock readings that every time conversion takes. */
#ifndef NFFLOWD_TYPES_H
#define NFFLOWD_TYPES_H

#include <stdbool.h>
#include <stdint.h>

/* One direction of a conntrack entry. Addresses and ports in host byte
 * order. For ICMP, sport is the ICMP id and dport is type << 8 | code. */
struct ct_tuple {
	uint32_t src;
	uint32_t dst;
	uint16_t sport;
	uint16_t dport;
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
	uint8_t proto;		/* IPPROTO_TCP, IPPROTO_UDP or IPPROTO_ICMP */
	uint8_t tcp_state;	/* enum tcp_conntrack, 0 when absent */
	bool has_counters;	/* CTA_COUNTERS_ORIG and _REPLY both present */
	bool has_start;		/* CTA_TIMESTAMP_START present */
	bool has_stop;		/* CTA_TIMESTAMP_STOP present */
	uint32_t status;	/* IPS_* bits, 0 when absent */
	struct ct_tuple orig;
	struct ct_tuple reply;
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
