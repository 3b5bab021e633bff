/* Unit tests for the triplet rule, ICMP ports, counters and time conversion
 * of SPEC §3. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "nfflowd/record.h"

#define IP(a, b, c, d) \
	((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))
#define MS 1000000ull
#define SEC 1000000000ull

/* The instant of every DESTROY below unless a test says otherwise. */
static const struct time_pair NOW = {
	.real_ns = 1700000000ull * SEC,
	.boot_ns = 10000ull * SEC,
};

/* A DESTROY event with counters and no kernel timestamps. */
static struct ct_event destroy(uint8_t proto, struct ct_tuple o,
			       struct ct_tuple r)
{
	struct ct_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.type = CT_EVENT_DESTROY;
	ev.id = 42;
	ev.proto = proto;
	ev.orig = o;
	ev.reply = r;
	ev.has_counters = true;
	ev.orig_packets = 10;
	ev.orig_bytes = 1500;
	ev.reply_packets = 8;
	ev.reply_bytes = 9000;
	return ev;
}

/* Asserts every field of one record. */
static void check(const struct flow_record *r, uint32_t src, uint32_t dst,
		  uint16_t sport, uint16_t dport, uint32_t packets,
		  uint32_t octets, uint8_t proto)
{
	assert_int_equal(r->src, src);
	assert_int_equal(r->dst, dst);
	assert_int_equal(r->sport, sport);
	assert_int_equal(r->dport, dport);
	assert_int_equal(r->packets, packets);
	assert_int_equal(r->octets, octets);
	assert_int_equal(r->proto, proto);
	assert_int_equal(r->nexthop, 0);
	assert_int_equal(r->input, 0);
	assert_int_equal(r->output, 0);
	assert_int_equal(r->tos, 0);
	assert_int_equal(r->tcp_flags, 0);
}

/* The masqueraded HTTP connection of the original tool's use case. */
static struct ct_event snat_event(void)
{
	struct ct_tuple o = { IP(192, 0, 2, 2), IP(198, 51, 100, 2), 40000, 80 };
	struct ct_tuple r = { IP(198, 51, 100, 2), IP(198, 51, 100, 1), 80,
			      40000 };

	return destroy(6, o, r);
}

static void test_snat_masquerade(void **state)
{
	struct ct_event ev = snat_event();
	struct flow_record out[RECORD_MAX_PER_EVENT];

	(void)state;
	assert_int_equal(record_build(&ev, 9000 * SEC, &NOW, false, out), 3);
	check(&out[0], IP(192, 0, 2, 2), IP(198, 51, 100, 2), 40000, 80, 10,
	      1500, 6);
	check(&out[1], IP(198, 51, 100, 1), IP(198, 51, 100, 2), 40000, 80, 10,
	      1500, 6);
	check(&out[2], IP(198, 51, 100, 2), IP(198, 51, 100, 1), 80, 40000, 8,
	      9000, 6);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(out[i].first, 9000000);
		assert_int_equal(out[i].last, 10000000);
	}
}

static void test_snat_port_rewrite(void **state)
{
	/* masquerade that also had to change the source port */
	struct ct_tuple o = { IP(192, 0, 2, 2), IP(198, 51, 100, 2), 40000, 53 };
	struct ct_tuple r = { IP(198, 51, 100, 2), IP(198, 51, 100, 1), 53,
			      61000 };
	struct ct_event ev = destroy(17, o, r);
	struct flow_record out[RECORD_MAX_PER_EVENT];

	(void)state;
	assert_int_equal(record_build(&ev, 0, &NOW, false, out), 3);
	check(&out[1], IP(198, 51, 100, 1), IP(198, 51, 100, 2), 61000, 53, 10,
	      1500, 17);
	check(&out[2], IP(198, 51, 100, 2), IP(198, 51, 100, 1), 53, 61000, 8,
	      9000, 17);
}

static void test_dnat_port_forward(void **state)
{
	struct ct_tuple o = { IP(198, 51, 100, 2), IP(198, 51, 100, 1), 5555,
			      8080 };
	struct ct_tuple r = { IP(192, 0, 2, 2), IP(198, 51, 100, 2), 80, 5555 };
	struct ct_event ev = destroy(6, o, r);
	struct flow_record out[RECORD_MAX_PER_EVENT];

	(void)state;
	assert_int_equal(record_build(&ev, 0, &NOW, false, out), 3);
	check(&out[0], IP(198, 51, 100, 2), IP(198, 51, 100, 1), 5555, 8080,
	      10, 1500, 6);
	check(&out[1], IP(198, 51, 100, 2), IP(192, 0, 2, 2), 5555, 80, 10,
	      1500, 6);
	check(&out[2], IP(192, 0, 2, 2), IP(198, 51, 100, 2), 80, 5555, 8,
	      9000, 6);
}

static void test_no_nat(void **state)
{
	struct ct_tuple o = { IP(192, 0, 2, 2), IP(203, 0, 113, 7), 33000, 22 };
	struct ct_tuple r = { IP(203, 0, 113, 7), IP(192, 0, 2, 2), 22, 33000 };
	struct ct_event ev = destroy(6, o, r);
	struct flow_record out[RECORD_MAX_PER_EVENT];

	(void)state;
	assert_int_equal(record_build(&ev, 0, &NOW, false, out), 2);
	check(&out[0], IP(192, 0, 2, 2), IP(203, 0, 113, 7), 33000, 22, 10,
	      1500, 6);
	check(&out[1], IP(203, 0, 113, 7), IP(192, 0, 2, 2), 22, 33000, 8,
	      9000, 6);

	/* untranslated_records: record 2 anyway, equal to record 1 */
	assert_int_equal(record_build(&ev, 0, &NOW, true, out), 3);
	check(&out[0], IP(192, 0, 2, 2), IP(203, 0, 113, 7), 33000, 22, 10,
	      1500, 6);
	check(&out[1], IP(192, 0, 2, 2), IP(203, 0, 113, 7), 33000, 22, 10,
	      1500, 6);
	check(&out[2], IP(203, 0, 113, 7), IP(192, 0, 2, 2), 22, 33000, 8,
	      9000, 6);
}

static void test_only_one_port_translated(void **state)
{
	/* each of the four reply fields on its own counts as NAT */
	struct ct_tuple o = { IP(192, 0, 2, 2), IP(203, 0, 113, 7), 33000, 22 };
	struct ct_tuple base = { IP(203, 0, 113, 7), IP(192, 0, 2, 2), 22,
				 33000 };
	struct flow_record out[RECORD_MAX_PER_EVENT];
	struct ct_event ev;
	struct ct_tuple r;

	(void)state;
	r = base;
	r.sport = 2222;
	ev = destroy(6, o, r);
	assert_int_equal(record_build(&ev, 0, &NOW, false, out), 3);
	check(&out[1], IP(192, 0, 2, 2), IP(203, 0, 113, 7), 33000, 2222, 10,
	      1500, 6);
	r = base;
	r.dport = 1;
	ev = destroy(6, o, r);
	assert_int_equal(record_build(&ev, 0, &NOW, false, out), 3);
	r = base;
	r.src = IP(203, 0, 113, 8);
	ev = destroy(6, o, r);
	assert_int_equal(record_build(&ev, 0, &NOW, false, out), 3);
	r = base;
	r.dst = IP(192, 0, 2, 3);
	ev = destroy(6, o, r);
	assert_int_equal(record_build(&ev, 0, &NOW, false, out), 3);
}

static void test_icmp_echo_with_nat(void **state)
{
	struct ct_tuple o = { IP(192, 0, 2, 2), IP(198, 51, 100, 2), 0x1234,
			      8 << 8 | 0 };
	struct ct_tuple r = { IP(198, 51, 100, 2), IP(198, 51, 100, 1), 0x1234,
			      0 << 8 | 0 };
	struct ct_event ev = destroy(1, o, r);
	struct flow_record out[RECORD_MAX_PER_EVENT];

	(void)state;
	ev.orig_packets = 3;
	ev.orig_bytes = 252;
	ev.reply_packets = 3;
	ev.reply_bytes = 252;
	assert_int_equal(record_build(&ev, 0, &NOW, false, out), 3);
	check(&out[0], IP(192, 0, 2, 2), IP(198, 51, 100, 2), 0, 2048, 3, 252,
	      1);
	check(&out[1], IP(198, 51, 100, 1), IP(198, 51, 100, 2), 0, 2048, 3,
	      252, 1);
	check(&out[2], IP(198, 51, 100, 2), IP(198, 51, 100, 1), 0, 0, 3, 252,
	      1);
}

static void test_icmp_no_nat_id_ignored(void **state)
{
	/* only the id differs: invisible in v5, so no record 2 */
	struct ct_tuple o = { IP(192, 0, 2, 2), IP(203, 0, 113, 7), 0x1234,
			      0x0800 };
	struct ct_tuple r = { IP(203, 0, 113, 7), IP(192, 0, 2, 2), 0x9999,
			      0x0000 };
	struct ct_event ev = destroy(1, o, r);
	struct flow_record out[RECORD_MAX_PER_EVENT];

	(void)state;
	assert_int_equal(record_build(&ev, 0, &NOW, false, out), 2);
	check(&out[0], IP(192, 0, 2, 2), IP(203, 0, 113, 7), 0, 2048, 10,
	      1500, 1);
	check(&out[1], IP(203, 0, 113, 7), IP(192, 0, 2, 2), 0, 0, 8, 9000, 1);
	assert_int_equal(record_build(&ev, 0, &NOW, true, out), 3);
	check(&out[1], IP(192, 0, 2, 2), IP(203, 0, 113, 7), 0, 2048, 10,
	      1500, 1);
}

static void test_icmp_unanswered(void **state)
{
	/* an echo request that got no reply */
	struct ct_tuple o = { IP(192, 0, 2, 2), IP(203, 0, 113, 99), 7,
			      0x0800 };
	struct ct_tuple r = { IP(203, 0, 113, 99), IP(192, 0, 2, 2), 7, 0 };
	struct ct_event ev = destroy(1, o, r);
	struct flow_record out[RECORD_MAX_PER_EVENT];

	(void)state;
	ev.reply_packets = 0;
	ev.reply_bytes = 0;
	assert_int_equal(record_build(&ev, 0, &NOW, false, out), 1);
	check(&out[0], IP(192, 0, 2, 2), IP(203, 0, 113, 99), 0, 2048, 10,
	      1500, 1);
}

static void test_unanswered_udp(void **state)
{
	struct ct_tuple o = { IP(192, 0, 2, 2), IP(203, 0, 113, 53), 5000,
			      53 };
	struct ct_tuple r = { IP(203, 0, 113, 53), IP(192, 0, 2, 2), 53,
			      5000 };
	struct ct_tuple rn = { IP(203, 0, 113, 53), IP(198, 51, 100, 1), 53,
			       5000 };
	struct ct_event ev = destroy(17, o, r);
	struct flow_record out[RECORD_MAX_PER_EVENT];

	(void)state;
	ev.orig_packets = 1;
	ev.orig_bytes = 60;
	ev.reply_packets = 0;
	ev.reply_bytes = 0;
	assert_int_equal(record_build(&ev, 0, &NOW, false, out), 1);
	check(&out[0], IP(192, 0, 2, 2), IP(203, 0, 113, 53), 5000, 53, 1, 60,
	      17);
	/* reply bytes without reply packets still means no reply packet */
	ev.reply_bytes = 5;
	assert_int_equal(record_build(&ev, 0, &NOW, false, out), 1);

	ev.reply = rn;	/* the same datagram, masqueraded */
	assert_int_equal(record_build(&ev, 0, &NOW, false, out), 2);
	check(&out[1], IP(198, 51, 100, 1), IP(203, 0, 113, 53), 5000, 53, 1,
	      60, 17);
}

static void test_without_counters(void **state)
{
	struct ct_event ev = snat_event();
	struct flow_record out[RECORD_MAX_PER_EVENT];

	(void)state;
	ev.has_counters = false;
	/* stale values must not leak through */
	ev.reply_packets = 0;
	ev.orig_packets = 77;
	ev.orig_bytes = 77;
	assert_int_equal(record_build(&ev, 0, &NOW, false, out), 3);
	check(&out[0], IP(192, 0, 2, 2), IP(198, 51, 100, 2), 40000, 80, 0, 0,
	      6);
	check(&out[1], IP(198, 51, 100, 1), IP(198, 51, 100, 2), 40000, 80, 0,
	      0, 6);
	check(&out[2], IP(198, 51, 100, 2), IP(198, 51, 100, 1), 80, 40000, 0,
	      0, 6);
}

static void test_without_counters_no_nat(void **state)
{
	struct ct_tuple o = { IP(192, 0, 2, 2), IP(203, 0, 113, 53), 5000,
			      53 };
	struct ct_tuple r = { IP(203, 0, 113, 53), IP(192, 0, 2, 2), 53,
			      5000 };
	struct ct_event ev = destroy(17, o, r);
	struct flow_record out[RECORD_MAX_PER_EVENT];

	(void)state;
	ev.has_counters = false;
	assert_int_equal(record_build(&ev, 0, &NOW, false, out), 2);
	check(&out[1], IP(203, 0, 113, 53), IP(192, 0, 2, 2), 53, 5000, 0, 0,
	      17);
	assert_int_equal(record_build(&ev, 0, &NOW, true, out), 3);
}

static void test_counter_saturation(void **state)
{
	struct ct_event ev = snat_event();
	struct flow_record out[RECORD_MAX_PER_EVENT];

	(void)state;
	ev.orig_packets = (1ull << 32) + 5;
	ev.orig_bytes = UINT64_MAX;
	ev.reply_packets = UINT32_MAX;
	ev.reply_bytes = (uint64_t)UINT32_MAX - 1;
	assert_int_equal(record_build(&ev, 0, &NOW, false, out), 3);
	assert_int_equal(out[0].packets, UINT32_MAX);
	assert_int_equal(out[0].octets, UINT32_MAX);
	assert_int_equal(out[1].packets, UINT32_MAX);
	assert_int_equal(out[1].octets, UINT32_MAX);
	assert_int_equal(out[2].packets, UINT32_MAX);
	assert_int_equal(out[2].octets, UINT32_MAX - 1);

	/* 2^32 reply packets is not "no reply": record 3 stays */
	ev.reply_packets = 1ull << 32;
	assert_int_equal(record_build(&ev, 0, &NOW, false, out), 3);
	assert_int_equal(out[2].packets, UINT32_MAX);
}

static void test_times_from_kernel_stamps(void **state)
{
	struct ct_event ev = snat_event();
	struct flow_record out[RECORD_MAX_PER_EVENT];

	(void)state;
	ev.has_start = true;
	ev.start_ns = NOW.real_ns - 60 * SEC - 250 * MS;
	ev.has_stop = true;
	ev.stop_ns = NOW.real_ns - 5 * SEC;
	/* the fallback start must be ignored when the kernel gave one */
	assert_int_equal(record_build(&ev, 1 * SEC, &NOW, false, out), 3);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(out[i].first, 9939750);
		assert_int_equal(out[i].last, 9995000);
	}
}

static void test_times_fallback(void **state)
{
	struct ct_event ev = snat_event();
	struct flow_record out[RECORD_MAX_PER_EVENT];

	(void)state;
	/* no stamps: start from the caller, end at now */
	assert_int_equal(record_build(&ev, 1234 * SEC + 567 * MS + 999999, &NOW,
				      false, out), 3);
	assert_int_equal(out[0].first, 1234567);
	assert_int_equal(out[0].last, 10000000);

	/* start stamp only */
	ev.has_start = true;
	ev.start_ns = NOW.real_ns - 3 * SEC;
	assert_int_equal(record_build(&ev, 0, &NOW, false, out), 3);
	assert_int_equal(out[2].first, 9997000);
	assert_int_equal(out[2].last, 10000000);

	/* stop stamp only */
	ev.has_start = false;
	ev.has_stop = true;
	ev.stop_ns = NOW.real_ns - 2 * SEC;
	assert_int_equal(record_build(&ev, 5000 * SEC, &NOW, false, out), 3);
	assert_int_equal(out[1].first, 5000000);
	assert_int_equal(out[1].last, 9998000);
}

static void test_end_before_start_clamped(void **state)
{
	struct ct_event ev = snat_event();
	struct flow_record out[RECORD_MAX_PER_EVENT];

	(void)state;
	/* stop stamp earlier than the fallback start (clock step) */
	ev.has_stop = true;
	ev.stop_ns = NOW.real_ns - 100 * SEC;
	assert_int_equal(record_build(&ev, 9950 * SEC, &NOW, false, out), 3);
	assert_int_equal(out[0].first, 9950000);
	assert_int_equal(out[0].last, 9950000);

	/* fallback start later than now and no stop stamp */
	ev.has_stop = false;
	assert_int_equal(record_build(&ev, 10001 * SEC, &NOW, false, out), 3);
	assert_int_equal(out[0].first, 10001000);
	assert_int_equal(out[0].last, 10001000);
}

static void test_uptime_wrap(void **state)
{
	/* boot clock 2^32 ms + 5000 ms: the 32-bit counter just wrapped */
	struct time_pair now = {
		.real_ns = 1700000000ull * SEC,
		.boot_ns = ((1ull << 32) + 5000) * MS,
	};
	struct ct_event ev = snat_event();
	struct flow_record out[RECORD_MAX_PER_EVENT];

	(void)state;
	ev.has_start = true;
	ev.start_ns = now.real_ns - 10 * SEC;
	assert_int_equal(record_build(&ev, 0, &now, false, out), 3);
	assert_int_equal(out[0].first, UINT32_MAX - 5000 + 1);
	assert_int_equal(out[0].last, 5000);
	assert_true(out[0].last < out[0].first);
	assert_int_equal((uint32_t)(out[0].last - out[0].first), 10000);

	/* a start exactly at the wrap is 0 */
	ev.start_ns = now.real_ns - 5 * SEC;
	assert_int_equal(record_build(&ev, 0, &now, false, out), 3);
	assert_int_equal(out[0].first, 0);
}

static void test_uptime_ms(void **state)
{
	(void)state;
	assert_int_equal(record_uptime_ms(0), 0);
	assert_int_equal(record_uptime_ms(999999), 0);
	assert_int_equal(record_uptime_ms(1000000), 1);
	assert_int_equal(record_uptime_ms(((1ull << 32) - 1) * MS), UINT32_MAX);
	assert_int_equal(record_uptime_ms((1ull << 32) * MS), 0);
	assert_int_equal(record_uptime_ms(((1ull << 32) + 5000) * MS + 1), 5000);
	assert_int_equal(record_uptime_ms(UINT64_MAX),
			 (uint32_t)(UINT64_MAX / MS));
}

static void test_real_to_boot_clamping(void **state)
{
	struct time_pair early = { .real_ns = 1700000000ull * SEC,
				   .boot_ns = 30 * SEC };
	struct time_pair zero = { .real_ns = 5 * SEC, .boot_ns = 0 };

	(void)state;
	assert_int_equal(record_real_to_boot(&NOW, NOW.real_ns), NOW.boot_ns);
	assert_int_equal(record_real_to_boot(&NOW, NOW.real_ns - 1),
			 NOW.boot_ns - 1);
	assert_int_equal(record_real_to_boot(&NOW, NOW.real_ns - 7 * SEC),
			 9993 * SEC);
	/* in the future: now */
	assert_int_equal(record_real_to_boot(&NOW, NOW.real_ns + 1),
			 NOW.boot_ns);
	assert_int_equal(record_real_to_boot(&NOW, UINT64_MAX), NOW.boot_ns);
	/* at and before boot: 0 */
	assert_int_equal(record_real_to_boot(&early, early.real_ns - 30 * SEC),
			 0);
	assert_int_equal(record_real_to_boot(&early,
					     early.real_ns - 30 * SEC + 1), 1);
	assert_int_equal(record_real_to_boot(&early, early.real_ns - 31 * SEC),
			 0);
	assert_int_equal(record_real_to_boot(&early, 0), 0);
	assert_int_equal(record_real_to_boot(&zero, 0), 0);
	assert_int_equal(record_real_to_boot(&zero, 6 * SEC), 0);
}

static void test_stamp_before_boot(void **state)
{
	/* a start stamp from before boot becomes uptime 0 */
	struct time_pair now = { .real_ns = 1700000000ull * SEC,
				 .boot_ns = 20 * SEC };
	struct ct_event ev = snat_event();
	struct flow_record out[RECORD_MAX_PER_EVENT];

	(void)state;
	ev.has_start = true;
	ev.start_ns = now.real_ns - 3600 * SEC;
	ev.has_stop = true;
	ev.stop_ns = now.real_ns + 3600 * SEC;
	assert_int_equal(record_build(&ev, 0, &now, false, out), 3);
	assert_int_equal(out[0].first, 0);
	assert_int_equal(out[0].last, 20000);
}

/* v5 carries any IPv4 protocol, its ports as conntrack gave them (0
 * where it has none); only IPv6 and events other than DESTROY give no
 * record. */
static void test_non_exportable(void **state)
{
	struct ct_event ev = snat_event();
	struct flow_record out[RECORD_MAX_PER_EVENT];
	static const uint8_t protos[] = { 0, 2, 41, 47, 50, 58, 132, 136, 255 };

	(void)state;
	for (size_t i = 0; i < sizeof(protos); i++) {
		ev.proto = protos[i];
		assert_int_equal(record_build(&ev, 0, &NOW, true, out), 3);
		check(&out[0], IP(192, 0, 2, 2), IP(198, 51, 100, 2), 40000, 80,
		      10, 1500, protos[i]);
		check(&out[1], IP(198, 51, 100, 1), IP(198, 51, 100, 2), 40000,
		      80, 10, 1500, protos[i]);
		check(&out[2], IP(198, 51, 100, 2), IP(198, 51, 100, 1), 80,
		      40000, 8, 9000, protos[i]);
	}
	/* a protocol without ports: 0 as decoded, not made up */
	ev = snat_event();
	ev.proto = 50;
	ev.orig.sport = ev.orig.dport = ev.reply.sport = ev.reply.dport = 0;
	assert_int_equal(record_build(&ev, 0, &NOW, false, out), 3);
	check(&out[0], IP(192, 0, 2, 2), IP(198, 51, 100, 2), 0, 0, 10, 1500,
	      50);
	check(&out[2], IP(198, 51, 100, 2), IP(198, 51, 100, 1), 0, 0, 8, 9000,
	      50);
	/* IPv6: v5 cannot carry it, whatever the protocol */
	ev = snat_event();
	ev.family = AF_INET6;
	assert_int_equal(record_build(&ev, 0, &NOW, true, out), 0);
	ev.proto = 17;
	assert_int_equal(record_build(&ev, 0, &NOW, true, out), 0);
	ev = snat_event();
	ev.type = CT_EVENT_NEW;
	assert_int_equal(record_build(&ev, 0, &NOW, true, out), 0);
	ev.type = CT_EVENT_UPDATE;
	assert_int_equal(record_build(&ev, 0, &NOW, true, out), 0);
	ev.type = CT_EVENT_DESTROY;
	assert_int_equal(record_build(&ev, 0, &NOW, true, out), 3);
	ev.proto = 17;
	assert_int_equal(record_build(&ev, 0, &NOW, true, out), 3);
	assert_int_equal(out[0].proto, 17);
}

static void test_self_filter(void **state)
{
	struct record_self self = { .family = AF_INET, .port = 2055,
				    .source = IP(192, 0, 2, 1),
				    .collector = IP(198, 51, 100, 5) };
	struct ct_tuple o = { IP(192, 0, 2, 1), IP(198, 51, 100, 5), 45000,
			      2055 };
	struct ct_tuple r = { IP(198, 51, 100, 5), IP(192, 0, 2, 1), 2055,
			      45000 };
	struct ct_event ev = destroy(17, o, r);

	(void)state;
	assert_true(record_is_self(&ev, &self));
	ev.type = CT_EVENT_NEW;
	assert_true(record_is_self(&ev, &self));
	ev.proto = 6;
	assert_false(record_is_self(&ev, &self));
	ev = destroy(17, o, r);
	ev.orig.dport = 2056;
	assert_false(record_is_self(&ev, &self));
	ev = destroy(17, o, r);
	ev.orig.src = IP(192, 0, 2, 2);
	assert_false(record_is_self(&ev, &self));
	ev = destroy(17, o, r);
	ev.orig.dst = IP(198, 51, 100, 6);
	assert_false(record_is_self(&ev, &self));
	/* the reverse direction (collector to us) is someone else's flow */
	ev = destroy(17, r, o);
	assert_false(record_is_self(&ev, &self));
}

/* An IPv6 export flow is recognised by its IPv6 addresses, and never
 * confused with an IPv4 flow or the other way round. */
static void test_self_filter_ipv6(void **state)
{
	static const uint8_t src6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 2, [15] = 1 };
	static const uint8_t col6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 2, [15] = 5 };
	struct record_self self = { .family = AF_INET6, .port = 4739 };
	struct ct_tuple o = { 0, 0, 45000, 4739 }, r = { 0, 0, 4739, 45000 };
	struct ct_event ev = destroy(17, o, r);

	(void)state;
	memcpy(self.source6, src6, 16);
	memcpy(self.collector6, col6, 16);
	ev.family = AF_INET6;
	memcpy(ev.orig6.src, src6, 16);
	memcpy(ev.orig6.dst, col6, 16);
	assert_true(record_is_self(&ev, &self));
	ev.orig6.dst[15] = 6;
	assert_false(record_is_self(&ev, &self));
	/* an IPv4 event with the same ports is not the IPv6 flow */
	ev = destroy(17, o, r);
	assert_false(record_is_self(&ev, &self));
	/* and an IPv6 event never matches an IPv4 flow */
	self.family = AF_INET;
	ev.family = AF_INET6;
	assert_false(record_is_self(&ev, &self));
}

/* conntrack's TCP states and status bits the flags rest on. */
enum {
	SYN_SENT = 1, SYN_RECV, ESTABLISHED, FIN_WAIT, CLOSE_WAIT, LAST_ACK,
	TIME_WAIT, CLOSE,
};
#define SEEN_REPLY 0x2u
#define ASSURED 0x4u

/* The masqueraded connection of snat_event in a TCP state with status
 * bits. */
static struct ct_event tcp_in(uint8_t st, uint32_t status)
{
	struct ct_event ev = snat_event();

	ev.tcp_state = st;
	ev.status = status;
	return ev;
}

/* Asserts the flags of both directions. */
static void flags_are(const struct ct_event *ev, bool began_syn, bool first,
		      uint8_t want_orig, uint8_t want_reply)
{
	uint8_t o = 0xEE, r = 0xEE;

	record_tcp_flags(ev, began_syn, first, &o, &r);
	assert_int_equal(o, want_orig);
	assert_int_equal(r, want_reply);
}

/* A connection closed by FIN from both sides, that began with a SYN. */
static void test_tcp_flags_fin_close(void **state)
{
	struct ct_event ev = tcp_in(TIME_WAIT, SEEN_REPLY | ASSURED);

	(void)state;
	flags_are(&ev, true, true, TCPF_SYN | TCPF_ACK | TCPF_FIN,
		  TCPF_SYN | TCPF_ACK | TCPF_FIN);
	assert_int_equal(record_end_reason(&ev), FLOW_END_DETECTED);
	/* the SYNs went out in an earlier export */
	flags_are(&ev, true, false, TCPF_ACK | TCPF_FIN, TCPF_ACK | TCPF_FIN);
	ev.tcp_state = LAST_ACK;
	flags_are(&ev, true, false, TCPF_ACK | TCPF_FIN, TCPF_ACK | TCPF_FIN);
	assert_int_equal(record_end_reason(&ev), FLOW_END_DETECTED);
	/* one side closed: the FIN is put on the original direction */
	ev.tcp_state = FIN_WAIT;
	flags_are(&ev, true, true, TCPF_SYN | TCPF_ACK | TCPF_FIN,
		  TCPF_SYN | TCPF_ACK);
	assert_int_equal(record_end_reason(&ev), FLOW_END_DETECTED);
	ev.tcp_state = CLOSE_WAIT;
	flags_are(&ev, true, false, TCPF_ACK | TCPF_FIN, TCPF_ACK);
	assert_int_equal(record_end_reason(&ev), FLOW_END_DETECTED);
}

/* A SYN that got no answer. */
static void test_tcp_flags_unanswered_syn(void **state)
{
	struct ct_event ev = tcp_in(SYN_SENT, 0);

	(void)state;
	ev.reply_packets = 0;
	ev.reply_bytes = 0;
	flags_are(&ev, true, true, TCPF_SYN, 0);
	assert_int_equal(record_end_reason(&ev), FLOW_END_IDLE);
	/* no counters: the status alone says nothing came back */
	ev.has_counters = false;
	flags_are(&ev, true, true, TCPF_SYN, 0);
	/* reply packets counted show a reply even without SEEN_REPLY */
	ev.has_counters = true;
	ev.tcp_state = SYN_RECV;
	ev.reply_packets = 1;
	flags_are(&ev, true, true, TCPF_SYN, TCPF_SYN | TCPF_ACK);
	assert_int_equal(record_end_reason(&ev), FLOW_END_IDLE);
}

/* A SYN answered by a reset: the reset is the reply's. */
static void test_tcp_flags_refused(void **state)
{
	struct ct_event ev = tcp_in(CLOSE, SEEN_REPLY);

	(void)state;
	flags_are(&ev, true, true, TCPF_SYN, TCPF_ACK | TCPF_RST);
	assert_int_equal(record_end_reason(&ev), FLOW_END_DETECTED);
}

/* An established connection ended by a reset: the RST is put on the
 * original direction, never on the reply. */
static void test_tcp_flags_reset_established(void **state)
{
	struct ct_event ev = tcp_in(CLOSE, SEEN_REPLY | ASSURED);

	(void)state;
	flags_are(&ev, true, true, TCPF_SYN | TCPF_ACK | TCPF_RST,
		  TCPF_SYN | TCPF_ACK);
	flags_are(&ev, true, false, TCPF_ACK | TCPF_RST, TCPF_ACK);
	flags_are(&ev, false, true, TCPF_ACK | TCPF_RST, TCPF_ACK);
	assert_int_equal(record_end_reason(&ev), FLOW_END_DETECTED);
}

/* Picked up mid-stream: ACK both ways, no SYN even in the first export. */
static void test_tcp_flags_mid_stream(void **state)
{
	struct ct_event ev = tcp_in(ESTABLISHED, SEEN_REPLY | ASSURED);

	(void)state;
	flags_are(&ev, false, true, TCPF_ACK, TCPF_ACK);
	flags_are(&ev, false, false, TCPF_ACK, TCPF_ACK);
	assert_int_equal(record_end_reason(&ev), FLOW_END_IDLE);
	/* timed out while established after a handshake */
	flags_are(&ev, true, true, TCPF_SYN | TCPF_ACK, TCPF_SYN | TCPF_ACK);
	/* no state at all: nothing is known */
	ev.tcp_state = 0;
	flags_are(&ev, true, true, 0, 0);
	assert_int_equal(record_end_reason(&ev), FLOW_END_IDLE);
}

/* Other protocols have no flags and end by timeout, whatever the state
 * field holds. */
static void test_tcp_flags_other_protocols(void **state)
{
	static const uint8_t protos[] = { 1, 17, 47, 50, 58, 132 };
	struct ct_event ev;

	(void)state;
	for (size_t i = 0; i < sizeof(protos); i++) {
		ev = tcp_in(TIME_WAIT, SEEN_REPLY | ASSURED);
		ev.proto = protos[i];
		flags_are(&ev, true, true, 0, 0);
		assert_int_equal(record_end_reason(&ev), FLOW_END_IDLE);
	}
	ev = tcp_in(0, 0);
	assert_int_equal(record_end_reason(&ev), FLOW_END_IDLE);
	for (uint8_t st = SYN_SENT; st <= ESTABLISHED; st++) {
		ev.tcp_state = st;
		assert_int_equal(record_end_reason(&ev), FLOW_END_IDLE);
	}
	for (uint8_t st = FIN_WAIT; st <= CLOSE; st++) {
		ev.tcp_state = st;
		assert_int_equal(record_end_reason(&ev), FLOW_END_DETECTED);
	}
}

/* A DESTROY without its NEW: the reason from the state, flags as for a
 * connection seen only now (a SYN only when the state shows one); v5
 * records 1 and 2 carry the original direction's, record 3 the reply's. */
static void test_conn_init_flags_and_reason(void **state)
{
	struct ct_event ev = tcp_in(TIME_WAIT, SEEN_REPLY | ASSURED);
	struct flow_record out[RECORD_MAX_PER_EVENT];
	struct flow_conn c;

	(void)state;
	record_conn_init(&c, &ev, 0, &NOW);
	assert_int_equal(c.reason, FLOW_END_DETECTED);
	assert_int_equal(c.kind, FLOW_KIND_TRAFFIC);
	assert_int_equal(c.tcp_flags, TCPF_ACK | TCPF_FIN);
	assert_int_equal(c.rtcp_flags, TCPF_ACK | TCPF_FIN);
	ev.tcp_state = SYN_SENT;
	ev.status = 0;
	ev.reply_packets = 0;
	record_conn_init(&c, &ev, 0, &NOW);
	assert_int_equal(c.reason, FLOW_END_IDLE);
	assert_int_equal(c.tcp_flags, TCPF_SYN);
	assert_int_equal(c.rtcp_flags, 0);

	c.tcp_flags = TCPF_SYN | TCPF_ACK | TCPF_FIN;
	c.rtcp_flags = TCPF_ACK | TCPF_RST;
	c.reply_packets = 1;
	assert_int_equal(record_build_conn(&c, false, out), 3);
	assert_int_equal(out[0].tcp_flags, TCPF_SYN | TCPF_ACK | TCPF_FIN);
	assert_int_equal(out[1].tcp_flags, TCPF_SYN | TCPF_ACK | TCPF_FIN);
	assert_int_equal(out[2].tcp_flags, TCPF_ACK | TCPF_RST);
}

/* What counts as NAT for the session events. */
static void test_is_nat(void **state)
{
	struct ct_tuple o = { IP(192, 0, 2, 2), IP(203, 0, 113, 7), 33000, 22 };
	struct ct_tuple r = { IP(203, 0, 113, 7), IP(192, 0, 2, 2), 22, 33000 };
	struct ct_event ev;

	(void)state;
	ev = snat_event();
	assert_true(record_is_nat(&ev));
	ev = destroy(6, o, r);
	assert_false(record_is_nat(&ev));
	/* DNAT: the reply comes from another address */
	ev.reply.src = IP(10, 0, 0, 7);
	assert_true(record_is_nat(&ev));
	/* a port alone */
	ev = destroy(6, o, r);
	ev.reply.dport = 1024;
	assert_true(record_is_nat(&ev));
	ev = destroy(17, o, r);
	ev.reply.sport = 2222;
	assert_true(record_is_nat(&ev));

	/* ICMP: the id is what NAT changes; type and code differ anyway */
	o = (struct ct_tuple){ IP(192, 0, 2, 2), IP(203, 0, 113, 7), 0x1234,
			       0x0800 };
	r = (struct ct_tuple){ IP(203, 0, 113, 7), IP(192, 0, 2, 2), 0x1234,
			       0x0000 };
	ev = destroy(1, o, r);
	assert_false(record_is_nat(&ev));
	ev.reply.sport = 0x9999;
	assert_true(record_is_nat(&ev));
	ev = destroy(1, o, r);
	ev.reply.dst = IP(198, 51, 100, 1);
	assert_true(record_is_nat(&ev));

	/* IPv6: the addresses are in orig6/reply6 */
	{
		static const uint8_t lan[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 1, [15] = 2 };
		static const uint8_t wan[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 2, [15] = 2 };
		static const uint8_t fw[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 2, [15] = 1 };
		struct ct_tuple o6 = { 0, 0, 40000, 443 };
		struct ct_tuple r6 = { 0, 0, 443, 40000 };

		ev = destroy(6, o6, r6);
		ev.family = AF_INET6;
		memcpy(ev.orig6.src, lan, 16);
		memcpy(ev.orig6.dst, wan, 16);
		memcpy(ev.reply6.src, wan, 16);
		memcpy(ev.reply6.dst, lan, 16);
		assert_false(record_is_nat(&ev));
		memcpy(ev.reply6.dst, fw, 16);	/* NPTv6 / masquerade */
		assert_true(record_is_nat(&ev));
		memcpy(ev.reply6.dst, lan, 16);
		memcpy(ev.reply6.src, fw, 16);	/* DNAT */
		assert_true(record_is_nat(&ev));
		memcpy(ev.reply6.src, wan, 16);
		ev.reply.dport = 50000;		/* port only */
		assert_true(record_is_nat(&ev));
		/* the IPv4 fields of an IPv6 entry are not looked at */
		ev.reply.dport = 40000;
		ev.reply.dst = IP(1, 2, 3, 4);
		assert_false(record_is_nat(&ev));
		/* ICMPv6 id */
		ev.proto = 58;
		ev.orig.sport = ev.reply.sport = 77;
		ev.orig.dport = 128 << 8;
		ev.reply.dport = 129 << 8;
		assert_false(record_is_nat(&ev));
		ev.reply.sport = 78;
		assert_true(record_is_nat(&ev));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_snat_masquerade),
		cmocka_unit_test(test_snat_port_rewrite),
		cmocka_unit_test(test_dnat_port_forward),
		cmocka_unit_test(test_no_nat),
		cmocka_unit_test(test_only_one_port_translated),
		cmocka_unit_test(test_icmp_echo_with_nat),
		cmocka_unit_test(test_icmp_no_nat_id_ignored),
		cmocka_unit_test(test_icmp_unanswered),
		cmocka_unit_test(test_unanswered_udp),
		cmocka_unit_test(test_without_counters),
		cmocka_unit_test(test_without_counters_no_nat),
		cmocka_unit_test(test_counter_saturation),
		cmocka_unit_test(test_times_from_kernel_stamps),
		cmocka_unit_test(test_times_fallback),
		cmocka_unit_test(test_end_before_start_clamped),
		cmocka_unit_test(test_uptime_wrap),
		cmocka_unit_test(test_uptime_ms),
		cmocka_unit_test(test_real_to_boot_clamping),
		cmocka_unit_test(test_stamp_before_boot),
		cmocka_unit_test(test_non_exportable),
		cmocka_unit_test(test_self_filter),
		cmocka_unit_test(test_self_filter_ipv6),
		cmocka_unit_test(test_tcp_flags_fin_close),
		cmocka_unit_test(test_tcp_flags_unanswered_syn),
		cmocka_unit_test(test_tcp_flags_refused),
		cmocka_unit_test(test_tcp_flags_reset_established),
		cmocka_unit_test(test_tcp_flags_mid_stream),
		cmocka_unit_test(test_tcp_flags_other_protocols),
		cmocka_unit_test(test_conn_init_flags_and_reason),
		cmocka_unit_test(test_is_nat),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
