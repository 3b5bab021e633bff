/* NetFlow v9 (RFC 3954) and IPFIX (RFC 7011) message encoder: templates
 * described as field lists, one writer that fills a record in its
 * template's field order, options templates and their data, explicit
 * big-endian stores throughout. */
#include "nfflowd/nfx.h"

#include <netinet/in.h>
#include <string.h>

#include "nfflowd/bytes.h"

#define V9_HEADER_LEN 20
#define IPFIX_HEADER_LEN 16
#define SET_HEADER_LEN 4
#define V9_TEMPLATE_SET_ID 0
#define V9_OPTIONS_SET_ID 1
#define IPFIX_TEMPLATE_SET_ID 2
#define IPFIX_OPTIONS_SET_ID 3

/* v9 options scope types (RFC 3954 section 6.1). */
#define V9_SCOPE_SYSTEM 1
#define V9_SCOPE_INTERFACE 2

/* Information element numbers (the same values as v9 field types). */
enum {
	IE_OCTETS = 1,
	IE_PACKETS = 2,
	IE_PROTO = 4,
	IE_TCP_FLAGS = 6,
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
	IE_SAMPLING_INTERVAL = 34,
	IE_EXPORTED_OCTETS = 40,
	IE_EXPORTED_MESSAGES = 41,
	IE_EXPORTED_RECORDS = 42,
	IE_FLOW_DIRECTION = 61,
	IE_NEXTHOP6 = 62,
	IE_IF_NAME = 82,
	IE_IF_DESCR = 83,
	IE_END_REASON = 136,
	IE_ICMP6 = 139,
	IE_EXPORTING_PROCESS = 144,
	IE_DOMAIN = 149,
	IE_SYSTEM_INIT_MS = 160,
	IE_START_MS = 152,
	IE_END_MS = 153,
	IE_XSRC4 = 225,
	IE_XDST4 = 226,
	IE_XSPORT = 227,
	IE_XDPORT = 228,
	IE_NAT_EVENT = 230,
	IE_IN_VRF = 234,
	IE_BIFLOW_DIRECTION = 239,
	IE_XSRC6 = 281,
	IE_XDST6 = 282,
	IE_SAMPLING_PACKET_INTERVAL = 305,
	IE_SAMPLING_PACKET_SPACE = 306,
	IE_OBSERVATION_MS = 323,
};

struct field {
	uint16_t type;
	uint16_t len;
};

/* Traffic: the last three only with interfaces. Address fields are listed
 * with their IPv4 type and length, swapped for the IPv6 ones by
 * field_of(). */
static const struct field flow_fields[] = {
	{ IE_SRC4, 4 }, { IE_DST4, 4 }, { IE_SPORT, 2 }, { IE_DPORT, 2 },
	{ IE_XSRC4, 4 }, { IE_XDST4, 4 }, { IE_XSPORT, 2 }, { IE_XDPORT, 2 },
	{ IE_PROTO, 1 }, { IE_ICMP4, 2 }, { IE_TCP_FLAGS, 1 },
	{ IE_OCTETS, 8 }, { IE_PACKETS, 8 },
	{ IE_START_MS, 8 }, { IE_END_MS, 8 },
	{ IE_FLOW_DIRECTION, 1 }, { IE_BIFLOW_DIRECTION, 1 },
	{ IE_END_REASON, 1 }, { IE_IN_VRF, 4 },
	{ IE_IN_IF, 4 }, { IE_OUT_IF, 4 }, { IE_NEXTHOP4, 4 },
};
#define NFLOW_BASE 19
#define NFLOW_IF 22

/* NAT session events: when, what, the session before and after NAT. */
static const struct field nat_fields[] = {
	{ IE_OBSERVATION_MS, 8 }, { IE_START_MS, 8 }, { IE_END_MS, 8 },
	{ IE_NAT_EVENT, 1 },
	{ IE_PROTO, 1 },
	{ IE_SRC4, 4 }, { IE_DST4, 4 }, { IE_SPORT, 2 }, { IE_DPORT, 2 },
	{ IE_XSRC4, 4 }, { IE_XDST4, 4 }, { IE_XSPORT, 2 }, { IE_XDPORT, 2 },
	{ IE_IN_VRF, 4 },
};
#define NNAT 14

/* Options: the first field is the scope (IPFIX IE; v9 scope type below). */
static const struct field opt_sampling[] = {
	{ IE_DOMAIN, 4 }, { IE_SAMPLING_INTERVAL, 4 },
	{ IE_SAMPLING_PACKET_INTERVAL, 4 }, { IE_SAMPLING_PACKET_SPACE, 4 },
};
static const struct field opt_ifname[] = {
	{ IE_IN_IF, 4 }, { IE_IF_NAME, NFX_IFNAME_LEN },
	{ IE_IF_DESCR, NFX_IFDESCR_LEN },
};
static const struct field opt_stats[] = {
	{ IE_DOMAIN, 4 }, { IE_EXPORTED_MESSAGES, 8 },
	{ IE_EXPORTED_RECORDS, 8 }, { IE_EXPORTED_OCTETS, 8 },
};
static const struct field opt_exporter[] = {
	{ IE_DOMAIN, 4 }, { IE_EXPORTING_PROCESS, 4 }, { IE_SYSTEM_INIT_MS, 8 },
};

struct options_template {
	uint16_t id;
	uint16_t v9_scope;
	const struct field *f;
	unsigned n;
};

static const struct options_template options[] = {
	{ NFX_TEMPLATE_OPT_SAMPLING, V9_SCOPE_SYSTEM, opt_sampling, 4 },
	{ NFX_TEMPLATE_OPT_IFNAME, V9_SCOPE_INTERFACE, opt_ifname, 3 },
	{ NFX_TEMPLATE_OPT_STATS, V9_SCOPE_SYSTEM, opt_stats, 4 },
	{ NFX_TEMPLATE_OPT_EXPORTER, V9_SCOPE_SYSTEM, opt_exporter, 3 },
};
/* Four: an IPFIX options template record is 2 bytes short of a multiple
 * of 4, so an even number of them fills its set with no padding, which
 * some collectors (pmacct's nfacctd 1.7) take for a malformed template. */
#define NOPTIONS 4

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

/* A data template: its id and field list. */
struct data_template {
	uint16_t id;
	bool v6;
	const struct field *f;
	unsigned n;
};

static struct data_template template_of(uint8_t kind, bool v6, bool interfaces)
{
	struct data_template t = { 0, v6, flow_fields, NFLOW_BASE };

	if (kind == NFX_KIND_NAT) {
		t.id = v6 ? NFX_TEMPLATE_NAT6 : NFX_TEMPLATE_NAT4;
		t.f = nat_fields;
		t.n = NNAT;
	} else if (interfaces) {
		t.id = v6 ? NFX_TEMPLATE_V6_IF : NFX_TEMPLATE_V4_IF;
		t.n = NFLOW_IF;
	} else {
		t.id = v6 ? NFX_TEMPLATE_V6 : NFX_TEMPLATE_V4;
	}
	return t;
}

/* The length of one data record of a template. */
static size_t record_len(const struct data_template *t)
{
	size_t len = 0;
	unsigned i;

	for (i = 0; i < t->n; i++)
		len += field_of(t->f[i], t->v6).len;
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
static size_t put_template(uint8_t *p, const struct data_template *t)
{
	size_t off = 4;
	unsigned i;

	be_put16(p, t->id);
	be_put16(p + 2, (uint16_t)t->n);
	for (i = 0; i < t->n; i++) {
		struct field f = field_of(t->f[i], t->v6);

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

/* Fills one direction's addresses and ports from a tuple pair: t is the
 * direction's own tuple, o the other direction's (whose swapped ends are
 * the post-NAT view). */
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

	if (c->kind != FLOW_KIND_TRAFFIC ||
	    (ev->family != AF_INET && ev->family != AF_INET6))
		return 0;
	if (c->reply_packets > 0 || !c->has_counters)
		n = 2;
	memset(out, 0, n * sizeof(out[0]));
	for (i = 0; i < n; i++) {
		out[i].kind = NFX_KIND_FLOW;
		out[i].family = ev->family;
		out[i].proto = ev->proto;
		out[i].direction = (uint8_t)i;
		out[i].end_reason = (uint8_t)c->reason;
		out[i].zone = ev->zone;
		out[i].start_ms = c->start_real_ms;
		out[i].end_ms = c->end_real_ms;
	}
	fill_dir(&out[0], ev, &ev->orig, &ev->orig6, &ev->reply, &ev->reply6);
	out[0].packets = c->orig_packets;
	out[0].octets = c->orig_bytes;
	out[0].tcp_flags = c->tcp_flags;
	out[0].in_if = c->in_if;
	out[0].out_if = c->out_if;
	memcpy(out[0].nexthop, c->nexthop, 16);
	if (n == 2) {
		fill_dir(&out[1], ev, &ev->reply, &ev->reply6, &ev->orig,
			 &ev->orig6);
		out[1].packets = c->reply_packets;
		out[1].octets = c->reply_bytes;
		out[1].tcp_flags = c->rtcp_flags;
		out[1].in_if = c->out_if;
		out[1].out_if = c->in_if;
		memcpy(out[1].nexthop, c->rnexthop, 16);
	}
	return n;
}

/* natEvent for a kind of event under a numbering. */
static uint8_t nat_event_value(enum flow_kind kind, enum nfx_nat_mode mode,
			       bool v6)
{
	bool create = kind == FLOW_KIND_NAT_CREATE;

	if (mode == NFX_NAT_RFC8158 && !v6)
		return create ? 4 : 5;	/* NAT44 session create / delete */
	return create ? 1 : 2;		/* NAT translation create / delete */
}

bool nfx_event_build(const struct flow_conn *c, enum nfx_nat_mode mode,
		     struct nfx_rec *out)
{
	const struct ct_event *ev = c->ev;
	bool icmp = ev->proto == IPPROTO_ICMP || ev->proto == IPPROTO_ICMPV6;

	if (mode == NFX_NAT_OFF || (c->kind != FLOW_KIND_NAT_CREATE &&
				    c->kind != FLOW_KIND_NAT_DELETE) ||
	    (ev->family != AF_INET && ev->family != AF_INET6))
		return false;
	memset(out, 0, sizeof(*out));
	out->kind = NFX_KIND_NAT;
	out->family = ev->family;
	out->proto = ev->proto;
	out->zone = ev->zone;
	out->nat_event = nat_event_value(c->kind, mode, ev->family == AF_INET6);
	out->start_ms = c->start_real_ms;
	out->event_ms = c->event_real_ms;
	/* flowEnd: the event's time (collectors such as pmacct take a
	 * delete's end from it, not from observationTime) */
	out->end_ms = c->event_real_ms;
	fill_dir(out, ev, &ev->orig, &ev->orig6, &ev->reply, &ev->reply6);
	if (icmp) {
		/* the ICMP id is what NAT translates, in place of a port */
		out->icmp_type_code = 0;
		out->sport = ev->orig.sport;
		out->xsport = ev->reply.sport;
	}
	return true;
}

/* Opens a set of id at the end of the message; returns its offset. */
static size_t open_set(struct nfx_msg *m, uint16_t id)
{
	size_t off = m->len;

	be_put16(m->buf + off, id);
	be_put16(m->buf + off + 2, 0);
	m->len += SET_HEADER_LEN;
	return off;
}

/* Pads the set that began at off to 4 bytes and writes its length. */
static void end_set(struct nfx_msg *m, size_t off)
{
	size_t pad = pad4(m->len - off);

	memset(m->buf + m->len, 0, pad);
	m->len += pad;
	be_put16(m->buf + off + 2, (uint16_t)(m->len - off));
}

/* Writes one options template record at p; returns its length (before
 * padding). v9: id, scope length, option length (both in bytes); IPFIX:
 * id, field count, scope field count. */
static size_t put_options_template(uint8_t *p, const struct options_template *o,
				   uint8_t version)
{
	size_t off = 6;
	unsigned i;

	be_put16(p, o->id);
	if (version == NFX_VERSION_V9) {
		be_put16(p + 2, 4);
		be_put16(p + 4, (uint16_t)(4 * (o->n - 1)));
	} else {
		be_put16(p + 2, (uint16_t)o->n);
		be_put16(p + 4, 1);
	}
	for (i = 0; i < o->n; i++) {
		uint16_t type = o->f[i].type;

		if (i == 0 && version == NFX_VERSION_V9)
			type = o->v9_scope;
		be_put16(p + off, type);
		be_put16(p + off + 2, o->f[i].len);
		off += 4;
	}
	return off;
}

void nfx_begin(struct nfx_msg *m, uint8_t version, bool interfaces,
	       bool templates)
{
	static const uint8_t kinds[] = { NFX_KIND_FLOW, NFX_KIND_NAT };
	size_t set;
	unsigned i, v6;

	memset(m, 0, sizeof(*m));
	m->version = version;
	m->interfaces = interfaces;
	m->len = header_len(version);
	if (!templates)
		return;
	/* Template records are multiples of 4 long: no padding. */
	set = open_set(m, version == NFX_VERSION_V9 ? V9_TEMPLATE_SET_ID
						   : IPFIX_TEMPLATE_SET_ID);
	for (i = 0; i < sizeof(kinds); i++) {
		for (v6 = 0; v6 < 2; v6++) {
			struct data_template t = template_of(kinds[i], v6,
							     interfaces);

			m->len += put_template(m->buf + m->len, &t);
			m->count++;
		}
	}
	end_set(m, set);
	/* RFC 3954 shows one options template per FlowSet; IPFIX sets
	 * hold several. */
	set = 0;
	for (i = 0; i < NOPTIONS; i++) {
		if (version == NFX_VERSION_V9 || set == 0)
			set = open_set(m, version == NFX_VERSION_V9 ?
				       V9_OPTIONS_SET_ID : IPFIX_OPTIONS_SET_ID);
		m->len += put_options_template(m->buf + m->len, &options[i],
					       version);
		m->count++;
		if (version == NFX_VERSION_V9) {
			end_set(m, set);
			set = 0;
		}
	}
	if (set != 0)
		end_set(m, set);
}

/* Pads the open data set to 4 bytes and writes its length; no-op when no
 * set is open. RFC 3954 section 5.3 and RFC 7011 section 3.3.1 both allow
 * zero padding shorter than a record at the end of a set. */
static void close_set(struct nfx_msg *m)
{
	if (m->set_off == 0)
		return;
	end_set(m, m->set_off);
	m->set_off = 0;
	m->set_id = 0;
}

/* Makes room for one record of rlen bytes in a data set of template id:
 * opens the set when needed. Returns where the record goes, or NULL when
 * it does not fit (the message is unchanged). */
static uint8_t *reserve(struct nfx_msg *m, uint16_t id, size_t rlen)
{
	bool new_set = m->set_off == 0 || m->set_id != id;
	size_t start = m->len;	/* where the record (or its set) goes */
	size_t end;
	uint8_t *p;

	if (new_set && m->set_off != 0)
		start += pad4(m->len - m->set_off);
	end = start + (new_set ? SET_HEADER_LEN : 0) + rlen;
	/* The set this record ends will need padding at finish. */
	if (end + pad4(end) > NFX_MAX_DATAGRAM)
		return NULL;
	if (new_set) {
		close_set(m);
		m->set_off = open_set(m, id);
		m->set_id = id;
	}
	p = m->buf + m->len;
	m->len += rlen;
	m->count++;
	return p;
}

/* Copies a string into a fixed-length, zero-padded field. */
static void put_string(uint8_t *p, const char *s, size_t len)
{
	size_t n = strnlen(s, len);

	memcpy(p, s, n);
	memset(p + n, 0, len - n);
}

unsigned nfx_add_options(struct nfx_msg *m, const struct nfx_options *opt)
{
	uint8_t *p;
	unsigned i;

	/* the three sets of one record each, padding included */
	if (m->set_off != 0 || m->len + 3 * SET_HEADER_LEN + 16 + 28 + 16 + 3 >
	    NFX_MAX_DATAGRAM)
		return 0;
	if ((p = reserve(m, NFX_TEMPLATE_OPT_SAMPLING, 16)) == NULL)
		return 0;
	be_put32(p, opt->domain);
	be_put32(p + 4, 1);	/* samplingInterval: every packet */
	be_put32(p + 8, 1);	/* samplingPacketInterval */
	be_put32(p + 12, 0);	/* samplingPacketSpace */
	m->opt_records++;
	if ((p = reserve(m, NFX_TEMPLATE_OPT_STATS, 28)) == NULL)
		return 0;
	be_put32(p, opt->domain);
	be_put64(p + 4, opt->messages);
	be_put64(p + 12, opt->records);
	be_put64(p + 20, opt->octets);
	m->opt_records++;
	if ((p = reserve(m, NFX_TEMPLATE_OPT_EXPORTER, 16)) == NULL)
		return 0;
	be_put32(p, opt->domain);
	be_put32(p + 4, opt->process_id);
	be_put64(p + 8, opt->init_ms);
	m->opt_records++;
	for (i = 0; i < opt->nifs; i++) {
		const struct nfx_ifname *f = &opt->ifs[i];
		size_t rlen = 4 + NFX_IFNAME_LEN + NFX_IFDESCR_LEN;

		/* a set header and padding at most, beside the record */
		if (opt->keep_free != 0 && m->len + SET_HEADER_LEN + rlen + 3 +
		    opt->keep_free > NFX_MAX_DATAGRAM)
			break;
		p = reserve(m, NFX_TEMPLATE_OPT_IFNAME, rlen);
		if (p == NULL)
			break;
		be_put32(p, f->index);
		put_string(p + 4, f->name, NFX_IFNAME_LEN);
		put_string(p + 4 + NFX_IFNAME_LEN, f->descr, NFX_IFDESCR_LEN);
		m->opt_records++;
	}
	return i;
}

/* Writes the value of one field of a data record at p. */
static void put_field(uint8_t *p, struct field f, const struct nfx_rec *r)
{
	switch (f.type) {
	case IE_SRC4: case IE_SRC6: memcpy(p, r->src, f.len); break;
	case IE_DST4: case IE_DST6: memcpy(p, r->dst, f.len); break;
	case IE_XSRC4: case IE_XSRC6: memcpy(p, r->xsrc, f.len); break;
	case IE_XDST4: case IE_XDST6: memcpy(p, r->xdst, f.len); break;
	case IE_NEXTHOP4: case IE_NEXTHOP6: memcpy(p, r->nexthop, f.len); break;
	case IE_SPORT: be_put16(p, r->sport); break;
	case IE_DPORT: be_put16(p, r->dport); break;
	case IE_XSPORT: be_put16(p, r->xsport); break;
	case IE_XDPORT: be_put16(p, r->xdport); break;
	case IE_PROTO: p[0] = r->proto; break;
	case IE_ICMP4: case IE_ICMP6: be_put16(p, r->icmp_type_code); break;
	case IE_TCP_FLAGS: p[0] = r->tcp_flags; break;
	case IE_OCTETS: be_put64(p, r->octets); break;
	case IE_PACKETS: be_put64(p, r->packets); break;
	case IE_START_MS: be_put64(p, r->start_ms); break;
	case IE_END_MS: be_put64(p, r->end_ms); break;
	case IE_OBSERVATION_MS: be_put64(p, r->event_ms); break;
	case IE_FLOW_DIRECTION: p[0] = 0; break;	/* ingress, both */
	case IE_BIFLOW_DIRECTION:
		p[0] = (uint8_t)(r->direction + 1);	/* 1 initiator, 2 reverse */
		break;
	case IE_END_REASON: p[0] = r->end_reason; break;
	case IE_NAT_EVENT: p[0] = r->nat_event; break;
	case IE_IN_VRF: be_put32(p, r->zone); break;
	case IE_IN_IF: be_put32(p, r->in_if); break;
	case IE_OUT_IF: be_put32(p, r->out_if); break;
	default: memset(p, 0, f.len); break;
	}
}

bool nfx_add(struct nfx_msg *m, const struct nfx_rec *r)
{
	struct data_template t = template_of(r->kind, r->family == AF_INET6,
					     m->interfaces);
	uint8_t *p = reserve(m, t.id, record_len(&t));
	unsigned i;

	if (p == NULL)
		return false;
	for (i = 0; i < t.n; i++) {
		struct field f = field_of(t.f[i], t.v6);

		put_field(p, f, r);
		p += f.len;
	}
	m->records++;
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
