/* Benchmark helper: deterministic synthetic connections and the ctnetlink
 * event messages the kernel would send for them (NEW and DESTROY). */
#ifndef NFFLOWD_BENCH_CTGEN_H
#define NFFLOWD_BENCH_CTGEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nfflowd/types.h"

/* Room one message needs at most; a buffer must offer this much. */
#define CTGEN_MSG_MAX 512

/* One synthetic connection: everything its two events carry. */
struct ctgen_conn {
	uint32_t id;
	uint8_t proto;		/* IPPROTO_TCP, _UDP or _ICMP */
	bool nat;		/* masqueraded to 203.0.113.1 */
	bool answered;		/* the reply direction carried packets */
	struct ct_tuple orig, reply;
	uint64_t orig_packets, orig_bytes, reply_packets, reply_bytes;
	uint64_t start_ns, stop_ns;	/* CLOCK_REALTIME */
};

/* Spreads x over 32 bits (a bijection), so that a mix does not follow
 * its low bits. */
uint32_t ctgen_hash32(uint32_t x);

/* Fills c with connection number i (the same i always gives the same
 * connection): 70% TCP, 25% UDP, 5% ICMP echo; 90% masqueraded; a fifth
 * of the UDP flows unanswered. Times are relative to base_real_ns. */
void ctgen_conn(uint32_t i, uint64_t base_real_ns, struct ctgen_conn *c);

/* Writes the NEW (destroy false) or DESTROY event of c at buf, which must
 * have CTGEN_MSG_MAX bytes; returns the aligned length written. The layout
 * follows the kernel's ctnetlink event: tuples, status, then timeout and
 * TCP protoinfo for NEW, counters and timestamps for DESTROY, then id. */
size_t ctgen_msg(void *buf, const struct ctgen_conn *c, bool destroy);

#endif
