/* Unit tests for the SPEC §5 CSV line, compared against exact strings. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "nfflowd/csvline.h"

/* A typical header: 1700000000.123456789, uptime 3723456 ms. */
static struct nf5_header header(void)
{
	struct nf5_header h;

	memset(&h, 0, sizeof(h));
	h.sysuptime_ms = 3723456;
	h.unix_secs = 1700000000u;
	h.unix_nsecs = 123456789u;
	h.flow_sequence = 99;
	h.engine_type = 1;
	h.engine_id = 2;
	return h;
}

/* Record 1 of a masqueraded HTTP connection. */
static struct flow_record tcp_record(void)
{
	struct flow_record r;

	memset(&r, 0, sizeof(r));
	r.src = 0xC0000202u;		/* 192.0.2.2 */
	r.dst = 0xC6336402u;		/* 198.51.100.2 */
	r.packets = 10;
	r.octets = 1500;
	r.first = 1000;
	r.last = 3000;
	r.sport = 40000;
	r.dport = 80;
	r.proto = 6;
	return r;
}

static void test_tcp_record_line(void **state)
{
	struct nf5_header h = header();
	struct flow_record r = tcp_record();
	char buf[CSVLINE_MAX];
	const char *want = "1700000000,123456789,3723456,192.0.2.1,10,1500,"
			   "1000,3000,192.0.2.2,198.51.100.2,0.0.0.0,0,0,"
			   "40000,80,6,0,0";

	(void)state;
	assert_int_equal(csvline_format(buf, sizeof(buf), &h, "192.0.2.1", &r),
			 strlen(want));
	assert_string_equal(buf, want);
}

static void test_icmp_record_line(void **state)
{
	struct nf5_header h = header();
	struct flow_record r;
	char buf[CSVLINE_MAX];

	(void)state;
	memset(&r, 0, sizeof(r));
	r.src = 0xCB007109u;
	r.dst = 0xC6336401u;
	r.packets = 1;
	r.octets = 84;
	r.first = 5;
	r.last = 5;
	r.dport = 2048;
	r.proto = 1;
	assert_true(csvline_format(buf, sizeof(buf), &h, "192.0.2.1", &r) > 0);
	assert_string_equal(buf, "1700000000,123456789,3723456,192.0.2.1,1,84,"
			    "5,5,203.0.113.9,198.51.100.1,0.0.0.0,0,0,0,2048,"
			    "1,0,0");
}

static void test_field_order_all_distinct(void **state)
{
	struct nf5_header h = header();
	struct flow_record r;
	char buf[CSVLINE_MAX];

	(void)state;
	r.src = 0xC0000201u;	/* 192.0.2.1 */
	r.dst = 0xC6336402u;	/* 198.51.100.2 */
	r.nexthop = 0xCB007103u;	/* 203.0.113.3 */
	r.input = 13;
	r.output = 14;
	r.packets = 15;
	r.octets = 16;
	r.first = 17;
	r.last = 18;
	r.sport = 19;
	r.dport = 20;
	r.proto = 21;
	r.tos = 22;
	r.tcp_flags = 23;
	h.unix_secs = 24;
	h.unix_nsecs = 25;
	h.sysuptime_ms = 26;
	assert_true(csvline_format(buf, sizeof(buf), &h, "X", &r) > 0);
	assert_string_equal(buf, "24,25,26,X,15,16,17,18,192.0.2.1,198.51.100.2,"
			    "203.0.113.3,13,14,19,20,21,22,23");
}

static void test_maximum_values(void **state)
{
	struct nf5_header h;
	struct flow_record r;
	char buf[CSVLINE_MAX];
	const char *want = "4294967295,999999999,4294967295,"
			   "255.255.255.255,4294967295,4294967295,"
			   "4294967295,4294967295,255.255.255.255,"
			   "255.255.255.255,255.255.255.255,65535,65535,"
			   "65535,65535,255,255,255";

	(void)state;
	memset(&h, 0, sizeof(h));
	h.unix_secs = UINT32_MAX;
	h.unix_nsecs = 999999999u;
	h.sysuptime_ms = UINT32_MAX;
	memset(&r, 0xFF, sizeof(r));
	assert_int_equal(csvline_format(buf, sizeof(buf), &h,
					"255.255.255.255", &r), strlen(want));
	assert_string_equal(buf, want);
}

/* The digit writer against snprintf: every octet in every position of an
 * address, and numbers around each power of ten and spread over 32 bits. */
static void test_numbers_as_snprintf(void **state)
{
	struct nf5_header h;
	struct flow_record r;
	char buf[CSVLINE_MAX], want[CSVLINE_MAX];
	uint32_t v, k;

	(void)state;
	memset(&h, 0, sizeof(h));
	memset(&r, 0, sizeof(r));
	for (v = 0; v < 256; v++) {
		r.src = v << 24 | v << 16 | v << 8 | v;
		r.dst = (255 - v) << 24 | v;
		assert_true(csvline_format(buf, sizeof(buf), &h, "0.0.0.0", &r) > 0);
		snprintf(want, sizeof(want),
			 "0,0,0,0.0.0.0,0,0,0,0,%u.%u.%u.%u,%u.0.0.%u,0.0.0.0,0,0,0,0,0,0,0",
			 v, v, v, v, 255 - v, v);
		assert_string_equal(buf, want);
	}
	r.src = r.dst = 0;
	for (k = 0; k < 4000; k++) {
		uint32_t p10 = 1;

		v = k * 1073741u + k % 7;
		if (k < 40) {
			for (unsigned i = 0; i < k / 4; i++)
				p10 *= 10;
			v = p10 + k % 4 - 2 + (k < 4);
		}
		h.unix_secs = v;
		r.octets = v / 3;
		assert_true(csvline_format(buf, sizeof(buf), &h, "X", &r) > 0);
		snprintf(want, sizeof(want),
			 "%u,0,0,X,0,%u,0,0,0.0.0.0,0.0.0.0,0.0.0.0,0,0,0,0,0,0,0",
			 v, v / 3);
		assert_string_equal(buf, want);
	}
}

static void test_zero_values(void **state)
{
	struct nf5_header h;
	struct flow_record r;
	char buf[CSVLINE_MAX];

	(void)state;
	memset(&h, 0, sizeof(h));
	memset(&r, 0, sizeof(r));
	assert_int_equal(csvline_format(buf, sizeof(buf), &h, "0.0.0.0", &r),
			 strlen("0,0,0,0.0.0.0,0,0,0,0,0.0.0.0,0.0.0.0,0.0.0.0,"
				"0,0,0,0,0,0,0"));
	assert_string_equal(buf, "0,0,0,0.0.0.0,0,0,0,0,0.0.0.0,0.0.0.0,"
			    "0.0.0.0,0,0,0,0,0,0,0");
}

static void test_no_trailing_newline(void **state)
{
	struct nf5_header h = header();
	struct flow_record r = tcp_record();
	char buf[CSVLINE_MAX];
	size_t n;

	(void)state;
	n = csvline_format(buf, sizeof(buf), &h, "192.0.2.1", &r);
	assert_true(n > 0);
	assert_null(strchr(buf, '\n'));
	assert_int_equal(buf[n], '\0');
	assert_int_equal(buf[n - 1], '0');
}

static void test_eighteen_fields(void **state)
{
	struct nf5_header h = header();
	struct flow_record r = tcp_record();
	char buf[CSVLINE_MAX];
	unsigned commas = 0;
	const char *p;

	(void)state;
	assert_true(csvline_format(buf, sizeof(buf), &h, "192.0.2.1", &r) > 0);
	for (p = buf; *p != '\0'; p++)
		commas += (*p == ',');
	assert_int_equal(commas, 17);
}

static void test_ipv6_exporter_address(void **state)
{
	struct nf5_header h = header();
	struct flow_record r = tcp_record();
	char buf[CSVLINE_MAX];

	(void)state;
	assert_true(csvline_format(buf, sizeof(buf), &h, "2001:db8::1", &r) > 0);
	assert_string_equal(buf, "1700000000,123456789,3723456,2001:db8::1,10,"
			    "1500,1000,3000,192.0.2.2,198.51.100.2,0.0.0.0,0,"
			    "0,40000,80,6,0,0");
}

static void test_buffer_exact_fit(void **state)
{
	struct nf5_header h = header();
	struct flow_record r = tcp_record();
	char big[CSVLINE_MAX], buf[CSVLINE_MAX];
	size_t n;

	(void)state;
	n = csvline_format(big, sizeof(big), &h, "192.0.2.1", &r);
	assert_true(n > 0);
	/* n characters plus the terminator fit */
	assert_int_equal(csvline_format(buf, n + 1, &h, "192.0.2.1", &r), n);
	assert_string_equal(buf, big);
}

static void test_buffer_too_small(void **state)
{
	struct nf5_header h = header();
	struct flow_record r = tcp_record();
	char buf[CSVLINE_MAX];
	size_t n;

	(void)state;
	n = csvline_format(buf, sizeof(buf), &h, "192.0.2.1", &r);
	assert_true(n > 0);
	memset(buf, 'Z', sizeof(buf));
	assert_int_equal(csvline_format(buf, n, &h, "192.0.2.1", &r), 0);
	assert_int_equal(buf[0], '\0');
	assert_int_equal(buf[n], 'Z');	/* nothing written past len */
	assert_int_equal(csvline_format(buf, 1, &h, "192.0.2.1", &r), 0);
	assert_int_equal(csvline_format(buf, 0, &h, "192.0.2.1", &r), 0);
}

static void test_worst_case_fits_csvline_max(void **state)
{
	struct nf5_header h;
	struct flow_record r;
	char buf[CSVLINE_MAX];
	const char *ex = "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255";

	(void)state;
	memset(&h, 0xFF, sizeof(h));
	memset(&r, 0xFF, sizeof(r));
	assert_true(csvline_format(buf, sizeof(buf), &h, ex, &r) > 0);
	assert_true(strlen(buf) < CSVLINE_MAX);
}

/* The line as snprintf writes it: the reference for the hand-written
 * formatter. */
static void reference_line(char *out, size_t len, const struct nf5_header *h,
			   const char *ex, const struct flow_record *r)
{
	snprintf(out, len,
		 "%u,%u,%u,%s,%u,%u,%u,%u,%u.%u.%u.%u,%u.%u.%u.%u,"
		 "%u.%u.%u.%u,%u,%u,%u,%u,%u,%u,%u",
		 h->unix_secs, h->unix_nsecs, h->sysuptime_ms, ex, r->packets,
		 r->octets, r->first, r->last, r->src >> 24,
		 (r->src >> 16) & 255, (r->src >> 8) & 255, r->src & 255,
		 r->dst >> 24, (r->dst >> 16) & 255, (r->dst >> 8) & 255,
		 r->dst & 255, r->nexthop >> 24, (r->nexthop >> 16) & 255,
		 (r->nexthop >> 8) & 255, r->nexthop & 255,
		 (unsigned)r->input, (unsigned)r->output, (unsigned)r->sport,
		 (unsigned)r->dport, (unsigned)r->proto, (unsigned)r->tos,
		 (unsigned)r->tcp_flags);
}

/* xorshift32, so that the values cover every digit count. */
static uint32_t next_rand(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/* A random value of 1 to 10 digits. */
static uint32_t some_digits(uint32_t *s)
{
	static const uint32_t mod[] = { 10, 100, 1000, 10000, 100000,
		1000000, 10000000, 100000000, 1000000000, 0 };
	uint32_t v = next_rand(s), m = mod[next_rand(s) % 10];

	return m ? v % m : v;
}

static void test_matches_snprintf(void **state)
{
	uint32_t seed = 2463534242u;
	unsigned i;

	(void)state;
	for (i = 0; i < 200000; i++) {
		struct nf5_header h;
		struct flow_record r;
		char got[CSVLINE_MAX], want[CSVLINE_MAX];

		memset(&h, 0, sizeof(h));
		memset(&r, 0, sizeof(r));
		h.unix_secs = some_digits(&seed);
		h.unix_nsecs = some_digits(&seed);
		h.sysuptime_ms = some_digits(&seed);
		r.packets = some_digits(&seed);
		r.octets = some_digits(&seed);
		r.first = some_digits(&seed);
		r.last = some_digits(&seed);
		r.src = next_rand(&seed);
		r.dst = next_rand(&seed) & 0xFF00FF0Fu;
		r.nexthop = i % 3 ? 0 : next_rand(&seed);
		r.input = (uint16_t)some_digits(&seed);
		r.output = (uint16_t)some_digits(&seed);
		r.sport = (uint16_t)next_rand(&seed);
		r.dport = (uint16_t)some_digits(&seed);
		r.proto = (uint8_t)next_rand(&seed);
		r.tos = (uint8_t)some_digits(&seed);
		r.tcp_flags = (uint8_t)next_rand(&seed);
		reference_line(want, sizeof(want), &h,
			       i % 2 ? "2001:db8::1" : "198.51.100.1", &r);
		assert_int_equal(csvline_format(got, sizeof(got), &h,
						i % 2 ? "2001:db8::1" : "198.51.100.1",
						&r),
				 strlen(want));
		assert_string_equal(got, want);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tcp_record_line),
		cmocka_unit_test(test_icmp_record_line),
		cmocka_unit_test(test_field_order_all_distinct),
		cmocka_unit_test(test_maximum_values),
		cmocka_unit_test(test_numbers_as_snprintf),
		cmocka_unit_test(test_zero_values),
		cmocka_unit_test(test_no_trailing_newline),
		cmocka_unit_test(test_eighteen_fields),
		cmocka_unit_test(test_ipv6_exporter_address),
		cmocka_unit_test(test_buffer_exact_fit),
		cmocka_unit_test(test_buffer_too_small),
		cmocka_unit_test(test_matches_snprintf),
		cmocka_unit_test(test_worst_case_fits_csvline_max),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
