/* One ctnetlink message (conntrack event or dump entry) -> struct ct_event.
 *
 * The message is validated and decoded in a single pass by a small
 * attribute walk of our own; libnetfilter_conntrack's nfct_nlmsg_parse() is
 * not used, and the scratch object of the interface is accepted but left
 * untouched. The reasons, all about hostile or merely unusual input:
 *  - nfct_nlmsg_parse() allocates for CTA_SECCTX (strdup), CTA_HELP info and
 *    CTA_LABELS and, on a reused object, overwrites the previous pointers
 *    without freeing them; nfct_copy(NFCT_CP_OVERRIDE) from a template does
 *    the same. On a box with secmark or connlabels that is one leak per
 *    event, and the only leak-free reset is nfct_destroy()+nfct_new().
 *  - it strdup()s the CTA_SECCTX name after a check that does not ensure the
 *    string is NUL terminated, so a short unterminated name reads past the
 *    attribute.
 *  - it derives the attribute length as nlmsg_len - sizeof(struct nfgenmsg)
 *    without checking that the header fits.
 * Since every attribute we need had to be validated here anyway, decoding it
 * in the same pass costs fewer lines than validating and then decoding
 * twice, allocates nothing, and reads each value exactly once. Attributes we
 * do not use are skipped without being interpreted.
 *
 * libmnl's walkers did the same job at about 40% of the daemon's user-space
 * instructions per event (a callback and an out-of-line validity check per
 * attribute); the walk below is inlined and checks each header once. An
 * attribute whose nla_len is below the header size or runs past its nest is
 * MALFORMED (libmnl silently ended the walk there, which then usually failed
 * on a missing attribute); 1 to 3 bytes left after the last attribute of a
 * nest end the walk, as with libmnl. */
#include "nfflowd/ctmsg.h"

#include <endian.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <linux/netlink.h>

/* Payload pointers (into the message) of one tuple's attributes, by type;
 * each one's length is already checked. */
struct tuple_attrs {
	const uint8_t *ip[CTA_IP_MAX + 1];
	const uint8_t *proto[CTA_PROTO_MAX + 1];
};

/* Payload pointers of one CTA_COUNTERS_* nest. */
struct counter_attrs {
	const uint8_t *a[CTA_COUNTERS_MAX + 1];
};

/* Everything the walk collects. */
struct msg_attrs {
	const uint8_t *id, *status, *zone;
	const uint8_t *tcp[CTA_PROTOINFO_TCP_MAX + 1];
	const uint8_t *ts[CTA_TIMESTAMP_MAX + 1];
	bool has_orig, has_reply;
	struct tuple_attrs orig, reply;
	struct counter_attrs corig, creply;
};

/* A cursor over the attributes of one nest (or of the message). */
struct cursor {
	const uint8_t *p;
	size_t rem;
};

/* One attribute as the walk hands it out. */
struct attr {
	uint16_t type;		/* NLA_F_NESTED and NLA_F_NET_BYTEORDER masked */
	uint16_t len;		/* payload bytes */
	const uint8_t *data;
};

/* Outcome of taking one attribute off a cursor. */
enum step {
	STEP_END,
	STEP_ATTR,
	STEP_BAD,
};

/* Takes the next attribute off c: its header is read with memcpy (the walk
 * is only 4-byte aligned and a fuzzed buffer may be less), nla_len must
 * cover the header and fit in what is left, and the cursor moves by the
 * aligned length, or to the end when the last attribute lacks its padding. */
static inline enum step next_attr(struct cursor *c, struct attr *a)
{
	struct nlattr h;
	size_t step;

	if (c->rem < NLA_HDRLEN)
		return STEP_END;
	memcpy(&h, c->p, sizeof(h));
	if (h.nla_len < NLA_HDRLEN || h.nla_len > c->rem)
		return STEP_BAD;
	a->type = h.nla_type & NLA_TYPE_MASK;
	a->len = (uint16_t)(h.nla_len - NLA_HDRLEN);
	a->data = c->p + NLA_HDRLEN;
	step = NLA_ALIGN(h.nla_len);
	if (step > c->rem)
		step = c->rem;
	c->p += step;
	c->rem -= step;
	return STEP_ATTR;
}

/* Opens a cursor on a nest's payload; false when the payload is neither
 * empty nor big enough for one attribute header. */
static inline bool open_nest(const struct attr *a, struct cursor *c)
{
	c->p = a->data;
	c->rem = a->len;
	return a->len == 0 || a->len >= NLA_HDRLEN;
}

/* Reads a big-endian u16 payload (length already checked). */
static uint16_t get_be16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return be16toh(v);
}

/* Reads a big-endian u32 payload (length already checked). */
static uint32_t get_be32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return be32toh(v);
}

/* Reads a big-endian u64 payload (length already checked). Payloads are only
 * 4-byte aligned, hence memcpy rather than a cast. */
static uint64_t get_be64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return be64toh(v);
}

/* Payload sizes of the leaf attributes we use, by nest; 0: not used
 * (skipped uninterpreted). */
static const uint8_t ip_sizes[CTA_IP_MAX + 1] = {
	[CTA_IP_V4_SRC] = 4, [CTA_IP_V4_DST] = 4,
	[CTA_IP_V6_SRC] = 16, [CTA_IP_V6_DST] = 16,
};
static const uint8_t proto_sizes[CTA_PROTO_MAX + 1] = {
	[CTA_PROTO_NUM] = 1,
	[CTA_PROTO_SRC_PORT] = 2, [CTA_PROTO_DST_PORT] = 2,
	[CTA_PROTO_ICMP_ID] = 2, [CTA_PROTO_ICMP_TYPE] = 1,
	[CTA_PROTO_ICMP_CODE] = 1,
	[CTA_PROTO_ICMPV6_ID] = 2, [CTA_PROTO_ICMPV6_TYPE] = 1,
	[CTA_PROTO_ICMPV6_CODE] = 1,
};
/* 64-bit counters, or the 32-bit ones that kernels before 2.6.27 sent. */
static const uint8_t counter_sizes[CTA_COUNTERS_MAX + 1] = {
	[CTA_COUNTERS_PACKETS] = 8, [CTA_COUNTERS_BYTES] = 8,
	[CTA_COUNTERS32_PACKETS] = 4, [CTA_COUNTERS32_BYTES] = 4,
};
static const uint8_t timestamp_sizes[CTA_TIMESTAMP_MAX + 1] = {
	[CTA_TIMESTAMP_START] = 8, [CTA_TIMESTAMP_STOP] = 8,
};
static const uint8_t tcpinfo_sizes[CTA_PROTOINFO_TCP_MAX + 1] = {
	[CTA_PROTOINFO_TCP_STATE] = 1,
};

/* Collects the leaf attributes of a nest into tb (max the highest type):
 * those sizes[] lists must have exactly that size; the rest are skipped. */
static bool walk_leaves(const struct attr *nest, const uint8_t *sizes,
			unsigned max, const uint8_t **tb)
{
	struct cursor c;
	struct attr a;
	enum step st;

	if (!open_nest(nest, &c))
		return false;
	while ((st = next_attr(&c, &a)) == STEP_ATTR) {
		if (a.type > max || sizes[a.type] == 0)
			continue;
		if (a.len != sizes[a.type])
			return false;
		tb[a.type] = a.data;
	}
	return st == STEP_END;
}

/* Walks a CTA_TUPLE_* nest: CTA_TUPLE_IP and CTA_TUPLE_PROTO. */
static bool walk_tuple(const struct attr *nest, struct tuple_attrs *t)
{
	struct cursor c;
	struct attr a;
	enum step st;

	if (!open_nest(nest, &c))
		return false;
	while ((st = next_attr(&c, &a)) == STEP_ATTR) {
		if (a.type == CTA_TUPLE_IP) {
			if (!walk_leaves(&a, ip_sizes, CTA_IP_MAX, t->ip))
				return false;
		} else if (a.type == CTA_TUPLE_PROTO) {
			if (!walk_leaves(&a, proto_sizes, CTA_PROTO_MAX, t->proto))
				return false;
		}
	}
	return st == STEP_END;
}

/* Walks CTA_PROTOINFO, descending into CTA_PROTOINFO_TCP only. */
static bool walk_protoinfo(const struct attr *nest, struct msg_attrs *m)
{
	struct cursor c;
	struct attr a;
	enum step st;

	if (!open_nest(nest, &c))
		return false;
	while ((st = next_attr(&c, &a)) == STEP_ATTR) {
		if (a.type == CTA_PROTOINFO_TCP &&
		    !walk_leaves(&a, tcpinfo_sizes, CTA_PROTOINFO_TCP_MAX, m->tcp))
			return false;
	}
	return st == STEP_END;
}

/* Walks the top-level attributes, descending into the nests we use. A
 * duplicated attribute is walked again and its values win. */
static bool walk_top(const uint8_t *p, size_t len, struct msg_attrs *m)
{
	struct cursor c = { p, len };
	struct attr a;
	enum step st;
	bool ok;

	while ((st = next_attr(&c, &a)) == STEP_ATTR) {
		switch (a.type) {
		case CTA_ID:
		case CTA_STATUS:
			if (a.len != sizeof(uint32_t))
				return false;
			if (a.type == CTA_ID)
				m->id = a.data;
			else
				m->status = a.data;
			ok = true;
			break;
		case CTA_ZONE:
			if (a.len != sizeof(uint16_t))
				return false;
			m->zone = a.data;
			ok = true;
			break;
		case CTA_TUPLE_ORIG:
			ok = walk_tuple(&a, &m->orig);
			m->has_orig = true;
			break;
		case CTA_TUPLE_REPLY:
			ok = walk_tuple(&a, &m->reply);
			m->has_reply = true;
			break;
		case CTA_COUNTERS_ORIG:
			ok = walk_leaves(&a, counter_sizes, CTA_COUNTERS_MAX,
					 m->corig.a);
			break;
		case CTA_COUNTERS_REPLY:
			ok = walk_leaves(&a, counter_sizes, CTA_COUNTERS_MAX,
					 m->creply.a);
			break;
		case CTA_TIMESTAMP:
			ok = walk_leaves(&a, timestamp_sizes, CTA_TIMESTAMP_MAX,
					 m->ts);
			break;
		case CTA_PROTOINFO:
			ok = walk_protoinfo(&a, m);
			break;
		default:
			ok = true;	/* not used, not interpreted */
			break;
		}
		if (!ok)
			return false;
	}
	return st == STEP_END;
}

/* Fills the addresses of one direction for the message's family (v4 into
 * t, v6 into a6); false when either is missing. */
static bool decode_addrs(const struct tuple_attrs *a, uint8_t family,
			 struct ct_tuple *t, struct ct_addr6 *a6)
{
	if (family == AF_INET6) {
		if (!a->ip[CTA_IP_V6_SRC] || !a->ip[CTA_IP_V6_DST])
			return false;
		memcpy(a6->src, a->ip[CTA_IP_V6_SRC], 16);
		memcpy(a6->dst, a->ip[CTA_IP_V6_DST], 16);
		return true;
	}
	if (!a->ip[CTA_IP_V4_SRC] || !a->ip[CTA_IP_V4_DST])
		return false;
	t->src = get_be32(a->ip[CTA_IP_V4_SRC]);
	t->dst = get_be32(a->ip[CTA_IP_V4_DST]);
	return true;
}

/* True for the protocols whose conntrack tuple always carries ports
 * (CTA_PROTO_SRC_PORT and _DST_PORT): the kernel's tracker for each puts
 * them into every message, so one without them is malformed. */
static bool port_based(uint8_t proto)
{
	switch (proto) {
	case IPPROTO_TCP:
	case IPPROTO_UDP:
	case IPPROTO_UDPLITE:
	case IPPROTO_SCTP:
	case IPPROTO_DCCP:
		return true;
	default:
		return false;
	}
}

/* Fills the ports (or ICMP/ICMPv6 id and type/code) of t; false when a
 * protocol that must have them lacks them. GRE's tracker sends its keys
 * as the two ports (PPTP's call ids; 0 for GRE other than version 1); the
 * generic tracker (ESP, AH, OSPF, ...) sends none. Whatever such a
 * protocol has is taken, the rest is 0. */
static bool decode_ports(const struct tuple_attrs *a, uint8_t proto,
			 struct ct_tuple *t)
{
	const uint8_t *const *p = a->proto;

	if (proto == IPPROTO_ICMP) {
		if (!p[CTA_PROTO_ICMP_ID] || !p[CTA_PROTO_ICMP_TYPE] ||
		    !p[CTA_PROTO_ICMP_CODE])
			return false;
		t->sport = get_be16(p[CTA_PROTO_ICMP_ID]);
		t->dport = (uint16_t)(p[CTA_PROTO_ICMP_TYPE][0] << 8 |
				      p[CTA_PROTO_ICMP_CODE][0]);
		return true;
	}
	if (proto == IPPROTO_ICMPV6) {
		if (!p[CTA_PROTO_ICMPV6_ID] || !p[CTA_PROTO_ICMPV6_TYPE] ||
		    !p[CTA_PROTO_ICMPV6_CODE])
			return false;
		t->sport = get_be16(p[CTA_PROTO_ICMPV6_ID]);
		t->dport = (uint16_t)(p[CTA_PROTO_ICMPV6_TYPE][0] << 8 |
				      p[CTA_PROTO_ICMPV6_CODE][0]);
		return true;
	}
	if ((!p[CTA_PROTO_SRC_PORT] || !p[CTA_PROTO_DST_PORT]) &&
	    port_based(proto))
		return false;
	t->sport = p[CTA_PROTO_SRC_PORT] ? get_be16(p[CTA_PROTO_SRC_PORT]) : 0;
	t->dport = p[CTA_PROTO_DST_PORT] ? get_be16(p[CTA_PROTO_DST_PORT]) : 0;
	return true;
}

/* Reads one direction's packets and bytes; false unless both are there. */
static bool decode_counters(const struct counter_attrs *c, uint64_t *packets,
			    uint64_t *bytes)
{
	const uint8_t *const *a = c->a;

	if (a[CTA_COUNTERS_PACKETS])
		*packets = get_be64(a[CTA_COUNTERS_PACKETS]);
	else if (a[CTA_COUNTERS32_PACKETS])
		*packets = get_be32(a[CTA_COUNTERS32_PACKETS]);
	else
		return false;
	if (a[CTA_COUNTERS_BYTES])
		*bytes = get_be64(a[CTA_COUNTERS_BYTES]);
	else if (a[CTA_COUNTERS32_BYTES])
		*bytes = get_be32(a[CTA_COUNTERS32_BYTES]);
	else
		return false;
	return true;
}

/* Turns the collected attributes into ev; returns the parse verdict. */
static enum ctmsg_result decode(const struct msg_attrs *m, struct ct_event *ev)
{
	const uint8_t *onum, *rnum;
	uint64_t op = 0, ob = 0, rp = 0, rb = 0;

	if (!m->has_orig || !m->has_reply || !m->id)
		return CTMSG_MALFORMED;
	if (!decode_addrs(&m->orig, ev->family, &ev->orig, &ev->orig6) ||
	    !decode_addrs(&m->reply, ev->family, &ev->reply, &ev->reply6))
		return CTMSG_MALFORMED;
	onum = m->orig.proto[CTA_PROTO_NUM];
	rnum = m->reply.proto[CTA_PROTO_NUM];
	if (!onum || !rnum || *onum != *rnum)
		return CTMSG_MALFORMED;
	ev->proto = *onum;
	/* Every protocol conntrack tracks is exported, except ICMP in an IPv6
	 * entry and ICMPv6 in an IPv4 one: the kernel picks the ICMP tracker
	 * by the protocol number alone, but a collector reads the type and
	 * code of such a record as those of the family's own ICMP, so they
	 * would be misread. */
	if (ev->proto == (ev->family == AF_INET6 ? IPPROTO_ICMP : IPPROTO_ICMPV6))
		return CTMSG_IGNORED;
	if (!decode_ports(&m->orig, ev->proto, &ev->orig) ||
	    !decode_ports(&m->reply, ev->proto, &ev->reply))
		return CTMSG_MALFORMED;

	ev->id = get_be32(m->id);
	if (m->status)
		ev->status = get_be32(m->status);
	if (m->zone)
		ev->zone = get_be16(m->zone);
	if (ev->proto == IPPROTO_TCP && m->tcp[CTA_PROTOINFO_TCP_STATE])
		ev->tcp_state = *m->tcp[CTA_PROTOINFO_TCP_STATE];
	if (decode_counters(&m->corig, &op, &ob) &&
	    decode_counters(&m->creply, &rp, &rb)) {
		ev->has_counters = true;
		ev->orig_packets = op;
		ev->orig_bytes = ob;
		ev->reply_packets = rp;
		ev->reply_bytes = rb;
	}
	if (m->ts[CTA_TIMESTAMP_START]) {
		ev->has_start = true;
		ev->start_ns = get_be64(m->ts[CTA_TIMESTAMP_START]);
	}
	if (m->ts[CTA_TIMESTAMP_STOP]) {
		ev->has_stop = true;
		ev->stop_ns = get_be64(m->ts[CTA_TIMESTAMP_STOP]);
	}
	return CTMSG_OK;
}

/* Parses one ctnetlink message; *out is written only on CTMSG_OK. */
/* The checks of a message's headers both the parse and the peek make:
 * within len, a conntrack NEW or DELETE (*msg), room for the nfgenmsg. */
static enum ctmsg_result check_header(const struct nlmsghdr *nlh, size_t len,
				      uint16_t *msg)
{
	if (nlh == NULL || len < sizeof(*nlh))
		return CTMSG_MALFORMED;
	if (nlh->nlmsg_len < sizeof(*nlh) || nlh->nlmsg_len > len)
		return CTMSG_MALFORMED;
	if (NFNL_SUBSYS_ID(nlh->nlmsg_type) != NFNL_SUBSYS_CTNETLINK)
		return CTMSG_IGNORED;
	*msg = NFNL_MSG_TYPE(nlh->nlmsg_type);
	if (*msg != IPCTNL_MSG_CT_NEW && *msg != IPCTNL_MSG_CT_DELETE)
		return CTMSG_IGNORED;
	if (nlh->nlmsg_len < NLMSG_HDRLEN + sizeof(struct nfgenmsg))
		return CTMSG_MALFORMED;
	return CTMSG_OK;
}

enum ctmsg_result ctmsg_parse(const struct nlmsghdr *nlh, size_t len,
			      struct nf_conntrack *scratch,
			      struct ct_event *out)
{
	const size_t attr_off = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(struct nfgenmsg));
	const struct nfgenmsg *nfg;
	struct msg_attrs m;
	struct ct_event ev;
	uint16_t msg;
	enum ctmsg_result r;

	(void)scratch;	/* see the comment at the top of this file */
	r = check_header(nlh, len, &msg);
	if (r != CTMSG_OK)
		return r;
	nfg = (const struct nfgenmsg *)((const char *)nlh + NLMSG_HDRLEN);
	if (nfg->nfgen_family != AF_INET && nfg->nfgen_family != AF_INET6)
		return CTMSG_IGNORED;

	/* The walk is bounded by nlmsg_len itself, not its aligned value,
	 * which may be up to 3 bytes past what we were given. */
	memset(&m, 0, sizeof(m));
	if (nlh->nlmsg_len > attr_off &&
	    !walk_top((const uint8_t *)nlh + attr_off,
		      nlh->nlmsg_len - attr_off, &m))
		return CTMSG_MALFORMED;

	memset(&ev, 0, sizeof(ev));
	ev.family = nfg->nfgen_family;
	ev.requester = nlh->nlmsg_pid;
	if (msg == IPCTNL_MSG_CT_DELETE)
		ev.type = CT_EVENT_DESTROY;
	else if (nlh->nlmsg_flags & NLM_F_CREATE)
		ev.type = CT_EVENT_NEW;
	else
		ev.type = CT_EVENT_UPDATE;
	r = decode(&m, &ev);
	if (r == CTMSG_OK)
		*out = ev;
	return r;
}

/* The header checks of ctmsg_parse and a walk over the top-level
 * attributes, none of them opened. */
bool ctmsg_peek_id(const struct nlmsghdr *nlh, size_t len, uint32_t *id)
{
	const size_t attr_off = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(struct nfgenmsg));
	struct cursor c;
	struct attr a;
	uint16_t msg;
	bool found = false;

	if (check_header(nlh, len, &msg) != CTMSG_OK ||
	    nlh->nlmsg_len <= attr_off)
		return false;
	c.p = (const uint8_t *)nlh + attr_off;
	c.rem = nlh->nlmsg_len - attr_off;
	/* the last one, as the parse takes it */
	while (next_attr(&c, &a) == STEP_ATTR)
		if (a.type == CTA_ID && a.len == sizeof(uint32_t)) {
			*id = get_be32(a.data);
			found = true;
		}
	return found;
}

/* Checks that a whole message starts at nlh; see ctmsg.h for the guard. */
bool ctmsg_walk_ok(const struct nlmsghdr *nlh, int rem)
{
	return rem >= (int)sizeof(*nlh) && nlh->nlmsg_len >= sizeof(*nlh) &&
	       nlh->nlmsg_len <= (uint32_t)rem;
}
