/* Unit tests for ctmsg: ctnetlink messages built in memory, by
 * libnetfilter_conntrack's own encoder and by hand with libmnl. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <endian.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <libmnl/libmnl.h>
#include <libnetfilter_conntrack/libnetfilter_conntrack.h>
#include <libnetfilter_conntrack/libnetfilter_conntrack_tcp.h>

#include "nfflowd/ctmsg.h"

#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | \
			(uint32_t)(c) << 8 | (uint32_t)(d))

/* 8-byte aligned message storage, as a receive buffer would be. */
static uint64_t storage[2048];
#define BUF ((char *)storage)

/* What to put into a hand-built message. */
struct spec {
	uint8_t subsys;
	uint8_t msg;
	uint16_t flags;
	uint8_t family;
	uint8_t proto;
	struct ct_tuple orig, reply;
	struct ct_addr6 orig6, reply6;	/* used when family is AF_INET6 */
	bool v4_addrs;	/* IPv4 address attributes even in an AF_INET6 message */
	uint8_t icmp_type, icmp_code, rtype, rcode;
	bool no_orig, no_reply, no_id, no_ports, no_protonum;
	bool counters_orig, counters_reply, counters32;
	bool ts_start, ts_stop;
	bool tcp_state;
	bool extras;	/* attributes ctmsg must skip */
	uint32_t id, status;
	uint64_t op, ob, rp, rb, start, stop;
};

/* A SNATed TCP connection 192.0.2.2:1000 -> 198.51.100.2:80 via 203.0.113.1. */
static struct spec tcp_spec(void)
{
	struct spec s = {
		.subsys = NFNL_SUBSYS_CTNETLINK,
		.msg = IPCTNL_MSG_CT_NEW,
		.flags = NLM_F_CREATE | NLM_F_EXCL,
		.family = AF_INET,
		.proto = IPPROTO_TCP,
		.orig = { IP(192, 0, 2, 2), IP(198, 51, 100, 2), 1000, 80 },
		.reply = { IP(198, 51, 100, 2), IP(203, 0, 113, 1), 80, 61000 },
		.id = 0xdeadbeef,
		.status = 0x18e,
		.tcp_state = true,
	};
	return s;
}

/* Writes 2001:db8::X (documentation prefix, RFC 3849) into a. */
static void doc6(uint8_t a[16], uint16_t x)
{
	memset(a, 0, 16);
	a[0] = 0x20;
	a[1] = 0x01;
	a[2] = 0x0d;
	a[3] = 0xb8;
	a[14] = (uint8_t)(x >> 8);
	a[15] = (uint8_t)x;
}

/* An IPv6 TCP connection 2001:db8::2 port 1000 -> 2001:db8::80 port 443,
 * no address translation. */
static struct spec tcp6_spec(void)
{
	struct spec s = tcp_spec();

	s.family = AF_INET6;
	s.orig = (struct ct_tuple){ 0, 0, 1000, 443 };
	s.reply = (struct ct_tuple){ 0, 0, 443, 1000 };
	doc6(s.orig6.src, 2);
	doc6(s.orig6.dst, 0x80);
	doc6(s.reply6.src, 0x80);
	doc6(s.reply6.dst, 2);
	return s;
}

/* Puts one tuple nest. */
static void put_tuple(struct nlmsghdr *nlh, uint16_t type,
		      const struct spec *s, const struct ct_tuple *t,
		      const struct ct_addr6 *a6, uint8_t itype, uint8_t icode)
{
	struct nlattr *tn, *n;

	tn = mnl_attr_nest_start(nlh, type);
	n = mnl_attr_nest_start(nlh, CTA_TUPLE_IP);
	if (s->family == AF_INET6 && !s->v4_addrs) {
		mnl_attr_put(nlh, CTA_IP_V6_SRC, 16, a6->src);
		mnl_attr_put(nlh, CTA_IP_V6_DST, 16, a6->dst);
	} else {
		mnl_attr_put_u32(nlh, CTA_IP_V4_SRC, htonl(t->src));
		mnl_attr_put_u32(nlh, CTA_IP_V4_DST, htonl(t->dst));
	}
	mnl_attr_nest_end(nlh, n);
	n = mnl_attr_nest_start(nlh, CTA_TUPLE_PROTO);
	if (!s->no_protonum)
		mnl_attr_put_u8(nlh, CTA_PROTO_NUM, s->proto);
	if (!s->no_ports && s->proto == IPPROTO_ICMP) {
		mnl_attr_put_u16(nlh, CTA_PROTO_ICMP_ID, htons(t->sport));
		mnl_attr_put_u8(nlh, CTA_PROTO_ICMP_TYPE, itype);
		mnl_attr_put_u8(nlh, CTA_PROTO_ICMP_CODE, icode);
	} else if (!s->no_ports && s->proto == IPPROTO_ICMPV6) {
		mnl_attr_put_u16(nlh, CTA_PROTO_ICMPV6_ID, htons(t->sport));
		mnl_attr_put_u8(nlh, CTA_PROTO_ICMPV6_TYPE, itype);
		mnl_attr_put_u8(nlh, CTA_PROTO_ICMPV6_CODE, icode);
	} else if (!s->no_ports) {
		mnl_attr_put_u16(nlh, CTA_PROTO_SRC_PORT, htons(t->sport));
		mnl_attr_put_u16(nlh, CTA_PROTO_DST_PORT, htons(t->dport));
	}
	mnl_attr_nest_end(nlh, n);
	mnl_attr_nest_end(nlh, tn);
}

/* Puts one counters nest, 64-bit with the kernel's pad or old 32-bit. */
static void put_counters(struct nlmsghdr *nlh, uint16_t type, bool c32,
			 uint64_t packets, uint64_t bytes)
{
	struct nlattr *n = mnl_attr_nest_start(nlh, type);

	if (c32) {
		mnl_attr_put_u32(nlh, CTA_COUNTERS32_PACKETS,
				 htonl((uint32_t)packets));
		mnl_attr_put_u32(nlh, CTA_COUNTERS32_BYTES,
				 htonl((uint32_t)bytes));
	} else {
		mnl_attr_put(nlh, CTA_COUNTERS_PAD, 0, NULL);
		mnl_attr_put_u64(nlh, CTA_COUNTERS_PACKETS, htobe64(packets));
		mnl_attr_put_u64(nlh, CTA_COUNTERS_BYTES, htobe64(bytes));
	}
	mnl_attr_nest_end(nlh, n);
}

/* Builds the message described by s into BUF; returns its length. */
static size_t build(const struct spec *s)
{
	struct nlmsghdr *nlh;
	struct nfgenmsg *nfg;
	struct nlattr *n;

	memset(storage, 0, sizeof(storage));
	nlh = mnl_nlmsg_put_header(BUF);
	nlh->nlmsg_type = (uint16_t)(s->subsys << 8 | s->msg);
	nlh->nlmsg_flags = s->flags;
	nlh->nlmsg_seq = 0;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = s->family;
	nfg->version = NFNETLINK_V0;
	nfg->res_id = 0;

	if (s->extras) {
		static const char unterminated[3] = { 's', 'y', 's' };

		n = mnl_attr_nest_start(nlh, CTA_SECCTX);
		mnl_attr_put(nlh, CTA_SECCTX_NAME, sizeof(unterminated),
			     unterminated);
		mnl_attr_nest_end(nlh, n);
		mnl_attr_put(nlh, CTA_LABELS, 3, "abc");
		mnl_attr_put_u16(nlh, 200, 7);
		mnl_attr_put_u32(nlh, CTA_MARK, htonl(42));
	}
	if (!s->no_orig)
		put_tuple(nlh, CTA_TUPLE_ORIG, s, &s->orig, &s->orig6,
			  s->icmp_type, s->icmp_code);
	if (!s->no_reply)
		put_tuple(nlh, CTA_TUPLE_REPLY, s, &s->reply, &s->reply6,
			  s->rtype, s->rcode);
	mnl_attr_put_u32(nlh, CTA_STATUS, htonl(s->status));
	if (s->tcp_state) {
		struct nlattr *t;

		n = mnl_attr_nest_start(nlh, CTA_PROTOINFO);
		t = mnl_attr_nest_start(nlh, CTA_PROTOINFO_TCP);
		mnl_attr_put_u8(nlh, CTA_PROTOINFO_TCP_STATE,
				TCP_CONNTRACK_ESTABLISHED);
		mnl_attr_put_u8(nlh, CTA_PROTOINFO_TCP_WSCALE_ORIGINAL, 7);
		mnl_attr_nest_end(nlh, t);
		mnl_attr_nest_end(nlh, n);
	}
	if (s->counters_orig)
		put_counters(nlh, CTA_COUNTERS_ORIG, s->counters32, s->op,
			     s->ob);
	if (s->counters_reply)
		put_counters(nlh, CTA_COUNTERS_REPLY, s->counters32, s->rp,
			     s->rb);
	mnl_attr_put_u32(nlh, CTA_USE, htonl(1));
	if (!s->no_id)
		mnl_attr_put_u32(nlh, CTA_ID, htonl(s->id));
	if (s->ts_start || s->ts_stop) {
		n = mnl_attr_nest_start(nlh, CTA_TIMESTAMP);
		if (s->ts_start)
			mnl_attr_put_u64(nlh, CTA_TIMESTAMP_START,
					 htobe64(s->start));
		if (s->ts_stop)
			mnl_attr_put_u64(nlh, CTA_TIMESTAMP_STOP,
					 htobe64(s->stop));
		mnl_attr_nest_end(nlh, n);
	}
	return nlh->nlmsg_len;
}

/* Parses what is in BUF with a fresh scratch object. */
static enum ctmsg_result parse(size_t len, struct ct_event *ev)
{
	struct nf_conntrack *scratch = nfct_new();
	enum ctmsg_result r;

	assert_non_null(scratch);
	r = ctmsg_parse((const struct nlmsghdr *)BUF, len, scratch, ev);
	nfct_destroy(scratch);
	return r;
}

/* Copies BUF into an exact-size heap block (so a sanitizer sees any read
 * past it) and parses it as len bytes. */
static enum ctmsg_result parse_exact(size_t len, struct ct_event *ev)
{
	struct nf_conntrack *scratch = nfct_new();
	enum ctmsg_result r;
	void *p = malloc(len ? len : 1);

	assert_non_null(p);
	assert_non_null(scratch);
	memcpy(p, BUF, len);
	r = ctmsg_parse(p, len, scratch, ev);
	free(p);
	nfct_destroy(scratch);
	return r;
}

/* Checks a tuple field by field. */
static void assert_tuple(const struct ct_tuple *got, const struct ct_tuple *want)
{
	assert_int_equal(got->src, want->src);
	assert_int_equal(got->dst, want->dst);
	assert_int_equal(got->sport, want->sport);
	assert_int_equal(got->dport, want->dport);
}

/* A NEW event encoded by libnetfilter_conntrack itself (plus CTA_ID, which
 * its encoder never writes). */
static void test_new_tcp_from_nfct(void **state)
{
	struct nf_conntrack *ct = nfct_new();
	struct nlmsghdr *nlh;
	struct nfgenmsg *nfg;
	struct ct_event ev;

	(void)state;
	assert_non_null(ct);
	nfct_set_attr_u8(ct, ATTR_L3PROTO, AF_INET);
	nfct_set_attr_u8(ct, ATTR_REPL_L3PROTO, AF_INET);
	nfct_set_attr_u32(ct, ATTR_IPV4_SRC, htonl(IP(192, 0, 2, 7)));
	nfct_set_attr_u32(ct, ATTR_IPV4_DST, htonl(IP(198, 51, 100, 9)));
	nfct_set_attr_u32(ct, ATTR_REPL_IPV4_SRC, htonl(IP(198, 51, 100, 9)));
	nfct_set_attr_u32(ct, ATTR_REPL_IPV4_DST, htonl(IP(192, 0, 2, 7)));
	nfct_set_attr_u8(ct, ATTR_L4PROTO, IPPROTO_TCP);
	nfct_set_attr_u8(ct, ATTR_REPL_L4PROTO, IPPROTO_TCP);
	nfct_set_attr_u16(ct, ATTR_PORT_SRC, htons(40000));
	nfct_set_attr_u16(ct, ATTR_PORT_DST, htons(443));
	nfct_set_attr_u16(ct, ATTR_REPL_PORT_SRC, htons(443));
	nfct_set_attr_u16(ct, ATTR_REPL_PORT_DST, htons(40000));
	nfct_set_attr_u8(ct, ATTR_TCP_STATE, TCP_CONNTRACK_SYN_SENT);
	nfct_set_attr_u32(ct, ATTR_STATUS, IPS_SEEN_REPLY);

	memset(storage, 0, sizeof(storage));
	nlh = mnl_nlmsg_put_header(BUF);
	nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_NEW;
	nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = AF_INET;
	nfg->version = NFNETLINK_V0;
	assert_int_equal(nfct_nlmsg_build(nlh, ct), 0);
	mnl_attr_put_u32(nlh, CTA_ID, htonl(77));
	nfct_destroy(ct);

	assert_int_equal(parse(nlh->nlmsg_len, &ev), CTMSG_OK);
	assert_int_equal(ev.type, CT_EVENT_NEW);
	assert_int_equal(ev.id, 77);
	assert_int_equal(ev.proto, IPPROTO_TCP);
	assert_int_equal(ev.tcp_state, TCP_CONNTRACK_SYN_SENT);
	/* the encoder always adds IPS_CONFIRMED */
	assert_int_equal(ev.status, IPS_SEEN_REPLY | IPS_CONFIRMED);
	assert_int_equal(ev.orig.src, IP(192, 0, 2, 7));
	assert_int_equal(ev.orig.dst, IP(198, 51, 100, 9));
	assert_int_equal(ev.orig.sport, 40000);
	assert_int_equal(ev.orig.dport, 443);
	assert_int_equal(ev.reply.src, IP(198, 51, 100, 9));
	assert_int_equal(ev.reply.sport, 443);
	assert_false(ev.has_counters);
	assert_false(ev.has_start);
	assert_false(ev.has_stop);
}

/* A hand-built NEW TCP event with protoinfo: every field lands. */
static void test_new_tcp(void **state)
{
	struct spec s = tcp_spec();
	struct ct_event ev;

	(void)state;
	assert_int_equal(parse(build(&s), &ev), CTMSG_OK);
	assert_int_equal(ev.type, CT_EVENT_NEW);
	assert_int_equal(ev.id, 0xdeadbeef);
	assert_int_equal(ev.status, 0x18e);
	assert_int_equal(ev.tcp_state, TCP_CONNTRACK_ESTABLISHED);
	assert_tuple(&ev.orig, &s.orig);
	assert_tuple(&ev.reply, &s.reply);
	assert_false(ev.has_counters);
	assert_int_equal(ev.orig_packets, 0);
	assert_int_equal(ev.requester, 0);	/* the kernel's own */
}

/* An event a program's request caused carries its port id. */
static void test_requester(void **state)
{
	struct spec s = tcp_spec();
	struct ct_event ev;
	size_t len = build(&s);
	uint32_t pid = 31337;

	(void)state;
	/* nlmsg_pid: bytes 12..15 of the header, host order */
	memcpy((char *)BUF + 12, &pid, sizeof(pid));
	assert_int_equal(parse(len, &ev), CTMSG_OK);
	assert_int_equal(ev.requester, 31337);
}

/* The id found ahead of the parse: that of NEW and DESTROY events with
 * extra attributes around it; none for a message without one, for other
 * subsystems and message types, or for a message longer than given. */
static void test_peek_id(void **state)
{
	struct spec s = tcp_spec();
	size_t len;
	uint32_t id = 0;

	(void)state;
	s.extras = true;
	len = build(&s);
	assert_true(ctmsg_peek_id((const struct nlmsghdr *)BUF, len, &id));
	assert_int_equal(id, 0xdeadbeef);
	assert_false(ctmsg_peek_id((const struct nlmsghdr *)BUF, len - 4, &id));
	s.msg = IPCTNL_MSG_CT_DELETE;
	s.counters_orig = s.counters_reply = s.ts_start = s.ts_stop = true;
	id = 0;
	assert_true(ctmsg_peek_id((const struct nlmsghdr *)BUF, build(&s), &id));
	assert_int_equal(id, 0xdeadbeef);
	s.no_id = true;
	assert_false(ctmsg_peek_id((const struct nlmsghdr *)BUF, build(&s), &id));
	s.no_id = false;
	s.msg = IPCTNL_MSG_CT_GET;
	assert_false(ctmsg_peek_id((const struct nlmsghdr *)BUF, build(&s), &id));
	s.msg = IPCTNL_MSG_CT_NEW;
	s.subsys = NFNL_SUBSYS_CTNETLINK_EXP;
	assert_false(ctmsg_peek_id((const struct nlmsghdr *)BUF, build(&s), &id));
}

/* IPCTNL_MSG_CT_NEW without NLM_F_CREATE (update event, dump reply). */
static void test_update_without_create(void **state)
{
	struct spec s = tcp_spec();
	struct ct_event ev;

	(void)state;
	s.flags = NLM_F_MULTI;
	assert_int_equal(parse(build(&s), &ev), CTMSG_OK);
	assert_int_equal(ev.type, CT_EVENT_UPDATE);
	s.flags = 0;
	assert_int_equal(parse(build(&s), &ev), CTMSG_OK);
	assert_int_equal(ev.type, CT_EVENT_UPDATE);
}

/* DESTROY carrying both counters and both timestamps. */
static void test_destroy_counters_timestamps(void **state)
{
	struct spec s = tcp_spec();
	struct ct_event ev;

	(void)state;
	s.msg = IPCTNL_MSG_CT_DELETE;
	s.flags = 0;
	s.counters_orig = s.counters_reply = true;
	s.op = 5000000000ULL;	/* needs more than 32 bits */
	s.ob = 123456789012ULL;
	s.rp = 4;
	s.rb = 320;
	s.ts_start = s.ts_stop = true;
	s.start = 1700000000123456789ULL;
	s.stop = 1700000060987654321ULL;
	assert_int_equal(parse(build(&s), &ev), CTMSG_OK);
	assert_int_equal(ev.type, CT_EVENT_DESTROY);
	assert_true(ev.has_counters);
	assert_true(ev.orig_packets == 5000000000ULL);
	assert_true(ev.orig_bytes == 123456789012ULL);
	assert_int_equal(ev.reply_packets, 4);
	assert_int_equal(ev.reply_bytes, 320);
	assert_true(ev.has_start);
	assert_true(ev.has_stop);
	assert_true(ev.start_ns == 1700000000123456789ULL);
	assert_true(ev.stop_ns == 1700000060987654321ULL);
	assert_tuple(&ev.orig, &s.orig);
	assert_tuple(&ev.reply, &s.reply);
}

/* DESTROY without accounting: no counters, start only. */
static void test_destroy_without_counters(void **state)
{
	struct spec s = tcp_spec();
	struct ct_event ev;

	(void)state;
	s.msg = IPCTNL_MSG_CT_DELETE;
	s.ts_start = true;
	s.start = 99;
	assert_int_equal(parse(build(&s), &ev), CTMSG_OK);
	assert_int_equal(ev.type, CT_EVENT_DESTROY);
	assert_false(ev.has_counters);
	assert_true(ev.has_start);
	assert_false(ev.has_stop);
	assert_int_equal(ev.start_ns, 99);
	assert_int_equal(ev.stop_ns, 0);
}

/* Counters in one direction only do not count as counters. */
static void test_counters_one_direction(void **state)
{
	struct spec s = tcp_spec();
	struct ct_event ev;

	(void)state;
	s.msg = IPCTNL_MSG_CT_DELETE;
	s.counters_orig = true;
	s.op = 3;
	s.ob = 180;
	s.ts_stop = true;
	s.stop = 7;
	assert_int_equal(parse(build(&s), &ev), CTMSG_OK);
	assert_false(ev.has_counters);
	assert_int_equal(ev.orig_packets, 0);
	assert_false(ev.has_start);
	assert_true(ev.has_stop);
	assert_int_equal(ev.stop_ns, 7);
}

/* Old kernels' 32-bit counters are read too. */
static void test_counters32(void **state)
{
	struct spec s = tcp_spec();
	struct ct_event ev;

	(void)state;
	s.msg = IPCTNL_MSG_CT_DELETE;
	s.counters_orig = s.counters_reply = s.counters32 = true;
	s.op = 10;
	s.ob = 4000000000ULL;
	s.rp = 9;
	s.rb = 900;
	assert_int_equal(parse(build(&s), &ev), CTMSG_OK);
	assert_true(ev.has_counters);
	assert_int_equal(ev.orig_packets, 10);
	assert_true(ev.orig_bytes == 4000000000ULL);
	assert_int_equal(ev.reply_packets, 9);
	assert_int_equal(ev.reply_bytes, 900);
}

/* ICMP echo: sport is the id, dport type << 8 | code per direction. */
static void test_icmp_echo(void **state)
{
	struct spec s = tcp_spec();
	struct ct_event ev;

	(void)state;
	s.proto = IPPROTO_ICMP;
	s.tcp_state = false;
	s.orig = (struct ct_tuple){ IP(192, 0, 2, 2), IP(198, 51, 100, 2),
				    0x1234, 0 };
	s.reply = (struct ct_tuple){ IP(198, 51, 100, 2), IP(192, 0, 2, 2),
				     0x1234, 0 };
	s.icmp_type = 8;
	s.icmp_code = 0;
	s.rtype = 0;
	s.rcode = 0;
	assert_int_equal(parse(build(&s), &ev), CTMSG_OK);
	assert_int_equal(ev.proto, IPPROTO_ICMP);
	assert_int_equal(ev.orig.sport, 0x1234);
	assert_int_equal(ev.orig.dport, 2048);
	assert_int_equal(ev.reply.sport, 0x1234);
	assert_int_equal(ev.reply.dport, 0);
	assert_int_equal(ev.tcp_state, 0);

	s.icmp_type = 13;	/* timestamp request, code 1 to see both */
	s.icmp_code = 1;
	assert_int_equal(parse(build(&s), &ev), CTMSG_OK);
	assert_int_equal(ev.orig.dport, 13 * 256 + 1);
}

/* UDP, and a protoinfo that is only honoured for TCP. */
static void test_udp(void **state)
{
	struct spec s = tcp_spec();
	struct ct_event ev;

	(void)state;
	s.proto = IPPROTO_UDP;
	s.orig = (struct ct_tuple){ IP(192, 0, 2, 2), IP(198, 51, 100, 53),
				    5353, 53 };
	s.reply = (struct ct_tuple){ IP(198, 51, 100, 53), IP(192, 0, 2, 2),
				     53, 5353 };
	assert_int_equal(parse(build(&s), &ev), CTMSG_OK);
	assert_int_equal(ev.proto, IPPROTO_UDP);
	assert_int_equal(ev.tcp_state, 0);
	assert_tuple(&ev.orig, &s.orig);
	assert_tuple(&ev.reply, &s.reply);
}

/* Families other than IPv4 and IPv6: ignored, whatever the attributes say. */
static void test_other_families_ignored(void **state)
{
	struct spec s = tcp_spec();
	struct ct_event ev;

	(void)state;
	s.family = AF_UNSPEC;
	assert_int_equal(parse(build(&s), &ev), CTMSG_IGNORED);
	s.family = AF_BRIDGE;
	assert_int_equal(parse(build(&s), &ev), CTMSG_IGNORED);
}

/* An IPv4 event says so in family and leaves the IPv6 addresses zero. */
static void test_ipv4_family(void **state)
{
	struct spec s = tcp_spec();
	struct ct_event ev;
	struct ct_addr6 zero;

	(void)state;
	memset(&zero, 0, sizeof(zero));
	memset(&ev, 0x5a, sizeof(ev));
	assert_int_equal(parse(build(&s), &ev), CTMSG_OK);
	assert_int_equal(ev.family, AF_INET);
	assert_memory_equal(&ev.orig6, &zero, sizeof(zero));
	assert_memory_equal(&ev.reply6, &zero, sizeof(zero));
}

/* Checks an IPv6 event's addresses against the spec's, and that the IPv4
 * fields stay zero. */
static void assert_addrs6(const struct ct_event *ev, const struct spec *s)
{
	assert_int_equal(ev->family, AF_INET6);
	assert_memory_equal(ev->orig6.src, s->orig6.src, 16);
	assert_memory_equal(ev->orig6.dst, s->orig6.dst, 16);
	assert_memory_equal(ev->reply6.src, s->reply6.src, 16);
	assert_memory_equal(ev->reply6.dst, s->reply6.dst, 16);
	assert_int_equal(ev->orig.src, 0);
	assert_int_equal(ev->orig.dst, 0);
	assert_int_equal(ev->reply.src, 0);
	assert_int_equal(ev->reply.dst, 0);
}

/* An IPv6 TCP DESTROY with counters, timestamps and TCP state. */
static void test_ipv6_tcp(void **state)
{
	struct spec s = tcp6_spec();
	struct ct_event ev;

	(void)state;
	s.msg = IPCTNL_MSG_CT_DELETE;
	s.flags = 0;
	s.counters_orig = s.counters_reply = true;
	s.op = 12;
	s.ob = 3400;
	s.rp = 10;
	s.rb = 56000;
	s.ts_start = s.ts_stop = true;
	s.start = 1700000000000000000ULL;
	s.stop = 1700000001000000000ULL;
	memset(&ev, 0x5a, sizeof(ev));
	assert_int_equal(parse(build(&s), &ev), CTMSG_OK);
	assert_int_equal(ev.type, CT_EVENT_DESTROY);
	assert_int_equal(ev.proto, IPPROTO_TCP);
	assert_int_equal(ev.id, 0xdeadbeef);
	assert_int_equal(ev.tcp_state, TCP_CONNTRACK_ESTABLISHED);
	assert_addrs6(&ev, &s);
	assert_tuple(&ev.orig, &s.orig);
	assert_tuple(&ev.reply, &s.reply);
	assert_true(ev.has_counters);
	assert_int_equal(ev.orig_bytes, 3400);
	assert_int_equal(ev.reply_bytes, 56000);
	assert_true(ev.has_start && ev.has_stop);
	assert_true(ev.stop_ns == 1700000001000000000ULL);
}

/* An IPv6 UDP NEW with NAT: the reply goes to a translated address and
 * port, which only the reply tuple shows. */
static void test_ipv6_udp_nat(void **state)
{
	struct spec s = tcp6_spec();
	struct ct_event ev;

	(void)state;
	s.proto = IPPROTO_UDP;
	s.tcp_state = false;
	s.orig = (struct ct_tuple){ 0, 0, 5353, 53 };
	s.reply = (struct ct_tuple){ 0, 0, 53, 61000 };
	doc6(s.orig6.src, 0x11);
	doc6(s.orig6.dst, 0x53);
	doc6(s.reply6.src, 0x53);
	doc6(s.reply6.dst, 0xfe01);	/* the firewall's outside address */
	s.status = IPS_SRC_NAT | IPS_CONFIRMED;
	assert_int_equal(parse(build(&s), &ev), CTMSG_OK);
	assert_int_equal(ev.type, CT_EVENT_NEW);
	assert_int_equal(ev.proto, IPPROTO_UDP);
	assert_int_equal(ev.tcp_state, 0);
	assert_int_equal(ev.status, IPS_SRC_NAT | IPS_CONFIRMED);
	assert_addrs6(&ev, &s);
	assert_int_equal(ev.reply6.dst[15], 0x01);
	assert_int_equal(ev.reply6.dst[14], 0xfe);
	assert_tuple(&ev.orig, &s.orig);
	assert_tuple(&ev.reply, &s.reply);
}

/* ICMPv6 echo: id in sport, type << 8 | code in dport, per direction. */
static void test_icmpv6_echo(void **state)
{
	struct spec s = tcp6_spec();
	struct ct_event ev;

	(void)state;
	s.proto = IPPROTO_ICMPV6;
	s.tcp_state = false;
	s.orig = (struct ct_tuple){ 0, 0, 0x4321, 0 };
	s.reply = (struct ct_tuple){ 0, 0, 0x4321, 0 };
	s.icmp_type = 128;	/* echo request */
	s.icmp_code = 0;
	s.rtype = 129;		/* echo reply */
	s.rcode = 3;		/* not real, but shows the code lands */
	assert_int_equal(parse(build(&s), &ev), CTMSG_OK);
	assert_int_equal(ev.proto, IPPROTO_ICMPV6);
	assert_addrs6(&ev, &s);
	assert_int_equal(ev.orig.sport, 0x4321);
	assert_int_equal(ev.orig.dport, 128 << 8);
	assert_int_equal(ev.reply.sport, 0x4321);
	assert_int_equal(ev.reply.dport, 129 << 8 | 3);

	/* without its id, type or code attributes it is malformed */
	s.no_ports = true;
	assert_int_equal(parse(build(&s), &ev), CTMSG_MALFORMED);
}

/* Mixed families: IPv4 address attributes in an IPv6 message and the other
 * way round are malformed; ICMP in IPv6 and ICMPv6 in IPv4 are ignored.
 * Each is parsed from an exact-size heap copy so nothing reads past. */
static void test_mixed_family(void **state)
{
	struct spec s = tcp6_spec();
	struct nfgenmsg *nfg;
	struct ct_event ev;
	size_t n;

	(void)state;
	s.v4_addrs = true;
	assert_int_equal(parse_exact(build(&s), &ev), CTMSG_MALFORMED);

	/* a v6 tuple in a v4 message: build it as v6, then relabel */
	s = tcp6_spec();
	nfg = mnl_nlmsg_get_payload((struct nlmsghdr *)BUF);
	n = build(&s);
	nfg->nfgen_family = AF_INET;
	assert_int_equal(parse_exact(n, &ev), CTMSG_MALFORMED);

	s = tcp6_spec();
	s.proto = IPPROTO_ICMP;
	s.tcp_state = false;
	assert_int_equal(parse_exact(build(&s), &ev), CTMSG_IGNORED);

	s = tcp_spec();
	s.proto = IPPROTO_ICMPV6;
	s.tcp_state = false;
	assert_int_equal(parse_exact(build(&s), &ev), CTMSG_IGNORED);
}

/* A masqueraded connection of protocol proto 192.0.2.2 -> 198.51.100.2
 * via 203.0.113.1, destroyed with counters; ports as given (the reply's
 * swapped), sent only when with_ports. */
static struct spec other_spec(uint8_t proto, uint16_t sport, uint16_t dport,
			      bool with_ports)
{
	struct spec s = tcp_spec();

	s.msg = IPCTNL_MSG_CT_DELETE;
	s.flags = 0;
	s.proto = proto;
	s.tcp_state = false;
	s.orig = (struct ct_tuple){ IP(192, 0, 2, 2), IP(198, 51, 100, 2),
				    sport, dport };
	s.reply = (struct ct_tuple){ IP(198, 51, 100, 2), IP(203, 0, 113, 1),
				     dport, sport };
	s.no_ports = !with_ports;
	s.counters_orig = s.counters_reply = true;
	s.op = 3;
	s.ob = 312;
	s.rp = 2;
	s.rb = 208;
	return s;
}

/* Parses s, expects CTMSG_OK and checks protocol, tuples and counters;
 * ports are those of s when sent, else 0. */
static void check_other(const struct spec *s)
{
	struct ct_tuple o = s->orig, r = s->reply;
	struct ct_event ev;

	if (s->no_ports)
		o.sport = o.dport = r.sport = r.dport = 0;
	memset(&ev, 0xa5, sizeof(ev));
	assert_int_equal(parse_exact(build(s), &ev), CTMSG_OK);
	assert_int_equal(ev.type, CT_EVENT_DESTROY);
	assert_int_equal(ev.family, AF_INET);
	assert_int_equal(ev.proto, s->proto);
	assert_int_equal(ev.tcp_state, 0);
	assert_tuple(&ev.orig, &o);
	assert_tuple(&ev.reply, &r);
	assert_true(ev.has_counters);
	assert_int_equal(ev.orig_packets, 3);
	assert_int_equal(ev.orig_bytes, 312);
	assert_int_equal(ev.reply_packets, 2);
	assert_int_equal(ev.reply_bytes, 208);
}

/* GRE: version 1 (PPTP) entries carry the call ids as ports, version 0
 * ones none; either way the entry is exported, keys 0 when absent. */
static void test_gre(void **state)
{
	struct spec s;

	(void)state;
	s = other_spec(IPPROTO_GRE, 0x2a, 0x1234, true);
	check_other(&s);
	s = other_spec(IPPROTO_GRE, 0, 0x1234, true);
	check_other(&s);
	s = other_spec(IPPROTO_GRE, 0x2a, 0x1234, false);
	check_other(&s);
}

/* Protocols of the generic tracker (ESP, AH, OSPF, anything unknown) have
 * no ports and get 0; IPv6 ones too. */
static void test_generic_protocols(void **state)
{
	struct spec s;
	struct ct_event ev;

	(void)state;
	s = other_spec(IPPROTO_ESP, 0, 0, false);
	check_other(&s);
	s = other_spec(IPPROTO_AH, 0, 0, false);
	check_other(&s);
	s = other_spec(89, 0, 0, false);	/* OSPF */
	check_other(&s);
	s = other_spec(253, 0, 0, false);	/* experimental (RFC 3692) */
	check_other(&s);
	/* ports of a protocol that needs none are still taken */
	s = other_spec(89, 7, 9, true);
	check_other(&s);

	s = tcp6_spec();
	s.proto = IPPROTO_ESP;
	s.tcp_state = false;
	s.no_ports = true;
	assert_int_equal(parse_exact(build(&s), &ev), CTMSG_OK);
	assert_int_equal(ev.family, AF_INET6);
	assert_int_equal(ev.proto, IPPROTO_ESP);
	assert_int_equal(ev.orig.sport, 0);
	assert_int_equal(ev.orig.dport, 0);
	assert_int_equal(ev.reply.sport, 0);
	assert_int_equal(ev.reply.dport, 0);
	assert_addrs6(&ev, &s);
}

/* SCTP, DCCP and UDP-Lite have ports like TCP and UDP; without them a
 * message is malformed. */
static void test_port_protocols(void **state)
{
	static const uint8_t protos[] = {
		IPPROTO_SCTP, IPPROTO_DCCP, IPPROTO_UDPLITE,
	};
	struct spec s;
	struct ct_event ev;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(protos); i++) {
		s = other_spec(protos[i], 40000, 5060, true);
		check_other(&s);
		s.no_ports = true;
		assert_int_equal(parse_exact(build(&s), &ev), CTMSG_MALFORMED);
	}
}

/* Other netfilter subsystems and other ctnetlink messages are ignored. */
static void test_other_messages_ignored(void **state)
{
	struct spec s = tcp_spec();
	struct ct_event ev;
	struct nlmsghdr *nlh = (struct nlmsghdr *)BUF;
	size_t len;

	(void)state;
	s.subsys = NFNL_SUBSYS_CTNETLINK_EXP;
	assert_int_equal(parse(build(&s), &ev), CTMSG_IGNORED);
	s.subsys = NFNL_SUBSYS_QUEUE;
	assert_int_equal(parse(build(&s), &ev), CTMSG_IGNORED);
	s.subsys = NFNL_SUBSYS_CTNETLINK;
	s.msg = IPCTNL_MSG_CT_GET;
	assert_int_equal(parse(build(&s), &ev), CTMSG_IGNORED);
	s.msg = IPCTNL_MSG_CT_GET_STATS_CPU;
	assert_int_equal(parse(build(&s), &ev), CTMSG_IGNORED);

	/* plain netlink control messages, bare header only */
	s.msg = IPCTNL_MSG_CT_NEW;
	len = build(&s);
	(void)len;
	nlh->nlmsg_type = NLMSG_DONE;
	nlh->nlmsg_len = NLMSG_HDRLEN;
	assert_int_equal(parse(NLMSG_HDRLEN, &ev), CTMSG_IGNORED);
	nlh->nlmsg_type = NLMSG_ERROR;
	assert_int_equal(parse(NLMSG_HDRLEN, &ev), CTMSG_IGNORED);
}

/* Every truncation of a full DESTROY message built from s, once with the header still
 * claiming the full length (always MALFORMED) and once with the header
 * shortened to match (MALFORMED, or a parse with the original id and
 * tuples); never a crash or a read past the end. */
static void check_every_truncation(struct spec s)
{
	struct ct_event full, ev;
	size_t n, cut;
	unsigned ok = 0, bad = 0;

	s.msg = IPCTNL_MSG_CT_DELETE;
	s.counters_orig = s.counters_reply = true;
	s.op = s.ob = s.rp = s.rb = 1;
	s.ts_start = s.ts_stop = true;
	s.extras = true;
	n = build(&s);
	assert_int_equal(parse(n, &full), CTMSG_OK);

	for (cut = 0; cut < n; cut++) {
		struct nlmsghdr *nlh = (struct nlmsghdr *)BUF;
		enum ctmsg_result r;

		build(&s);
		assert_int_equal(parse_exact(cut, &ev), CTMSG_MALFORMED);

		if (cut < sizeof(*nlh))
			continue;
		nlh->nlmsg_len = (uint32_t)cut;
		memset(&ev, 0xa5, sizeof(ev));
		r = parse_exact(cut, &ev);
		if (r == CTMSG_OK) {
			ok++;
			assert_int_equal(ev.type, CT_EVENT_DESTROY);
			assert_int_equal(ev.family, full.family);
			assert_int_equal(ev.id, full.id);
			assert_tuple(&ev.orig, &full.orig);
			assert_tuple(&ev.reply, &full.reply);
			assert_memory_equal(&ev.orig6, &full.orig6,
					    sizeof(full.orig6));
			assert_memory_equal(&ev.reply6, &full.reply6,
					    sizeof(full.reply6));
			if (ev.has_counters)
				assert_int_equal(ev.reply_bytes, 1);
			if (ev.has_stop)
				assert_true(ev.stop_ns == full.stop_ns);
		} else {
			assert_int_equal(r, CTMSG_MALFORMED);
			bad++;
		}
	}
	/* cuts inside the timestamp nest still leave the id and tuples */
	assert_true(ok > 0);
	assert_true(bad > 0);
}

/* Every truncation of an IPv4 and of an IPv6 DESTROY message, and of an
 * ESP and a GRE one. */
static void test_every_truncation(void **state)
{
	(void)state;
	check_every_truncation(tcp_spec());
	check_every_truncation(tcp6_spec());
	check_every_truncation(other_spec(IPPROTO_ESP, 0, 0, false));
	check_every_truncation(other_spec(IPPROTO_GRE, 0x2a, 0x1234, true));
}

/* A header that claims more than the buffer holds, or less than itself. */
static void test_bad_nlmsg_len(void **state)
{
	struct spec s = tcp_spec();
	struct nlmsghdr *nlh = (struct nlmsghdr *)BUF;
	struct ct_event ev;
	size_t n;

	(void)state;
	n = build(&s);
	nlh->nlmsg_len = (uint32_t)n + 4;
	assert_int_equal(parse(n, &ev), CTMSG_MALFORMED);
	nlh->nlmsg_len = 0xffffffffu;
	assert_int_equal(parse(n, &ev), CTMSG_MALFORMED);
	nlh->nlmsg_len = 8;
	assert_int_equal(parse(n, &ev), CTMSG_MALFORMED);
	/* a ctnetlink header without room for its nfgenmsg */
	nlh->nlmsg_len = NLMSG_HDRLEN + 2;
	assert_int_equal(parse(n, &ev), CTMSG_MALFORMED);
	assert_int_equal(ctmsg_parse(NULL, 100, NULL, &ev), CTMSG_MALFORMED);
}

/* Finds the first attribute of a type inside BUF's attribute area, nests
 * included, by scanning for its header. */
static struct nlattr *find_attr(size_t n, uint16_t type, uint16_t len)
{
	size_t off;

	for (off = NLMSG_HDRLEN + 4; off + 4 <= n; off += 4) {
		struct nlattr *a = (struct nlattr *)(BUF + off);

		if ((a->nla_type & NLA_TYPE_MASK) == type && a->nla_len == len)
			return a;
	}
	return NULL;
}

/* A u32 attribute that carries 2 bytes, and similar size lies. */
static void test_wrong_attribute_length(void **state)
{
	struct spec s = tcp_spec();
	struct nlmsghdr *nlh;
	struct ct_event ev;
	struct nlattr *a;
	size_t n;

	(void)state;
	/* CTA_ID is last: shrink it to 2 bytes of payload */
	n = build(&s);
	nlh = (struct nlmsghdr *)BUF;
	a = find_attr(n, CTA_ID, 8);
	assert_non_null(a);
	a->nla_len = 6;
	nlh->nlmsg_len = (uint32_t)((char *)a - BUF + 8);
	assert_int_equal(parse(nlh->nlmsg_len, &ev), CTMSG_MALFORMED);

	/* an IPv4 address of 2 bytes (padding keeps the walk aligned) */
	n = build(&s);
	a = find_attr(n, CTA_IP_V4_SRC, 8);
	assert_non_null(a);
	a->nla_len = 6;
	assert_int_equal(parse(n, &ev), CTMSG_MALFORMED);

	/* a port of 1 byte */
	n = build(&s);
	a = find_attr(n, CTA_PROTO_SRC_PORT, 6);
	assert_non_null(a);
	a->nla_len = 5;
	assert_int_equal(parse(n, &ev), CTMSG_MALFORMED);

	/* an attribute running past the end of its nest */
	n = build(&s);
	a = find_attr(n, CTA_IP_V4_DST, 8);
	assert_non_null(a);
	a->nla_len = 200;
	assert_int_equal(parse(n, &ev), CTMSG_MALFORMED);

	/* a 64-bit counter with 4 bytes */
	s.counters_orig = s.counters_reply = true;
	n = build(&s);
	a = find_attr(n, CTA_COUNTERS_BYTES, 12);
	assert_non_null(a);
	a->nla_len = 8;
	assert_int_equal(parse(n, &ev), CTMSG_MALFORMED);
}

/* IPv6 attributes whose lengths lie: addresses of 15, 17 and 4 bytes, an
 * ICMPv6 id of 1 byte and type of 2 bytes, an address running past its
 * nest. Parsed from exact-size copies. */
static void test_wrong_attribute_length_ipv6(void **state)
{
	struct spec s = tcp6_spec();
	struct ct_event ev;
	struct nlattr *a;
	size_t n;

	(void)state;
	n = build(&s);
	a = find_attr(n, CTA_IP_V6_SRC, 20);
	assert_non_null(a);
	a->nla_len = 19;	/* 15 bytes, the walk stays aligned */
	assert_int_equal(parse_exact(n, &ev), CTMSG_MALFORMED);

	n = build(&s);
	a = find_attr(n, CTA_IP_V6_DST, 20);
	assert_non_null(a);
	a->nla_len = 21;	/* 17 bytes: runs into the next attribute */
	assert_int_equal(parse_exact(n, &ev), CTMSG_MALFORMED);

	n = build(&s);
	a = find_attr(n, CTA_IP_V6_DST, 20);
	assert_non_null(a);
	a->nla_len = 200;	/* past the end of the nest and message */
	assert_int_equal(parse_exact(n, &ev), CTMSG_MALFORMED);

	/* a 4-byte address under the IPv6 type: the IPv4 size is no excuse */
	n = build(&s);
	a = find_attr(n, CTA_IP_V6_SRC, 20);
	assert_non_null(a);
	a->nla_len = 8;
	memset((char *)a + 8, 0, 12);	/* a zero-length attribute follows */
	a = (struct nlattr *)((char *)a + 8);
	a->nla_len = 12;		/* fill the gap: unknown type 0 */
	a->nla_type = 0;
	assert_int_equal(parse_exact(n, &ev), CTMSG_MALFORMED);

	s.proto = IPPROTO_ICMPV6;
	s.tcp_state = false;
	s.icmp_type = 128;
	n = build(&s);
	a = find_attr(n, CTA_PROTO_ICMPV6_ID, 6);
	assert_non_null(a);
	a->nla_len = 5;
	assert_int_equal(parse_exact(n, &ev), CTMSG_MALFORMED);

	n = build(&s);
	a = find_attr(n, CTA_PROTO_ICMPV6_TYPE, 5);
	assert_non_null(a);
	a->nla_len = 6;
	assert_int_equal(parse_exact(n, &ev), CTMSG_MALFORMED);

	n = build(&s);
	assert_int_equal(parse_exact(n, &ev), CTMSG_OK);
}

/* A port-based protocol with one port only is malformed; GRE or a generic
 * one takes the port it has and 0 for the other. */
static void test_one_port(void **state)
{
	struct spec s;
	struct ct_event ev;
	struct nlattr *a;
	size_t n;
	static const uint8_t protos[] = { IPPROTO_SCTP, IPPROTO_GRE,
					  IPPROTO_ESP };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(protos); i++) {
		s = other_spec(protos[i], 0x2a, 0x1234, true);
		n = build(&s);
		/* turn the original's source port into an unused type */
		a = find_attr(n, CTA_PROTO_SRC_PORT, 6);
		assert_non_null(a);
		a->nla_type = CTA_PROTO_MAX + 1;
		memset(&ev, 0, sizeof(ev));
		if (protos[i] == IPPROTO_SCTP) {
			assert_int_equal(parse_exact(n, &ev), CTMSG_MALFORMED);
			continue;
		}
		assert_int_equal(parse_exact(n, &ev), CTMSG_OK);
		assert_int_equal(ev.orig.sport, 0);
		assert_int_equal(ev.orig.dport, 0x1234);
		assert_int_equal(ev.reply.sport, 0x1234);
		assert_int_equal(ev.reply.dport, 0x2a);
	}
}

/* No reply tuple, no orig tuple: malformed. */
static void test_missing_tuples(void **state)
{
	struct spec s = tcp_spec();
	struct ct_event ev;

	(void)state;
	s.no_reply = true;
	assert_int_equal(parse(build(&s), &ev), CTMSG_MALFORMED);
	s.no_reply = false;
	s.no_orig = true;
	assert_int_equal(parse(build(&s), &ev), CTMSG_MALFORMED);
}

/* No CTA_ID: malformed. */
static void test_missing_id(void **state)
{
	struct spec s = tcp_spec();
	struct ct_event ev;

	(void)state;
	s.no_id = true;
	s.msg = IPCTNL_MSG_CT_DELETE;
	assert_int_equal(parse(build(&s), &ev), CTMSG_MALFORMED);
}

/* No L4 protocol number, or no ports / ICMP fields where the protocol
 * has them: malformed. */
static void test_missing_l4(void **state)
{
	struct spec s = tcp_spec();
	struct ct_event ev;

	(void)state;
	s.no_protonum = true;
	assert_int_equal(parse(build(&s), &ev), CTMSG_MALFORMED);
	s.no_protonum = false;
	s.no_ports = true;
	assert_int_equal(parse(build(&s), &ev), CTMSG_MALFORMED);
	s.proto = IPPROTO_UDP;
	assert_int_equal(parse(build(&s), &ev), CTMSG_MALFORMED);
	s.proto = IPPROTO_ICMP;
	assert_int_equal(parse(build(&s), &ev), CTMSG_MALFORMED);
	s.proto = IPPROTO_SCTP;
	assert_int_equal(parse(build(&s), &ev), CTMSG_MALFORMED);
	/* a protocol without ports misses nothing */
	s.proto = IPPROTO_GRE;
	assert_int_equal(parse(build(&s), &ev), CTMSG_OK);
}

/* A failed parse leaves *out alone. */
static void test_out_untouched_on_failure(void **state)
{
	struct spec s = tcp_spec();
	struct ct_event ev, before;

	(void)state;
	memset(&ev, 0x5a, sizeof(ev));
	before = ev;
	s.no_id = true;
	assert_int_equal(parse(build(&s), &ev), CTMSG_MALFORMED);
	assert_memory_equal(&ev, &before, sizeof(ev));
	s.no_id = false;
	s.family = AF_UNSPEC;
	assert_int_equal(parse(build(&s), &ev), CTMSG_IGNORED);
	assert_memory_equal(&ev, &before, sizeof(ev));
	s.family = AF_INET6;
	s.v4_addrs = true;
	assert_int_equal(parse(build(&s), &ev), CTMSG_MALFORMED);
	assert_memory_equal(&ev, &before, sizeof(ev));
}

/* Attributes ctmsg does not use (an unterminated security context, labels,
 * unknown types) are skipped, not interpreted; NULL scratch is accepted. */
static void test_unused_attributes_skipped(void **state)
{
	struct spec s = tcp_spec();
	struct ct_event ev;
	size_t n;

	(void)state;
	s.extras = true;
	n = build(&s);
	assert_int_equal(parse(n, &ev), CTMSG_OK);
	assert_int_equal(ev.id, 0xdeadbeef);
	assert_int_equal(ctmsg_parse((const struct nlmsghdr *)BUF, n, NULL,
				     &ev), CTMSG_OK);
}

/* Reply protocol disagreeing with the original one is not trusted. */
static void test_proto_mismatch(void **state)
{
	struct spec s = tcp_spec();
	struct ct_event ev;
	size_t n, off;
	int seen = 0;

	(void)state;
	n = build(&s);
	/* the second CTA_PROTO_NUM (type 1, length 5, value 6) is the reply's */
	for (off = NLMSG_HDRLEN + 4; off + 5 <= n; off += 4) {
		struct nlattr *a = (struct nlattr *)(BUF + off);
		uint8_t *v = (uint8_t *)a + NLA_HDRLEN;

		if (a->nla_type == CTA_PROTO_NUM && a->nla_len == 5 &&
		    *v == IPPROTO_TCP && ++seen == 2)
			*v = IPPROTO_UDP;
	}
	assert_int_equal(seen, 2);
	assert_int_equal(parse(n, &ev), CTMSG_MALFORMED);
}

/* Real kernel messages, captured from a 6.x kernel into the fuzz corpus. */
#define CAPTURED(name) TEST_DATA_DIR "/../../fuzz/corpus/ctmsg/" name

/* Reads a captured datagram into BUF; returns its length. */
static size_t load(const char *path)
{
	FILE *f = fopen(path, "rb");
	size_t n;

	assert_non_null(f);
	memset(storage, 0, sizeof(storage));
	n = fread(BUF, 1, sizeof(storage), f);
	fclose(f);
	assert_true(n >= NLMSG_HDRLEN);
	return n;
}

/* A kernel DESTROY of a ping on 192.0.2.1 with accounting and timestamps. */
static void test_kernel_icmp_destroy(void **state)
{
	struct ct_event ev;
	size_t n;

	(void)state;
	n = load(CAPTURED("event-icmp-destroy-counters-timestamps"));
	assert_int_equal(parse(n, &ev), CTMSG_OK);
	assert_int_equal(ev.type, CT_EVENT_DESTROY);
	assert_int_equal(ev.proto, IPPROTO_ICMP);
	assert_int_equal(ev.orig.src, IP(192, 0, 2, 1));
	assert_int_equal(ev.orig.dport, 8 << 8);
	assert_int_equal(ev.reply.dport, 0);
	assert_int_equal(ev.orig.sport, ev.reply.sport);
	assert_true(ev.has_counters);
	assert_int_equal(ev.orig_packets, 2);
	assert_int_equal(ev.orig_bytes, 168);
	assert_int_equal(ev.reply_packets, 2);
	assert_int_equal(ev.reply_bytes, 168);
	assert_true(ev.has_start && ev.has_stop);
	assert_true(ev.stop_ns > ev.start_ns);
	assert_true(ev.stop_ns - ev.start_ns < 2000000000ULL);
}

/* A kernel NEW event of a SNATed UDP flow (reply to 203.0.113.1:61000). */
static void test_kernel_udp_snat_new(void **state)
{
	struct ct_event ev;
	size_t n;

	(void)state;
	n = load(CAPTURED("event-udp-snat-new"));
	assert_int_equal(parse(n, &ev), CTMSG_OK);
	assert_int_equal(ev.type, CT_EVENT_NEW);
	assert_int_equal(ev.proto, IPPROTO_UDP);
	assert_int_equal(ev.orig.src, IP(192, 0, 2, 11));
	assert_int_equal(ev.orig.sport, 5000);
	assert_int_equal(ev.orig.dst, IP(198, 51, 100, 11));
	assert_int_equal(ev.orig.dport, 53);
	assert_int_equal(ev.reply.src, IP(198, 51, 100, 11));
	assert_int_equal(ev.reply.dst, IP(203, 0, 113, 1));
	assert_int_equal(ev.reply.dport, 61000);
	assert_false(ev.has_counters);
	assert_false(ev.has_start);
}

/* A kernel dump datagram: an IPv6 TCP entry, an IPv6 UDP entry and an IPv4
 * UDP entry, all updates, walked the way ctsrc walks it. */
static void test_kernel_dump_walk(void **state)
{
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)BUF;
	struct ct_event ev[3];
	uint8_t a6[16];
	unsigned i = 0;
	int rem;

	(void)state;
	rem = (int)load(CAPTURED("dump-ipv6-and-ipv4"));
	while (ctmsg_walk_ok(nlh, rem)) {
		assert_true(i < 3);
		assert_int_equal(ctmsg_parse(nlh, (size_t)rem, NULL, &ev[i]),
				 CTMSG_OK);
		assert_int_equal(ev[i].type, CT_EVENT_UPDATE);
		i++;
		nlh = mnl_nlmsg_next(nlh, &rem);
	}
	assert_int_equal(i, 3);
	assert_int_equal(rem, 0);

	assert_int_equal(ev[0].family, AF_INET6);
	assert_int_equal(ev[0].proto, IPPROTO_TCP);
	assert_int_equal(ev[0].id, 0x438d1f69);
	doc6(a6, 5);
	assert_memory_equal(ev[0].orig6.src, a6, 16);
	assert_memory_equal(ev[0].reply6.dst, a6, 16);
	doc6(a6, 6);
	assert_memory_equal(ev[0].orig6.dst, a6, 16);
	assert_memory_equal(ev[0].reply6.src, a6, 16);
	assert_int_equal(ev[0].orig.sport, 1);
	assert_int_equal(ev[0].orig.dport, 2);
	assert_int_equal(ev[0].orig.src, 0);

	assert_int_equal(ev[1].family, AF_INET6);
	assert_int_equal(ev[1].proto, IPPROTO_UDP);
	doc6(a6, 1);
	assert_memory_equal(ev[1].orig6.src, a6, 16);

	assert_int_equal(ev[2].family, AF_INET);
	assert_int_equal(ev[2].reply.dst, IP(203, 0, 113, 1));
}

/* A kernel NEW event of an IPv6 TCP connection 2001:db8::5 -> ::6. */
static void test_kernel_ipv6_tcp_new(void **state)
{
	struct ct_event ev;
	uint8_t a6[16];

	(void)state;
	assert_int_equal(parse_exact(load(CAPTURED("event-ipv6-tcp-new")), &ev),
			 CTMSG_OK);
	assert_int_equal(ev.type, CT_EVENT_NEW);
	assert_int_equal(ev.family, AF_INET6);
	assert_int_equal(ev.proto, IPPROTO_TCP);
	doc6(a6, 5);
	assert_memory_equal(ev.orig6.src, a6, 16);
	doc6(a6, 6);
	assert_memory_equal(ev.orig6.dst, a6, 16);
	assert_int_equal(ev.orig.sport, 1);
	assert_int_equal(ev.orig.dport, 2);
	assert_int_equal(ev.reply.sport, 2);
	assert_int_equal(ev.reply.dport, 1);
}

/* Checks one direction of a captured IPv4 event. */
static void assert_kernel_tuple(const struct ct_tuple *t, uint32_t src,
				uint32_t dst, uint16_t sport, uint16_t dport)
{
	const struct ct_tuple want = { src, dst, sport, dport };

	assert_tuple(t, &want);
}

/* Kernel DESTROY events of 192.0.2.2 -> 198.51.100.2 masqueraded as
 * 198.51.100.1: GRE version 1 with the PPTP call id 0x1234 (conntrack's
 * keys 0 and 0x1234, unanswered), GRE version 0 (no keys), ESP (the
 * generic tracker, no ports) and an SCTP INIT answered by an INIT-ACK. */
static void test_kernel_gre_esp_sctp_destroy(void **state)
{
	const uint32_t lan = IP(192, 0, 2, 2), wan = IP(198, 51, 100, 2);
	const uint32_t fw = IP(198, 51, 100, 1);
	struct ct_event ev;

	(void)state;
	assert_int_equal(parse_exact(load(CAPTURED(
		"event-gre-pptp-key-destroy-counters-timestamps")), &ev),
		CTMSG_OK);
	assert_int_equal(ev.type, CT_EVENT_DESTROY);
	assert_int_equal(ev.proto, IPPROTO_GRE);
	assert_kernel_tuple(&ev.orig, lan, wan, 0, 0x1234);
	assert_kernel_tuple(&ev.reply, wan, fw, 0x1234, 0);
	assert_true(ev.has_counters && ev.has_start && ev.has_stop);
	assert_int_equal(ev.orig_packets, 3);
	assert_int_equal(ev.orig_bytes, 270);
	assert_int_equal(ev.reply_packets, 0);

	assert_int_equal(parse_exact(load(CAPTURED(
		"event-gre-v0-destroy-counters-timestamps")), &ev), CTMSG_OK);
	assert_int_equal(ev.proto, IPPROTO_GRE);
	assert_kernel_tuple(&ev.orig, lan, wan, 0, 0);
	assert_kernel_tuple(&ev.reply, wan, fw, 0, 0);
	assert_int_equal(ev.orig_packets, 3);
	assert_int_equal(ev.reply_packets, 6);

	assert_int_equal(parse_exact(load(CAPTURED(
		"event-esp-destroy-counters-timestamps")), &ev), CTMSG_OK);
	assert_int_equal(ev.type, CT_EVENT_DESTROY);
	assert_int_equal(ev.proto, IPPROTO_ESP);
	assert_kernel_tuple(&ev.orig, lan, wan, 0, 0);
	assert_kernel_tuple(&ev.reply, wan, fw, 0, 0);
	assert_int_equal(ev.orig_packets, 3);
	assert_int_equal(ev.orig_bytes, 270);
	assert_int_equal(ev.reply_packets, 3);
	assert_int_equal(ev.reply_bytes, 291);
	assert_true(ev.stop_ns > ev.start_ns);

	assert_int_equal(parse_exact(load(CAPTURED("event-esp-new")), &ev),
			 CTMSG_OK);
	assert_int_equal(ev.type, CT_EVENT_NEW);
	assert_int_equal(ev.proto, IPPROTO_ESP);
	assert_false(ev.has_counters);

	assert_int_equal(parse_exact(load(CAPTURED(
		"event-sctp-destroy-counters-timestamps")), &ev), CTMSG_OK);
	assert_int_equal(ev.proto, IPPROTO_SCTP);
	assert_kernel_tuple(&ev.orig, lan, wan, 40000, 5060);
	assert_kernel_tuple(&ev.reply, wan, fw, 5060, 40000);
	assert_int_equal(ev.tcp_state, 0);
	assert_int_equal(ev.orig_packets, 1);
	assert_int_equal(ev.orig_bytes, 52);
	assert_int_equal(ev.reply_packets, 1);
	assert_int_equal(ev.reply_bytes, 52);

	assert_int_equal(parse_exact(load(CAPTURED("event-sctp-new")), &ev),
			 CTMSG_OK);
	assert_int_equal(ev.type, CT_EVENT_NEW);
	assert_kernel_tuple(&ev.orig, lan, wan, 40000, 5060);
}

/* The walk guard: a whole message, and no nlmsg_len of 2^31 or more (which
 * libmnl 1.0.4 accepts as a negative int; found by fuzzing). */
static void test_walk_guard(void **state)
{
	struct nlmsghdr *nlh = (struct nlmsghdr *)BUF;
	struct spec s = tcp_spec();
	int n = (int)build(&s);

	(void)state;
	assert_true(ctmsg_walk_ok(nlh, n));
	assert_false(ctmsg_walk_ok(nlh, n - 1));
	assert_false(ctmsg_walk_ok(nlh, 15));
	nlh->nlmsg_len = 0xe8e8e8e8u;
	assert_false(ctmsg_walk_ok(nlh, n));
	nlh->nlmsg_len = 0x80000000u;
	assert_false(ctmsg_walk_ok(nlh, n));
	nlh->nlmsg_len = 8;
	assert_false(ctmsg_walk_ok(nlh, n));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_tcp_from_nfct),
		cmocka_unit_test(test_new_tcp),
		cmocka_unit_test(test_requester),
		cmocka_unit_test(test_peek_id),
		cmocka_unit_test(test_update_without_create),
		cmocka_unit_test(test_destroy_counters_timestamps),
		cmocka_unit_test(test_destroy_without_counters),
		cmocka_unit_test(test_counters_one_direction),
		cmocka_unit_test(test_counters32),
		cmocka_unit_test(test_icmp_echo),
		cmocka_unit_test(test_udp),
		cmocka_unit_test(test_other_families_ignored),
		cmocka_unit_test(test_ipv4_family),
		cmocka_unit_test(test_ipv6_tcp),
		cmocka_unit_test(test_ipv6_udp_nat),
		cmocka_unit_test(test_icmpv6_echo),
		cmocka_unit_test(test_mixed_family),
		cmocka_unit_test(test_gre),
		cmocka_unit_test(test_generic_protocols),
		cmocka_unit_test(test_port_protocols),
		cmocka_unit_test(test_one_port),
		cmocka_unit_test(test_other_messages_ignored),
		cmocka_unit_test(test_every_truncation),
		cmocka_unit_test(test_bad_nlmsg_len),
		cmocka_unit_test(test_wrong_attribute_length),
		cmocka_unit_test(test_wrong_attribute_length_ipv6),
		cmocka_unit_test(test_missing_tuples),
		cmocka_unit_test(test_missing_id),
		cmocka_unit_test(test_missing_l4),
		cmocka_unit_test(test_out_untouched_on_failure),
		cmocka_unit_test(test_unused_attributes_skipped),
		cmocka_unit_test(test_proto_mismatch),
		cmocka_unit_test(test_kernel_icmp_destroy),
		cmocka_unit_test(test_kernel_udp_snat_new),
		cmocka_unit_test(test_kernel_dump_walk),
		cmocka_unit_test(test_kernel_ipv6_tcp_new),
		cmocka_unit_test(test_kernel_gre_esp_sctp_destroy),
		cmocka_unit_test(test_walk_guard),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
