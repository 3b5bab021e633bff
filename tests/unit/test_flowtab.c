/* Unit tests for the live table: upsert semantics, bounds, TTL sweep,
 * growth, backward-shift deletion and memory per entry. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "nfflowd/flowtab.h"

#define MS 1000000ull
#define SEC 1000000000ull
#define WRAP_MS (1ull << 32)	/* the start_ms count wraps here (49.7 days) */
#define BIG 100000u

/* A NEW event for id whose tuple is derived from id and a generation. */
static struct ct_event ev_for(uint32_t id, uint32_t gen)
{
	struct ct_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.type = CT_EVENT_NEW;
	ev.id = id;
	ev.proto = 6;
	ev.tcp_state = 1;
	ev.orig.src = 0xC0000200u | (id & 0xFF);	/* 192.0.2.x */
	ev.orig.dst = 0xC6336400u | (gen & 0xFF);	/* 198.51.100.x */
	ev.orig.sport = (uint16_t)(id >> 8);
	ev.orig.dport = (uint16_t)(80 + gen);
	ev.reply.src = ev.orig.dst;
	ev.reply.dst = 0xCB007101u;			/* 203.0.113.1 */
	ev.reply.sport = ev.orig.dport;
	ev.reply.dport = (uint16_t)(id >> 16);
	return ev;
}

/* Asserts that e is the entry ev_for(id, gen) created. */
static void assert_entry(const struct flow_entry *e, uint32_t id, uint32_t gen)
{
	struct ct_event ev = ev_for(id, gen);

	assert_non_null(e);
	assert_int_equal(e->id, id);
	assert_int_equal(e->proto, ev.proto);
	assert_memory_equal(&e->orig, &ev.orig, sizeof(ev.orig));
	assert_memory_equal(&e->reply, &ev.reply, sizeof(ev.reply));
}

/* Spreads i over the id space like kernel conntrack ids. */
static uint32_t scatter(uint32_t i)
{
	return i * 2654435761u + 12345u;
}

static void test_insert_lookup_remove(void **state)
{
	struct flowtab *t = flowtab_new(0);
	struct ct_event ev = ev_for(7, 0);
	struct flow_entry *e, out;
	bool created = false;

	(void)state;
	assert_non_null(t);
	assert_int_equal(flowtab_count(t), 0);
	assert_null(flowtab_lookup(t, 7));
	e = flowtab_upsert(t, &ev, 5 * SEC, FLOW_F_KERNEL_START, &created);
	assert_non_null(e);
	assert_true(created);
	assert_entry(e, 7, 0);
	assert_int_equal(e->start_ms, 5000);
	assert_int_equal(flowtab_start_ns(e, 6 * SEC), 5 * SEC);
	assert_int_equal(flowtab_age_ms(e, 6 * SEC), 1000);
	assert_int_equal(e->flags, FLOW_F_KERNEL_START);
	assert_int_equal(e->tcp_state, 1);
	assert_int_equal(flowtab_count(t), 1);
	assert_ptr_equal(flowtab_lookup(t, 7), e);
	assert_null(flowtab_lookup(t, 8));

	memset(&out, 0, sizeof(out));
	assert_true(flowtab_remove(t, 7, &out, NULL));
	assert_entry(&out, 7, 0);
	assert_int_equal(out.start_ms, 5000);
	assert_int_equal(flowtab_count(t), 0);
	assert_null(flowtab_lookup(t, 7));
	assert_false(flowtab_remove(t, 7, &out, NULL));
	assert_false(flowtab_remove(t, 7, NULL, NULL));
	flowtab_free(t);
}

static void test_empty_table(void **state)
{
	struct flowtab *t = flowtab_new(0);

	(void)state;
	assert_null(flowtab_lookup(t, 0));
	assert_null(flowtab_lookup(t, UINT32_MAX));
	assert_false(flowtab_remove(t, 0, NULL, NULL));
	assert_int_equal(flowtab_sweep(t, 100 * SEC, SEC), 0);
	assert_int_equal(flowtab_count(t), 0);
	assert_true(flowtab_memory(t) > 0);
	flowtab_free(t);
	flowtab_free(NULL);
}

static void test_id_zero_and_max(void **state)
{
	struct flowtab *t = flowtab_new(0);
	struct ct_event e0 = ev_for(0, 1), emax = ev_for(UINT32_MAX, 2);
	bool created;

	(void)state;
	assert_null(flowtab_lookup(t, 0));
	assert_non_null(flowtab_upsert(t, &e0, 1 * MS, 0, &created));
	assert_true(created);
	assert_non_null(flowtab_upsert(t, &emax, 2 * MS, 0, &created));
	assert_true(created);
	assert_entry(flowtab_lookup(t, 0), 0, 1);
	assert_entry(flowtab_lookup(t, UINT32_MAX), UINT32_MAX, 2);
	assert_int_equal(flowtab_lookup(t, 0)->start_ms, 1);
	assert_non_null(flowtab_upsert(t, &e0, 99 * MS, 0, &created));
	assert_false(created);
	assert_int_equal(flowtab_count(t), 2);
	assert_true(flowtab_remove(t, 0, NULL, NULL));
	assert_null(flowtab_lookup(t, 0));
	assert_entry(flowtab_lookup(t, UINT32_MAX), UINT32_MAX, 2);
	flowtab_free(t);
}

static void test_refresh_keeps_start(void **state)
{
	struct flowtab *t = flowtab_new(0);
	struct ct_event ev = ev_for(42, 3);
	struct flow_entry *e, *again;
	bool created = true;

	(void)state;
	e = flowtab_upsert(t, &ev, 10 * SEC, FLOW_F_FROM_DUMP, &created);
	assert_non_null(e);
	ev.type = CT_EVENT_UPDATE;
	ev.tcp_state = 3;
	again = flowtab_upsert(t, &ev, 20 * SEC, FLOW_F_KERNEL_START, &created);
	assert_ptr_equal(again, e);
	assert_false(created);
	assert_int_equal(e->start_ms, 10000);
	assert_int_equal(e->flags, FLOW_F_FROM_DUMP);
	assert_int_equal(e->tcp_state, 3);
	/* an event without a TCP state leaves the known one */
	ev.tcp_state = 0;
	assert_ptr_equal(flowtab_upsert(t, &ev, 30 * SEC, 0, NULL), e);
	assert_int_equal(e->tcp_state, 3);
	assert_int_equal(e->start_ms, 10000);
	assert_int_equal(flowtab_count(t), 1);
	flowtab_free(t);
}

static void test_id_reuse_replaces_start(void **state)
{
	struct flowtab *t = flowtab_new(0);
	struct ct_event old = ev_for(42, 3), reused = ev_for(42, 4);
	struct flow_entry *e;
	bool created = false;

	(void)state;
	assert_non_null(flowtab_upsert(t, &old, 10 * SEC, FLOW_F_FROM_DUMP,
				       &created));
	e = flowtab_upsert(t, &reused, 20 * SEC, FLOW_F_KERNEL_START, &created);
	assert_non_null(e);
	assert_true(created);
	assert_entry(e, 42, 4);
	assert_int_equal(e->start_ms, 20000);
	assert_int_equal(e->flags, FLOW_F_KERNEL_START);
	assert_int_equal(flowtab_count(t), 1);

	/* a reply tuple change alone, or another protocol, is also reuse */
	reused.reply.dport ^= 1;
	e = flowtab_upsert(t, &reused, 30 * SEC, 0, &created);
	assert_true(created);
	assert_int_equal(e->start_ms, 30000);
	reused.proto = 17;
	e = flowtab_upsert(t, &reused, 40 * SEC, 0, &created);
	assert_true(created);
	assert_int_equal(e->proto, 17);
	assert_int_equal(e->start_ms, 40000);
	assert_int_equal(flowtab_count(t), 1);
	flowtab_free(t);
}

/* A reused id replaces an entry whose DESTROY never came: counted, so
 * that the connection is not silently forgotten; a refresh is not. */
static void test_id_reuse_counted(void **state)
{
	struct flowtab *t = flowtab_new(0);
	struct ct_event old = ev_for(42, 3), reused = ev_for(42, 4);

	(void)state;
	assert_non_null(flowtab_upsert(t, &old, 10 * SEC, 0, NULL));
	assert_non_null(flowtab_upsert(t, &old, 11 * SEC, 0, NULL));
	assert_int_equal(flowtab_replaced(t), 0);
	assert_non_null(flowtab_upsert(t, &reused, 20 * SEC, 0, NULL));
	assert_int_equal(flowtab_replaced(t), 1);
	assert_true(flowtab_remove(t, 42, NULL, NULL));
	assert_non_null(flowtab_upsert(t, &old, 30 * SEC, 0, NULL));
	assert_int_equal(flowtab_replaced(t), 1);
	flowtab_free(t);
}

/* A DESTROY removes the entry under its id only when the entry is its
 * connection: another one sharing the id keeps its entry and start. */
static void test_destroy_of_other_conn_keeps_entry(void **state)
{
	struct flowtab *t = flowtab_new(0);
	struct ct_event live = ev_for(42, 3), other = ev_for(42, 4);
	struct flow_entry out;
	bool same = true;

	(void)state;
	assert_non_null(flowtab_upsert(t, &live, 10 * SEC, 0, NULL));
	other.type = CT_EVENT_DESTROY;
	assert_false(flowtab_remove_conn(t, 42, &other, &same, &out, NULL));
	assert_false(same);
	assert_int_equal(flowtab_count(t), 1);
	live.type = CT_EVENT_DESTROY;
	assert_true(flowtab_remove_conn(t, 42, &live, &same, &out, NULL));
	assert_true(same);
	assert_int_equal(flowtab_start_ms(&out), 10000);
	assert_int_equal(flowtab_count(t), 0);
	flowtab_free(t);
}

static void test_max_entries(void **state)
{
	struct flowtab *t = flowtab_new(3);
	struct ct_event ev;
	bool created = true;
	uint32_t i;

	(void)state;
	for (i = 0; i < 3; i++) {
		ev = ev_for(i, 0);
		assert_non_null(flowtab_upsert(t, &ev, i, 0, &created));
	}
	ev = ev_for(3, 0);
	created = true;
	assert_null(flowtab_upsert(t, &ev, 3, 0, &created));
	assert_null(flowtab_lookup(t, 3));
	assert_int_equal(flowtab_count(t), 3);
	/* refreshing and reusing existing ids still works when full */
	ev = ev_for(1, 0);
	assert_non_null(flowtab_upsert(t, &ev, 9, 0, &created));
	assert_false(created);
	ev = ev_for(1, 5);
	assert_non_null(flowtab_upsert(t, &ev, 9, 0, &created));
	assert_true(created);
	/* room again after a removal */
	assert_true(flowtab_remove(t, 0, NULL, NULL));
	ev = ev_for(3, 0);
	assert_non_null(flowtab_upsert(t, &ev, 3, 0, &created));
	assert_true(created);
	assert_int_equal(flowtab_count(t), 3);
	flowtab_free(t);
}

static void test_sweep_removes_only_stale(void **state)
{
	struct flowtab *t = flowtab_new(0);
	const uint64_t now = 1000 * SEC, ttl = 100 * SEC;
	/* starts: stale, exactly ttl (kept), fresh, future (kept), 0, stale,
	 * ttl + 1 ms, now, slightly after now (kept), 1 ns short of ttl + 1 ms
	 * (the same ms as ttl + 1 ms: stale) */
	const uint64_t starts[] = { 800 * SEC, 900 * SEC, 950 * SEC,
				    2000 * SEC, 0, 899 * SEC, 900 * SEC - MS,
				    now, now + 300 * MS, 900 * SEC - 1 };
	const bool stale[] = { true, false, false, false, true, true, true,
			       false, false, true };
	struct ct_event ev;
	uint32_t i, n = sizeof(starts) / sizeof(starts[0]);

	(void)state;
	for (i = 0; i < n; i++) {
		ev = ev_for(i * 1000, 0);
		assert_non_null(flowtab_upsert(t, &ev, starts[i], 0, NULL));
	}
	assert_int_equal(flowtab_sweep(t, now, ttl), 5);
	assert_int_equal(flowtab_count(t), n - 5);
	for (i = 0; i < n; i++) {
		if (stale[i]) {
			assert_null(flowtab_lookup(t, i * 1000));
		} else {
			assert_non_null(flowtab_lookup(t, i * 1000));
			assert_int_equal(flowtab_lookup(t, i * 1000)->start_ms,
					 starts[i] / MS);
		}
	}
	/* nothing more is stale at the same instant, nor later within the
	 * same millisecond (ages are whole ms) */
	assert_int_equal(flowtab_sweep(t, now, ttl), 0);
	assert_int_equal(flowtab_sweep(t, now + MS - 1, ttl), 0);
	/* an early boot clock (now < ttl) removes nothing: those starts all
	 * lie after it */
	assert_int_equal(flowtab_sweep(t, 5 * SEC, ttl), 0);
	/* a ttl beyond any representable age removes nothing either */
	assert_int_equal(flowtab_sweep(t, now, UINT64_MAX), 0);
	assert_int_equal(flowtab_count(t), n - 5);
	/* one ms later the entry of exactly ttl is stale */
	assert_int_equal(flowtab_sweep(t, now + MS, ttl), 1);
	assert_null(flowtab_lookup(t, 1000));
	flowtab_free(t);
}

/* The boot clock just past 49.7 days, where the ms count wraps. */
static void test_age_across_ms_wrap(void **state)
{
	struct flowtab *t = flowtab_new(0);
	const uint64_t wrap = WRAP_MS * MS, now = wrap + 5 * SEC;
	struct ct_event before = ev_for(1, 0), after = ev_for(2, 0);
	struct ct_event old = ev_for(3, 0);
	struct flow_entry *e;

	(void)state;
	e = flowtab_upsert(t, &before, wrap - 10 * SEC, 0, NULL);
	assert_non_null(e);
	assert_int_equal(e->start_ms, WRAP_MS - 10000);
	assert_int_equal(flowtab_age_ms(e, now), 15000);
	assert_int_equal(flowtab_start_ns(e, now), wrap - 10 * SEC);
	e = flowtab_upsert(t, &after, wrap + 1 * SEC, 0, NULL);
	assert_non_null(e);
	assert_int_equal(e->start_ms, 1000);
	assert_int_equal(flowtab_age_ms(e, now), 4000);
	assert_int_equal(flowtab_start_ns(e, now), wrap + 1 * SEC);
	/* ages past 2^31 ms (24.8 days) are ages too: 30 days */
	e = flowtab_upsert(t, &old, now - 30ull * 86400 * SEC, 0, NULL);
	assert_non_null(e);
	assert_int_equal(flowtab_age_ms(e, now), 30ull * 86400 * 1000);
	assert_int_equal(flowtab_start_ns(e, now), now - 30ull * 86400 * SEC);

	/* the entry from before the wrap is 15 s old, not 49.7 days */
	assert_int_equal(flowtab_sweep(t, now, 20 * SEC), 1);
	assert_null(flowtab_lookup(t, 3));
	assert_int_equal(flowtab_sweep(t, now, 15 * SEC), 0);
	assert_int_equal(flowtab_sweep(t, now, 15 * SEC - 1), 1);
	assert_null(flowtab_lookup(t, 1));
	assert_non_null(flowtab_lookup(t, 2));
	/* several wraps later the age is still the whole age */
	assert_int_equal(flowtab_age_ms(flowtab_lookup(t, 2),
					5 * wrap + 1 * SEC + 7 * MS),
			 4 * WRAP_MS + 7);
	flowtab_free(t);
}

/* A kernel stamp slightly after our clock reading: age 0, start = now. */
static void test_start_after_now(void **state)
{
	struct flowtab *t = flowtab_new(0);
	const uint64_t wrap = WRAP_MS * MS;
	struct ct_event a = ev_for(1, 0), b = ev_for(2, 0), c = ev_for(3, 0);
	struct flow_entry *e;
	uint64_t now = 1000 * SEC + 123456;

	(void)state;
	e = flowtab_upsert(t, &a, now + 500 * MS, 0, NULL);
	assert_non_null(e);
	assert_int_equal(flowtab_age_ms(e, now), 0);
	assert_int_equal(flowtab_start_ns(e, now), now);
	/* once now passes it, it ages normally */
	assert_int_equal(flowtab_age_ms(e, now + 2 * SEC), 1500);
	assert_int_equal(flowtab_start_ns(e, now + 2 * SEC), 1000 * SEC + 500 * MS);
	/* kept by a sweep however short the ttl */
	assert_int_equal(flowtab_sweep(t, now, 1 * MS), 0);
	assert_non_null(flowtab_lookup(t, 1));

	/* the same just before the wrap, with the start just after it */
	now = wrap - 100 * MS;
	e = flowtab_upsert(t, &b, wrap + 200 * MS, 0, NULL);
	assert_non_null(e);
	assert_int_equal(e->start_ms, 200);
	assert_int_equal(flowtab_age_ms(e, now), 0);
	assert_int_equal(flowtab_start_ns(e, now), now);
	assert_int_equal(flowtab_age_ms(e, wrap + 1 * SEC), 800);

	/* a start far after now is after now, not an old start wrapped */
	now = 5 * SEC;
	e = flowtab_upsert(t, &c, wrap - 1 * SEC, 0, NULL);
	assert_non_null(e);
	assert_int_equal(flowtab_age_ms(e, now), 0);
	assert_int_equal(flowtab_start_ns(e, now), now);
	flowtab_free(t);
}

/* A resync keeps what the dump listed and drops the rest. */
static void test_resync_removes_unlisted(void **state)
{
	struct flowtab *t = flowtab_new(0);
	struct flow_entry *e;
	struct ct_event ev;
	uint32_t i;

	(void)state;
	for (i = 0; i < 5000; i++) {
		ev = ev_for(scatter(i), 0);
		assert_non_null(flowtab_upsert(t, &ev, SEC, FLOW_F_SEEN, NULL));
	}
	flowtab_clear_flag(t, FLOW_F_SEEN);
	/* the "dump" lists the even ones again, and one new entry */
	for (i = 0; i < 5000; i += 2) {
		ev = ev_for(scatter(i), 0);
		e = flowtab_upsert(t, &ev, 2 * SEC, 0, NULL);
		assert_non_null(e);
		assert_int_equal(e->start_ms, 1000);	/* kept */
		e->flags |= FLOW_F_SEEN;
	}
	ev = ev_for(scatter(9999), 0);
	e = flowtab_upsert(t, &ev, 2 * SEC, FLOW_F_SEEN, NULL);
	assert_non_null(e);
	assert_int_equal(flowtab_remove_unflagged(t, FLOW_F_SEEN), 2500);
	assert_int_equal(flowtab_count(t), 2501);
	for (i = 0; i < 5000; i++) {
		if (i % 2)
			assert_null(flowtab_lookup(t, scatter(i)));
		else
			assert_entry(flowtab_lookup(t, scatter(i)), scatter(i), 0);
	}
	assert_non_null(flowtab_lookup(t, scatter(9999)));
	assert_int_equal(flowtab_remove_unflagged(t, FLOW_F_SEEN), 0);
	flowtab_free(t);
}

static void test_sweep_large_and_shrink(void **state)
{
	struct flowtab *t = flowtab_new(0);
	size_t full, after;
	struct ct_event ev;
	uint32_t i;

	(void)state;
	for (i = 0; i < 50000; i++) {
		ev = ev_for(scatter(i), i);
		/* every third entry is old */
		assert_non_null(flowtab_upsert(t, &ev,
					       (i % 3 == 0) ? 1 * SEC
							    : 500 * SEC,
					       0, NULL));
	}
	full = flowtab_memory(t);
	assert_int_equal(flowtab_sweep(t, 600 * SEC, 200 * SEC), 16667);
	assert_int_equal(flowtab_count(t), 50000 - 16667);
	for (i = 0; i < 50000; i++) {
		if (i % 3 == 0)
			assert_null(flowtab_lookup(t, scatter(i)));
		else
			assert_entry(flowtab_lookup(t, scatter(i)),
				     scatter(i), i);
	}
	assert_int_equal(flowtab_sweep(t, 10000 * SEC, 200 * SEC),
			 50000 - 16667);
	assert_int_equal(flowtab_count(t), 0);
	after = flowtab_memory(t);
	print_message("memory: %zu bytes full, %zu after sweeping all\n",
		      full, after);
	assert_true(after < full / 10);
	/* still usable after shrinking */
	ev = ev_for(5, 5);
	assert_non_null(flowtab_upsert(t, &ev, 1, 0, NULL));
	assert_entry(flowtab_lookup(t, 5), 5, 5);
	flowtab_free(t);
}

static void test_growth_and_memory(void **state)
{
	struct flowtab *t = flowtab_new(0);
	struct flow_entry *first;
	struct ct_event ev;
	double per_entry;
	bool created;
	uint32_t i;

	(void)state;
	ev = ev_for(scatter(0), 0);
	first = flowtab_upsert(t, &ev, 0, 0, &created);
	assert_non_null(first);
	for (i = 1; i < BIG; i++) {
		ev = ev_for(scatter(i), i);
		assert_non_null(flowtab_upsert(t, &ev, i * MS, 0, &created));
		assert_true(created);
	}
	assert_int_equal(flowtab_count(t), BIG);
	for (i = 0; i < BIG; i++) {
		struct flow_entry *e = flowtab_lookup(t, scatter(i));

		assert_entry(e, scatter(i), i);
		assert_int_equal(e->start_ms, i);
	}
	/* growth never moves an entry */
	assert_ptr_equal(flowtab_lookup(t, scatter(0)), first);
	for (i = BIG; i < BIG + 1000; i++)
		assert_null(flowtab_lookup(t, scatter(i)));
	per_entry = (double)flowtab_memory(t) / BIG;
	print_message("flowtab: %zu bytes for %u entries = %.1f bytes/entry "
		      "(sizeof entry %zu)\n", flowtab_memory(t), BIG,
		      per_entry, sizeof(struct flow_entry));
	/* 100000 entries exceed 3/4 of 131072 slots, so the index has 262144:
	 * 44 + 8 * 262144 / 100000 = 65.0 bytes, plus the last chunk's slack */
	assert_int_equal(sizeof(struct flow_entry), 44);
	assert_true(per_entry < 66.0);
	assert_true(flowtab_memory(t) >= BIG * sizeof(struct flow_entry));
	flowtab_free(t);
}

/* Prefetching changes nothing: present and absent ids, an empty table. */
static void test_prefetch_changes_nothing(void **state)
{
	struct flowtab *t = flowtab_new(0);
	uint32_t ids[40];
	struct ct_event ev;
	unsigned i;

	(void)state;
	for (i = 0; i < 40; i++)
		ids[i] = scatter(i);
	flowtab_prefetch(t, ids, 40);
	assert_int_equal(flowtab_count(t), 0);
	for (i = 0; i < 20; i++) {
		ev = ev_for(scatter(i), i);
		assert_non_null(flowtab_upsert(t, &ev, i * MS, 0, NULL));
	}
	flowtab_prefetch(t, ids, 40);
	assert_int_equal(flowtab_count(t), 20);
	for (i = 0; i < 40; i++) {
		if (i < 20)
			assert_entry(flowtab_lookup(t, scatter(i)), scatter(i), i);
		else
			assert_null(flowtab_lookup(t, scatter(i)));
	}
	flowtab_free(t);
}

static void test_remove_half_rest_found(void **state)
{
	struct flowtab *t = flowtab_new(0);
	struct flow_entry out;
	struct ct_event ev;
	uint32_t i;

	(void)state;
	for (i = 0; i < BIG; i++) {
		ev = ev_for(scatter(i), i);
		assert_non_null(flowtab_upsert(t, &ev, i * MS, 0, NULL));
	}
	for (i = 1; i < BIG; i += 2) {
		assert_true(flowtab_remove(t, scatter(i), &out, NULL));
		assert_entry(&out, scatter(i), i);
		assert_int_equal(out.start_ms, i);
	}
	assert_int_equal(flowtab_count(t), BIG / 2);
	for (i = 0; i < BIG; i++) {
		struct flow_entry *e = flowtab_lookup(t, scatter(i));

		if (i % 2) {
			assert_null(e);
		} else {
			assert_entry(e, scatter(i), i);
			assert_int_equal(e->start_ms, i);
		}
	}
	/* then the other half */
	for (i = 0; i < BIG; i += 2)
		assert_true(flowtab_remove(t, scatter(i), NULL, NULL));
	assert_int_equal(flowtab_count(t), 0);
	for (i = 0; i < BIG; i += 997)
		assert_null(flowtab_lookup(t, scatter(i)));
	flowtab_free(t);
}

/* Counts visits per id for the foreach test. */
struct visits {
	uint8_t *seen;
	uint32_t n;
	uint32_t calls;
};

/* Records one visit of an entry. */
static void visit(const struct flow_entry *e, void *arg)
{
	struct visits *v = arg;

	v->calls++;
	if (e->id < v->n)
		v->seen[e->id]++;
}

static void test_foreach_visits_each_once(void **state)
{
	struct flowtab *t = flowtab_new(0);
	struct visits v;
	struct ct_event ev;
	uint32_t i;

	(void)state;
	v.n = 5000;
	v.calls = 0;
	v.seen = calloc(v.n, 1);
	assert_non_null(v.seen);
	for (i = 0; i < v.n; i++) {
		ev = ev_for(i, 0);
		assert_non_null(flowtab_upsert(t, &ev, 0, 0, NULL));
	}
	for (i = 0; i < v.n; i += 3)
		assert_true(flowtab_remove(t, i, NULL, NULL));
	flowtab_foreach(t, visit, &v);
	assert_int_equal(v.calls, flowtab_count(t));
	for (i = 0; i < v.n; i++)
		assert_int_equal(v.seen[i], (i % 3) ? 1 : 0);
	free(v.seen);
	flowtab_free(t);
}

static void test_next_resumable(void **state)
{
	struct flowtab *t = flowtab_new(0);
	const struct flow_entry *e;
	uint8_t seen[3000];
	struct ct_event ev;
	size_t cursor = 0, calls = 0;
	uint32_t i;

	(void)state;
	assert_null(flowtab_next(t, &cursor));
	assert_int_equal(cursor, 0);
	for (i = 0; i < 3000; i++) {
		ev = ev_for(i, 0);
		assert_non_null(flowtab_upsert(t, &ev, 0, 0, NULL));
	}
	for (i = 0; i < 3000; i += 2)
		assert_true(flowtab_remove(t, i, NULL, NULL));
	memset(seen, 0, sizeof(seen));
	/* resume from a copy of the cursor, as a chunked dump would */
	for (;;) {
		size_t saved = cursor;

		e = flowtab_next(t, &saved);
		if (e == NULL)
			break;
		assert_true(saved > cursor);
		cursor = saved;
		assert_true(e->id < 3000);
		seen[e->id]++;
		calls++;
	}
	assert_int_equal(calls, 1500);
	for (i = 0; i < 3000; i++)
		assert_int_equal(seen[i], i % 2);
	/* the end stays the end */
	assert_null(flowtab_next(t, &cursor));
	assert_null(flowtab_next(t, &cursor));
	flowtab_free(t);
}

/* Small deterministic generator for the model test. */
static uint32_t next_rand(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static void test_against_model(void **state)
{
	/* random upserts and removes over a small id range, checked against
	 * a plain array after every step */
	enum { IDS = 3000, STEPS = 200000 };
	struct flowtab *t = flowtab_new(0);
	int32_t *gen = malloc(IDS * sizeof(*gen));	/* -1: absent */
	uint32_t s = 0x12345678u, step, i, live = 0;

	(void)state;
	assert_non_null(gen);
	for (i = 0; i < IDS; i++)
		gen[i] = -1;
	for (step = 0; step < STEPS; step++) {
		uint32_t r = next_rand(&s), id = r % IDS;
		bool created;

		if ((r >> 16) % 8 < 5) {
			uint32_t g = (r >> 20) % 3;
			struct ct_event ev = ev_for(id, g);

			assert_non_null(flowtab_upsert(t, &ev, step, 0,
						       &created));
			assert_int_equal(created, gen[id] != (int32_t)g);
			if (gen[id] < 0)
				live++;
			gen[id] = (int32_t)g;
		} else {
			assert_int_equal(flowtab_remove(t, id, NULL, NULL),
					 gen[id] >= 0);
			if (gen[id] >= 0)
				live--;
			gen[id] = -1;
		}
		assert_int_equal(flowtab_count(t), live);
		if (step % 1000 == 0) {
			for (i = 0; i < IDS; i++) {
				if (gen[i] < 0)
					assert_null(flowtab_lookup(t, i));
				else
					assert_entry(flowtab_lookup(t, i), i,
						     (uint32_t)gen[i]);
			}
		}
	}
	free(gen);
	flowtab_free(t);
}

static void test_sequential_ids_cluster(void **state)
{
	/* ids differing only in their high bits, and odd ids in a row (the two
	 * sets cannot meet: i << 16 is even) */
	struct flowtab *t = flowtab_new(0);
	struct ct_event ev;
	uint32_t i;

	(void)state;
	for (i = 0; i < 20000; i++) {
		ev = ev_for(i << 16, 0);
		assert_non_null(flowtab_upsert(t, &ev, 0, 0, NULL));
		ev = ev_for(0x80000001u + 2 * i, 0);
		assert_non_null(flowtab_upsert(t, &ev, 0, 0, NULL));
	}
	for (i = 0; i < 20000; i += 2)
		assert_true(flowtab_remove(t, i << 16, NULL, NULL));
	for (i = 0; i < 20000; i++) {
		if (i % 2)
			assert_entry(flowtab_lookup(t, i << 16), i << 16, 0);
		else
			assert_null(flowtab_lookup(t, i << 16));
		assert_entry(flowtab_lookup(t, 0x80000001u + 2 * i),
			     0x80000001u + 2 * i, 0);
	}
	assert_int_equal(flowtab_count(t), 30000);
	flowtab_free(t);
}

/* An IPv6 NEW event for id: addresses in 2001:db8::/32 derived from id
 * and gen, ports in the tuples. */
static struct ct_event ev6_for(uint32_t id, uint32_t gen)
{
	struct ct_event ev = ev_for(id, gen);
	static const uint8_t prefix[4] = { 0x20, 0x01, 0x0d, 0xb8 };

	ev.family = AF_INET6;
	ev.orig.src = ev.orig.dst = ev.reply.src = ev.reply.dst = 0;
	memcpy(ev.orig6.src, prefix, 4);
	memcpy(ev.orig6.src + 12, &id, 4);
	memcpy(ev.orig6.dst, prefix, 4);
	memcpy(ev.orig6.dst + 12, &gen, 4);
	memcpy(ev.reply6.src, ev.orig6.dst, 16);
	memcpy(ev.reply6.dst, prefix, 4);
	ev.reply6.dst[15] = 1;
	return ev;
}

/* IPv6 entries keep their addresses in a side record; a different IPv6
 * address under the same id is a reused id; export states come and go
 * with their entries. Many entries, removed in scattered order, exercise
 * the side tables' growth and backward-shift deletion. */
static void test_side_records(void **state)
{
	struct flowtab *t = flowtab_new(0);
	struct ct_event ev = ev6_for(7, 0), other = ev6_for(7, 1);
	struct flow_entry *e;
	struct flow_active *a, got;
	bool created;
	uint32_t i;

	(void)state;
	e = flowtab_upsert(t, &ev, 5 * SEC, 0, &created);
	assert_non_null(e);
	assert_true(created);
	assert_true(e->flags & FLOW_F_INET6);
	assert_true(flowtab_same_conn(t, e, &ev));
	assert_false(flowtab_same_conn(t, e, &other));
	assert_memory_equal(flowtab_addr6(t, e), &ev.orig6, sizeof(ev.orig6));
	assert_null(flowtab_active(t, e));
	/* an IPv4 event never matches an IPv6 entry, and the reverse */
	other = ev_for(7, 0);
	assert_false(flowtab_same_conn(t, e, &other));
	a = flowtab_active_get(t, e);
	assert_non_null(a);
	a->exports = 3;
	assert_int_equal(flowtab_side_count(t), 2);
	/* reuse: same id, other addresses: fresh entry, no export state */
	other = ev6_for(7, 1);
	e = flowtab_upsert(t, &other, 9 * SEC, 0, &created);
	assert_true(created);
	assert_null(flowtab_active(t, e));
	assert_memory_equal(&flowtab_addr6(t, e)->orig6, &other.orig6,
			    sizeof(other.orig6));
	assert_int_equal(flowtab_side_count(t), 1);
	assert_true(flowtab_remove(t, 7, NULL, &got));
	assert_int_equal(got.exports, 0);
	assert_int_equal(flowtab_side_count(t), 0);

	for (i = 0; i < 5000; i++) {
		struct ct_event v = (i % 2) ? ev6_for(scatter(i), i) : ev_for(scatter(i), i);

		e = flowtab_upsert(t, &v, SEC, 0, NULL);
		assert_non_null(e);
		if (i % 3 == 0) {
			a = flowtab_active_get(t, e);
			assert_non_null(a);
			a->exports = i;
		}
	}
	assert_int_equal(flowtab_side_count(t), 2500 + 1667);
	for (i = 0; i < 5000; i += 2) {
		uint32_t k = (i * 7919u) % 5000u;

		assert_true(flowtab_remove(t, scatter(k), NULL, &got));
		assert_int_equal(got.exports, k % 3 == 0 ? k : 0);
	}
	for (i = 0; i < 5000; i++) {
		struct ct_event v = (i % 2) ? ev6_for(scatter(i), i) : ev_for(scatter(i), i);
		const struct flow_entry *c = flowtab_lookup(t, scatter(i));
		const struct flow_active *ca;

		if (c == NULL)
			continue;
		assert_true(flowtab_same_conn(t, c, &v));
		ca = flowtab_active(t, c);
		if (i % 3 == 0) {
			assert_non_null(ca);
			assert_int_equal(ca->exports, i);
		} else {
			assert_null(ca);
		}
	}
	flowtab_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_side_records),
		cmocka_unit_test(test_insert_lookup_remove),
		cmocka_unit_test(test_empty_table),
		cmocka_unit_test(test_id_zero_and_max),
		cmocka_unit_test(test_refresh_keeps_start),
		cmocka_unit_test(test_id_reuse_replaces_start),
		cmocka_unit_test(test_id_reuse_counted),
		cmocka_unit_test(test_destroy_of_other_conn_keeps_entry),
		cmocka_unit_test(test_max_entries),
		cmocka_unit_test(test_sweep_removes_only_stale),
		cmocka_unit_test(test_age_across_ms_wrap),
		cmocka_unit_test(test_start_after_now),
		cmocka_unit_test(test_resync_removes_unlisted),
		cmocka_unit_test(test_sweep_large_and_shrink),
		cmocka_unit_test(test_growth_and_memory),
		cmocka_unit_test(test_prefetch_changes_nothing),
		cmocka_unit_test(test_remove_half_rest_found),
		cmocka_unit_test(test_foreach_visits_each_once),
		cmocka_unit_test(test_next_resumable),
		cmocka_unit_test(test_against_model),
		cmocka_unit_test(test_sequential_ids_cluster),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
