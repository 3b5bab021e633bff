/* One ctnetlink message (conntrack event or dump entry) -> struct ct_event.
 *
 * The message is validated and decoded in a single pass with libmnl's
 * attribute walkers; libnetfilter_conntrack's nfct_nlmsg_parse() is not used,
 * and the scratch object of the interface is accepted but left untouched.
 * The reasons, all about hostile or merely unusual input:
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
 * do not use are skipped without being interpreted. */
#include "nfflowd/ctmsg.h"

#include <endian.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>

/* Attributes of one tuple (CTA_TUPLE_ORIG or CTA_TUPLE_REPLY). */
struct tuple_attrs {
	const struct nlattr *ip[CTA_IP_MAX + 1];
	const struct nlattr *proto[CTA_PROTO_MAX + 1];
};

/* Attributes of one CTA_COUNTERS_* nest. */
struct counter_attrs {
	const struct nlattr *a[CTA_COUNTERS_MAX + 1];
};

/* Everything the top-level walk collects; pointers into the message. */
struct msg_attrs {
	const struct nlattr *top[CTA_MAX + 1];
	const struct nlattr *ts[CTA_TIMESTAMP_MAX + 1];
	const struct nlattr *pinfo[CTA_PROTOINFO_MAX + 1];
	const struct nlattr *tcp[CTA_PROTOINFO_TCP_MAX + 1];
	struct tuple_attrs orig, reply;
	struct counter_attrs corig, creply;
};

/* Returns true when attr carries exactly len payload bytes. */
static bool payload_is(const struct nlattr *attr, size_t len)
{
	return mnl_attr_get_payload_len(attr) == len;
}

/* Reads a big-endian u16 payload (length already checked). */
static uint16_t get_be16(const struct nlattr *attr)
{
	uint16_t v;

	memcpy(&v, mnl_attr_get_payload(attr), sizeof(v));
	return be16toh(v);
}

/* Reads a big-endian u32 payload (length already checked). */
static uint32_t get_be32(const struct nlattr *attr)
{
	uint32_t v;

	memcpy(&v, mnl_attr_get_payload(attr), sizeof(v));
	return be32toh(v);
}

/* Reads a big-endian u64 payload (length already checked). Payloads are only
 * 4-byte aligned, hence memcpy rather than a cast. */
static uint64_t get_be64(const struct nlattr *attr)
{
	uint64_t v;

	memcpy(&v, mnl_attr_get_payload(attr), sizeof(v));
	return be64toh(v);
}

/* Reads a u8 payload (length already checked). */
static uint8_t get_u8(const struct nlattr *attr)
{
	return *(const uint8_t *)mnl_attr_get_payload(attr);
}

/* Checks that attr is a well-formed nest: empty or at least one header. */
static bool nest_ok(const struct nlattr *attr)
{
	return mnl_attr_validate(attr, MNL_TYPE_NESTED) == 0;
}

/* Collects CTA_IP_* of a CTA_TUPLE_IP nest, checking address sizes. */
static int ip_cb(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;
	uint16_t type = mnl_attr_get_type(attr);

	if (type > CTA_IP_MAX)
		return MNL_CB_OK;
	if ((type == CTA_IP_V4_SRC || type == CTA_IP_V4_DST) &&
	    !payload_is(attr, sizeof(uint32_t)))
		return MNL_CB_ERROR;
	if ((type == CTA_IP_V6_SRC || type == CTA_IP_V6_DST) &&
	    !payload_is(attr, 16))
		return MNL_CB_ERROR;
	tb[type] = attr;
	return MNL_CB_OK;
}

/* Collects CTA_PROTO_* of a CTA_TUPLE_PROTO nest, checking sizes. */
static int proto_cb(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;
	uint16_t type = mnl_attr_get_type(attr);

	if (type > CTA_PROTO_MAX)
		return MNL_CB_OK;
	switch (type) {
	case CTA_PROTO_NUM:
	case CTA_PROTO_ICMP_TYPE:
	case CTA_PROTO_ICMP_CODE:
	case CTA_PROTO_ICMPV6_TYPE:
	case CTA_PROTO_ICMPV6_CODE:
		if (!payload_is(attr, sizeof(uint8_t)))
			return MNL_CB_ERROR;
		break;
	case CTA_PROTO_SRC_PORT:
	case CTA_PROTO_DST_PORT:
	case CTA_PROTO_ICMP_ID:
	case CTA_PROTO_ICMPV6_ID:
		if (!payload_is(attr, sizeof(uint16_t)))
			return MNL_CB_ERROR;
		break;
	default:
		break;
	}
	tb[type] = attr;
	return MNL_CB_OK;
}

/* Collects CTA_TUPLE_IP and CTA_TUPLE_PROTO and walks both nests. */
static int tuple_cb(const struct nlattr *attr, void *data)
{
	struct tuple_attrs *t = data;
	uint16_t type = mnl_attr_get_type(attr);

	if (type == CTA_TUPLE_IP) {
		if (!nest_ok(attr) ||
		    mnl_attr_parse_nested(attr, ip_cb, t->ip) < 0)
			return MNL_CB_ERROR;
	} else if (type == CTA_TUPLE_PROTO) {
		if (!nest_ok(attr) ||
		    mnl_attr_parse_nested(attr, proto_cb, t->proto) < 0)
			return MNL_CB_ERROR;
	}
	return MNL_CB_OK;
}

/* Collects a CTA_COUNTERS_* nest: 64-bit counters, or the 32-bit ones that
 * kernels before 2.6.27 sent. */
static int counters_cb(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;
	uint16_t type = mnl_attr_get_type(attr);

	switch (type) {
	case CTA_COUNTERS_PACKETS:
	case CTA_COUNTERS_BYTES:
		if (!payload_is(attr, sizeof(uint64_t)))
			return MNL_CB_ERROR;
		break;
	case CTA_COUNTERS32_PACKETS:
	case CTA_COUNTERS32_BYTES:
		if (!payload_is(attr, sizeof(uint32_t)))
			return MNL_CB_ERROR;
		break;
	default:
		return MNL_CB_OK;	/* CTA_COUNTERS_PAD and newer */
	}
	tb[type] = attr;
	return MNL_CB_OK;
}

/* Collects CTA_TIMESTAMP_START/STOP. */
static int timestamp_cb(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;
	uint16_t type = mnl_attr_get_type(attr);

	if (type != CTA_TIMESTAMP_START && type != CTA_TIMESTAMP_STOP)
		return MNL_CB_OK;
	if (!payload_is(attr, sizeof(uint64_t)))
		return MNL_CB_ERROR;
	tb[type] = attr;
	return MNL_CB_OK;
}

/* Collects CTA_PROTOINFO_TCP_STATE. */
static int tcpinfo_cb(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;
	uint16_t type = mnl_attr_get_type(attr);

	if (type != CTA_PROTOINFO_TCP_STATE)
		return MNL_CB_OK;
	if (!payload_is(attr, sizeof(uint8_t)))
		return MNL_CB_ERROR;
	tb[type] = attr;
	return MNL_CB_OK;
}

/* Collects CTA_PROTOINFO_TCP and walks it. */
static int protoinfo_cb(const struct nlattr *attr, void *data)
{
	struct msg_attrs *m = data;

	if (mnl_attr_get_type(attr) != CTA_PROTOINFO_TCP)
		return MNL_CB_OK;
	if (!nest_ok(attr) ||
	    mnl_attr_parse_nested(attr, tcpinfo_cb, m->tcp) < 0)
		return MNL_CB_ERROR;
	m->pinfo[CTA_PROTOINFO_TCP] = attr;
	return MNL_CB_OK;
}

/* Walks one top-level attribute, descending into the nests we use. A
 * duplicated attribute is walked again and its values win. */
static int top_cb(const struct nlattr *attr, void *data)
{
	struct msg_attrs *m = data;
	uint16_t type = mnl_attr_get_type(attr);
	int rc = 0;

	switch (type) {
	case CTA_ID:
	case CTA_STATUS:
		if (!payload_is(attr, sizeof(uint32_t)))
			return MNL_CB_ERROR;
		break;
	case CTA_TUPLE_ORIG:
		if (!nest_ok(attr))
			return MNL_CB_ERROR;
		rc = mnl_attr_parse_nested(attr, tuple_cb, &m->orig);
		break;
	case CTA_TUPLE_REPLY:
		if (!nest_ok(attr))
			return MNL_CB_ERROR;
		rc = mnl_attr_parse_nested(attr, tuple_cb, &m->reply);
		break;
	case CTA_COUNTERS_ORIG:
		if (!nest_ok(attr))
			return MNL_CB_ERROR;
		rc = mnl_attr_parse_nested(attr, counters_cb, m->corig.a);
		break;
	case CTA_COUNTERS_REPLY:
		if (!nest_ok(attr))
			return MNL_CB_ERROR;
		rc = mnl_attr_parse_nested(attr, counters_cb, m->creply.a);
		break;
	case CTA_TIMESTAMP:
		if (!nest_ok(attr))
			return MNL_CB_ERROR;
		rc = mnl_attr_parse_nested(attr, timestamp_cb, m->ts);
		break;
	case CTA_PROTOINFO:
		if (!nest_ok(attr))
			return MNL_CB_ERROR;
		rc = mnl_attr_parse_nested(attr, protoinfo_cb, m);
		break;
	default:
		return MNL_CB_OK;	/* not used, not interpreted */
	}
	if (rc < 0)
		return MNL_CB_ERROR;
	m->top[type] = attr;
	return MNL_CB_OK;
}

/* Fills the addresses of one direction for the message's family (v4 into
 * t, v6 into a6); false when either is missing. */
static bool decode_addrs(const struct tuple_attrs *a, uint8_t family,
			 struct ct_tuple *t, struct ct_addr6 *a6)
{
	if (family == AF_INET6) {
		if (!a->ip[CTA_IP_V6_SRC] || !a->ip[CTA_IP_V6_DST])
			return false;
		memcpy(a6->src, mnl_attr_get_payload(a->ip[CTA_IP_V6_SRC]), 16);
		memcpy(a6->dst, mnl_attr_get_payload(a->ip[CTA_IP_V6_DST]), 16);
		return true;
	}
	if (!a->ip[CTA_IP_V4_SRC] || !a->ip[CTA_IP_V4_DST])
		return false;
	t->src = get_be32(a->ip[CTA_IP_V4_SRC]);
	t->dst = get_be32(a->ip[CTA_IP_V4_DST]);
	return true;
}

/* Fills the ports (or ICMP/ICMPv6 id and type/code) of t; false when
 * missing. */
static bool decode_ports(const struct tuple_attrs *a, uint8_t proto,
			 struct ct_tuple *t)
{
	const struct nlattr *const *p = a->proto;

	if (proto == IPPROTO_ICMP) {
		if (!p[CTA_PROTO_ICMP_ID] || !p[CTA_PROTO_ICMP_TYPE] ||
		    !p[CTA_PROTO_ICMP_CODE])
			return false;
		t->sport = get_be16(p[CTA_PROTO_ICMP_ID]);
		t->dport = (uint16_t)(get_u8(p[CTA_PROTO_ICMP_TYPE]) << 8 |
				      get_u8(p[CTA_PROTO_ICMP_CODE]));
		return true;
	}
	if (proto == IPPROTO_ICMPV6) {
		if (!p[CTA_PROTO_ICMPV6_ID] || !p[CTA_PROTO_ICMPV6_TYPE] ||
		    !p[CTA_PROTO_ICMPV6_CODE])
			return false;
		t->sport = get_be16(p[CTA_PROTO_ICMPV6_ID]);
		t->dport = (uint16_t)(get_u8(p[CTA_PROTO_ICMPV6_TYPE]) << 8 |
				      get_u8(p[CTA_PROTO_ICMPV6_CODE]));
		return true;
	}
	if (!p[CTA_PROTO_SRC_PORT] || !p[CTA_PROTO_DST_PORT])
		return false;
	t->sport = get_be16(p[CTA_PROTO_SRC_PORT]);
	t->dport = get_be16(p[CTA_PROTO_DST_PORT]);
	return true;
}

/* Reads one direction's packets and bytes; false unless both are there. */
static bool decode_counters(const struct counter_attrs *c, uint64_t *packets,
			    uint64_t *bytes)
{
	const struct nlattr *const *a = c->a;

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
	const struct nlattr *onum, *rnum;
	uint64_t op = 0, ob = 0, rp = 0, rb = 0;

	if (!m->top[CTA_TUPLE_ORIG] || !m->top[CTA_TUPLE_REPLY] ||
	    !m->top[CTA_ID])
		return CTMSG_MALFORMED;
	if (!decode_addrs(&m->orig, ev->family, &ev->orig, &ev->orig6) ||
	    !decode_addrs(&m->reply, ev->family, &ev->reply, &ev->reply6))
		return CTMSG_MALFORMED;
	onum = m->orig.proto[CTA_PROTO_NUM];
	rnum = m->reply.proto[CTA_PROTO_NUM];
	if (!onum || !rnum || get_u8(onum) != get_u8(rnum))
		return CTMSG_MALFORMED;
	ev->proto = get_u8(onum);
	if (ev->proto != IPPROTO_TCP && ev->proto != IPPROTO_UDP &&
	    ev->proto != (ev->family == AF_INET6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP))
		return CTMSG_IGNORED;
	if (!decode_ports(&m->orig, ev->proto, &ev->orig) ||
	    !decode_ports(&m->reply, ev->proto, &ev->reply))
		return CTMSG_MALFORMED;

	ev->id = get_be32(m->top[CTA_ID]);
	if (m->top[CTA_STATUS])
		ev->status = get_be32(m->top[CTA_STATUS]);
	if (ev->proto == IPPROTO_TCP && m->tcp[CTA_PROTOINFO_TCP_STATE])
		ev->tcp_state = get_u8(m->tcp[CTA_PROTOINFO_TCP_STATE]);
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
	if (nlh == NULL || len < sizeof(*nlh))
		return CTMSG_MALFORMED;
	if (nlh->nlmsg_len < sizeof(*nlh) || nlh->nlmsg_len > len)
		return CTMSG_MALFORMED;
	if (NFNL_SUBSYS_ID(nlh->nlmsg_type) != NFNL_SUBSYS_CTNETLINK)
		return CTMSG_IGNORED;
	msg = NFNL_MSG_TYPE(nlh->nlmsg_type);
	if (msg != IPCTNL_MSG_CT_NEW && msg != IPCTNL_MSG_CT_DELETE)
		return CTMSG_IGNORED;
	if (nlh->nlmsg_len < NLMSG_HDRLEN + sizeof(struct nfgenmsg))
		return CTMSG_MALFORMED;
	nfg = mnl_nlmsg_get_payload(nlh);
	if (nfg->nfgen_family != AF_INET && nfg->nfgen_family != AF_INET6)
		return CTMSG_IGNORED;

	/* An exact payload length: mnl_attr_parse() would bound the walk by
	 * the aligned message end, up to 3 bytes past what we were given. */
	memset(&m, 0, sizeof(m));
	if (nlh->nlmsg_len > attr_off &&
	    mnl_attr_parse_payload((const char *)nlh + attr_off,
				   nlh->nlmsg_len - attr_off, top_cb, &m) < 0)
		return CTMSG_MALFORMED;

	memset(&ev, 0, sizeof(ev));
	ev.family = nfg->nfgen_family;
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

/* Checks that a whole message starts at nlh; see ctmsg.h for the guard. */
bool ctmsg_walk_ok(const struct nlmsghdr *nlh, int rem)
{
	return mnl_nlmsg_ok(nlh, rem) && nlh->nlmsg_len <= (uint32_t)rem;
}
