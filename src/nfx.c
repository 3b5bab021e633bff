/* NetFlow v9 (RFC 3954) and IPFIX (RFC 7011) message encoder: one template
 * per address family (with or without interfaces), one data record per
 * direction of a connection, explicit big-endian stores throughout. */
#include "nfflowd/nfx.h"

#include <netinet/in.h>
#include <string.h>

#include "nfflowd/bytes.h"

#define V9_HEADER_LEN 20
#define IPFIX_HEADER_LEN 16
#define SET_HEADER_LEN 4
#define V9_TEMPLATE_SET_ID 0
#define IPFIX_TEMPLATE_SET_ID 2

/* Information element numbers (the same values as v9 field types). */
enum {
	IE_OCTETS = 1,
	IE_PACKETS = 2,
	IE_PROTO = 4,
	IE_SPORT = 7,
	IE_SRC4 = 8,
	IE_IN_IF = 10,
	IE_DPORT = 11,
	IE_DST4 = 12,
	IE_OUT_IF = 14,
	IE_NEXTHOP4 = 15,
	IE_SRC6 = 27,
	IE_DST6 = 28,
	IE_ICMP4 = 32,
	IE_FLOW_DIRECTION = 61,
	IE_NEXTHOP6 = 62,
	IE_END_REASON = 136,
	IE_ICMP6 = 139,
	IE_START_MS = 152,
	IE_END_MS = 153,
	IE_XSRC4 = 225,
	IE_XDST4 = 226,
	IE_XSPORT = 227,
	IE_XDPORT = 228,
	IE_BIFLOW_DIRECTION = 239,
	IE_XSRC6 = 281,
	IE_XDST6 = 282,
};

struct field {
	uint16_t type;
	uint16_t len;
};

/* Field order of every template; the last three only with interfaces.
 * Address fields are listed with their IPv4 type and length, swapped for
 * the IPv6 ones by field_of(). */
static const struct field fields_v4[] = {
	{ IE_SRC4, 4 }, { IE_DST4, 4 }, { IE_SPORT, 2 }, { IE_DPORT, 2 },
	{ IE_XSRC4, 4 }, { IE_XDST4, 4 }, { IE_XSPORT, 2 }, { IE_XDPORT, 2 },
	{ IE_PROTO, 1 }, { IE_ICMP4, 2 },
	{ IE_OCTETS, 8 }, { IE_PACKETS, 8 },
	{ IE_START_MS, 8 }, { IE_END_MS, 8 },
	{ IE_FLOW_DIRECTION, 1 }, { IE_BIFLOW_DIRECTION, 1 },
	{ IE_END_REASON, 1 },
	{ IE_IN_IF, 4 }, { IE_OUT_IF, 4 }, { IE_NEXTHOP4, 4 },
};

#define NFIELDS_BASE 17
#define NFIELDS_IF 20

/* The IPv6 counterpart of an IPv4 field (other fields are unchanged). */
static struct field field_of(struct field f, bool v6)
{
	if (!v6)
		return f;
	switch (f.type) {
	case IE_SRC4: f.type = IE_SRC6; break;
	case IE_DST4: f.type = IE_DST6; break;
	case IE_XSRC4: f.type = IE_XSRC6; break;
	case IE_XDST4: f.type = IE_XDST6; break;
	case IE_NEXTHOP4: f.type = IE_NEXTHOP6; break;
	case IE_ICMP4: f.type = IE_ICMP6; return f;
	default: return f;
	}
	f.len = 16;
	return f;
}

/* The number of fields in a template of this variant. */
static unsigned nfields(bool interfaces)
{
	return interfaces ? NFIELDS_IF : NFIELDS_BASE;
}

/* The template id for a family and variant. */
static uint16_t template_id(bool v6, bool interfaces)
{
	if (interfaces)
		return v6 ? NFX_TEMPLATE_V6_IF : NFX_TEMPLATE_V4_IF;
	return v6 ? NFX_TEMPLATE_V6 : NFX_TEMPLATE_V4;
}

/* The length of one data record of a template. */
static size_t record_len(bool v6, bool interfaces)
{
	size_t len = 0;
	unsigned i;

	for (i = 0; i < nfields(interfaces); i++)
		len += field_of(fields_v4[i], v6).len;
	return len;
}

/* Bytes of zero padding that bring a length to a multiple of 4. */
static size_t pad4(size_t len)
{
	return (4 - len % 4) % 4;
}

/* Length of the message header for a version. */
static size_t header_len(uint8_t version)
{
	return version == NFX_VERSION_V9 ? V9_HEADER_LEN : IPFIX_HEADER_LEN;
}

/* Writes one template record (id, field count, type/length pairs) at p and
 * returns its length. */
static size_t put_template(uint8_t *p, bool v6, bool interfaces)
{
	size_t off = 4;
	unsigned i;

	be_put16(p, template_id(v6, interfaces));
	be_put16(p + 2, (uint16_t)nfields(interfaces));
	for (i = 0; i < nfields(interfaces); i++) {
		struct field f = field_of(fields_v4[i], v6);

		be_put16(p + off, f.type);
		be_put16(p + off + 2, f.len);
		off += 4;
	}
	return off;
}

/* Stores an IPv4 host-order address into the first 4 bytes of a 16-byte
 * network-order field. */
static void addr4(uint8_t out[16], uint32_t host)
{
	be_put32(out, host);
}

/* Fills one direction's record from a tuple pair: t is the direction's own
 * tuple, o the other direction's (whose swapped ends are the post-NAT view). */
static void fill_dir(struct nfx_rec *r, const struct ct_event *ev,
		     const struct ct_tuple *t, const struct ct_addr6 *t6,
		     const struct ct_tuple *o, const struct ct_addr6 *o6)
{
	bool icmp = ev->proto == IPPROTO_ICMP || ev->proto == IPPROTO_ICMPV6;

	if (ev->family == AF_INET6) {
		memcpy(r->src, t6->src, 16);
		memcpy(r->dst, t6->dst, 16);
		memcpy(r->xsrc, o6->dst, 16);
		memcpy(r->xdst, o6->src, 16);
	} else {
		addr4(r->src, t->src);
		addr4(r->dst, t->dst);
		addr4(r->xsrc, o->dst);
		addr4(r->xdst, o->src);
	}
	if (icmp) {
		r->icmp_type_code = t->dport;
	} else {
		r->sport = t->sport;
		r->dport = t->dport;
		r->xsport = o->dport;
		r->xdport = o->sport;
	}
}

unsigned nfx_rec_build(const struct flow_conn *c, struct nfx_rec out[2])
{
	const struct ct_event *ev = c->ev;
	unsigned n = 1;
	unsigned i;

	switch (ev->proto) {
	case IPPROTO_TCP:
	case IPPROTO_UDP:
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		break;
	default:
		return 0;
	}
	if (ev->family != AF_INET && ev->family != AF_INET6)
		return 0;
	if (c->reply_packets > 0 || !c->has_counters)
		n = 2;
	memset(out, 0, n * sizeof(out[0]));
	for (i = 0; i < n; i++) {
		out[i].family = ev->family;
		out[i].proto = ev->proto;
		out[i].direction = (uint8_t)i;
		out[i].end_reason = (uint8_t)c->reason;
		out[i].start_ms = c->start_real_ms;
		out[i].end_ms = c->end_real_ms;
	}
	fill_dir(&out[0], ev, &ev->orig, &ev->orig6, &ev->reply, &ev->reply6);
	out[0].packets = c->orig_packets;
	out[0].octets = c->orig_bytes;
	out[0].in_if = c->in_if;
	out[0].out_if = c->out_if;
	memcpy(out[0].nexthop, c->nexthop, 16);
	if (n == 2) {
		fill_dir(&out[1], ev, &ev->reply, &ev->reply6, &ev->orig,
			 &ev->orig6);
		out[1].packets = c->reply_packets;
		out[1].octets = c->reply_bytes;
		out[1].in_if = c->out_if;
		out[1].out_if = c->in_if;
		memcpy(out[1].nexthop, c->rnexthop, 16);
	}
	return n;
}

void nfx_begin(struct nfx_msg *m, uint8_t version, bool interfaces,
	       bool templates)
{
	size_t off;

	memset(m, 0, sizeof(*m));
	m->version = version;
	m->interfaces = interfaces;
	m->len = header_len(version);
	if (!templates)
		return;
	/* Both template records are multiples of 4 long: no padding. */
	off = m->len + SET_HEADER_LEN;
	off += put_template(m->buf + off, false, interfaces);
	off += put_template(m->buf + off, true, interfaces);
	be_put16(m->buf + m->len, version == NFX_VERSION_V9 ?
	      V9_TEMPLATE_SET_ID : IPFIX_TEMPLATE_SET_ID);
	be_put16(m->buf + m->len + 2, (uint16_t)(off - m->len));
	m->len = off;
	m->count = 2;
}

/* Pads the open data set to 4 bytes and writes its length; no-op when no
 * set is open. RFC 3954 section 5.3 and RFC 7011 section 3.3.1 both allow
 * zero padding shorter than a record at the end of a set. */
static void close_set(struct nfx_msg *m)
{
	size_t pad;

	if (m->set_off == 0)
		return;
	pad = pad4(m->len - m->set_off);
	memset(m->buf + m->len, 0, pad);
	m->len += pad;
	be_put16(m->buf + m->set_off + 2, (uint16_t)(m->len - m->set_off));
	m->set_off = 0;
	m->set_id = 0;
}

/* Writes two addresses of alen bytes and two ports at p; returns the end. */
static uint8_t *put_endpoints(uint8_t *p, const uint8_t *src,
			      const uint8_t *dst, size_t alen, uint16_t sport,
			      uint16_t dport)
{
	memcpy(p, src, alen);
	memcpy(p + alen, dst, alen);
	be_put16(p + 2 * alen, sport);
	be_put16(p + 2 * alen + 2, dport);
	return p + 2 * alen + 4;
}

/* Writes one data record at p in template field order. */
static void put_record(uint8_t *p, const struct nfx_rec *r, bool interfaces)
{
	bool v6 = r->family == AF_INET6;
	size_t alen = v6 ? 16 : 4;

	p = put_endpoints(p, r->src, r->dst, alen, r->sport, r->dport);
	p = put_endpoints(p, r->xsrc, r->xdst, alen, r->xsport, r->xdport);
	p[0] = r->proto;
	be_put16(p + 1, r->icmp_type_code);
	p += 3;
	be_put64(p, r->octets);
	be_put64(p + 8, r->packets);
	be_put64(p + 16, r->start_ms);
	be_put64(p + 24, r->end_ms);
	p += 32;
	p[0] = r->direction;			/* flowDirection: 0 in, 1 out */
	p[1] = (uint8_t)(r->direction + 1);	/* 1 initiator, 2 reverse */
	p[2] = r->end_reason;
	p += 3;
	if (!interfaces)
		return;
	be_put32(p, r->in_if);
	be_put32(p + 4, r->out_if);
	memcpy(p + 8, r->nexthop, alen);
}

bool nfx_add(struct nfx_msg *m, const struct nfx_rec *r)
{
	bool v6 = r->family == AF_INET6;
	uint16_t id = template_id(v6, m->interfaces);
	size_t rlen = record_len(v6, m->interfaces);
	bool new_set = m->set_off == 0 || m->set_id != id;
	size_t start = m->len;	/* where the record (or its set) goes */
	size_t end;

	if (new_set && m->set_off != 0)
		start += pad4(m->len - m->set_off);
	end = start + (new_set ? SET_HEADER_LEN : 0) + rlen;
	/* The set this record ends will need padding at finish. */
	if (end + pad4(end) > NFX_MAX_DATAGRAM)
		return false;
	if (new_set) {
		close_set(m);
		m->set_off = m->len;
		m->set_id = id;
		be_put16(m->buf + m->len, id);
		be_put16(m->buf + m->len + 2, 0);	/* length written at close */
		m->len += SET_HEADER_LEN;
	}
	put_record(m->buf + m->len, r, m->interfaces);
	m->len += rlen;
	m->records++;
	m->count++;
	return true;
}

size_t nfx_finish(struct nfx_msg *m, const struct nfx_header *h)
{
	uint8_t *p = m->buf;

	close_set(m);
	if (m->version == NFX_VERSION_V9) {
		be_put16(p, NFX_VERSION_V9);
		be_put16(p + 2, (uint16_t)m->count);
		be_put32(p + 4, h->sysuptime_ms);
		be_put32(p + 8, h->export_secs);
		be_put32(p + 12, h->sequence);
		be_put32(p + 16, h->domain);
	} else {
		be_put16(p, NFX_VERSION_IPFIX);
		be_put16(p + 2, (uint16_t)m->len);
		be_put32(p + 4, h->export_secs);
		be_put32(p + 8, h->sequence);
		be_put32(p + 12, h->domain);
	}
	return m->len;
}
