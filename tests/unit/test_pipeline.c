/* The event pipeline: table bookkeeping around record building. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "nfflowd/pipeline.h"

#define MS 1000000ull
#define SEC 1000000000ull
#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (uint32_t)(d))

struct sink {
	unsigned n;
	struct flow_record r[16];
};

static void collect(const struct flow_record *r, void *arg)
{
	struct sink *s = arg;

	assert_true(s->n < 16);
	s->r[s->n++] = *r;
}

/* A masqueraded TCP connection 192.0.2.2:40000 -> 198.51.100.2:80. */
static struct ct_event conn(enum ct_event_type type, uint32_t id)
{
	struct ct_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.type = type;
	ev.id = id;
	ev.proto = 6;
	ev.orig = (struct ct_tuple){ IP(192, 0, 2, 2), IP(198, 51, 100, 2), 40000, 80 };
	ev.reply = (struct ct_tuple){ IP(198, 51, 100, 2), IP(198, 51, 100, 1), 80, 40000 };
	if (type == CT_EVENT_DESTROY) {
		ev.has_counters = true;
		ev.orig_packets = 5;
		ev.orig_bytes = 300;
		ev.reply_packets = 4;
		ev.reply_bytes = 2000;
	}
	return ev;
}

static struct config base_config(void)
{
	struct config cfg;
	char err[CONFIG_ERR_MAX];
	const char *json = "{\"source\": \"198.51.100.1\", \"collector\": \"198.51.100.2\", \"port\": 2055}";

	assert_int_equal(config_parse(json, strlen(json), "t", &cfg, err, sizeof(err)), 0);
	return cfg;
}

static void setup_pl(struct pipeline *p, struct sink *s)
{
	struct config cfg = base_config();

	memset(s, 0, sizeof(*s));
	assert_int_equal(pipeline_init(p, 0, collect, s), 0);
	pipeline_configure(p, &cfg);
}

static void test_new_then_destroy_uses_new_time(void **state)
{
	struct pipeline p;
	struct sink s;
	struct time_pair t1 = { 1000 * SEC, 50 * SEC }, t2 = { 1010 * SEC, 60 * SEC };
	struct ct_event n = conn(CT_EVENT_NEW, 7), d = conn(CT_EVENT_DESTROY, 7);

	setup_pl(&p, &s);
	pipeline_event(&p, &n, &t1, false);
	assert_int_equal(flowtab_count(p.tab), 1);
	pipeline_event(&p, &d, &t2, false);
	assert_int_equal(flowtab_count(p.tab), 0);
	assert_int_equal(s.n, 3);
	assert_int_equal(s.r[0].first, 50000);
	assert_int_equal(s.r[0].last, 60000);
	assert_int_equal(s.r[1].src, IP(198, 51, 100, 1));
	assert_int_equal(s.r[2].packets, 4);
	assert_int_equal(p.st.records, 3);
	assert_int_equal(p.st.destroy_unknown, 0);
	pipeline_free(&p);
}

static void test_unknown_destroy_starts_at_destroy(void **state)
{
	struct pipeline p;
	struct sink s;
	struct time_pair t = { 1000 * SEC, 70 * SEC };
	struct ct_event d = conn(CT_EVENT_DESTROY, 9);

	setup_pl(&p, &s);
	pipeline_event(&p, &d, &t, false);
	assert_int_equal(s.n, 3);
	assert_int_equal(s.r[0].first, 70000);
	assert_int_equal(s.r[0].last, 70000);
	assert_int_equal(p.st.destroy_unknown, 1);
	pipeline_free(&p);
}

static void test_kernel_stamps_win(void **state)
{
	struct pipeline p;
	struct sink s;
	struct time_pair t1 = { 1000 * SEC, 50 * SEC }, t2 = { 1010 * SEC, 60 * SEC };
	struct ct_event n = conn(CT_EVENT_NEW, 7), d = conn(CT_EVENT_DESTROY, 7);

	setup_pl(&p, &s);
	pipeline_event(&p, &n, &t1, false);
	d.has_start = d.has_stop = true;
	d.start_ns = 999 * SEC + 500 * MS;	/* 0.5 s before the NEW arrived */
	d.stop_ns = 1009 * SEC;
	pipeline_event(&p, &d, &t2, false);
	assert_int_equal(s.r[0].first, 49500);
	assert_int_equal(s.r[0].last, 59000);
	pipeline_free(&p);
}

static void test_reused_id_does_not_borrow_start(void **state)
{
	struct pipeline p;
	struct sink s;
	struct time_pair t1 = { 1000 * SEC, 50 * SEC }, t2 = { 1010 * SEC, 60 * SEC };
	struct ct_event n = conn(CT_EVENT_NEW, 7), d = conn(CT_EVENT_DESTROY, 7);

	setup_pl(&p, &s);
	pipeline_event(&p, &n, &t1, false);
	d.orig.sport = 40001;	/* a different connection under the same id */
	d.reply.dport = 40001;
	pipeline_event(&p, &d, &t2, false);
	assert_int_equal(s.r[0].first, 60000);
	assert_int_equal(p.st.destroy_unknown, 1);
	assert_int_equal(flowtab_count(p.tab), 0);
	pipeline_free(&p);
}

static void test_own_export_flow_is_ignored(void **state)
{
	struct pipeline p;
	struct sink s;
	struct time_pair t = { 1000 * SEC, 50 * SEC };
	struct ct_event d = conn(CT_EVENT_DESTROY, 3);

	setup_pl(&p, &s);
	d.proto = 17;
	d.orig = (struct ct_tuple){ IP(198, 51, 100, 1), IP(198, 51, 100, 2), 41000, 2055 };
	d.reply = (struct ct_tuple){ IP(198, 51, 100, 2), IP(198, 51, 100, 1), 2055, 41000 };
	pipeline_event(&p, &d, &t, false);
	d.type = CT_EVENT_NEW;
	pipeline_event(&p, &d, &t, false);
	assert_int_equal(s.n, 0);
	assert_int_equal(flowtab_count(p.tab), 0);
	assert_int_equal(p.st.self_ignored, 2);
	/* the same flow to another port is exported */
	d.type = CT_EVENT_DESTROY;
	d.orig.dport = 2056;
	pipeline_event(&p, &d, &t, false);
	assert_true(s.n > 0);
	pipeline_free(&p);
}

/* After a reload to another collector the old export flow is still ours. */
static void test_previous_export_flow_stays_ignored(void **state)
{
	struct pipeline p;
	struct sink s;
	struct time_pair t = { 1000 * SEC, 50 * SEC };
	struct ct_event d = conn(CT_EVENT_DESTROY, 3);
	struct config cfg = base_config();
	unsigned i;

	setup_pl(&p, &s);
	d.proto = 17;
	d.orig = (struct ct_tuple){ IP(198, 51, 100, 1), IP(198, 51, 100, 2), 41000, 2055 };
	d.reply = (struct ct_tuple){ IP(198, 51, 100, 2), IP(198, 51, 100, 1), 2055, 41000 };
	cfg.port = 2056;
	pipeline_configure(&p, &cfg);
	pipeline_configure(&p, &cfg);	/* same again: no new slot */
	pipeline_event(&p, &d, &t, false);
	assert_int_equal(s.n, 0);
	d.orig.dport = 2056;
	pipeline_event(&p, &d, &t, false);
	assert_int_equal(s.n, 0);
	/* only the last PIPELINE_SELF_MAX flows are remembered */
	for (i = 0; i < PIPELINE_SELF_MAX; i++) {
		cfg.port = (uint16_t)(3000 + i);
		pipeline_configure(&p, &cfg);
	}
	pipeline_event(&p, &d, &t, false);
	assert_int_equal(s.n, 3);
	pipeline_free(&p);
}

static void test_dump_entries_are_flagged(void **state)
{
	struct pipeline p;
	struct sink s;
	struct time_pair t = { 1000 * SEC, 50 * SEC };
	struct ct_event u = conn(CT_EVENT_UPDATE, 11);
	const struct flow_entry *e;

	setup_pl(&p, &s);
	pipeline_event(&p, &u, &t, true);
	e = flowtab_lookup(p.tab, 11);
	assert_non_null(e);
	assert_true(e->flags & FLOW_F_FROM_DUMP);
	assert_true(e->flags & FLOW_F_SEEN);
	/* a resync clears SEEN; a later listing sets it again */
	flowtab_clear_flag(p.tab, FLOW_F_SEEN);
	pipeline_event(&p, &u, &t, true);
	assert_true(flowtab_lookup(p.tab, 11)->flags & FLOW_F_SEEN);
	assert_int_equal(flowtab_remove_unflagged(p.tab, FLOW_F_SEEN), 0);
	pipeline_free(&p);
}

static void test_no_counters_are_counted(void **state)
{
	struct pipeline p;
	struct sink s;
	struct time_pair t = { 1000 * SEC, 50 * SEC };
	struct ct_event d = conn(CT_EVENT_DESTROY, 5);

	setup_pl(&p, &s);
	d.has_counters = false;
	pipeline_event(&p, &d, &t, false);
	assert_int_equal(s.n, 3);
	assert_int_equal(s.r[0].packets, 0);
	assert_int_equal(p.st.records_no_counters, 3);
	pipeline_free(&p);
}

static void test_untranslated_option(void **state)
{
	struct pipeline p;
	struct sink s;
	struct time_pair t = { 1000 * SEC, 50 * SEC };
	struct ct_event d = conn(CT_EVENT_DESTROY, 5);
	struct config cfg = base_config();

	setup_pl(&p, &s);
	d.reply.dst = d.orig.src;	/* no NAT */
	pipeline_event(&p, &d, &t, false);
	assert_int_equal(s.n, 2);
	cfg.untranslated_records = true;
	pipeline_configure(&p, &cfg);
	pipeline_event(&p, &d, &t, false);
	assert_int_equal(s.n, 5);
	pipeline_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_then_destroy_uses_new_time),
		cmocka_unit_test(test_unknown_destroy_starts_at_destroy),
		cmocka_unit_test(test_kernel_stamps_win),
		cmocka_unit_test(test_reused_id_does_not_borrow_start),
		cmocka_unit_test(test_own_export_flow_is_ignored),
		cmocka_unit_test(test_previous_export_flow_stays_ignored),
		cmocka_unit_test(test_dump_entries_are_flagged),
		cmocka_unit_test(test_no_counters_are_counted),
		cmocka_unit_test(test_untranslated_option),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
