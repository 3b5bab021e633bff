/* The event pipeline: table bookkeeping around record building. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "nfflowd/pipeline.h"

#define MS 1000000ull
#define SEC 1000000000ull
#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (uint32_t)(d))

/* conntrack's TCP states and status bits. */
#define TCP_SYN_SENT 1
#define TCP_ESTABLISHED 3
#define TCP_TIME_WAIT 7
#define IPS_SEEN_REPLY 0x2u
#define IPS_ASSURED 0x4u

/* What the exports became as v5 records, and the exports themselves. */
struct sink {
	bool untranslated;
	unsigned n;
	struct flow_record r[16];
	unsigned nc;
	struct flow_conn c[8];
};

static void collect(const struct flow_conn *c, void *arg)
{
	struct sink *s = arg;

	assert_true(s->nc < 8);
	s->c[s->nc] = *c;
	s->c[s->nc++].ev = NULL;	/* not valid after the call */
	if (c->kind != FLOW_KIND_TRAFFIC)
		return;		/* NAT events have no v5 records */
	assert_true(s->n + RECORD_MAX_PER_EVENT <= 16);
	s->n += record_build_conn(c, s->untranslated, &s->r[s->n]);
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
	d.tcp_state = TCP_TIME_WAIT;	/* closed by FIN */
	pipeline_event(&p, &n, &t1, false);
	assert_int_equal(flowtab_count(p.tab), 1);
	pipeline_event(&p, &d, &t2, false);
	assert_int_equal(flowtab_count(p.tab), 0);
	assert_int_equal(s.n, 3);
	assert_int_equal(s.r[0].first, 50000);
	assert_int_equal(s.r[0].last, 60000);
	assert_int_equal(s.r[1].src, IP(198, 51, 100, 1));
	assert_int_equal(s.r[2].packets, 4);
	assert_int_equal(p.st.exports, 1);
	assert_int_equal(s.nc, 1);
	assert_int_equal(s.c[0].reason, FLOW_END_DETECTED);
	assert_int_equal(s.c[0].start_real_ms, 1000000);
	assert_int_equal(s.c[0].end_real_ms, 1010000);
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
	/* TCP that did not close (no state reported): ended by timeout */
	assert_int_equal(s.c[0].reason, FLOW_END_IDLE);
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
	/* the entry is the other connection's, which is still alive (ids
	 * are hashes and may be shared): it stays, and its own DESTROY finds
	 * it with its start */
	assert_int_equal(flowtab_count(p.tab), 1);
	d.orig.sport = n.orig.sport;
	d.reply.dport = n.reply.dport;
	pipeline_event(&p, &d, &t2, false);
	assert_int_equal(flowtab_count(p.tab), 0);
	assert_int_equal(s.r[s.n - 1].first, 50000);
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
	cfg.port = cfg.collectors[0].port = 2056;
	pipeline_configure(&p, &cfg);
	pipeline_configure(&p, &cfg);	/* same again: no new slot */
	pipeline_event(&p, &d, &t, false);
	assert_int_equal(s.n, 0);
	d.orig.dport = 2056;
	pipeline_event(&p, &d, &t, false);
	assert_int_equal(s.n, 0);
	/* only the last PIPELINE_SELF_MAX flows are remembered */
	for (i = 0; i < PIPELINE_SELF_MAX; i++) {
		cfg.port = cfg.collectors[0].port = (uint16_t)(3000 + i);
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
	assert_int_equal(p.st.exports_no_counters, 1);
	assert_false(s.c[0].has_counters);
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
	s.untranslated = true;
	pipeline_configure(&p, &cfg);
	d.id = 6;	/* the same DESTROY again would be a duplicate */
	pipeline_event(&p, &d, &t, false);
	assert_int_equal(s.n, 5);
	pipeline_free(&p);
}

/* A counter reading of entry id: an UPDATE with these totals. */
static struct ct_event reading(uint32_t id, uint64_t op, uint64_t ob,
			       uint64_t rp, uint64_t rb)
{
	struct ct_event ev = conn(CT_EVENT_UPDATE, id);

	ev.has_counters = true;
	ev.orig_packets = op;
	ev.orig_bytes = ob;
	ev.reply_packets = rp;
	ev.reply_bytes = rb;
	return ev;
}

static struct pipeline active_pl(struct sink *s, unsigned timeout)
{
	struct pipeline p;
	struct config cfg = base_config();

	cfg.active_timeout = timeout;
	memset(s, 0, sizeof(*s));
	assert_int_equal(pipeline_init(&p, 0, collect, s), 0);
	pipeline_configure(&p, &cfg);
	return p;
}

/* Interim exports carry the deltas; the final one the remainder, and the
 * intervals follow each other. */
static void test_active_timeout_deltas_add_up(void **state)
{
	struct sink s;
	struct pipeline p = active_pl(&s, 10);
	struct time_pair t0 = { 1000 * SEC, 50 * SEC };
	struct time_pair t1 = { 1011 * SEC, 61 * SEC };
	struct time_pair t2 = { 1022 * SEC, 72 * SEC };
	struct time_pair t3 = { 1025 * SEC, 75 * SEC };
	struct ct_event n = conn(CT_EVENT_NEW, 7), r, d = conn(CT_EVENT_DESTROY, 7);
	struct ct_query q[4];

	pipeline_event(&p, &n, &t0, false);
	assert_int_equal(pipeline_due(&p, 55 * SEC, q, 4), 0);
	assert_int_equal(pipeline_due(&p, t1.boot_ns, q, 4), 1);
	assert_int_equal(q[0].id, 7);
	assert_int_equal(q[0].proto, 6);
	assert_int_equal(q[0].orig.src, IP(192, 0, 2, 2));
	assert_int_equal(q[0].orig.dport, 80);
	/* asked once: not again before another timeout */
	assert_int_equal(pipeline_due(&p, t1.boot_ns + SEC, q, 4), 0);
	r = reading(7, 2, 120, 1, 500);
	pipeline_interim(&p, &r, &t1);
	assert_int_equal(s.nc, 1);
	assert_int_equal(s.c[0].reason, FLOW_END_ACTIVE);
	assert_int_equal(s.c[0].orig_packets, 2);
	assert_int_equal(s.c[0].reply_bytes, 500);
	assert_int_equal(s.c[0].start_boot_ns, 50 * SEC);
	assert_int_equal(s.c[0].end_boot_ns, 61 * SEC);

	assert_int_equal(pipeline_due(&p, t2.boot_ns, q, 4), 1);
	r = reading(7, 4, 240, 3, 1500);
	pipeline_interim(&p, &r, &t2);
	assert_int_equal(s.nc, 2);
	assert_int_equal(s.c[1].orig_packets, 2);
	assert_int_equal(s.c[1].reply_packets, 2);
	assert_int_equal(s.c[1].reply_bytes, 1000);
	assert_int_equal(s.c[1].start_boot_ns, 61 * SEC);
	assert_int_equal(s.c[1].start_real_ms, s.c[0].end_real_ms);
	assert_int_equal(p.st.interim, 2);

	pipeline_event(&p, &d, &t3, false);	/* totals 5/300, 4/2000 */
	assert_int_equal(s.nc, 3);
	assert_int_equal(s.c[2].reason, FLOW_END_IDLE);	/* no TCP state */
	assert_int_equal(s.c[2].orig_packets, 1);
	assert_int_equal(s.c[2].orig_bytes, 60);
	assert_int_equal(s.c[2].reply_packets, 1);
	assert_int_equal(s.c[2].reply_bytes, 500);
	assert_int_equal(s.c[2].start_boot_ns, 72 * SEC);
	assert_int_equal(s.c[2].end_boot_ns, 75 * SEC);
	assert_int_equal(s.c[2].start_real_ms, s.c[1].end_real_ms);
	assert_int_equal(flowtab_side_count(p.tab), 0);
	pipeline_free(&p);
}

/* No traffic since the last export: no interim export; a reading for an
 * entry that is gone or was replaced is stale; 0 turns it off. */
static void test_active_timeout_idle_and_stale(void **state)
{
	struct sink s;
	struct pipeline p = active_pl(&s, 10);
	struct time_pair t0 = { 1000 * SEC, 50 * SEC }, t1 = { 1011 * SEC, 61 * SEC };
	struct ct_event n = conn(CT_EVENT_NEW, 7), r = reading(7, 0, 0, 0, 0);
	struct ct_event other = reading(8, 1, 1, 1, 1);
	struct ct_query q[4];

	pipeline_event(&p, &n, &t0, false);
	pipeline_interim(&p, &r, &t1);
	assert_int_equal(s.nc, 0);
	pipeline_interim(&p, &other, &t1);
	assert_int_equal(p.st.query_stale, 1);
	pipeline_free(&p);

	p = active_pl(&s, 0);
	pipeline_event(&p, &n, &t0, false);
	assert_int_equal(pipeline_due(&p, 5000 * SEC, q, 4), 0);
	pipeline_free(&p);
}

/* More due entries than one call takes: successive calls go round the
 * table, so every entry is read even when the timeout is shorter than a
 * round (a scan from the start would read the first ones again). */
static void test_active_timeout_round_robin(void **state)
{
	struct sink s;
	struct pipeline p = active_pl(&s, 1);
	struct time_pair t0 = { 1000 * SEC, 50 * SEC };
	struct ct_query q[4];
	unsigned seen[10] = { 0 }, i, k, n;

	for (i = 0; i < 10; i++) {
		struct ct_event ev = conn(CT_EVENT_NEW, 100 + i);

		ev.orig.sport = (uint16_t)(40000 + i);
		pipeline_event(&p, &ev, &t0, false);
	}
	/* one call a second, each timeout 1 s: readings due again and new
	 * entries share each call, and within four calls every entry has
	 * been read */
	for (k = 0; k < 4; k++) {
		n = (unsigned)pipeline_due(&p, (52 + k) * SEC, q, 4);
		assert_int_equal(n, 4);
		for (i = 0; i < n; i++) {
			assert_true(q[i].id >= 100 && q[i].id < 110);
			seen[q[i].id - 100]++;
		}
	}
	for (i = 0; i < 10; i++)
		assert_true(seen[i] >= 1);
	pipeline_free(&p);

	/* nothing is due twice within one timeout */
	p = active_pl(&s, 1);
	for (i = 0; i < 10; i++) {
		struct ct_event ev = conn(CT_EVENT_NEW, 100 + i);

		ev.orig.sport = (uint16_t)(40000 + i);
		pipeline_event(&p, &ev, &t0, false);
	}
	assert_int_equal(pipeline_due(&p, 52 * SEC, q, 4), 4);
	{
		struct ct_query rest[10];

		assert_int_equal(pipeline_due(&p, 52 * SEC + SEC / 2, rest, 10), 6);
		for (i = 0; i < 6; i++)
			for (k = 0; k < 4; k++)
				assert_int_not_equal(rest[i].id, q[k].id);
	}
	pipeline_free(&p);
}

/* Readings waiting in the due queue: an entry that ended, or whose id
 * now names another connection, is not read from a stale item; a new
 * timeout keeps the queue in order. */
static void test_active_timeout_queue(void **state)
{
	struct sink s;
	struct pipeline p = active_pl(&s, 10);
	struct config cfg = base_config();
	struct time_pair t0 = { 1000 * SEC, 50 * SEC }, t1 = { 1011 * SEC, 61 * SEC };
	struct time_pair t2 = { 1012 * SEC, 62 * SEC };
	struct ct_event a = conn(CT_EVENT_NEW, 1), b = conn(CT_EVENT_NEW, 2);
	struct ct_event c = conn(CT_EVENT_NEW, 3), d = conn(CT_EVENT_DESTROY, 1);
	struct ct_query q[4];

	b.orig.sport = 40001;
	c.orig.sport = 40002;
	pipeline_event(&p, &a, &t0, false);
	pipeline_event(&p, &b, &t0, false);
	pipeline_event(&p, &c, &t0, false);
	assert_int_equal(pipeline_due(&p, t1.boot_ns, q, 4), 3);
	assert_int_equal(p.dq_len, 3);
	/* 1 ends; 2's id comes back as another connection */
	pipeline_event(&p, &d, &t1, false);
	b.orig.sport = 41000;
	pipeline_event(&p, &b, &t2, false);
	/* at 71 s only 3 is due again: 1 is gone, the new 2 is 9 s old */
	assert_int_equal(pipeline_due(&p, 71 * SEC, q, 4), 1);
	assert_int_equal(q[0].id, 3);
	/* the new 2 is found by the scan once 10 s old */
	assert_int_equal(pipeline_due(&p, 72 * SEC, q, 4), 1);
	assert_int_equal(q[0].id, 2);
	assert_int_equal(q[0].orig.sport, 41000);
	/* a reload with another timeout keeps what waits, in order */
	cfg.active_timeout = 5;
	pipeline_configure(&p, &cfg);
	assert_int_equal(p.dq_len, 2);
	assert_true(p.dq[p.dq_head].due_ns <= p.dq[(p.dq_head + 1) % p.dq_cap].due_ns);
	assert_int_equal(pipeline_due(&p, 81 * SEC, q, 4), 1);
	assert_int_equal(q[0].id, 3);
	/* off: nothing */
	cfg.active_timeout = 0;
	pipeline_configure(&p, &cfg);
	assert_int_equal(pipeline_due(&p, 500 * SEC, q, 4), 0);
	pipeline_free(&p);
}

/* IPv6 entries keep their addresses and are exported once, with them. */
static void test_ipv6_connection(void **state)
{
	struct sink s;
	struct pipeline p = active_pl(&s, 10);
	struct time_pair t0 = { 1000 * SEC, 50 * SEC }, t1 = { 1011 * SEC, 61 * SEC };
	struct ct_event n = conn(CT_EVENT_NEW, 11), d;
	struct ct_query q[2];
	static const uint8_t lan[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 1, [15] = 2 };
	static const uint8_t wan[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 2, [15] = 2 };
	static const uint8_t fw[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 2, [15] = 1 };

	n.family = AF_INET6;
	n.orig.src = n.orig.dst = n.reply.src = n.reply.dst = 0;
	memcpy(n.orig6.src, lan, 16);
	memcpy(n.orig6.dst, wan, 16);
	memcpy(n.reply6.src, wan, 16);
	memcpy(n.reply6.dst, fw, 16);
	pipeline_event(&p, &n, &t0, false);
	assert_int_equal(flowtab_side_count(p.tab), 1);
	assert_int_equal(pipeline_due(&p, t1.boot_ns, q, 2), 1);
	assert_int_equal(q[0].family, AF_INET6);
	assert_memory_equal(q[0].orig6.src, lan, 16);
	assert_memory_equal(q[0].orig6.dst, wan, 16);
	d = n;
	d.type = CT_EVENT_DESTROY;
	d.has_counters = true;
	d.orig_packets = 3;
	d.reply_packets = 2;
	pipeline_event(&p, &d, &t1, false);
	assert_int_equal(s.nc, 1);
	assert_int_equal(s.n, 0);	/* v5 cannot carry it */
	assert_int_equal(s.c[0].orig_packets, 3);
	assert_int_equal(s.c[0].start_boot_ns, 50 * SEC);
	assert_int_equal(p.st.ipv6, 1);
	assert_int_equal(p.st.destroy_unknown, 0);
	assert_int_equal(flowtab_count(p.tab), 0);
	assert_int_equal(flowtab_side_count(p.tab), 0);
	pipeline_free(&p);
}

/* A pipeline with a ttl (seconds) and readings to ask the kernel. */
static struct pipeline ttl_pl(struct sink *s, unsigned ttl, unsigned timeout)
{
	struct pipeline p;
	struct config cfg = base_config();

	cfg.ttl = ttl;
	cfg.active_timeout = timeout;
	memset(s, 0, sizeof(*s));
	assert_int_equal(pipeline_init(&p, 0, collect, s), 0);
	pipeline_configure(&p, &cfg);
	p.ttl_ask = true;
	return p;
}

/* Past the ttl an entry is not dropped on age: the kernel is asked; alive,
 * it stays (asked again a ttl later); gone, it is dropped only after the
 * grace, unexported. */
static void test_ttl_asks_the_kernel(void **state)
{
	struct sink s;
	struct pipeline p = ttl_pl(&s, 10, 0);
	struct time_pair t0 = { 1000 * SEC, 50 * SEC }, t1 = { 1012 * SEC, 62 * SEC };
	struct ct_event n = conn(CT_EVENT_NEW, 7), r = reading(7, 3, 100, 2, 50);
	struct ct_query q[4];

	n.zone = 5;
	r.zone = 5;
	pipeline_event(&p, &n, &t0, false);
	assert_int_equal(pipeline_ttl(&p, 59 * SEC, q, 4), 0);
	assert_int_equal(pipeline_ttl(&p, 61 * SEC, q, 4), 1);
	assert_int_equal(q[0].id, 7);
	assert_int_equal(q[0].zone, 5);
	/* no answer yet: not asked again before the retry */
	assert_int_equal(pipeline_ttl(&p, 62 * SEC, q, 4), 0);
	pipeline_interim(&p, &r, &t1);	/* alive; no active timeout: no export */
	assert_int_equal(p.st.ttl_alive, 1);
	assert_int_equal(s.nc, 0);
	assert_int_equal(pipeline_ttl(&p, 71 * SEC, q, 4), 0);
	assert_int_equal(flowtab_count(p.tab), 1);
	/* a ttl after the answer it is asked again */
	assert_int_equal(pipeline_ttl(&p, 73 * SEC, q, 4), 1);
	pipeline_gone(&p, 7, 73 * SEC);
	assert_int_equal(pipeline_ttl(&p, 74 * SEC, q, 4), 0);
	assert_int_equal(flowtab_count(p.tab), 1);	/* its DESTROY may come */
	assert_int_equal(pipeline_ttl(&p, 75 * SEC + 1, q, 4), 0);
	assert_int_equal(flowtab_count(p.tab), 0);
	assert_int_equal(p.st.ttl_expired, 1);
	assert_int_equal(s.nc, 0);
	pipeline_free(&p);

	/* with an active timeout, a ttl check of a connection not due for
	 * export says alive and exports nothing; a due reading exports */
	p = ttl_pl(&s, 2, 10);
	pipeline_event(&p, &n, &t0, false);
	assert_int_equal(pipeline_ttl(&p, 53 * SEC, q, 4), 1);
	r = reading(7, 3, 100, 2, 50);
	r.zone = 5;
	{
		struct time_pair t53 = { 1003 * SEC, 53 * SEC };
		struct time_pair t61 = { 1011 * SEC, 61 * SEC };

		pipeline_interim(&p, &r, &t53);
		assert_int_equal(p.st.ttl_alive, 1);
		assert_int_equal(s.nc, 0);
		assert_int_equal(pipeline_due(&p, 61 * SEC, q, 4), 1);
		pipeline_interim(&p, &r, &t61);
		assert_int_equal(s.nc, 1);
		assert_int_equal(s.c[0].orig_bytes, 100);
	}
	pipeline_free(&p);

	/* without readings, the ttl drops on age as before */
	p = ttl_pl(&s, 10, 0);
	p.ttl_ask = false;
	pipeline_event(&p, &n, &t0, false);
	assert_int_equal(pipeline_ttl(&p, 61 * SEC, q, 4), 0);
	assert_int_equal(flowtab_count(p.tab), 0);
	assert_int_equal(p.st.ttl_expired, 1);
	pipeline_free(&p);
}

/* A gone entry whose DESTROY comes within the grace is exported as usual,
 * with the remainder after its interim exports. */
static void test_gone_then_destroy(void **state)
{
	struct sink s;
	struct pipeline p = ttl_pl(&s, 100, 10);
	struct time_pair t0 = { 1000 * SEC, 50 * SEC }, t1 = { 1011 * SEC, 61 * SEC };
	struct time_pair t2 = { 1012 * SEC, 62 * SEC };
	struct ct_event n = conn(CT_EVENT_NEW, 7), r = reading(7, 2, 100, 1, 1000);
	struct ct_event d = conn(CT_EVENT_DESTROY, 7);
	struct ct_query q[4];

	pipeline_event(&p, &n, &t0, false);
	assert_int_equal(pipeline_due(&p, t1.boot_ns, q, 4), 1);
	pipeline_interim(&p, &r, &t1);
	pipeline_gone(&p, 7, 61 * SEC);
	assert_int_equal(pipeline_ttl(&p, 62 * SEC, q, 4), 0);
	pipeline_event(&p, &d, &t2, false);
	assert_int_equal(s.nc, 2);
	assert_int_equal(s.c[1].orig_bytes, 200);
	assert_int_equal(s.c[1].reply_bytes, 1000);
	assert_int_equal(p.st.gone, 0);
	pipeline_free(&p);
}

/* An entry older than 2^31 ms (24.8 days), found by a dump, still gets
 * interim exports and is still checked at the ttl. */
static void test_entry_older_than_2_31_ms(void **state)
{
	struct sink s;
	struct pipeline p = ttl_pl(&s, 604800, 1800);
	const uint64_t boot = 40ull * 86400 * SEC;
	struct time_pair t0 = { 1700000000ull * SEC, boot };
	struct ct_event n = conn(CT_EVENT_UPDATE, 7);
	struct ct_query q[4];

	n.has_start = true;
	n.start_ns = t0.real_ns - 30ull * 86400 * SEC;
	pipeline_event(&p, &n, &t0, true);
	assert_int_equal(flowtab_age_ms(flowtab_lookup(p.tab, 7), boot),
			 30ull * 86400 * 1000);
	assert_int_equal(pipeline_due(&p, boot, q, 4), 1);
	assert_int_equal(pipeline_ttl(&p, boot, q, 4), 1);
	pipeline_free(&p);
}

/* The same DESTROY delivered twice (reliable delivery retries it) is
 * exported once; a later connection under the same id is not a duplicate. */
static void test_destroy_delivered_twice(void **state)
{
	struct pipeline p;
	struct sink s;
	struct time_pair t = { 1000 * SEC, 50 * SEC };
	struct ct_event n = conn(CT_EVENT_NEW, 7), d = conn(CT_EVENT_DESTROY, 7);

	setup_pl(&p, &s);
	n.has_start = d.has_start = true;
	n.start_ns = d.start_ns = 990 * SEC + 17;
	pipeline_event(&p, &n, &t, false);
	pipeline_event(&p, &d, &t, false);
	pipeline_event(&p, &d, &t, false);
	assert_int_equal(s.nc, 1);
	assert_int_equal(p.st.destroy_duplicates, 1);
	d.start_ns += 1000;	/* another connection, id and tuple reused */
	pipeline_event(&p, &d, &t, false);
	assert_int_equal(s.nc, 2);
	assert_int_equal(p.st.destroy_unknown, 1);
	pipeline_free(&p);
}

/* A reading whose start stamp differs is another connection under the
 * reused id: the old one is lost, the new one learnt without its state. */
static void test_reading_of_reused_id(void **state)
{
	struct sink s;
	struct pipeline p = ttl_pl(&s, 100, 10);
	struct time_pair t0 = { 1000 * SEC, 50 * SEC }, t1 = { 1011 * SEC, 61 * SEC };
	struct ct_event n = conn(CT_EVENT_NEW, 7), r = reading(7, 2, 100, 1, 1000);

	n.has_start = r.has_start = true;
	n.start_ns = 1000 * SEC;
	r.start_ns = 1005 * SEC;
	pipeline_event(&p, &n, &t0, false);
	pipeline_interim(&p, &r, &t1);
	assert_int_equal(p.st.replaced, 1);
	assert_int_equal(s.nc, 0);
	assert_int_equal(flowtab_lookup(p.tab, 7)->kstart, (uint32_t)(1005 * SEC));
	pipeline_free(&p);
}

/* A state file: a record of a live entry gives it its export state (the
 * final export is the remainder); one the dump no longer lists is ended
 * by a DESTROY that comes within the grace, or else exported as ended
 * with what was counted of it. */
static void test_restore_state(void **state)
{
	struct sink s;
	struct pipeline p = ttl_pl(&s, 604800, 10);
	struct time_pair t0 = { 1000 * SEC, 50 * SEC }, t1 = { 1001 * SEC, 51 * SEC };
	struct time_pair t3 = { 1004 * SEC, 54 * SEC };
	struct ct_event alive = conn(CT_EVENT_UPDATE, 7);
	struct ct_event d7 = conn(CT_EVENT_DESTROY, 7), d8 = conn(CT_EVENT_DESTROY, 8);
	struct statefile_rec recs[3];
	unsigned i;

	memset(recs, 0, sizeof(recs));
	for (i = 0; i < 3; i++) {
		struct ct_event c = conn(CT_EVENT_NEW, 7 + i);

		recs[i].id = 7 + i;
		recs[i].family = AF_INET;
		recs[i].proto = 6;
		recs[i].orig = c.orig;
		recs[i].reply = c.reply;
		recs[i].start_ms = 40000;
		recs[i].sent_orig_packets = 2;
		recs[i].sent_orig_bytes = 100;
		recs[i].sent_reply_packets = 1;
		recs[i].sent_reply_bytes = 500;
		recs[i].last_end_ns = 45 * SEC;
		recs[i].last_end_real_ms = 995000;
		recs[i].exports = 1;
	}
	recs[2].has_seen = true;	/* read at the stop */
	recs[2].seen_orig_packets = 4;
	recs[2].seen_orig_bytes = 250;
	recs[2].seen_reply_packets = 3;
	recs[2].seen_reply_bytes = 1500;
	recs[2].seen_boot_ns = 48 * SEC;
	alive.has_start = true;	/* began at boot 40 s */
	alive.start_ns = 990 * SEC;
	recs[0].flags = FLOW_F_KERNEL_START;
	recs[0].kstart = (uint32_t)(990 * SEC);
	pipeline_event(&p, &alive, &t0, true);	/* the startup dump */
	assert_int_equal(pipeline_restore(&p, recs, 3, &t0), 1);
	assert_int_equal(p.st.state_restored, 1);
	assert_int_equal(p.nlimbo, 2);
	pipeline_event(&p, &d7, &t1, false);	/* totals 5/300, 4/2000 */
	assert_int_equal(s.nc, 1);
	assert_int_equal(s.c[0].orig_packets, 3);
	assert_int_equal(s.c[0].orig_bytes, 200);
	assert_int_equal(s.c[0].reply_bytes, 1500);
	assert_int_equal(s.c[0].start_boot_ns, 45 * SEC);
	pipeline_event(&p, &d8, &t1, false);	/* queued in a kept socket */
	assert_int_equal(s.nc, 2);
	assert_int_equal(s.c[1].orig_bytes, 200);
	assert_int_equal(s.c[1].reason, FLOW_END_IDLE);	/* no TCP state */
	assert_int_equal(pipeline_expire_restored(&p, &t1), 0);	/* grace */
	assert_int_equal(pipeline_expire_restored(&p, &t3), 1);
	assert_int_equal(s.nc, 3);
	assert_int_equal(s.c[2].reason, FLOW_END_FORCED);
	assert_int_equal(s.c[2].orig_packets, 2);
	assert_int_equal(s.c[2].orig_bytes, 150);
	assert_int_equal(s.c[2].reply_packets, 2);
	assert_int_equal(s.c[2].reply_bytes, 1000);
	assert_int_equal(s.c[2].start_boot_ns, 45 * SEC);
	assert_int_equal(s.c[2].end_boot_ns, 48 * SEC);
	assert_int_equal(p.st.ended_unseen, 1);
	assert_int_equal(p.nlimbo, 0);
	pipeline_free(&p);
}

/* A v5 collector and an IPFIX one with RFC 8158 NAT events; extra: more
 * top-level keys ("" or ending in a comma). */
#define NAT_CONFIG(extra) \
	"{\"source\": \"198.51.100.1\", \"collector\": \"198.51.100.2\", \"port\": 2055, " \
	extra "\"collectors\": [{\"address\": \"198.51.100.3\", \"port\": 4739, " \
	"\"version\": 10, \"nat_events\": \"rfc8158\"}]}"

/* A pipeline configured by json, with an active timeout. */
static void setup_json_pl(struct pipeline *p, struct sink *s, const char *json,
			  unsigned timeout)
{
	struct config cfg;
	char err[CONFIG_ERR_MAX];

	assert_int_equal(config_parse(json, strlen(json), "t", &cfg, err, sizeof(err)), 0);
	cfg.active_timeout = timeout;
	memset(s, 0, sizeof(*s));
	assert_int_equal(pipeline_init(p, 0, collect, s), 0);
	pipeline_configure(p, &cfg);
}

/* A pipeline whose second collector takes NAT events (RFC 8158). */
static void setup_nat_pl(struct pipeline *p, struct sink *s, unsigned timeout)
{
	setup_json_pl(p, s, NAT_CONFIG(""), timeout);
}

/* The same connection without NAT: the reply goes back to the client. */
static struct ct_event plain(enum ct_event_type type, uint32_t id)
{
	struct ct_event ev = conn(type, id);

	ev.reply.dst = ev.orig.src;
	return ev;
}

/* A NEW of a masqueraded connection is a NAT create at its start; its
 * DESTROY the traffic export, then the NAT delete at its end. */
static void test_nat_create_and_delete(void **state)
{
	struct pipeline p;
	struct sink s;
	struct time_pair t1 = { 1000 * SEC, 50 * SEC }, t2 = { 1010 * SEC, 60 * SEC };
	struct ct_event n = conn(CT_EVENT_NEW, 7), d = conn(CT_EVENT_DESTROY, 7);

	setup_nat_pl(&p, &s, 0);
	pipeline_event(&p, &n, &t1, false);
	assert_int_equal(s.nc, 1);
	assert_int_equal(s.c[0].kind, FLOW_KIND_NAT_CREATE);
	assert_false(s.c[0].late);
	assert_int_equal(s.c[0].start_real_ms, 1000000);
	assert_int_equal(s.c[0].event_real_ms, s.c[0].start_real_ms);
	assert_int_equal(s.n, 0);
	assert_true(flowtab_lookup(p.tab, 7)->flags & FLOW_F_NAT_SENT);
	/* a later UPDATE of it is no second create */
	n.type = CT_EVENT_UPDATE;
	pipeline_event(&p, &n, &t1, false);
	assert_int_equal(s.nc, 1);

	pipeline_event(&p, &d, &t2, false);
	assert_int_equal(s.nc, 3);
	assert_int_equal(s.c[1].kind, FLOW_KIND_TRAFFIC);
	assert_int_equal(s.c[1].orig_packets, 5);
	assert_int_equal(s.c[2].kind, FLOW_KIND_NAT_DELETE);
	assert_false(s.c[2].late);
	assert_int_equal(s.c[2].start_real_ms, 1000000);
	assert_int_equal(s.c[2].event_real_ms, 1010000);
	assert_int_equal(s.n, 3);	/* v5 records of the traffic only */
	assert_int_equal(p.st.nat_creates, 1);
	assert_int_equal(p.st.nat_creates_late, 0);
	assert_int_equal(p.st.nat_deletes, 1);
	assert_int_equal(p.st.exports, 1);
	pipeline_free(&p);
}

/* No translation, or no collector that takes events: no events. */
static void test_nat_events_only_when_translated(void **state)
{
	struct pipeline p;
	struct sink s;
	struct time_pair t1 = { 1000 * SEC, 50 * SEC }, t2 = { 1010 * SEC, 60 * SEC };
	struct ct_event n = plain(CT_EVENT_NEW, 7), d = plain(CT_EVENT_DESTROY, 7);
	struct ct_event u = plain(CT_EVENT_UPDATE, 8), d8 = plain(CT_EVENT_DESTROY, 9);

	setup_nat_pl(&p, &s, 0);
	pipeline_event(&p, &n, &t1, false);
	assert_int_equal(s.nc, 0);
	pipeline_event(&p, &d, &t2, false);
	assert_int_equal(s.nc, 1);
	assert_int_equal(s.c[0].kind, FLOW_KIND_TRAFFIC);
	/* found by a dump, or ended unknown: nothing either */
	u.orig.sport = d8.orig.sport = 40001;
	u.reply.dport = d8.reply.dport = 40001;
	pipeline_event(&p, &u, &t1, true);
	assert_int_equal(pipeline_late_creates(&p, &t2), 0);
	pipeline_event(&p, &d8, &t2, false);
	assert_int_equal(s.nc, 2);
	assert_int_equal(s.c[1].kind, FLOW_KIND_TRAFFIC);
	assert_int_equal(p.st.nat_creates + p.st.nat_deletes, 0);
	pipeline_free(&p);

	/* a translated connection with NAT events off everywhere */
	setup_pl(&p, &s);
	n = conn(CT_EVENT_NEW, 7);
	d = conn(CT_EVENT_DESTROY, 7);
	pipeline_event(&p, &n, &t1, false);
	u = conn(CT_EVENT_UPDATE, 8);
	pipeline_event(&p, &u, &t1, true);
	assert_int_equal(pipeline_late_creates(&p, &t2), 0);
	pipeline_event(&p, &d, &t2, false);
	assert_int_equal(s.nc, 1);
	assert_int_equal(s.c[0].kind, FLOW_KIND_TRAFFIC);
	assert_int_equal(p.st.nat_creates + p.st.nat_deletes, 0);
	pipeline_free(&p);
}

/* A connection found by a dump waits for pipeline_late_creates, which
 * sends its create once, late, at the call. */
static void test_nat_late_create_after_dump(void **state)
{
	struct pipeline p;
	struct sink s;
	struct time_pair t1 = { 1000 * SEC, 50 * SEC }, t2 = { 1003 * SEC, 53 * SEC };
	struct time_pair t3 = { 1010 * SEC, 60 * SEC };
	struct ct_event u = conn(CT_EVENT_UPDATE, 7), d = conn(CT_EVENT_DESTROY, 7);

	setup_nat_pl(&p, &s, 0);
	pipeline_event(&p, &u, &t1, true);
	assert_int_equal(s.nc, 0);
	assert_true(flowtab_lookup(p.tab, 7)->flags & FLOW_F_NAT_DUE);
	/* listed again by the same dump, or updated: still waiting */
	pipeline_event(&p, &u, &t1, true);
	pipeline_event(&p, &u, &t1, false);
	assert_int_equal(s.nc, 0);
	assert_int_equal(pipeline_late_creates(&p, &t2), 1);
	assert_int_equal(s.nc, 1);
	assert_int_equal(s.c[0].kind, FLOW_KIND_NAT_CREATE);
	assert_true(s.c[0].late);
	assert_int_equal(s.c[0].start_real_ms, 1000000);
	assert_int_equal(s.c[0].event_real_ms, 1003000);
	assert_int_equal(p.st.nat_creates, 1);
	assert_int_equal(p.st.nat_creates_late, 1);
	/* once */
	assert_int_equal(pipeline_late_creates(&p, &t3), 0);
	assert_int_equal(s.nc, 1);
	assert_false(flowtab_lookup(p.tab, 7)->flags & FLOW_F_NAT_DUE);
	/* its DESTROY: traffic and delete, no second create */
	pipeline_event(&p, &d, &t3, false);
	assert_int_equal(s.nc, 3);
	assert_int_equal(s.c[1].kind, FLOW_KIND_TRAFFIC);
	assert_int_equal(s.c[2].kind, FLOW_KIND_NAT_DELETE);
	assert_int_equal(s.c[2].event_real_ms, 1010000);
	assert_int_equal(p.st.nat_creates, 1);
	pipeline_free(&p);

	/* a dump entry that ends before the late creates: the create comes
	 * with the DESTROY, and not again afterwards */
	setup_nat_pl(&p, &s, 0);
	pipeline_event(&p, &u, &t1, true);
	pipeline_event(&p, &d, &t3, false);
	assert_int_equal(s.nc, 3);
	assert_int_equal(s.c[0].kind, FLOW_KIND_NAT_CREATE);
	assert_true(s.c[0].late);
	assert_int_equal(pipeline_late_creates(&p, &t3), 0);
	assert_int_equal(s.nc, 3);
	pipeline_free(&p);
}

/* A DESTROY of a translated connection never seen before: a late create
 * (at the DESTROY), the traffic, the delete, in that order. */
static void test_nat_unknown_destroy(void **state)
{
	struct pipeline p;
	struct sink s;
	struct time_pair t = { 1000 * SEC, 70 * SEC };
	struct ct_event d = conn(CT_EVENT_DESTROY, 9);

	setup_nat_pl(&p, &s, 0);
	pipeline_event(&p, &d, &t, false);
	assert_int_equal(p.st.destroy_unknown, 1);
	assert_int_equal(s.nc, 3);
	assert_int_equal(s.c[0].kind, FLOW_KIND_NAT_CREATE);
	assert_true(s.c[0].late);
	assert_int_equal(s.c[0].event_real_ms, 1000000);
	assert_int_equal(s.c[1].kind, FLOW_KIND_TRAFFIC);
	assert_int_equal(s.c[2].kind, FLOW_KIND_NAT_DELETE);
	assert_false(s.c[2].late);
	assert_int_equal(s.c[2].event_real_ms, 1000000);
	assert_int_equal(p.st.nat_creates_late, 1);
	assert_int_equal(p.st.nat_deletes, 1);
	/* delivered twice: exported once, events included */
	pipeline_event(&p, &d, &t, false);
	assert_int_equal(s.nc, 3);
	pipeline_free(&p);
}

/* The state file's record of a connection whose create an earlier run
 * sent: no late create for it, live or ended; one without the flag gets
 * its late create. */
static void test_nat_restored_create_sent(void **state)
{
	struct pipeline p;
	struct sink s;
	struct time_pair t0 = { 1000 * SEC, 50 * SEC }, t1 = { 1001 * SEC, 51 * SEC };
	struct ct_event a = conn(CT_EVENT_UPDATE, 7), b = conn(CT_EVENT_UPDATE, 8);
	struct ct_event d7 = conn(CT_EVENT_DESTROY, 7);
	struct ct_event d9 = conn(CT_EVENT_DESTROY, 9);
	struct statefile_rec recs[3];
	unsigned i;

	setup_nat_pl(&p, &s, 0);
	b.orig.sport = b.reply.dport = 40001;
	d9.orig.sport = d9.reply.dport = 40002;
	memset(recs, 0, sizeof(recs));
	for (i = 0; i < 3; i++) {
		recs[i].id = 7 + i;
		recs[i].family = AF_INET;
		recs[i].proto = 6;
		recs[i].orig = i == 0 ? a.orig : i == 1 ? b.orig : d9.orig;
		recs[i].reply = i == 0 ? a.reply : i == 1 ? b.reply : d9.reply;
		recs[i].start_ms = 40000;
		recs[i].flags = FLOW_F_NAT_SENT;
	}
	recs[1].flags = 0;	/* 8: the earlier run sent no create */
	pipeline_event(&p, &a, &t0, true);	/* the startup dump */
	pipeline_event(&p, &b, &t0, true);
	assert_int_equal(pipeline_restore(&p, recs, 3, &t0), 2);
	assert_true(flowtab_lookup(p.tab, 7)->flags & FLOW_F_NAT_SENT);
	assert_false(flowtab_lookup(p.tab, 7)->flags & FLOW_F_NAT_DUE);
	assert_int_equal(pipeline_late_creates(&p, &t0), 1);
	assert_int_equal(s.nc, 1);
	assert_int_equal(s.c[0].kind, FLOW_KIND_NAT_CREATE);
	assert_true(s.c[0].late);
	assert_int_equal(p.nlimbo, 1);
	pipeline_event(&p, &d7, &t1, false);
	assert_int_equal(s.nc, 3);
	assert_int_equal(s.c[1].kind, FLOW_KIND_TRAFFIC);
	assert_int_equal(s.c[2].kind, FLOW_KIND_NAT_DELETE);
	/* 9 ended while no daemon listened; its DESTROY was queued */
	pipeline_event(&p, &d9, &t1, false);
	assert_int_equal(s.nc, 5);
	assert_int_equal(s.c[3].kind, FLOW_KIND_TRAFFIC);
	assert_int_equal(s.c[4].kind, FLOW_KIND_NAT_DELETE);
	assert_int_equal(p.st.nat_creates, 1);
	assert_int_equal(p.st.nat_deletes, 2);
	pipeline_free(&p);
}

/* Both events of a session carry the start its create had: a NEW has no
 * kernel stamp (the kernel stamps DESTROY events only), so the DESTROY's
 * stamp, a little earlier, must not change the delete's start. */
static void test_nat_delete_keeps_create_start(void **state)
{
	struct pipeline p;
	struct sink s;
	struct time_pair t1 = { 1000 * SEC + 20000000, 50 * SEC + 20000000 };
	struct time_pair t2 = { 1010 * SEC, 60 * SEC };
	struct ct_event n = conn(CT_EVENT_NEW, 7), d = conn(CT_EVENT_DESTROY, 7);

	setup_nat_pl(&p, &s, 0);
	pipeline_event(&p, &n, &t1, false);
	d.has_start = true;
	d.start_ns = 1000 * SEC;	/* 20 ms before the NEW arrived */
	pipeline_event(&p, &d, &t2, false);
	assert_int_equal(s.nc, 3);
	assert_int_equal(s.c[0].start_real_ms, 1000020);
	assert_int_equal(s.c[1].start_real_ms, 1000000);	/* traffic: kernel's */
	assert_int_equal(s.c[2].kind, FLOW_KIND_NAT_DELETE);
	assert_int_equal(s.c[2].start_real_ms, s.c[0].start_real_ms);
	pipeline_free(&p);
}

/* After the startup's late creates, a connection a later dump finds (a
 * resync) gets its late create at once; a reload that switches NAT events
 * on sends one for every translated connection alive, once. */
static void test_nat_resync_and_reload(void **state)
{
	struct pipeline p;
	struct sink s;
	struct time_pair t1 = { 1000 * SEC, 50 * SEC }, t2 = { 1003 * SEC, 53 * SEC };
	struct ct_event u = conn(CT_EVENT_UPDATE, 7), v = conn(CT_EVENT_UPDATE, 8);
	struct ct_event w = plain(CT_EVENT_UPDATE, 9);
	struct config cfg = base_config();
	const char *json = "{\"source\": \"198.51.100.1\", \"collector\": \"198.51.100.2\", \"port\": 2055, "
			   "\"collectors\": [{\"address\": \"198.51.100.3\", \"port\": 4739, "
			   "\"version\": 10, \"nat_events\": \"legacy\"}]}";
	char err[CONFIG_ERR_MAX];

	setup_nat_pl(&p, &s, 0);
	assert_int_equal(pipeline_late_creates(&p, &t1), 0);	/* startup */
	pipeline_event(&p, &u, &t2, true);			/* a resync */
	assert_int_equal(s.nc, 1);
	assert_int_equal(s.c[0].kind, FLOW_KIND_NAT_CREATE);
	assert_true(s.c[0].late);
	assert_int_equal(s.c[0].event_real_ms, 1003000);
	pipeline_free(&p);

	/* NAT events off, then on by a reload */
	setup_pl(&p, &s);
	v.orig.sport = v.reply.dport = 40001;
	pipeline_event(&p, &u, &t1, false);
	pipeline_event(&p, &v, &t1, true);
	pipeline_event(&p, &w, &t1, false);	/* not translated */
	assert_int_equal(pipeline_late_creates(&p, &t1), 0);
	assert_int_equal(s.nc, 0);
	assert_int_equal(config_parse(json, strlen(json), "t", &cfg, err,
				      sizeof(err)), 0);
	pipeline_configure(&p, &cfg);
	assert_int_equal(pipeline_late_creates(&p, &t2), 2);
	assert_int_equal(s.nc, 2);
	assert_true(s.c[0].late && s.c[1].late);
	assert_int_equal(pipeline_late_creates(&p, &t2), 0);
	/* the same configuration again: nothing more */
	pipeline_configure(&p, &cfg);
	assert_int_equal(pipeline_late_creates(&p, &t2), 0);
	assert_int_equal(s.nc, 2);
	pipeline_free(&p);
}

/* A connection of the state file that ended while no daemon listened (no
 * DESTROY came in the grace): its delete is timed at the restore, the
 * only bound of its end known, not at the end of the grace. A live one
 * takes the start the file has (what its create carried), not the
 * dump's. */
static void test_nat_ended_unseen_delete_time(void **state)
{
	struct pipeline p;
	struct sink s;
	struct time_pair t0 = { 1000 * SEC, 50 * SEC }, t3 = { 1005 * SEC, 55 * SEC };
	struct ct_event a = conn(CT_EVENT_UPDATE, 7);
	struct statefile_rec rec;

	setup_nat_pl(&p, &s, 0);
	memset(&rec, 0, sizeof(rec));
	rec.id = 7;
	rec.family = AF_INET;
	rec.proto = 6;
	rec.orig = a.orig;
	rec.reply = a.reply;
	rec.start_ms = 40000;
	rec.flags = FLOW_F_NAT_SENT;
	assert_int_equal(pipeline_restore(&p, &rec, 1, &t0), 0);
	assert_int_equal(pipeline_late_creates(&p, &t0), 0);
	assert_int_equal(pipeline_expire_restored(&p, &t3), 1);
	assert_int_equal(s.nc, 2);
	assert_int_equal(s.c[0].kind, FLOW_KIND_TRAFFIC);
	assert_int_equal(s.c[0].reason, FLOW_END_FORCED);
	assert_int_equal(s.c[1].kind, FLOW_KIND_NAT_DELETE);
	assert_int_equal(s.c[1].event_real_ms, 1000000);
	assert_int_equal(s.c[1].start_real_ms, s.c[0].start_real_ms);
	pipeline_free(&p);

	/* alive: the dump's kernel stamp (39.99 s) gives way to the file's
	 * 40 s, which its create carried */
	setup_nat_pl(&p, &s, 0);
	a.has_start = true;
	a.start_ns = 989990 * (SEC / 1000);	/* 10.01 s before t0 */
	pipeline_event(&p, &a, &t0, true);
	assert_int_equal(pipeline_restore(&p, &rec, 1, &t0), 1);
	assert_int_equal(pipeline_late_creates(&p, &t0), 0);
	a = conn(CT_EVENT_DESTROY, 7);
	pipeline_event(&p, &a, &t3, false);
	assert_int_equal(s.nc, 2);
	assert_int_equal(s.c[1].kind, FLOW_KIND_NAT_DELETE);
	assert_int_equal(s.c[1].start_real_ms, 990000);	/* 40 s boot */
	pipeline_free(&p);
}

/* In a firewall pair (active_when_address set), a connection a program
 * created here (conntrackd copying the peer's entry: its NEW carries the
 * requester's port id) is not this node's: no NAT create, and no export when it ends without a packet
 * through this node; once it carries traffic here (after a failover) that
 * traffic is exported, without NAT events (the peer sent them). A
 * kernel's connection deleted by a program is exported as ever. */
static void test_injected_entries(void **state)
{
	struct pipeline p;
	struct sink s;
	struct time_pair t1 = { 1000 * SEC, 50 * SEC }, t2 = { 1010 * SEC, 60 * SEC };
	struct ct_event n = conn(CT_EVENT_NEW, 7), d = conn(CT_EVENT_DESTROY, 7);
	struct ct_event n8 = conn(CT_EVENT_NEW, 8), d8 = conn(CT_EVENT_DESTROY, 8);
	struct ct_event n9 = conn(CT_EVENT_NEW, 9), d9 = conn(CT_EVENT_DESTROY, 9);

	/* alone (no active_when_address) a program's entry is as any */
	setup_nat_pl(&p, &s, 0);
	n.requester = 4242;
	pipeline_event(&p, &n, &t1, false);
	assert_false(flowtab_lookup(p.tab, 7)->flags & FLOW_F_INJECTED);
	assert_int_equal(s.nc, 1);
	pipeline_free(&p);

	setup_json_pl(&p, &s,
		      NAT_CONFIG("\"active_when_address\": \"198.51.100.1\", "), 0);
	n.requester = n8.requester = 4242;
	n8.orig.sport = n8.reply.dport = d8.orig.sport = d8.reply.dport = 40001;
	n9.orig.sport = n9.reply.dport = d9.orig.sport = d9.reply.dport = 40002;
	pipeline_event(&p, &n, &t1, false);
	pipeline_event(&p, &n8, &t1, false);
	pipeline_event(&p, &n9, &t1, false);	/* the kernel's own */
	assert_int_equal(s.nc, 1);		/* 9's create only */
	/* active, and the peer's new connections copied here: it forwards
	 * too (a split brain) */
	assert_int_equal(p.st.peer_copies_active, 2);
	assert_true(flowtab_lookup(p.tab, 7)->flags & FLOW_F_INJECTED);
	assert_false(flowtab_lookup(p.tab, 9)->flags & FLOW_F_INJECTED);
	/* 7 ends quiet (removed by the program that made it) */
	d.requester = 4242;
	d.orig_packets = d.reply_packets = d.orig_bytes = d.reply_bytes = 0;
	pipeline_event(&p, &d, &t2, false);
	assert_int_equal(s.nc, 1);
	assert_int_equal(p.st.injected_quiet, 1);
	assert_int_equal(p.st.exports, 0);
	/* 8 carried traffic here: exported, no NAT event */
	pipeline_event(&p, &d8, &t2, false);
	assert_int_equal(s.nc, 2);
	assert_int_equal(s.c[1].kind, FLOW_KIND_TRAFFIC);
	assert_int_equal(s.c[1].orig_packets, 5);
	/* 9: deleted by a program (conntrack -D), but the kernel's */
	d9.requester = 777;
	pipeline_event(&p, &d9, &t2, false);
	assert_int_equal(s.nc, 4);
	assert_int_equal(s.c[2].kind, FLOW_KIND_TRAFFIC);
	assert_int_equal(s.c[3].kind, FLOW_KIND_NAT_DELETE);
	/* standby: copies are what it should get */
	p.standby = true;
	n8.id = 11;
	n8.orig.sport = n8.reply.dport = 40003;
	pipeline_event(&p, &n8, &t2, false);
	assert_int_equal(p.st.peer_copies_active, 2);
	/* a dump's answers carry our port id: no injection */
	n.type = CT_EVENT_UPDATE;
	n.id = 10;
	pipeline_event(&p, &n, &t2, true);
	assert_false(flowtab_lookup(p.tab, 10)->flags & FLOW_F_INJECTED);
	pipeline_free(&p);
}

/* The SYN of a connection that began with one goes in its first export
 * only: after an interim export the final one carries none. */
static void test_tcp_flags_after_interim(void **state)
{
	struct sink s;
	struct pipeline p = active_pl(&s, 10);
	struct time_pair t0 = { 1000 * SEC, 50 * SEC }, t1 = { 1011 * SEC, 61 * SEC };
	struct time_pair t2 = { 1015 * SEC, 65 * SEC };
	struct ct_event n = conn(CT_EVENT_NEW, 7), r = reading(7, 2, 120, 1, 500);
	struct ct_event d = conn(CT_EVENT_DESTROY, 7);
	struct ct_query q[2];

	n.tcp_state = TCP_SYN_SENT;
	pipeline_event(&p, &n, &t0, false);
	assert_true(flowtab_lookup(p.tab, 7)->flags & FLOW_F_SYN);
	assert_int_equal(pipeline_due(&p, t1.boot_ns, q, 2), 1);
	r.tcp_state = TCP_ESTABLISHED;
	r.status = IPS_SEEN_REPLY | IPS_ASSURED;
	pipeline_interim(&p, &r, &t1);
	assert_int_equal(s.nc, 1);
	assert_int_equal(s.c[0].tcp_flags, TCPF_SYN | TCPF_ACK);
	assert_int_equal(s.c[0].rtcp_flags, TCPF_SYN | TCPF_ACK);
	d.tcp_state = TCP_TIME_WAIT;
	d.status = IPS_SEEN_REPLY | IPS_ASSURED;
	pipeline_event(&p, &d, &t2, false);
	assert_int_equal(s.nc, 2);
	assert_int_equal(s.c[1].reason, FLOW_END_DETECTED);
	assert_int_equal(s.c[1].tcp_flags, TCPF_ACK | TCPF_FIN);
	assert_int_equal(s.c[1].rtcp_flags, TCPF_ACK | TCPF_FIN);
	/* v5: records 1 and 2 the original direction's, 3 the reply's */
	assert_int_equal(s.r[s.n - 3].tcp_flags, TCPF_ACK | TCPF_FIN);
	assert_int_equal(s.r[s.n - 1].tcp_flags, TCPF_ACK | TCPF_FIN);
	pipeline_free(&p);

	/* without the interim export the final one shows the handshake */
	p = active_pl(&s, 10);
	pipeline_event(&p, &n, &t0, false);
	pipeline_event(&p, &d, &t2, false);
	assert_int_equal(s.nc, 1);
	assert_int_equal(s.c[0].tcp_flags, TCPF_SYN | TCPF_ACK | TCPF_FIN);
	assert_int_equal(s.c[0].rtcp_flags, TCPF_SYN | TCPF_ACK | TCPF_FIN);
	pipeline_free(&p);

	/* picked up mid-stream: no SYN at all */
	p = active_pl(&s, 10);
	n.tcp_state = TCP_ESTABLISHED;
	pipeline_event(&p, &n, &t0, false);
	assert_false(flowtab_lookup(p.tab, 7)->flags & FLOW_F_SYN);
	pipeline_event(&p, &d, &t2, false);
	assert_int_equal(s.c[0].tcp_flags, TCPF_ACK | TCPF_FIN);
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
		cmocka_unit_test(test_active_timeout_deltas_add_up),
		cmocka_unit_test(test_active_timeout_idle_and_stale),
		cmocka_unit_test(test_active_timeout_round_robin),
		cmocka_unit_test(test_active_timeout_queue),
		cmocka_unit_test(test_ipv6_connection),
		cmocka_unit_test(test_ttl_asks_the_kernel),
		cmocka_unit_test(test_gone_then_destroy),
		cmocka_unit_test(test_entry_older_than_2_31_ms),
		cmocka_unit_test(test_destroy_delivered_twice),
		cmocka_unit_test(test_reading_of_reused_id),
		cmocka_unit_test(test_restore_state),
		cmocka_unit_test(test_nat_create_and_delete),
		cmocka_unit_test(test_nat_events_only_when_translated),
		cmocka_unit_test(test_nat_late_create_after_dump),
		cmocka_unit_test(test_nat_unknown_destroy),
		cmocka_unit_test(test_nat_restored_create_sent),
		cmocka_unit_test(test_nat_delete_keeps_create_start),
		cmocka_unit_test(test_nat_resync_and_reload),
		cmocka_unit_test(test_nat_ended_unseen_delete_time),
		cmocka_unit_test(test_injected_entries),
		cmocka_unit_test(test_tcp_flags_after_interim),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
