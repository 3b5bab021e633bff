/* The counter-reading request: one IPCTNL_MSG_CT_GET by original tuple,
 * checked attribute by attribute as the kernel will read it. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <cmocka.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>

#include "nfflowd/ctquery.h"

#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (uint32_t)(d))

/* Returns the nested attribute of type t inside nest, failing the test
 * when it is missing or appears twice. */
static const struct nlattr *child(const struct nlattr *nest, uint16_t t)
{
	const struct nlattr *a, *found = NULL;

	mnl_attr_for_each_nested(a, nest) {
		if (mnl_attr_get_type(a) == t) {
			assert_null(found);
			found = a;
		}
	}
	assert_non_null(found);
	return found;
}

/* Encodes q and checks header, family and the tuple's IP nest; returns
 * the protocol nest. */
static const struct nlattr *encoded(const struct ct_query *q, uint8_t *buf,
				    uint16_t ip_src, uint16_t ip_dst,
				    const void *src, const void *dst,
				    size_t alen)
{
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;
	const struct nfgenmsg *nfg;
	const struct nlattr *a, *tuple = NULL, *ip;
	size_t len = ctquery_encode(buf, q, 42);

	assert_true(len > sizeof(*nlh) && len <= CTQUERY_REQUEST_MAX);
	assert_int_equal(len, nlh->nlmsg_len);
	assert_int_equal(len % 4, 0);
	assert_int_equal(nlh->nlmsg_type,
			 (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_GET);
	assert_int_equal(nlh->nlmsg_flags, NLM_F_REQUEST);
	assert_int_equal(nlh->nlmsg_seq, 42);
	nfg = mnl_nlmsg_get_payload(nlh);
	assert_int_equal(nfg->nfgen_family, q->family);
	assert_int_equal(nfg->version, NFNETLINK_V0);
	mnl_attr_for_each(a, nlh, sizeof(*nfg)) {
		assert_int_equal(mnl_attr_get_type(a), CTA_TUPLE_ORIG);
		assert_null(tuple);
		tuple = a;
	}
	assert_non_null(tuple);
	ip = child(tuple, CTA_TUPLE_IP);
	assert_int_equal(mnl_attr_get_payload_len(child(ip, ip_src)), alen);
	assert_memory_equal(mnl_attr_get_payload(child(ip, ip_src)), src, alen);
	assert_memory_equal(mnl_attr_get_payload(child(ip, ip_dst)), dst, alen);
	return child(tuple, CTA_TUPLE_PROTO);
}

static void test_ipv4_tcp(void **state)
{
	struct ct_query q = { .id = 7, .family = AF_INET, .proto = 6,
			      .orig = { IP(192, 0, 2, 2), IP(198, 51, 100, 2), 40000, 80 } };
	uint32_t buf[CTQUERY_REQUEST_MAX / 4];
	uint32_t src = htonl(IP(192, 0, 2, 2)), dst = htonl(IP(198, 51, 100, 2));
	const struct nlattr *p;

	(void)state;
	p = encoded(&q, (uint8_t *)buf, CTA_IP_V4_SRC, CTA_IP_V4_DST, &src,
		    &dst, 4);
	assert_int_equal(mnl_attr_get_u8(child(p, CTA_PROTO_NUM)), 6);
	assert_int_equal(ntohs(mnl_attr_get_u16(child(p, CTA_PROTO_SRC_PORT))), 40000);
	assert_int_equal(ntohs(mnl_attr_get_u16(child(p, CTA_PROTO_DST_PORT))), 80);
}

static void test_ipv4_icmp_echo(void **state)
{
	struct ct_query q = { .family = AF_INET, .proto = 1,
			      .orig = { IP(192, 0, 2, 2), IP(198, 51, 100, 2), 77, 8 << 8 } };
	uint32_t buf[CTQUERY_REQUEST_MAX / 4];
	uint32_t src = htonl(IP(192, 0, 2, 2)), dst = htonl(IP(198, 51, 100, 2));
	const struct nlattr *p;

	(void)state;
	p = encoded(&q, (uint8_t *)buf, CTA_IP_V4_SRC, CTA_IP_V4_DST, &src,
		    &dst, 4);
	assert_int_equal(mnl_attr_get_u8(child(p, CTA_PROTO_NUM)), 1);
	assert_int_equal(ntohs(mnl_attr_get_u16(child(p, CTA_PROTO_ICMP_ID))), 77);
	assert_int_equal(mnl_attr_get_u8(child(p, CTA_PROTO_ICMP_TYPE)), 8);
	assert_int_equal(mnl_attr_get_u8(child(p, CTA_PROTO_ICMP_CODE)), 0);
}

static void test_ipv6_udp_and_icmpv6(void **state)
{
	static const uint8_t lan[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 1, [15] = 2 };
	static const uint8_t wan[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 2, [15] = 2 };
	struct ct_query q = { .family = AF_INET6, .proto = 17,
			      .orig = { 0, 0, 5353, 53 } };
	uint32_t buf[CTQUERY_REQUEST_MAX / 4];
	const struct nlattr *p;

	(void)state;
	memcpy(q.orig6.src, lan, 16);
	memcpy(q.orig6.dst, wan, 16);
	p = encoded(&q, (uint8_t *)buf, CTA_IP_V6_SRC, CTA_IP_V6_DST, lan,
		    wan, 16);
	assert_int_equal(mnl_attr_get_u8(child(p, CTA_PROTO_NUM)), 17);
	assert_int_equal(ntohs(mnl_attr_get_u16(child(p, CTA_PROTO_SRC_PORT))), 5353);
	assert_int_equal(ntohs(mnl_attr_get_u16(child(p, CTA_PROTO_DST_PORT))), 53);

	q.proto = 58;
	q.orig.sport = 9;
	q.orig.dport = 128 << 8;
	p = encoded(&q, (uint8_t *)buf, CTA_IP_V6_SRC, CTA_IP_V6_DST, lan,
		    wan, 16);
	assert_int_equal(ntohs(mnl_attr_get_u16(child(p, CTA_PROTO_ICMPV6_ID))), 9);
	assert_int_equal(mnl_attr_get_u8(child(p, CTA_PROTO_ICMPV6_TYPE)), 128);
	assert_int_equal(mnl_attr_get_u8(child(p, CTA_PROTO_ICMPV6_CODE)), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ipv4_tcp),
		cmocka_unit_test(test_ipv4_icmp_echo),
		cmocka_unit_test(test_ipv6_udp_and_icmpv6),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
