/* Turns a conntrack DESTROY event into the v5 records of SPEC §3. */
#include "nfflowd/record.h"

#include <string.h>
#include <sys/socket.h>

#define PROTO_ICMP 1
#define PROTO_TCP 6
#define PROTO_UDP 17
#define PROTO_ICMPV6 58

/* enum tcp_conntrack (linux/netfilter/nf_conntrack_tcp.h) and the status
 * bits of linux/netfilter/nf_conntrack_common.h that the flags rest on. */
enum {
	CT_TCP_SYN_SENT = 1,
	CT_TCP_SYN_RECV = 2,
	CT_TCP_ESTABLISHED = 3,
	CT_TCP_FIN_WAIT = 4,
	CT_TCP_CLOSE_WAIT = 5,
	CT_TCP_LAST_ACK = 6,
	CT_TCP_TIME_WAIT = 7,
	CT_TCP_CLOSE = 8,
};
#define IPS_SEEN_REPLY (1u << 1)
#define IPS_ASSURED (1u << 2)

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

uint64_t record_boot_to_real_ms(const struct time_pair *now, uint64_t boot_ns)
{
	uint64_t ago = boot_ns >= now->boot_ns ? 0 : now->boot_ns - boot_ns;

	if (ago > now->real_ns)
		return 0;
	return (now->real_ns - ago) / 1000000u;
}

enum flow_end record_end_reason(const struct ct_event *ev)
{
	if (ev->proto != PROTO_TCP)
		return FLOW_END_IDLE;
	switch (ev->tcp_state) {
	case CT_TCP_FIN_WAIT:
	case CT_TCP_CLOSE_WAIT:
	case CT_TCP_LAST_ACK:
	case CT_TCP_TIME_WAIT:
	case CT_TCP_CLOSE:
		return FLOW_END_DETECTED;
	default:
		return FLOW_END_IDLE;
	}
}

/* The state says what was seen, not who sent it; each bit is put where it
 * must have come from, or where the README says. */
void record_tcp_flags(const struct ct_event *ev, bool began_syn, bool first,
		      uint8_t *orig, uint8_t *reply)
{
	unsigned st = ev->tcp_state;
	bool assured = (ev->status & IPS_ASSURED) != 0;
	bool replied = (ev->status & IPS_SEEN_REPLY) != 0 ||
		       (ev->has_counters && ev->reply_packets > 0);
	bool past_handshake = st >= CT_TCP_ESTABLISHED && st <= CT_TCP_TIME_WAIT;
	/* a SYN answered by a reset: conntrack closes it, never assured */
	bool refused = st == CT_TCP_CLOSE && !assured && replied && began_syn;
	uint8_t o = 0, r = 0;

	*orig = *reply = 0;
	if (ev->proto != PROTO_TCP || st == 0)
		return;
	if (began_syn && first)
		o |= TCPF_SYN;
	/* an established entry was reached by the initiator's ACK, or picked
	 * up mid-stream from one (conntrack picks up only ACK segments) */
	if (assured || past_handshake)
		o |= TCPF_ACK;
	if (began_syn && first && replied &&
	    (assured || st == CT_TCP_SYN_RECV || past_handshake))
		r |= TCPF_SYN;	/* the SYN-ACK */
	/* an answer to a SYN carries ACK; so does every segment of an
	 * established connection, except a reset from a host that knew none */
	if (replied && (began_syn || assured || past_handshake))
		r |= TCPF_ACK;
	switch (st) {
	case CT_TCP_LAST_ACK:
	case CT_TCP_TIME_WAIT:
		o |= TCPF_FIN;	/* both sides closed */
		r |= replied ? TCPF_FIN : 0;
		break;
	case CT_TCP_FIN_WAIT:
	case CT_TCP_CLOSE_WAIT:
		o |= TCPF_FIN;	/* one side closed: which one is not kept */
		break;
	case CT_TCP_CLOSE:
		if (refused)
			r |= TCPF_RST;
		else
			o |= TCPF_RST;
		break;
	default:
		break;
	}
	*orig = o;
	*reply = r;
}

bool record_is_nat(const struct ct_event *ev)
{
	const struct ct_tuple *o = &ev->orig, *r = &ev->reply;

	if (ev->family == AF_INET6) {
		if (memcmp(ev->reply6.dst, ev->orig6.src, 16) != 0 ||
		    memcmp(ev->reply6.src, ev->orig6.dst, 16) != 0)
			return true;
	} else if (r->dst != o->src || r->src != o->dst) {
		return true;
	}
	if (ev->proto == PROTO_ICMP || ev->proto == PROTO_ICMPV6)
		return r->sport != o->sport;	/* the ICMP id */
	return r->dport != o->sport || r->sport != o->dport;
}

void record_conn_init(struct flow_conn *c, const struct ct_event *ev,
		      uint64_t start_boot_ns, const struct time_pair *now)
{
	memset(c, 0, sizeof(*c));
	c->ev = ev;
	c->reason = record_end_reason(ev);
	/* without its NEW (an unknown entry) a SYN shows only in the state */
	record_tcp_flags(ev, ev->tcp_state == CT_TCP_SYN_SENT ||
			 ev->tcp_state == CT_TCP_SYN_RECV, true, &c->tcp_flags,
			 &c->rtcp_flags);
	c->has_counters = ev->has_counters;
	if (ev->has_counters) {
		c->orig_packets = ev->orig_packets;
		c->orig_bytes = ev->orig_bytes;
		c->reply_packets = ev->reply_packets;
		c->reply_bytes = ev->reply_bytes;
	}
	c->start_boot_ns = ev->has_start ? record_real_to_boot(now, ev->start_ns)
					 : start_boot_ns;
	c->end_boot_ns = ev->has_stop ? record_real_to_boot(now, ev->stop_ns)
				      : now->boot_ns;
	if (c->end_boot_ns < c->start_boot_ns)
		c->end_boot_ns = c->start_boot_ns;
	c->start_real_ms = record_boot_to_real_ms(now, c->start_boot_ns);
	c->end_real_ms = record_boot_to_real_ms(now, c->end_boot_ns);
}

/* A next hop as a host-order IPv4 address. */
static uint32_t hop4(const uint8_t a[16])
{
	return (uint32_t)a[0] << 24 | (uint32_t)a[1] << 16 |
	       (uint32_t)a[2] << 8 | a[3];
}

unsigned record_build_conn(const struct flow_conn *c, bool untranslated,
			   struct flow_record out[RECORD_MAX_PER_EVENT])
{
	const struct ct_event *ev = c->ev;
	const struct ct_tuple *o = &ev->orig, *r = &ev->reply;
	uint32_t first, last, opkts = 0, obytes = 0, rpkts = 0, rbytes = 0;
	uint16_t osport, odport, rsport, rdport;
	bool icmp = ev->proto == PROTO_ICMP;
	unsigned n = 0, i;

	if (ev->family == AF_INET6)
		return 0;
	first = record_uptime_ms(c->start_boot_ns);
	last = record_uptime_ms(c->end_boot_ns);
	if (c->has_counters) {
		opkts = saturate32(c->orig_packets);
		obytes = saturate32(c->orig_bytes);
		rpkts = saturate32(c->reply_packets);
		rbytes = saturate32(c->reply_bytes);
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
	for (i = 0; i < n; i++) {
		out[i].input = (uint16_t)c->in_if;
		out[i].output = (uint16_t)c->out_if;
		out[i].nexthop = hop4(c->nexthop);
		out[i].tcp_flags = c->tcp_flags;
	}
	if (!c->has_counters || c->reply_packets != 0) {
		fill(&out[n], r->src, r->dst, rsport, rdport, rpkts, rbytes,
		     first, last, ev->proto);
		out[n].tcp_flags = c->rtcp_flags;
		out[n].input = (uint16_t)c->out_if;
		out[n].output = (uint16_t)c->in_if;
		out[n].nexthop = hop4(c->rnexthop);
		n++;
	}
	return n;
}

unsigned record_build(const struct ct_event *ev, uint64_t start_boot_ns,
		      const struct time_pair *now, bool untranslated,
		      struct flow_record out[RECORD_MAX_PER_EVENT])
{
	struct flow_conn c;

	if (ev->type != CT_EVENT_DESTROY)
		return 0;
	record_conn_init(&c, ev, start_boot_ns, now);
	return record_build_conn(&c, untranslated, out);
}

bool record_is_self(const struct ct_event *ev, const struct record_self *self)
{
	uint8_t family = ev->family == AF_INET6 ? AF_INET6 : AF_INET;

	if (ev->proto != PROTO_UDP || ev->orig.dport != self->port ||
	    family != self->family)
		return false;
	if (ev->family == AF_INET6)
		return memcmp(ev->orig6.src, self->source6, 16) == 0 &&
		       memcmp(ev->orig6.dst, self->collector6, 16) == 0;
	return ev->orig.src == self->source && ev->orig.dst == self->collector;
}
