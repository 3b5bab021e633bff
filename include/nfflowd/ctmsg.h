/* One conntrack netlink message -> struct ct_event (pure: no sockets). */
#ifndef NFFLOWD_CTMSG_H
#define NFFLOWD_CTMSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nfflowd/types.h"

struct nlmsghdr;
struct nf_conntrack;

enum ctmsg_result {
	CTMSG_OK = 0,		/* *out holds an event of any protocol
				 * (ICMP only over IPv4, ICMPv6 over IPv6) */
	CTMSG_IGNORED,		/* well-formed, but not something we export */
	CTMSG_MALFORMED,	/* truncated, bad lengths, missing tuple/id */
};

/* Parses one netlink message of at most len bytes (a message from a
 * received buffer, nlmsg_len not yet trusted). scratch is a reused
 * nf_conntrack object (nfct_new() once), so nothing is allocated per call. */
enum ctmsg_result ctmsg_parse(const struct nlmsghdr *nlh, size_t len,
			      struct nf_conntrack *scratch,
			      struct ct_event *out);

/* The conntrack id (CTA_ID) of a NEW or DELETE message of at most len
 * bytes, found without parsing the rest: for a batch of received events,
 * so that the live table can fetch their entries ahead of the parse
 * (flowtab_prefetch). False when the message has none or is not one. The
 * full parse still decides; this only reads. */
bool ctmsg_peek_id(const struct nlmsghdr *nlh, size_t len, uint32_t *id);

/* True when a whole message starts at nlh within the rem bytes left of a
 * received buffer: mnl_nlmsg_ok() plus a guard against nlmsg_len >= 2^31,
 * which libmnl 1.0.4 compares as a negative int and accepts. Walk a buffer
 * with this and mnl_nlmsg_next(). */
bool ctmsg_walk_ok(const struct nlmsghdr *nlh, int rem);

#endif
