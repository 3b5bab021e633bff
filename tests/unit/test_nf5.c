/* Unit tests for the NetFlow v5 encoder/decoder against hand-built bytes. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "nfflowd/nf5.h"

/* A two-record datagram written out by hand from the v5 layout. */
static const uint8_t hand_datagram[] = {
	/* header */
	0x00, 0x05,			/* version 5 */
	0x00, 0x02,			/* count 2 */
	0x00, 0x38, 0xD0, 0xC0,		/* sysuptime 3723456 ms */
	0x65, 0x53, 0xF1, 0x00,		/* unix_secs 1700000000 */
	0x07, 0x5B, 0xCD, 0x15,		/* unix_nsecs 123456789 */
	0x00, 0x00, 0x04, 0xD2,		/* flow_sequence 1234 */
	0x01,				/* engine_type */
	0x02,				/* engine_id */
	0x00, 0x00,			/* sampling_interval */
	/* record 1: TCP 192.0.2.2:40000 -> 198.51.100.2:80 */
	0xC0, 0x00, 0x02, 0x02,		/* srcaddr */
	0xC6, 0x33, 0x64, 0x02,		/* dstaddr */
	0x00, 0x00, 0x00, 0x00,		/* nexthop */
	0x00, 0x00,			/* input */
	0x00, 0x00,			/* output */
	0x00, 0x00, 0x00, 0x0A,		/* dPkts 10 */
	0x00, 0x00, 0x05, 0xDC,		/* dOctets 1500 */
	0x00, 0x00, 0x03, 0xE8,		/* First 1000 */
	0x00, 0x00, 0x0B, 0xB8,		/* Last 3000 */
	0x9C, 0x40,			/* srcport 40000 */
	0x00, 0x50,			/* dstport 80 */
	0x00,				/* pad1 */
	0x00,				/* tcp_flags */
	0x06,				/* prot */
	0x00,				/* tos */
	0x00, 0x00, 0x00, 0x00,		/* src_as, dst_as */
	0x00, 0x00,			/* src_mask, dst_mask */
	0x00, 0x00,			/* pad2 */
	/* record 2: ICMP 203.0.113.9 -> 198.51.100.1, every field distinct */
	0xCB, 0x00, 0x71, 0x09,		/* srcaddr */
	0xC6, 0x33, 0x64, 0x01,		/* dstaddr */
	0x01, 0x02, 0x03, 0x04,		/* nexthop */
	0x00, 0x03,			/* input 3 */
	0x01, 0x04,			/* output 260 */
	0xDE, 0xAD, 0xBE, 0xEF,		/* dPkts */
	0x11, 0x22, 0x33, 0x44,		/* dOctets */
	0xFF, 0xFF, 0xFF, 0xF0,		/* First */
	0x00, 0x00, 0x00, 0x10,		/* Last (after a wrap) */
	0x00, 0x00,			/* srcport 0 */
	0x08, 0x00,			/* dstport 2048: echo request */
	0x00,				/* pad1 */
	0x12,				/* tcp_flags */
	0x01,				/* prot ICMP */
	0xB8,				/* tos */
	0x00, 0x00, 0x00, 0x00,
	0x00, 0x00,
	0x00, 0x00,
};

/* The header that hand_datagram carries. */
static struct nf5_header hand_header(void)
{
	struct nf5_header h;

	memset(&h, 0, sizeof(h));
	h.sysuptime_ms = 3723456;
	h.unix_secs = 1700000000u;
	h.unix_nsecs = 123456789u;
	h.flow_sequence = 1234;
	h.engine_type = 1;
	h.engine_id = 2;
	return h;
}

/* The two records that hand_datagram carries. */
static void hand_records(struct flow_record r[2])
{
	memset(r, 0, 2 * sizeof(r[0]));
	r[0].src = 0xC0000202u;
	r[0].dst = 0xC6336402u;
	r[0].packets = 10;
	r[0].octets = 1500;
	r[0].first = 1000;
	r[0].last = 3000;
	r[0].sport = 40000;
	r[0].dport = 80;
	r[0].proto = 6;
	r[1].src = 0xCB007109u;
	r[1].dst = 0xC6336401u;
	r[1].nexthop = 0x01020304u;
	r[1].input = 3;
	r[1].output = 260;
	r[1].packets = 0xDEADBEEFu;
	r[1].octets = 0x11223344u;
	r[1].first = 0xFFFFFFF0u;
	r[1].last = 0x10;
	r[1].sport = 0;
	r[1].dport = 2048;
	r[1].tcp_flags = 0x12;
	r[1].proto = 1;
	r[1].tos = 0xB8;
}

/* A distinct, recognisable record number i. */
static struct flow_record numbered_record(unsigned i)
{
	struct flow_record r;

	memset(&r, 0, sizeof(r));
	r.src = 0xC0000200u + i;
	r.dst = 0xC6336400u + i;
	r.nexthop = 0xCB007100u + i;
	r.input = (uint16_t)(i + 1);
	r.output = (uint16_t)(i + 2);
	r.packets = 1000u * i + 7;
	r.octets = 0x80000000u + i;
	r.first = 0xFFFFFF00u + i;
	r.last = i * 3;
	r.sport = (uint16_t)(1024 + i);
	r.dport = (uint16_t)(65535 - i);
	r.tcp_flags = (uint8_t)i;
	r.proto = (i % 2) ? 17 : 6;
	r.tos = (uint8_t)(i * 4);
	return r;
}

/* Compares two records field by field. */
static void assert_record_equal(const struct flow_record *a,
				const struct flow_record *b)
{
	assert_int_equal(a->src, b->src);
	assert_int_equal(a->dst, b->dst);
	assert_int_equal(a->nexthop, b->nexthop);
	assert_int_equal(a->input, b->input);
	assert_int_equal(a->output, b->output);
	assert_int_equal(a->packets, b->packets);
	assert_int_equal(a->octets, b->octets);
	assert_int_equal(a->first, b->first);
	assert_int_equal(a->last, b->last);
	assert_int_equal(a->sport, b->sport);
	assert_int_equal(a->dport, b->dport);
	assert_int_equal(a->tcp_flags, b->tcp_flags);
	assert_int_equal(a->proto, b->proto);
	assert_int_equal(a->tos, b->tos);
}

static void test_encode_matches_hand_bytes(void **state)
{
	struct nf5_header h = hand_header();
	struct flow_record r[2];
	uint8_t buf[NF5_MAX_DATAGRAM];
	size_t n;

	(void)state;
	hand_records(r);
	memset(buf, 0xAA, sizeof(buf));
	n = nf5_encode(buf, sizeof(buf), &h, r, 2);
	assert_int_equal(n, sizeof(hand_datagram));
	assert_int_equal(n, 24 + 2 * 48);
	assert_memory_equal(buf, hand_datagram, sizeof(hand_datagram));
	/* nothing written past the datagram */
	assert_int_equal(buf[n], 0xAA);
}

static void test_header_init_from_time_pair(void **state)
{
	struct time_pair now = {
		.real_ns = 1700000000123456789ull,
		.boot_ns = 3723456789000ull,
	};
	struct nf5_header h;
	struct nf5_header want = hand_header();

	(void)state;
	memset(&h, 0x55, sizeof(h));
	nf5_header_init(&h, &now, 1234, 1, 2);
	assert_int_equal(h.sysuptime_ms, want.sysuptime_ms);
	assert_int_equal(h.unix_secs, want.unix_secs);
	assert_int_equal(h.unix_nsecs, want.unix_nsecs);
	assert_int_equal(h.flow_sequence, 1234);
	assert_int_equal(h.engine_type, 1);
	assert_int_equal(h.engine_id, 2);
	assert_int_equal(h.sampling_interval, 0);
}

static void test_header_init_uptime_wraps(void **state)
{
	/* boot clock at 2^32 ms + 5000 ms + 999999 ns */
	struct time_pair now = {
		.real_ns = 5ull * 1000000000ull + 7,
		.boot_ns = (4294967296ull + 5000ull) * 1000000ull + 999999ull,
	};
	struct nf5_header h;

	(void)state;
	nf5_header_init(&h, &now, 0xFFFFFFFFu, 255, 255);
	assert_int_equal(h.sysuptime_ms, 5000);
	assert_int_equal(h.unix_secs, 5);
	assert_int_equal(h.unix_nsecs, 7);
	assert_int_equal(h.flow_sequence, 0xFFFFFFFFu);
	assert_int_equal(h.engine_type, 255);
	assert_int_equal(h.engine_id, 255);
}

static void test_encode_thirty_records(void **state)
{
	struct nf5_header h = hand_header();
	struct flow_record r[NF5_MAX_RECORDS];
	uint8_t buf[NF5_MAX_DATAGRAM];
	unsigned i;
	size_t n;

	(void)state;
	for (i = 0; i < NF5_MAX_RECORDS; i++)
		r[i] = numbered_record(i);
	n = nf5_encode(buf, sizeof(buf), &h, r, NF5_MAX_RECORDS);
	assert_int_equal(n, 1464);
	assert_int_equal(buf[0], 0);
	assert_int_equal(buf[1], 5);
	assert_int_equal(buf[2], 0);
	assert_int_equal(buf[3], 30);
	for (i = 0; i < NF5_MAX_RECORDS; i++) {
		const uint8_t *p = buf + 24 + 48 * i;

		assert_int_equal(p[0], 0xC0);
		assert_int_equal(p[3], i);		/* srcaddr low byte */
		assert_int_equal(p[7], i);		/* dstaddr low byte */
		assert_int_equal(p[33], (1024 + i) & 0xFF);
		assert_int_equal(p[38], (i % 2) ? 17 : 6);
		assert_int_equal(p[36], 0);		/* pad1 */
		assert_int_equal(p[46] | p[47], 0);	/* pad2 */
	}
}

static void test_encode_rejects_zero_records(void **state)
{
	struct nf5_header h = hand_header();
	struct flow_record r[1];
	uint8_t buf[NF5_MAX_DATAGRAM];

	(void)state;
	r[0] = numbered_record(1);
	memset(buf, 0xAA, sizeof(buf));
	assert_int_equal(nf5_encode(buf, sizeof(buf), &h, r, 0), 0);
	assert_int_equal(buf[0], 0xAA);
}

static void test_encode_rejects_thirty_one(void **state)
{
	struct nf5_header h = hand_header();
	struct flow_record r[31];
	uint8_t buf[NF5_MAX_DATAGRAM + NF5_RECORD_LEN];
	unsigned i;

	(void)state;
	for (i = 0; i < 31; i++)
		r[i] = numbered_record(i);
	assert_int_equal(nf5_encode(buf, sizeof(buf), &h, r, 31), 0);
	assert_int_equal(nf5_encode(buf, sizeof(buf), &h, r, 65535), 0);
}

static void test_encode_buffer_size(void **state)
{
	struct nf5_header h = hand_header();
	struct flow_record r[2];
	uint8_t buf[24 + 2 * 48];

	(void)state;
	hand_records(r);
	memset(buf, 0xAA, sizeof(buf));
	assert_int_equal(nf5_encode(buf, sizeof(buf) - 1, &h, r, 2), 0);
	assert_int_equal(buf[0], 0xAA);
	assert_int_equal(nf5_encode(buf, 23, &h, r, 1), 0);
	assert_int_equal(nf5_encode(buf, 71, &h, r, 1), 0);
	/* exactly large enough is enough */
	assert_int_equal(nf5_encode(buf, sizeof(buf), &h, r, 2), sizeof(buf));
	assert_memory_equal(buf, hand_datagram, sizeof(buf));
	assert_int_equal(nf5_encode(buf, 72, &h, r, 1), 72);
}

static void test_decode_hand_bytes(void **state)
{
	struct nf5_header h, want = hand_header();
	struct flow_record r[NF5_MAX_RECORDS], w[2];

	(void)state;
	hand_records(w);
	assert_int_equal(nf5_decode(hand_datagram, sizeof(hand_datagram), &h,
				    r, NF5_MAX_RECORDS), 2);
	assert_int_equal(h.sysuptime_ms, want.sysuptime_ms);
	assert_int_equal(h.unix_secs, want.unix_secs);
	assert_int_equal(h.unix_nsecs, want.unix_nsecs);
	assert_int_equal(h.flow_sequence, want.flow_sequence);
	assert_int_equal(h.engine_type, 1);
	assert_int_equal(h.engine_id, 2);
	assert_int_equal(h.sampling_interval, 0);
	assert_record_equal(&r[0], &w[0]);
	assert_record_equal(&r[1], &w[1]);
}

static void test_decode_round_trip(void **state)
{
	struct nf5_header h, back;
	struct flow_record r[NF5_MAX_RECORDS], d[NF5_MAX_RECORDS];
	uint8_t buf[NF5_MAX_DATAGRAM];
	unsigned i, n;
	size_t len;

	(void)state;
	memset(&h, 0, sizeof(h));
	h.sysuptime_ms = 0xFEDCBA98u;
	h.unix_secs = 0x7FFFFFFFu;
	h.unix_nsecs = 999999999u;
	h.flow_sequence = 0x89ABCDEFu;
	h.engine_type = 0xA5;
	h.engine_id = 0x5A;
	h.sampling_interval = 0x4001;
	for (i = 0; i < NF5_MAX_RECORDS; i++)
		r[i] = numbered_record(i * 7 + 3);
	for (n = 1; n <= NF5_MAX_RECORDS; n++) {
		len = nf5_encode(buf, sizeof(buf), &h, r, n);
		assert_int_equal(len, 24 + 48 * n);
		memset(d, 0xCC, sizeof(d));
		assert_int_equal(nf5_decode(buf, len, &back, d,
					    NF5_MAX_RECORDS), (int)n);
		assert_int_equal(back.sysuptime_ms, h.sysuptime_ms);
		assert_int_equal(back.unix_secs, h.unix_secs);
		assert_int_equal(back.unix_nsecs, h.unix_nsecs);
		assert_int_equal(back.flow_sequence, h.flow_sequence);
		assert_int_equal(back.engine_type, h.engine_type);
		assert_int_equal(back.engine_id, h.engine_id);
		assert_int_equal(back.sampling_interval, h.sampling_interval);
		for (i = 0; i < n; i++)
			assert_record_equal(&d[i], &r[i]);
	}
}

static void test_decode_rejects_bad_version(void **state)
{
	uint8_t buf[sizeof(hand_datagram)];
	struct nf5_header h;
	struct flow_record r[2];

	(void)state;
	memcpy(buf, hand_datagram, sizeof(buf));
	buf[1] = 9;
	assert_int_equal(nf5_decode(buf, sizeof(buf), &h, r, 2), -1);
	buf[1] = 5;
	buf[0] = 1;	/* 0x0105 */
	assert_int_equal(nf5_decode(buf, sizeof(buf), &h, r, 2), -1);
	buf[0] = 0;
	assert_int_equal(nf5_decode(buf, sizeof(buf), &h, r, 2), 2);
}

static void test_decode_rejects_bad_length(void **state)
{
	uint8_t buf[sizeof(hand_datagram) + 1];
	struct nf5_header h;
	struct flow_record r[2];

	(void)state;
	memcpy(buf, hand_datagram, sizeof(hand_datagram));
	buf[sizeof(hand_datagram)] = 0;
	assert_int_equal(nf5_decode(buf, sizeof(hand_datagram) + 1, &h, r, 2),
			 -1);
	assert_int_equal(nf5_decode(buf, sizeof(hand_datagram) - 1, &h, r, 2),
			 -1);
	assert_int_equal(nf5_decode(buf, 24 + 48, &h, r, 2), -1);
	assert_int_equal(nf5_decode(buf, 23, &h, r, 2), -1);
	assert_int_equal(nf5_decode(buf, 0, &h, r, 2), -1);
	/* count says 1 and the length matches one record: well formed */
	buf[3] = 1;
	assert_int_equal(nf5_decode(buf, 24 + 48, &h, r, 2), 1);
}

static void test_decode_rejects_bad_count(void **state)
{
	uint8_t buf[NF5_MAX_DATAGRAM + NF5_RECORD_LEN];
	struct nf5_header h;
	struct flow_record r[31];

	(void)state;
	memset(buf, 0, sizeof(buf));
	buf[1] = 5;
	buf[3] = 0;
	assert_int_equal(nf5_decode(buf, 24, &h, r, 31), -1);
	buf[3] = 31;
	assert_int_equal(nf5_decode(buf, 24 + 31 * 48, &h, r, 31), -1);
	buf[3] = 30;
	assert_int_equal(nf5_decode(buf, 24 + 30 * 48, &h, r, 31), 30);
}

static void test_decode_stores_at_most_max(void **state)
{
	struct flow_record r[2], w[2];
	struct nf5_header h;

	(void)state;
	hand_records(w);
	memset(r, 0xCC, sizeof(r));
	assert_int_equal(nf5_decode(hand_datagram, sizeof(hand_datagram), &h,
				    r, 1), 2);
	assert_record_equal(&r[0], &w[0]);
	assert_int_equal(r[1].src, 0xCCCCCCCCu);	/* untouched */
	assert_int_equal(nf5_decode(hand_datagram, sizeof(hand_datagram), NULL,
				    NULL, 0), 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_encode_matches_hand_bytes),
		cmocka_unit_test(test_header_init_from_time_pair),
		cmocka_unit_test(test_header_init_uptime_wraps),
		cmocka_unit_test(test_encode_thirty_records),
		cmocka_unit_test(test_encode_rejects_zero_records),
		cmocka_unit_test(test_encode_rejects_thirty_one),
		cmocka_unit_test(test_encode_buffer_size),
		cmocka_unit_test(test_decode_hand_bytes),
		cmocka_unit_test(test_decode_round_trip),
		cmocka_unit_test(test_decode_rejects_bad_version),
		cmocka_unit_test(test_decode_rejects_bad_length),
		cmocka_unit_test(test_decode_rejects_bad_count),
		cmocka_unit_test(test_decode_stores_at_most_max),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
