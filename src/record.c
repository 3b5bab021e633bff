/* Turns a conntrack DESTROY event into the v5 records of SPEC §3. */
#include "nfflowd/record.h"

#include <string.h>

#define PROTO_ICMP 1
#define PROTO_TCP 6
#define PROTO_UDP 17

uint32_t record_uptime_ms(uint64_t boot_ns)
{
	return (uint32_t)(boot_ns / 1000000u);
}

/* Works on differences only, so no step can wrap: a stamp after now maps to
 * now, one older than boot maps to 0. */
uint64_t record_real_to_boot(const struct time_pair *now, uint64_t real_ns)
{
	uint64_t ago;

	if (real_ns >= now->real_ns)
		return now->boot_ns;
	ago = now->real_ns - real_ns;
	if (ago >= now->boot_ns)
		return 0;
	return now->boot_ns - ago;
}

/* Narrows a 64-bit conntrack counter to the v5 field, saturating. */
static uint32_t saturate32(uint64_t v)
{
	return v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

/* Fills one record with addresses, ports, counters and times. */
static void fill(struct flow_record *r, uint32_t src, uint32_t dst,
		 uint16_t sport, uint16_t dport, uint32_t packets,
		 uint32_t octets, uint32_t first, uint32_t last, uint8_t proto)
{
	memset(r, 0, sizeof(*r));
	r->src = src;
	r->dst = dst;
	r->sport = sport;
	r->dport = dport;
	r->packets = packets;
	r->octets = octets;
	r->first = first;
	r->last = last;
	r->proto = proto;
}

/* True when the reply tuple, turned around, is not the original tuple, i.e.
 * NAT took place. For ICMP only addresses count: v5 carries no ICMP id, so
 * a changed id alone would give a record 2 identical to record 1. */
static bool translated(const struct ct_event *ev)
{
	const struct ct_tuple *o = &ev->orig, *r = &ev->reply;

	if (r->dst != o->src || r->src != o->dst)
		return true;
	if (ev->proto == PROTO_ICMP)
		return false;
	return r->dport != o->sport || r->sport != o->dport;
}

unsigned record_build(const struct ct_event *ev, uint64_t start_boot_ns,
		      const struct time_pair *now, bool untranslated,
		      struct flow_record out[RECORD_MAX_PER_EVENT])
{
	const struct ct_tuple *o = &ev->orig, *r = &ev->reply;
	uint64_t start, end;
	uint32_t first, last, opkts = 0, obytes = 0, rpkts = 0, rbytes = 0;
	uint16_t osport, odport, rsport, rdport;
	bool icmp = ev->proto == PROTO_ICMP;
	unsigned n = 0;

	if (ev->type != CT_EVENT_DESTROY)
		return 0;
	if (ev->proto != PROTO_TCP && ev->proto != PROTO_UDP && !icmp)
		return 0;

	start = ev->has_start ? record_real_to_boot(now, ev->start_ns)
			      : start_boot_ns;
	end = ev->has_stop ? record_real_to_boot(now, ev->stop_ns)
			   : now->boot_ns;
	if (end < start)
		end = start;
	first = record_uptime_ms(start);
	last = record_uptime_ms(end);

	if (ev->has_counters) {
		opkts = saturate32(ev->orig_packets);
		obytes = saturate32(ev->orig_bytes);
		rpkts = saturate32(ev->reply_packets);
		rbytes = saturate32(ev->reply_bytes);
	}

	if (icmp) {
		/* v5 convention: srcport 0, dstport type * 256 + code. */
		osport = 0;
		odport = o->dport;
		rsport = 0;
		rdport = r->dport;
	} else {
		osport = o->sport;
		odport = o->dport;
		rsport = r->sport;
		rdport = r->dport;
	}

	fill(&out[n++], o->src, o->dst, osport, odport, opkts, obytes,
	     first, last, ev->proto);
	if (untranslated || translated(ev))
		fill(&out[n++], r->dst, r->src, icmp ? 0 : rdport,
		     icmp ? odport : rsport, opkts, obytes, first, last,
		     ev->proto);
	if (!ev->has_counters || ev->reply_packets != 0)
		fill(&out[n++], r->src, r->dst, rsport, rdport, rpkts, rbytes,
		     first, last, ev->proto);
	return n;
}

bool record_is_self(const struct ct_event *ev, const struct record_self *self)
{
	return ev->proto == PROTO_UDP && ev->orig.src == self->source &&
	       ev->orig.dst == self->collector && ev->orig.dport == self->port;
}
