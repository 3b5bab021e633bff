/* Unit tests for routecache: the direct-mapped cache (hits, replacement,
 * flush, families) and the RTM_GETROUTE answer parser against datagrams
 * built with libmnl, including every truncation and bad lengths. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <linux/rtnetlink.h>

#include <libmnl/libmnl.h>

#include "nfflowd/routecache.h"

static uint64_t storage[1024];	/* aligned, as a receive buffer */
#define BUF ((char *)storage)

/* An IPv4 address in network order in a 16-byte buffer. */
static void v4(uint8_t out[16], const char *s)
{
	memset(out, 0, 16);
	assert_int_equal(inet_pton(AF_INET, s, out), 1);
}

/* An IPv6 address in network order. */
static void v6(uint8_t out[16], const char *s)
{
	assert_int_equal(inet_pton(AF_INET6, s, out), 1);
}

/* A hop with ifindex and a gateway (NULL: directly connected). */
static struct route_hop hop_of(uint32_t ifindex, int family, const char *gw)
{
	struct route_hop h;

	memset(&h, 0, sizeof(h));
	h.ifindex = ifindex;
	if (gw)
		assert_int_equal(inet_pton(family, gw, h.gateway), 1);
	return h;
}

static void test_capacity_rounding(void **state)
{
	struct routecache *rc;

	(void)state;
	rc = routecache_new(ROUTECACHE_DEFAULT_CAPACITY, 1);
	assert_non_null(rc);
	assert_int_equal(routecache_capacity(rc), 4096);
	routecache_free(rc);
	rc = routecache_new(1000, 1);
	assert_int_equal(routecache_capacity(rc), 1024);
	routecache_free(rc);
	rc = routecache_new(0, 1);
	assert_int_equal(routecache_capacity(rc), 1);
	routecache_free(rc);
	rc = routecache_new(SIZE_MAX, 1);
	assert_non_null(rc);
	assert_int_equal(routecache_capacity(rc), 1u << 24);
	routecache_free(rc);
	routecache_free(NULL);
}

static void test_put_get(void **state)
{
	struct routecache *rc = routecache_new(64, 42);
	struct route_hop h = hop_of(3, AF_INET, "198.51.100.2"), got;
	uint8_t a[16], b[16];

	(void)state;
	v4(a, "203.0.113.7");
	v4(b, "203.0.113.8");
	assert_false(routecache_get(rc, AF_INET, a, &got));
	routecache_put(rc, AF_INET, a, &h);
	assert_true(routecache_get(rc, AF_INET, a, &got));
	assert_int_equal(got.ifindex, 3);
	assert_memory_equal(got.gateway, h.gateway, 16);
	assert_int_equal(routecache_count(rc), 1);
	/* Other addresses, families and junk families miss. */
	assert_false(routecache_get(rc, AF_INET6, a, &got));
	assert_false(routecache_get(rc, AF_UNSPEC, a, &got));
	if (routecache_get(rc, AF_INET, b, &got))
		fail_msg("203.0.113.8 answered from 203.0.113.7's entry");
	/* An IPv4 key is its 4 bytes: what follows them does not matter. */
	memset(a + 4, 0xee, 12);
	assert_true(routecache_get(rc, AF_INET, a, &got));
	/* Storing again replaces the value. */
	h.ifindex = 9;
	routecache_put(rc, AF_INET, a, &h);
	assert_true(routecache_get(rc, AF_INET, a, &got));
	assert_int_equal(got.ifindex, 9);
	assert_int_equal(routecache_count(rc), 1);
	/* An unknown family is not stored. */
	routecache_put(rc, 99, b, &h);
	assert_int_equal(routecache_count(rc), 1);
	routecache_free(rc);
}

static void test_v6_and_v4_apart(void **state)
{
	struct routecache *rc = routecache_new(4096, 7);
	struct route_hop h6 = hop_of(5, AF_INET6, "2001:db8:2::2");
	struct route_hop h4 = hop_of(4, AF_INET, NULL), got;
	uint8_t a6[16], a4[16];

	(void)state;
	v6(a6, "2001:db8:3::1");
	/* An IPv4 key equal to the first 4 bytes of the IPv6 one. */
	memset(a4, 0, 16);
	memcpy(a4, a6, 4);
	routecache_put(rc, AF_INET6, a6, &h6);
	routecache_put(rc, AF_INET, a4, &h4);
	assert_true(routecache_get(rc, AF_INET6, a6, &got));
	assert_int_equal(got.ifindex, 5);
	assert_memory_equal(got.gateway, h6.gateway, 16);
	assert_true(routecache_get(rc, AF_INET, a4, &got));
	assert_int_equal(got.ifindex, 4);
	/* The IPv6 key is all 16 bytes. */
	a6[15] ^= 1;
	assert_false(routecache_get(rc, AF_INET6, a6, &got));
	routecache_free(rc);
}

static void test_flush(void **state)
{
	struct routecache *rc = routecache_new(256, 3);
	struct route_hop h = hop_of(2, AF_INET, NULL), got;
	uint8_t a[16];
	unsigned i;

	(void)state;
	for (i = 0; i < 100; i++) {
		v4(a, "192.0.2.0");
		a[3] = (uint8_t)i;
		routecache_put(rc, AF_INET, a, &h);
	}
	assert_true(routecache_count(rc) > 50);
	routecache_flush(rc);
	assert_int_equal(routecache_count(rc), 0);
	for (i = 0; i < 100; i++) {
		a[3] = (uint8_t)i;
		assert_false(routecache_get(rc, AF_INET, a, &got));
	}
	/* Usable again after a flush. */
	routecache_put(rc, AF_INET, a, &h);
	assert_true(routecache_get(rc, AF_INET, a, &got));
	routecache_free(rc);
}

/* Many flushes in a row (the generation counter) never resurrect old
 * entries. */
static void test_many_flushes(void **state)
{
	struct routecache *rc = routecache_new(16, 3);
	struct route_hop h = hop_of(2, AF_INET, NULL), got;
	uint8_t a[16], b[16];
	unsigned i;

	(void)state;
	v4(a, "192.0.2.9");
	v4(b, "192.0.2.10");
	routecache_put(rc, AF_INET, a, &h);
	for (i = 0; i < 100000; i++) {
		routecache_flush(rc);
		if (i % 997 == 0) {
			routecache_put(rc, AF_INET, b, &h);
			assert_true(routecache_get(rc, AF_INET, b, &got));
		}
		assert_false(routecache_get(rc, AF_INET, a, &got));
	}
	routecache_free(rc);
}

/* With one slot, each new address replaces the previous one. */
static void test_replacement(void **state)
{
	struct routecache *rc = routecache_new(1, 11);
	struct route_hop h1 = hop_of(1, AF_INET, NULL);
	struct route_hop h2 = hop_of(2, AF_INET, NULL), got;
	uint8_t a[16], b[16];

	(void)state;
	v4(a, "198.51.100.20");
	v4(b, "198.51.100.21");
	routecache_put(rc, AF_INET, a, &h1);
	routecache_put(rc, AF_INET, b, &h2);
	assert_false(routecache_get(rc, AF_INET, a, &got));
	assert_true(routecache_get(rc, AF_INET, b, &got));
	assert_int_equal(got.ifindex, 2);
	assert_int_equal(routecache_count(rc), 1);
	routecache_free(rc);
}

/* A full cache keeps most of a working set that fits, and never answers
 * one address with another's entry. */
static void test_spread(void **state)
{
	struct routecache *rc = routecache_new(4096, 0x1234);
	struct route_hop h, got;
	uint8_t a[16];
	unsigned i, hits = 0;

	(void)state;
	for (i = 0; i < 1024; i++) {
		v4(a, "203.0.113.0");
		a[2] = (uint8_t)(i >> 8);
		a[3] = (uint8_t)i;
		h = hop_of(i + 1, AF_INET, NULL);
		routecache_put(rc, AF_INET, a, &h);
	}
	for (i = 0; i < 1024; i++) {
		v4(a, "203.0.113.0");
		a[2] = (uint8_t)(i >> 8);
		a[3] = (uint8_t)i;
		if (routecache_get(rc, AF_INET, a, &got)) {
			assert_int_equal(got.ifindex, i + 1);
			hits++;
		}
	}
	/* 1024 keys in 4096 slots: about 12% collide. */
	assert_true(hits > 800);
	routecache_free(rc);
}

/* ---------------------------------------------------------------- parser */

/* Starts an RTM_NEWROUTE of family with seq at p. */
static struct nlmsghdr *route_msg(void *p, uint8_t family, uint32_t seq)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(p);
	struct rtmsg *rtm;

	nlh->nlmsg_type = RTM_NEWROUTE;
	nlh->nlmsg_seq = seq;
	nlh->nlmsg_pid = 4242;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = family;
	rtm->rtm_dst_len = family == AF_INET ? 32 : 128;
	rtm->rtm_table = RT_TABLE_MAIN;
	rtm->rtm_type = RTN_UNICAST;
	return nlh;
}

/* A kernel-like IPv4 answer: dst, oif, gateway (optional), prefsrc,
 * table, uid. Returns its length. */
static size_t v4_answer(void *p, uint32_t seq, uint32_t oif, const char *gw)
{
	struct nlmsghdr *nlh = route_msg(p, AF_INET, seq);
	uint8_t a[16];

	v4(a, "203.0.113.7");
	mnl_attr_put(nlh, RTA_DST, 4, a);
	mnl_attr_put_u32(nlh, RTA_TABLE, RT_TABLE_MAIN);
	mnl_attr_put_u32(nlh, RTA_OIF, oif);
	if (gw) {
		v4(a, gw);
		mnl_attr_put(nlh, RTA_GATEWAY, 4, a);
	}
	v4(a, "198.51.100.1");
	mnl_attr_put(nlh, RTA_PREFSRC, 4, a);
	mnl_attr_put_u32(nlh, RTA_UID, 0);
	return nlh->nlmsg_len;
}

/* An NLMSG_ERROR answer with error -err to seq. */
static size_t error_answer(void *p, uint32_t seq, int err)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(p);
	struct nlmsgerr *e;

	nlh->nlmsg_type = NLMSG_ERROR;
	nlh->nlmsg_seq = seq;
	e = mnl_nlmsg_put_extra_header(nlh, sizeof(*e));
	e->error = -err;
	e->msg.nlmsg_type = RTM_GETROUTE;
	e->msg.nlmsg_seq = seq;
	e->msg.nlmsg_len = 36;
	return nlh->nlmsg_len;
}

static void test_parse_v4_gateway(void **state)
{
	struct route_hop hop;
	uint8_t want[16];
	size_t len = v4_answer(BUF, 7, 3, "198.51.100.2");
	int err = -1;

	(void)state;
	memset(&hop, 0xaa, sizeof(hop));
	assert_int_equal(routecache_parse_reply(BUF, len, AF_INET, 7, &hop, &err),
			 ROUTECACHE_REPLY_ROUTE);
	assert_int_equal(hop.ifindex, 3);
	v4(want, "198.51.100.2");
	assert_memory_equal(hop.gateway, want, 16);
	/* The wrong sequence number or family is not this answer. */
	assert_int_equal(routecache_parse_reply(BUF, len, AF_INET, 8, &hop, &err),
			 ROUTECACHE_REPLY_NONE);
	assert_int_equal(routecache_parse_reply(BUF, len, AF_INET6, 7, &hop, &err),
			 ROUTECACHE_REPLY_MALFORMED);
	assert_int_equal(routecache_parse_reply(BUF, len, 0, 7, &hop, &err),
			 ROUTECACHE_REPLY_MALFORMED);
}

static void test_parse_v4_connected(void **state)
{
	static const uint8_t zero[16];
	struct route_hop hop;
	size_t len = v4_answer(BUF, 1, 2, NULL);
	int err;

	(void)state;
	memset(&hop, 0xaa, sizeof(hop));
	assert_int_equal(routecache_parse_reply(BUF, len, AF_INET, 1, &hop, &err),
			 ROUTECACHE_REPLY_ROUTE);
	assert_int_equal(hop.ifindex, 2);
	assert_memory_equal(hop.gateway, zero, 16);
}

static void test_parse_v6(void **state)
{
	struct nlmsghdr *nlh = route_msg(BUF, AF_INET6, 99);
	struct route_hop hop;
	uint8_t a[16];
	int err;

	(void)state;
	v6(a, "2001:db8:3::1");
	mnl_attr_put(nlh, RTA_DST, 16, a);
	mnl_attr_put_u32(nlh, RTA_PRIORITY, 1024);
	v6(a, "2001:db8:2::2");
	mnl_attr_put(nlh, RTA_GATEWAY, 16, a);
	mnl_attr_put_u32(nlh, RTA_OIF, 6);
	assert_int_equal(routecache_parse_reply(BUF, nlh->nlmsg_len, AF_INET6,
						99, &hop, &err),
			 ROUTECACHE_REPLY_ROUTE);
	assert_int_equal(hop.ifindex, 6);
	assert_memory_equal(hop.gateway, a, 16);
}

static void test_parse_error(void **state)
{
	struct nlmsghdr *nlh = (struct nlmsghdr *)(void *)BUF;
	struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	struct route_hop hop;
	size_t len = error_answer(BUF, 5, ENETUNREACH);
	int err = 0;

	(void)state;
	assert_int_equal(routecache_parse_reply(BUF, len, AF_INET, 5, &hop, &err),
			 ROUTECACHE_REPLY_ERROR);
	assert_int_equal(err, ENETUNREACH);
	assert_int_equal(routecache_parse_reply(BUF, len, AF_INET, 6, &hop, &err),
			 ROUTECACHE_REPLY_NONE);
	/* A bare ack. */
	len = error_answer(BUF, 5, 0);
	err = -1;
	assert_int_equal(routecache_parse_reply(BUF, len, AF_INET6, 5, &hop, &err),
			 ROUTECACHE_REPLY_ERROR);
	assert_int_equal(err, 0);
	/* A positive or absurd error code is not the kernel's. */
	e->error = 5;
	assert_int_equal(routecache_parse_reply(BUF, len, AF_INET, 5, &hop, &err),
			 ROUTECACHE_REPLY_MALFORMED);
	e->error = -100000;
	assert_int_equal(routecache_parse_reply(BUF, len, AF_INET, 5, &hop, &err),
			 ROUTECACHE_REPLY_MALFORMED);
	/* Too short to hold the error code. */
	nlh->nlmsg_len = NLMSG_HDRLEN + 2;
	assert_int_equal(routecache_parse_reply(BUF, NLMSG_HDRLEN + 2, AF_INET,
						5, &hop, &err),
			 ROUTECACHE_REPLY_MALFORMED);
}

/* A stale answer to an earlier query, then the one asked for, in one
 * datagram. */
static void test_parse_skips_other_seq(void **state)
{
	struct route_hop hop;
	size_t a, b;
	int err;

	(void)state;
	a = v4_answer(BUF, 10, 1, "192.0.2.2");
	b = error_answer(BUF + a, 11, EHOSTUNREACH);
	b += a;
	a = b;
	b = v4_answer(BUF + a, 12, 4, "198.51.100.2");
	b += a;
	assert_int_equal(routecache_parse_reply(BUF, b, AF_INET, 12, &hop, &err),
			 ROUTECACHE_REPLY_ROUTE);
	assert_int_equal(hop.ifindex, 4);
	assert_int_equal(routecache_parse_reply(BUF, b, AF_INET, 11, &hop, &err),
			 ROUTECACHE_REPLY_ERROR);
	assert_int_equal(err, EHOSTUNREACH);
	assert_int_equal(routecache_parse_reply(BUF, b, AF_INET, 10, &hop, &err),
			 ROUTECACHE_REPLY_ROUTE);
	assert_int_equal(hop.ifindex, 1);
	assert_int_equal(routecache_parse_reply(BUF, b, AF_INET, 13, &hop, &err),
			 ROUTECACHE_REPLY_NONE);
}

/* Every prefix of an answer either parses to the whole answer's result or
 * is rejected; none reads past its end (the copy is exact-size on the
 * heap, so a sanitizer build catches an overread). */
static void test_parse_truncations(void **state)
{
	size_t len = v4_answer(BUF, 3, 7, "198.51.100.2"), cut;
	unsigned whole = 0;

	(void)state;
	for (cut = 0; cut <= len; cut++) {
		uint8_t *copy = malloc(cut ? cut : 1);
		struct route_hop hop;
		enum routecache_reply rr;
		int err;

		memcpy(copy, BUF, cut);
		if (cut >= 4)	/* a length field that claims only what is there */
			((struct nlmsghdr *)copy)->nlmsg_len = (uint32_t)cut;
		rr = routecache_parse_reply(copy, cut, AF_INET, 3, &hop, &err);
		if (cut < NLMSG_HDRLEN) {
			assert_int_equal(rr, ROUTECACHE_REPLY_NONE);
		} else if (cut < NLMSG_HDRLEN + sizeof(struct rtmsg)) {
			assert_int_equal(rr, ROUTECACHE_REPLY_MALFORMED);
		} else if (rr == ROUTECACHE_REPLY_ROUTE) {
			/* Only cuts at attribute boundaries parse. */
			if (hop.ifindex == 7)
				whole++;
		} else {
			assert_int_equal(rr, ROUTECACHE_REPLY_MALFORMED);
		}
		/* With the original length field, any cut is a bad frame. */
		if (cut >= NLMSG_HDRLEN && cut < len) {
			((struct nlmsghdr *)copy)->nlmsg_len = (uint32_t)len;
			assert_int_equal(routecache_parse_reply(copy, cut, AF_INET,
								3, &hop, &err),
					 ROUTECACHE_REPLY_MALFORMED);
		}
		free(copy);
	}
	/* The whole message, and the cuts after RTA_OIF that keep whole
	 * attributes (after the gateway, prefsrc, uid). */
	assert_true(whole >= 3);
}

static void test_parse_bad_attrs(void **state)
{
	struct nlmsghdr *nlh;
	struct nlattr *a;
	struct route_hop hop;
	int err;

	(void)state;
	/* A gateway of the wrong length for the family. */
	nlh = route_msg(BUF, AF_INET, 1);
	mnl_attr_put_u32(nlh, RTA_OIF, 2);
	mnl_attr_put(nlh, RTA_GATEWAY, 16, BUF + 64);
	assert_int_equal(routecache_parse_reply(BUF, nlh->nlmsg_len, AF_INET,
						1, &hop, &err),
			 ROUTECACHE_REPLY_MALFORMED);
	/* An interface index of 2 bytes. */
	nlh = route_msg(BUF, AF_INET6, 1);
	mnl_attr_put_u16(nlh, RTA_OIF, 2);
	assert_int_equal(routecache_parse_reply(BUF, nlh->nlmsg_len, AF_INET6,
						1, &hop, &err),
			 ROUTECACHE_REPLY_MALFORMED);
	/* An attribute length below its own header, and one past the end. */
	nlh = route_msg(BUF, AF_INET, 1);
	a = (struct nlattr *)mnl_nlmsg_get_payload_tail(nlh);
	mnl_attr_put_u32(nlh, RTA_OIF, 2);
	a->nla_len = 2;
	assert_int_equal(routecache_parse_reply(BUF, nlh->nlmsg_len, AF_INET,
						1, &hop, &err),
			 ROUTECACHE_REPLY_MALFORMED);
	a->nla_len = 200;
	assert_int_equal(routecache_parse_reply(BUF, nlh->nlmsg_len, AF_INET,
						1, &hop, &err),
			 ROUTECACHE_REPLY_MALFORMED);
	/* A message length below the header, and beyond the datagram. */
	nlh = route_msg(BUF, AF_INET, 1);
	mnl_attr_put_u32(nlh, RTA_OIF, 2);
	nlh->nlmsg_len = 8;
	assert_int_equal(routecache_parse_reply(BUF, 40, AF_INET, 1, &hop, &err),
			 ROUTECACHE_REPLY_MALFORMED);
	nlh->nlmsg_len = 0xfffffffdu;
	assert_int_equal(routecache_parse_reply(BUF, 40, AF_INET, 1, &hop, &err),
			 ROUTECACHE_REPLY_MALFORMED);
	/* Unknown attributes, nested flags included, are skipped. */
	nlh = route_msg(BUF, AF_INET, 1);
	mnl_attr_put_u32(nlh, 200, 1);
	mnl_attr_put_u8(nlh, RTA_PREF, 1);
	mnl_attr_put_u32(nlh, RTA_OIF | NLA_F_NESTED, 8);
	assert_int_equal(routecache_parse_reply(BUF, nlh->nlmsg_len, AF_INET,
						1, &hop, &err),
			 ROUTECACHE_REPLY_ROUTE);
	assert_int_equal(hop.ifindex, 8);
}

/* A route answer without RTA_OIF parses to ifindex 0 (unknown). */
static void test_parse_no_oif(void **state)
{
	struct nlmsghdr *nlh = route_msg(BUF, AF_INET, 2);
	struct route_hop hop;
	int err;

	(void)state;
	memset(&hop, 0x55, sizeof(hop));
	assert_int_equal(routecache_parse_reply(BUF, nlh->nlmsg_len, AF_INET,
						2, &hop, &err),
			 ROUTECACHE_REPLY_ROUTE);
	assert_int_equal(hop.ifindex, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_capacity_rounding),
		cmocka_unit_test(test_put_get),
		cmocka_unit_test(test_v6_and_v4_apart),
		cmocka_unit_test(test_flush),
		cmocka_unit_test(test_many_flushes),
		cmocka_unit_test(test_replacement),
		cmocka_unit_test(test_spread),
		cmocka_unit_test(test_parse_v4_gateway),
		cmocka_unit_test(test_parse_v4_connected),
		cmocka_unit_test(test_parse_v6),
		cmocka_unit_test(test_parse_error),
		cmocka_unit_test(test_parse_skips_other_seq),
		cmocka_unit_test(test_parse_truncations),
		cmocka_unit_test(test_parse_bad_attrs),
		cmocka_unit_test(test_parse_no_oif),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
