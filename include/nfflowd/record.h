/* Conntrack DESTROY event -> the two or three v5 records of SPEC §3 (pure). */
#ifndef NFFLOWD_RECORD_H
#define NFFLOWD_RECORD_H

#include <stdbool.h>
#include <stdint.h>

#include "nfflowd/types.h"

#define RECORD_MAX_PER_EVENT 3

/* Uptime in ms, mod 2^32, of a boot-clock instant. */
uint32_t record_uptime_ms(uint64_t boot_ns);

/* Converts a CLOCK_REALTIME instant (a kernel timestamp) to the boot clock
 * using a pair read at one instant; clamped to [0, now->boot_ns] so no event
 * predates boot or lies in the future. */
uint64_t record_real_to_boot(const struct time_pair *now, uint64_t real_ns);

/* Why conntrack ended the connection (IPFIX flowEndReason): 3 (end of
 * flow detected) for TCP closed by FIN or reset, else 1 (idle timeout). */
enum flow_end record_end_reason(const struct ct_event *ev);

/* TCP flags of one export of a connection, derived from conntrack's TCP
 * state and status bits in ev (conntrack reports no header flags): for
 * the original direction and the reply. began_syn: the connection began
 * with a SYN (its NEW showed SYN_SENT), not picked up mid-stream; first:
 * no export of it came before (the SYN shows only in the first). Every
 * bit is one some packet of the connection carried; SYN and ACK only in
 * the direction that sent them. 0 for other protocols. */
void record_tcp_flags(const struct ct_event *ev, bool began_syn, bool first,
		      uint8_t *orig, uint8_t *reply);

/* True when NAT changed the connection: addresses, ports, or the ICMP id
 * (what NAT session events are sent for). */
bool record_is_nat(const struct ct_event *ev);

/* Fills c with the whole connection ended by a DESTROY event: its
 * counters, its end reason (record_end_reason), TCP flags as for a
 * connection seen only now, and its interval (start from the
 * kernel's stamp, else start_boot_ns; end from the kernel's stop stamp,
 * else now; never before the start) on both clocks. Interfaces and next
 * hops are zero. */
void record_conn_init(struct flow_conn *c, const struct ct_event *ev,
		      uint64_t start_boot_ns, const struct time_pair *now);

/* Unix epoch ms of a boot-clock instant, by the pair read at now. */
uint64_t record_boot_to_real_ms(const struct time_pair *now, uint64_t boot_ns);

/* Builds the v5 records (SPEC §3) of one export of a connection: the
 * triplet rule applied to its counters (deltas for an interim export),
 * FIRST/LAST from its interval. Records 1 and 2 carry in_if, out_if and
 * nexthop and the original direction's TCP flags, record 3 the reply's.
 * Any IPv4 protocol (ports 0 where it has none). Returns 0 for IPv6 (v5
 * cannot carry it). */
unsigned record_build_conn(const struct flow_conn *c, bool untranslated,
			   struct flow_record out[RECORD_MAX_PER_EVENT]);

/* Builds the records for a DESTROY event.
 *   start_boot_ns: the entry's start on the boot clock when the kernel gave
 *                  no start timestamp (NEW event or first sight), else any;
 *   now:           when the DESTROY was received (end when no stop stamp);
 *   untranslated:  emit record 2 even when no NAT took place.
 * Returns the number of records written to out: 0 for a non-exportable
 * event, else 1 to RECORD_MAX_PER_EVENT (1 for an unanswered flow without
 * NAT). Counters above 2^32-1 saturate. */
unsigned record_build(const struct ct_event *ev, uint64_t start_boot_ns,
		      const struct time_pair *now, bool untranslated,
		      struct flow_record out[RECORD_MAX_PER_EVENT]);

/* The daemon's own export flow: UDP from source to collector:port (port
 * and IPv4 addresses host order, IPv6 addresses network order). */
struct record_self {
	uint8_t family;		/* AF_INET or AF_INET6 */
	uint16_t port;
	uint32_t source;
	uint32_t collector;
	uint8_t source6[16];
	uint8_t collector6[16];
};

/* True if the event is the daemon's own export traffic and must not be
 * exported (SPEC §3). */
bool record_is_self(const struct ct_event *ev, const struct record_self *self);

#endif
