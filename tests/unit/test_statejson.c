/* Unit tests for the state dump's JSON lines, compared against exact text. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "nfflowd/statejson.h"

#define SEC 1000000000ull

/* An IPv4 address from its four bytes, host order. */
static uint32_t ip(unsigned a, unsigned b, unsigned c, unsigned d)
{
	return (uint32_t)a << 24 | (uint32_t)b << 16 | (uint32_t)c << 8 | d;
}

/* An entry with the given tuples, started at 1000 s of boot time. */
static struct flow_entry entry(uint8_t proto, uint8_t state,
			       struct ct_tuple o, struct ct_tuple r)
{
	struct flow_entry e;

	memset(&e, 0, sizeof(e));
	e.id = 12345;
	e.proto = proto;
	e.tcp_state = state;
	e.orig = o;
	e.reply = r;
	e.start_ms = 1000000;	/* 1000 s */
	return e;
}

/* Formats e (with its side record) at now and checks the exact line. */
static void check_entry_side(const struct flow_entry *e,
			     const struct flow_addr6 *side, uint64_t now,
			     const char *want)
{
	char buf[512];

	assert_int_equal(statejson_entry(buf, sizeof(buf), e, side, now),
			 strlen(want));
	assert_string_equal(buf, want);
}

/* Formats e at now and checks the exact line. */
static void check_entry(const struct flow_entry *e, uint64_t now,
			const char *want)
{
	check_entry_side(e, NULL, now, want);
}

static void test_tcp_snat(void **state)
{
	struct flow_entry e = entry(6, 3,
		(struct ct_tuple){ ip(192, 0, 2, 2), ip(198, 51, 100, 2), 40000, 80 },
		(struct ct_tuple){ ip(198, 51, 100, 2), ip(203, 0, 113, 1), 80, 61000 });

	(void)state;
	check_entry(&e, 1192 * SEC + SEC / 2,
		"{\"type\":\"entry\",\"id\":12345,\"proto\":\"tcp\","
		"\"orig\":{\"src\":\"192.0.2.2\",\"sport\":40000,"
		"\"dst\":\"198.51.100.2\",\"dport\":80},"
		"\"reply\":{\"src\":\"198.51.100.2\",\"sport\":80,"
		"\"dst\":\"203.0.113.1\",\"dport\":61000},"
		"\"nat\":\"snat\",\"age\":192,\"state\":\"ESTABLISHED\","
		"\"source\":\"event\"}\n");
}

static void test_tcp_masquerade_same_port_is_snat(void **state)
{
	/* Only the address changes: still SNAT. */
	struct flow_entry e = entry(6, 1,
		(struct ct_tuple){ ip(192, 0, 2, 2), ip(198, 51, 100, 2), 40000, 443 },
		(struct ct_tuple){ ip(198, 51, 100, 2), ip(203, 0, 113, 1), 443, 40000 });
	char buf[512];

	(void)state;
	assert_true(statejson_entry(buf, sizeof(buf), &e, NULL, 1000 * SEC) > 0);
	assert_non_null(strstr(buf, "\"nat\":\"snat\",\"age\":0,"
				    "\"state\":\"SYN_SENT\","));
}

static void test_tcp_dnat_from_dump(void **state)
{
	struct flow_entry e = entry(6, 7,
		(struct ct_tuple){ ip(198, 51, 100, 7), ip(203, 0, 113, 1), 5555, 8080 },
		(struct ct_tuple){ ip(192, 0, 2, 10), ip(198, 51, 100, 7), 80, 5555 });

	(void)state;
	e.id = 4294967295u;
	e.flags = FLOW_F_FROM_DUMP;
	/* A start after now (clock readings from two sources) gives age 0. */
	check_entry(&e, 999 * SEC,
		"{\"type\":\"entry\",\"id\":4294967295,\"proto\":\"tcp\","
		"\"orig\":{\"src\":\"198.51.100.7\",\"sport\":5555,"
		"\"dst\":\"203.0.113.1\",\"dport\":8080},"
		"\"reply\":{\"src\":\"192.0.2.10\",\"sport\":80,"
		"\"dst\":\"198.51.100.7\",\"dport\":5555},"
		"\"nat\":\"dnat\",\"age\":0,\"state\":\"TIME_WAIT\","
		"\"source\":\"dump\"}\n");
}

static void test_tcp_snat_and_dnat(void **state)
{
	struct flow_entry e = entry(6, 9,
		(struct ct_tuple){ ip(192, 0, 2, 2), ip(203, 0, 113, 1), 1024, 80 },
		(struct ct_tuple){ ip(192, 0, 2, 10), ip(192, 0, 2, 1), 8080, 1024 });
	char buf[512];

	(void)state;
	assert_true(statejson_entry(buf, sizeof(buf), &e, NULL, 1061 * SEC) > 0);
	assert_non_null(strstr(buf, "\"nat\":\"snat+dnat\",\"age\":61,"
				    "\"state\":\"SYN_SENT2\","));
}

static void test_udp_untranslated(void **state)
{
	struct flow_entry e = entry(17, 0,
		(struct ct_tuple){ ip(192, 0, 2, 2), ip(192, 0, 2, 3), 5353, 53 },
		(struct ct_tuple){ ip(192, 0, 2, 3), ip(192, 0, 2, 2), 53, 5353 });

	(void)state;
	e.id = 0;
	check_entry(&e, 1000 * SEC + 999999999,
		"{\"type\":\"entry\",\"id\":0,\"proto\":\"udp\","
		"\"orig\":{\"src\":\"192.0.2.2\",\"sport\":5353,"
		"\"dst\":\"192.0.2.3\",\"dport\":53},"
		"\"reply\":{\"src\":\"192.0.2.3\",\"sport\":53,"
		"\"dst\":\"192.0.2.2\",\"dport\":5353},"
		"\"nat\":\"none\",\"age\":0,\"state\":\"\","
		"\"source\":\"event\"}\n");
}

static void test_icmp_echo_snat(void **state)
{
	struct flow_entry e = entry(1, 0,
		(struct ct_tuple){ ip(192, 0, 2, 2), ip(198, 51, 100, 2), 7, 0x0800 },
		(struct ct_tuple){ ip(198, 51, 100, 2), ip(203, 0, 113, 1), 7, 0 });

	(void)state;
	check_entry(&e, 1003 * SEC,
		"{\"type\":\"entry\",\"id\":12345,\"proto\":\"icmp\","
		"\"orig\":{\"src\":\"192.0.2.2\",\"dst\":\"198.51.100.2\","
		"\"type\":8,\"code\":0,\"id\":7},"
		"\"reply\":{\"src\":\"198.51.100.2\",\"dst\":\"203.0.113.1\","
		"\"type\":0,\"code\":0,\"id\":7},"
		"\"nat\":\"snat\",\"age\":3,\"state\":\"\","
		"\"source\":\"event\"}\n");
}

static void test_icmp_untranslated_and_id_change(void **state)
{
	struct flow_entry e = entry(1, 0,
		(struct ct_tuple){ ip(192, 0, 2, 2), ip(192, 0, 2, 9), 300, 0x0d00 },
		(struct ct_tuple){ ip(192, 0, 2, 9), ip(192, 0, 2, 2), 300, 0x0e00 });
	char buf[512];

	(void)state;
	assert_true(statejson_entry(buf, sizeof(buf), &e, NULL, 1000 * SEC) > 0);
	assert_non_null(strstr(buf, "\"type\":13,\"code\":0,\"id\":300}"));
	assert_non_null(strstr(buf, "\"type\":14,\"code\":0,\"id\":300}"));
	assert_non_null(strstr(buf, "\"nat\":\"none\""));
	/* A rewritten ICMP id alone is source NAT too. */
	e.reply.sport = 301;
	assert_true(statejson_entry(buf, sizeof(buf), &e, NULL, 1000 * SEC) > 0);
	assert_non_null(strstr(buf, "\"nat\":\"snat\""));
}

static void test_unknown_state_and_proto(void **state)
{
	struct flow_entry e = entry(6, 42,
		(struct ct_tuple){ ip(192, 0, 2, 2), ip(192, 0, 2, 3), 1, 2 },
		(struct ct_tuple){ ip(192, 0, 2, 3), ip(192, 0, 2, 2), 2, 1 });
	char buf[512];

	(void)state;
	assert_true(statejson_entry(buf, sizeof(buf), &e, NULL, 1000 * SEC) > 0);
	assert_non_null(strstr(buf, "\"state\":\"UNKNOWN\""));
	e.proto = 89;
	assert_true(statejson_entry(buf, sizeof(buf), &e, NULL, 1000 * SEC) > 0);
	assert_non_null(strstr(buf, "\"proto\":\"89\",\"orig\":{\"src\":"
				    "\"192.0.2.2\",\"sport\":1,"));
	assert_non_null(strstr(buf, "\"state\":\"\""));
}

/* The protocols conntrack tracks besides TCP, UDP and ICMP have names;
 * their tuples have port fields (GRE's keys, 0 for ESP) and no state. */
static void test_other_proto_names(void **state)
{
	static const struct {
		uint8_t proto;
		const char *name;
	} names[] = {
		{ 33, "dccp" }, { 47, "gre" }, { 50, "esp" }, { 51, "ah" },
		{ 132, "sctp" }, { 136, "udplite" }, { 0, "0" }, { 255, "255" },
	};
	struct flow_entry e = entry(47, 3,
		(struct ct_tuple){ ip(192, 0, 2, 2), ip(198, 51, 100, 2), 0, 7 },
		(struct ct_tuple){ ip(198, 51, 100, 2), ip(203, 0, 113, 1), 7, 0 });
	char buf[512], want[64];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		e.proto = names[i].proto;
		assert_true(statejson_entry(buf, sizeof(buf), &e, NULL,
					    1000 * SEC) > 0);
		snprintf(want, sizeof(want), "\"proto\":\"%s\",",
			 names[i].name);
		assert_non_null(strstr(buf, want));
		assert_non_null(strstr(buf, "\"state\":\"\""));
		assert_non_null(strstr(buf, "\"nat\":\"snat\""));
	}
	e.proto = 47;
	assert_true(statejson_entry(buf, sizeof(buf), &e, NULL, 1000 * SEC) > 0);
	assert_non_null(strstr(buf, "\"orig\":{\"src\":\"192.0.2.2\","
				    "\"sport\":0,\"dst\":\"198.51.100.2\","
				    "\"dport\":7}"));
	e.proto = 50;
	e.orig.dport = e.reply.sport = 0;
	assert_true(statejson_entry(buf, sizeof(buf), &e, NULL, 1000 * SEC) > 0);
	assert_non_null(strstr(buf, "\"reply\":{\"src\":\"198.51.100.2\","
				    "\"sport\":0,\"dst\":\"203.0.113.1\","
				    "\"dport\":0}"));
}

/* IPv6 entries take their addresses from the side record. */
static void test_ipv6_entries(void **state)
{
	struct flow_entry e = entry(58, 0,
		(struct ct_tuple){ 0, 0, 77, 0x8000 },
		(struct ct_tuple){ 0, 0, 77, 0x8100 });
	struct flow_addr6 side;
	static const uint8_t lan[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 1, [15] = 2 };
	static const uint8_t wan[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 2, [15] = 2 };
	static const uint8_t fw[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 2, [15] = 1 };

	(void)state;
	memset(&side, 0, sizeof(side));
	memcpy(side.orig6.src, lan, 16);
	memcpy(side.orig6.dst, wan, 16);
	memcpy(side.reply6.src, wan, 16);
	memcpy(side.reply6.dst, fw, 16);
	e.flags = FLOW_F_INET6;
	check_entry_side(&e, &side, 1000 * SEC,
		"{\"type\":\"entry\",\"id\":12345,\"proto\":\"icmpv6\","
		"\"orig\":{\"src\":\"2001:db8:1::2\",\"dst\":\"2001:db8:2::2\","
		"\"type\":128,\"code\":0,\"id\":77},"
		"\"reply\":{\"src\":\"2001:db8:2::2\",\"dst\":\"2001:db8:2::1\","
		"\"type\":129,\"code\":0,\"id\":77},"
		"\"nat\":\"snat\",\"age\":0,\"state\":\"\",\"source\":\"event\"}\n");
	/* without the flag the side record is not used */
	e.flags = 0;
	memcpy(side.reply6.dst, lan, 16);
	check_entry_side(&e, &side, 1000 * SEC,
		"{\"type\":\"entry\",\"id\":12345,\"proto\":\"icmpv6\","
		"\"orig\":{\"src\":\"0.0.0.0\",\"dst\":\"0.0.0.0\","
		"\"type\":128,\"code\":0,\"id\":77},"
		"\"reply\":{\"src\":\"0.0.0.0\",\"dst\":\"0.0.0.0\","
		"\"type\":129,\"code\":0,\"id\":77},"
		"\"nat\":\"none\",\"age\":0,\"state\":\"\",\"source\":\"event\"}\n");
}

static void test_counters_line(void **state)
{
	struct state_counters c = {
		.pid = 1234, .uptime_s = 10921, .events_new = 1,
		.events_destroy = 2, .events_ignored = 3, .events_malformed = 4,
		.records = 5, .records_no_counters = 6, .datagrams = 7,
		.send_errors = 8, .records_lost = 9, .overruns = 10,
		.resyncs = 11, .lost_entries = 12, .ttl_expired = 13,
		.live = 14, .reloads_ok = 15,
		.reloads_failed = 18446744073709551615ull,
		.interim = 19, .queries = 22, .ipv6 = 20, .skipped_ipv6 = 21,
		.syslog_sent = 23, .syslog_queued = 24, .syslog_dropped = 25,
		.syslog_errors = 26, .netlink_drops = 27,
		.destroy_duplicates = 28, .ttl_alive = 29,
		.state_restored = 30, .ended_unseen = 31, .checkpoints = 32,
		.checkpoint_errors = 33, .nat_creates = 34,
		.nat_creates_late = 35, .nat_deletes = 36, .role = 2,
		.role_changes = 37, .handovers = 38, .handed_over = 39,
		.standby_suppressed = 40, .injected_quiet = 41,
		.peer_copies_active = 42,
		.reload_error = "nfflowd.json: key 'port': must be an integer",
		.config = "/etc/nfflowd \"a\".conf",
	};
	const char *want =
		"{\"type\":\"counters\",\"pid\":1234,\"uptime\":10921,"
		"\"events\":{\"new\":1,\"destroy\":2,\"ignored\":3,"
		"\"malformed\":4},\"records\":5,\"records_no_counters\":6,"
		"\"datagrams\":7,\"send_errors\":8,\"records_lost\":9,"
		"\"overruns\":10,\"resyncs\":11,\"lost_entries\":12,"
		"\"ttl_expired\":13,\"live\":14,"
		"\"reloads\":{\"ok\":15,\"failed\":18446744073709551615},"
		"\"interim\":19,\"queries\":22,\"ipv6\":20,\"skipped_ipv6\":21,"
		"\"syslog\":{\"sent\":23,\"queued\":24,\"dropped\":25,"
		"\"errors\":26},\"netlink_drops\":27,\"destroy_duplicates\":28,"
		"\"ttl_alive\":29,\"state_restored\":30,\"ended_unseen\":31,"
		"\"nat_creates\":34,\"nat_creates_late\":35,\"nat_deletes\":36,"
		"\"role\":\"standby\",\"role_changes\":37,\"handovers\":38,"
		"\"handed_over\":39,\"standby_suppressed\":40,"
		"\"injected_quiet\":41,\"peer_copies_active\":42,"
		"\"checkpoints\":32,\"checkpoint_errors\":33,"
		"\"config\":\"/etc/nfflowd \\\"a\\\".conf\","
		"\"reload_error\":\"nfflowd.json: key 'port': must be an integer\"}\n";
	char buf[1024];

	(void)state;
	assert_int_equal(statejson_counters(buf, sizeof(buf), &c),
			 strlen(want));
	assert_string_equal(buf, want);
}

/* The counters line of c with every number 0, up to its reload_error. */
#define ZERO_COUNTERS \
	"{\"type\":\"counters\",\"pid\":0,\"uptime\":0," \
	"\"events\":{\"new\":0,\"destroy\":0,\"ignored\":0,\"malformed\":0}," \
	"\"records\":0,\"records_no_counters\":0,\"datagrams\":0," \
	"\"send_errors\":0,\"records_lost\":0,\"overruns\":0,\"resyncs\":0," \
	"\"lost_entries\":0,\"ttl_expired\":0,\"live\":0," \
	"\"reloads\":{\"ok\":0,\"failed\":0},\"interim\":0,\"queries\":0," \
	"\"ipv6\":0,\"skipped_ipv6\":0," \
	"\"syslog\":{\"sent\":0,\"queued\":0,\"dropped\":0,\"errors\":0}," \
	"\"netlink_drops\":0,\"destroy_duplicates\":0,\"ttl_alive\":0," \
	"\"state_restored\":0,\"ended_unseen\":0,\"nat_creates\":0," \
	"\"nat_creates_late\":0,\"nat_deletes\":0,\"role\":\"active\"," \
	"\"role_changes\":0,\"handovers\":0,\"handed_over\":0," \
	"\"standby_suppressed\":0,\"injected_quiet\":0," \
	"\"peer_copies_active\":0,\"checkpoints\":0," \
	"\"checkpoint_errors\":0,\"config\":\"\",\"reload_error\":"

/* Formats c with reason as its reload_error into len bytes and checks the
 * line against ZERO_COUNTERS followed by want_string. */
static void check_reason(const char *reason, size_t len,
			 const char *want_string)
{
	struct state_counters c;
	char buf[2048], want[2048];

	memset(&c, 0, sizeof(c));
	strncpy(c.reload_error, reason, sizeof(c.reload_error) - 1);
	snprintf(want, sizeof(want), "%s%s}\n", ZERO_COUNTERS, want_string);
	assert_true(len <= sizeof(buf));
	if (statejson_counters(buf, len, &c) != strlen(want) ||
	    strcmp(buf, want) != 0)
		fail_msg("len %zu: got '%s', want '%s'", len,
			 buf + strlen(ZERO_COUNTERS),
			 want + strlen(ZERO_COUNTERS));
}

static void test_counters_reload_error_escaped(void **state)
{
	(void)state;
	check_reason("", 2048, "\"\"");
	check_reason("a \"quoted\" key\\path", 2048,
		     "\"a \\\"quoted\\\" key\\\\path\"");
	check_reason("line\nbreak\ttab\rret\x01\x1f\x7f", 2048,
		     "\"line\\nbreak\\ttab\\rret\\u0001\\u001f\\u007f\"");
	/* UTF-8 passes; bytes that are not UTF-8 become U+FFFD. */
	check_reason("/etc/caf\xc3\xa9.json \xe2\x82\xac \xf0\x9f\x98\x80", 2048,
		     "\"/etc/caf\xc3\xa9.json \xe2\x82\xac \xf0\x9f\x98\x80\"");
	check_reason("latin1 caf\xe9!", 2048, "\"latin1 caf\\ufffd!\"");
	check_reason("\xc0\xaf overlong, \xed\xa0\x80 surrogate, \xf4\x90\x80\x80 big",
		     2048,
		     "\"\\ufffd\\ufffd overlong, \\ufffd\\ufffd\\ufffd surrogate, "
		     "\\ufffd\\ufffd\\ufffd\\ufffd big\"");
	check_reason("cut \xe2\x82", 2048, "\"cut \\ufffd\\ufffd\"");
}

static void test_counters_reload_error_unterminated(void **state)
{
	struct state_counters c;
	char buf[2048];
	size_t n;

	(void)state;
	memset(&c, 0, sizeof(c));
	memset(c.reload_error, 'x', sizeof(c.reload_error));
	n = statejson_counters(buf, sizeof(buf), &c);
	assert_int_equal(n, strlen(ZERO_COUNTERS) + 512 + 4);
	assert_int_equal(buf[n - 4 - 512], '"');
	assert_string_equal(buf + n - 4, "x\"}\n");
}

/* A reason too long for the buffer is shortened, never an escape or a
 * character cut in two, and marked with "..."; the numbers stay whole. */
static void test_counters_reload_error_shortened(void **state)
{
	const size_t base = strlen(ZERO_COUNTERS) + 2 + 3;	/* "" }\n NUL */

	(void)state;
	check_reason("abcdef", base + 6, "\"abcdef\"");
	check_reason("abcdef", base + 5, "\"ab...\"");
	check_reason("abcdef", base + 3, "\"...\"");
	check_reason("abcdef", base + 2, "\"\"");
	check_reason("abcdef", base, "\"\"");
	check_reason("a\"bcdef", base + 5, "\"a...\"");
	check_reason("ab\"cdef", base + 5, "\"ab...\"");
	check_reason("ab\"cdef", base + 6, "\"ab...\"");
	check_reason("ab\"cdef", base + 7, "\"ab\\\"...\"");
	check_reason("\xc3\xa9\xc3\xa9\xc3\xa9", base + 6, "\"\xc3\xa9\xc3\xa9\xc3\xa9\"");
	check_reason("\xc3\xa9\xc3\xa9\xc3\xa9", base + 5, "\"\xc3\xa9...\"");
	check_reason("\xc3\xa9\xc3\xa9\xc3\xa9", base + 4, "\"...\"");
	check_reason("\x01" "bc", base + 5, "\"...\"");
	check_reason("\x01" "bc", base + 8, "\"\\u0001bc\"");
}

static void test_end_line(void **state)
{
	char buf[64];

	(void)state;
	assert_int_equal(statejson_end(buf, sizeof(buf), 100000), 32);
	assert_string_equal(buf, "{\"type\":\"end\",\"entries\":100000}\n");
	assert_int_equal(statejson_end(buf, sizeof(buf), 0), 27);
	assert_string_equal(buf, "{\"type\":\"end\",\"entries\":0}\n");
}

static void test_buffer_too_small(void **state)
{
	struct flow_entry e = entry(6, 3,
		(struct ct_tuple){ ip(192, 0, 2, 2), ip(198, 51, 100, 2), 40000, 80 },
		(struct ct_tuple){ ip(198, 51, 100, 2), ip(203, 0, 113, 1), 80, 61000 });
	struct state_counters c;
	char buf[1024];
	size_t n;

	(void)state;
	memset(&c, 0, sizeof(c));
	/* Exactly the length leaves no room for the NUL: refused. */
	n = statejson_entry(buf, sizeof(buf), &e, NULL, 1000 * SEC);
	assert_true(n > 0);
	assert_int_equal(statejson_entry(buf, n, &e, NULL, 1000 * SEC), 0);
	assert_string_equal(buf, "");
	assert_int_equal(statejson_entry(buf, n + 1, &e, NULL, 1000 * SEC), n);
	assert_int_equal(statejson_entry(buf, 0, &e, NULL, 1000 * SEC), 0);
	assert_int_equal(statejson_entry(NULL, 100, &e, NULL, 1000 * SEC), 0);

	n = statejson_counters(buf, sizeof(buf), &c);
	assert_true(n > 0);
	assert_int_equal(statejson_counters(buf, n, &c), 0);
	assert_string_equal(buf, "");
	assert_int_equal(statejson_counters(buf, n + 1, &c), n);
	assert_int_equal(statejson_counters(buf, 1, &c), 0);
	assert_int_equal(statejson_counters(buf, 0, &c), 0);
	assert_int_equal(statejson_counters(NULL, 100, &c), 0);
	/* A buffer that holds the numbers but not the end of the line. */
	assert_int_equal(statejson_counters(buf, n - 2, &c), 0);
	assert_string_equal(buf, "");

	assert_int_equal(statejson_end(buf, 27, 0), 0);
	assert_int_equal(statejson_end(buf, 28, 0), 27);
	assert_int_equal(statejson_end(buf, 0, 0), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tcp_snat),
		cmocka_unit_test(test_tcp_masquerade_same_port_is_snat),
		cmocka_unit_test(test_tcp_dnat_from_dump),
		cmocka_unit_test(test_tcp_snat_and_dnat),
		cmocka_unit_test(test_udp_untranslated),
		cmocka_unit_test(test_icmp_echo_snat),
		cmocka_unit_test(test_icmp_untranslated_and_id_change),
		cmocka_unit_test(test_unknown_state_and_proto),
		cmocka_unit_test(test_other_proto_names),
		cmocka_unit_test(test_counters_line),
		cmocka_unit_test(test_counters_reload_error_escaped),
		cmocka_unit_test(test_counters_reload_error_unterminated),
		cmocka_unit_test(test_counters_reload_error_shortened),
		cmocka_unit_test(test_end_line),
		cmocka_unit_test(test_ipv6_entries),
		cmocka_unit_test(test_buffer_too_small),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
