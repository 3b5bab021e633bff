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

/* The daemon's own export flow: UDP from source to collector:port (ports
 * and addresses host order). */
struct record_self {
	uint32_t source;
	uint32_t collector;
	uint16_t port;
};

/* True if the event is the daemon's own export traffic and must not be
 * exported (SPEC §3). */
bool record_is_self(const struct ct_event *ev, const struct record_self *self);

#endif
