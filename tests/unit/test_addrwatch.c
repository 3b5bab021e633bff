/* The address watch: RTM_NEWADDR/RTM_DELADDR messages, as the kernel
 * sends them, move the watched address's presence. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/if_addr.h>

#include "nfflowd/addrwatch.h"

static uint8_t buf[4096];
static size_t used;

/* Appends one address message (a second address attribute when peer is
 * given: IFA_ADDRESS of a point-to-point link, IFA_LOCAL the own). */
static void put(uint16_t type, uint8_t family, uint32_t ifindex,
		const void *local, const void *peer)
{
	size_t alen = family == AF_INET6 ? 16 : 4;
	struct nlmsghdr nlh;
	struct ifaddrmsg ifa;
	struct rtattr rta;
	size_t start = used, off;

	memset(&ifa, 0, sizeof(ifa));
	ifa.ifa_family = family;
	ifa.ifa_prefixlen = family == AF_INET6 ? 64 : 24;
	ifa.ifa_index = ifindex;
	off = start + NLMSG_HDRLEN;
	memcpy(buf + off, &ifa, sizeof(ifa));
	off += NLMSG_ALIGN(sizeof(ifa));
	rta.rta_len = (unsigned short)RTA_LENGTH(alen);
	rta.rta_type = peer ? IFA_LOCAL : IFA_ADDRESS;
	memcpy(buf + off, &rta, sizeof(rta));
	memcpy(buf + off + sizeof(rta), local, alen);
	off += RTA_ALIGN(rta.rta_len);
	if (peer) {
		rta.rta_type = IFA_ADDRESS;
		memcpy(buf + off, &rta, sizeof(rta));
		memcpy(buf + off + sizeof(rta), peer, alen);
		off += RTA_ALIGN(rta.rta_len);
	}
	memset(&nlh, 0, sizeof(nlh));
	nlh.nlmsg_len = (uint32_t)(off - start);
	nlh.nlmsg_type = type;
	memcpy(buf + start, &nlh, sizeof(nlh));
	used = NLMSG_ALIGN(off);
}

static void ip4(const char *s, uint8_t out[4])
{
	assert_int_equal(inet_pton(AF_INET, s, out), 1);
}

static void test_new_and_del(void **state)
{
	struct addrwatch w;
	uint8_t vip[4], other[4];

	(void)state;
	ip4("198.51.100.1", vip);
	ip4("198.51.100.11", other);
	addrwatch_init(&w, AF_INET, vip);
	assert_false(addrwatch_present(&w));
	used = 0;
	put(RTM_NEWADDR, AF_INET, 3, other, NULL);
	assert_int_equal(addrwatch_apply(&w, buf, used), 0);
	assert_false(addrwatch_present(&w));
	used = 0;
	put(RTM_NEWADDR, AF_INET, 3, other, NULL);
	put(RTM_NEWADDR, AF_INET, 3, vip, NULL);	/* two in one datagram */
	assert_int_equal(addrwatch_apply(&w, buf, used), 1);
	assert_true(addrwatch_present(&w));
	/* on a second interface too; one goes, it stays */
	used = 0;
	put(RTM_NEWADDR, AF_INET, 4, vip, NULL);
	put(RTM_DELADDR, AF_INET, 3, vip, NULL);
	assert_int_equal(addrwatch_apply(&w, buf, used), 2);
	assert_true(addrwatch_present(&w));
	used = 0;
	put(RTM_DELADDR, AF_INET, 4, vip, NULL);
	addrwatch_apply(&w, buf, used);
	assert_false(addrwatch_present(&w));
	/* the same address repeated (a refresh) counts once */
	used = 0;
	put(RTM_NEWADDR, AF_INET, 3, vip, NULL);
	put(RTM_NEWADDR, AF_INET, 3, vip, NULL);
	put(RTM_DELADDR, AF_INET, 3, vip, NULL);
	addrwatch_apply(&w, buf, used);
	assert_false(addrwatch_present(&w));
	assert_int_equal(w.malformed, 0);
}

/* A point-to-point address: IFA_LOCAL is ours, IFA_ADDRESS the peer's. */
static void test_local_wins(void **state)
{
	struct addrwatch w;
	uint8_t vip[4], peer[4];

	(void)state;
	ip4("203.0.113.1", vip);
	ip4("203.0.113.2", peer);
	addrwatch_init(&w, AF_INET, peer);
	used = 0;
	put(RTM_NEWADDR, AF_INET, 5, vip, peer);
	assert_int_equal(addrwatch_apply(&w, buf, used), 0);
	addrwatch_init(&w, AF_INET, vip);
	assert_int_equal(addrwatch_apply(&w, buf, used), 1);
	assert_true(addrwatch_present(&w));
}

static void test_ipv6_and_family(void **state)
{
	struct addrwatch w;
	uint8_t vip6[16], vip4[4];

	(void)state;
	assert_int_equal(inet_pton(AF_INET6, "2001:db8:2::1", vip6), 1);
	memcpy(vip4, vip6, 4);
	addrwatch_init(&w, AF_INET6, vip6);
	used = 0;
	put(RTM_NEWADDR, AF_INET, 2, vip4, NULL);	/* other family */
	assert_int_equal(addrwatch_apply(&w, buf, used), 0);
	used = 0;
	put(RTM_NEWADDR, AF_INET6, 2, vip6, NULL);
	assert_int_equal(addrwatch_apply(&w, buf, used), 1);
	assert_true(addrwatch_present(&w));
	addrwatch_clear(&w);
	assert_false(addrwatch_present(&w));
}

/* Cut and lying lengths: counted, never read past the datagram. */
static void test_malformed(void **state)
{
	struct addrwatch w;
	uint8_t vip[4];
	size_t cut;

	(void)state;
	ip4("198.51.100.1", vip);
	addrwatch_init(&w, AF_INET, vip);
	used = 0;
	put(RTM_NEWADDR, AF_INET, 3, vip, NULL);
	for (cut = 0; cut < used; cut++)
		addrwatch_apply(&w, buf, cut);
	assert_false(addrwatch_present(&w));
	assert_true(w.malformed > 0);
	/* an address attribute of the wrong length */
	buf[NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(struct ifaddrmsg))] = 6;
	w.malformed = 0;
	assert_int_equal(addrwatch_apply(&w, buf, used), 0);
	assert_int_equal(w.malformed, 1);
	/* other message types are skipped */
	used = 0;
	put(RTM_NEWLINK, AF_INET, 3, vip, NULL);
	assert_int_equal(addrwatch_apply(&w, buf, used), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_and_del),
		cmocka_unit_test(test_local_wins),
		cmocka_unit_test(test_ipv6_and_family),
		cmocka_unit_test(test_malformed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
