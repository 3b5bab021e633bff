/* The live table's cost per conntrack event at a steady size: the table
 * holds N live connections; each step a new connection arrives (its NEW:
 * flowtab_upsert) and the oldest one ends (its DESTROY:
 * flowtab_remove_conn, which compares the entry with the event and takes
 * its copy out, as the pipeline does). Connection ids look random, as the
 * kernel's do, so at 1,000,000 entries nearly every probe leaves the
 * caches. Reports nanoseconds per event (NEW or DESTROY), best of RUNS
 * passes, for each size. With -b the events come as the daemon reads
 * them, in batches of 32 (16 steps) whose ids go to flowtab_prefetch
 * first.
 *
 * usage: flowtab [-b] [STEPS] [RUNS] [SIZE...]   (default 2000000 3,
 *        sizes 1000 100000 1000000) */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nfflowd/clock.h"
#include "nfflowd/ctmsg.h"
#include "nfflowd/flowtab.h"
#include "nfflowd/types.h"

#include "ctgen.h"

/* The NEW event of connection i, parsed once as a template; each step
 * only changes what tells connections apart (id and ports). */
static struct ct_event template_ev;

static int make_template(void)
{
	static uint8_t msg[CTGEN_MSG_MAX] __attribute__((aligned(8)));
	struct ctgen_conn c;
	size_t len;

	ctgen_conn(1, 1700000000ull * 1000000000u, &c);
	len = ctgen_msg(msg, &c, false);
	return ctmsg_parse((const void *)msg, len, NULL, &template_ev) ==
	       CTMSG_OK ? 0 : -1;
}

/* A random-looking id for connection i (a bijection, so never repeated). */
static uint32_t conn_id(uint32_t i)
{
	return ctgen_hash32(i ^ 0x5bd1e995u);
}

static void conn_event(uint32_t i, struct ct_event *ev)
{
	*ev = template_ev;
	ev->id = conn_id(i);
	ev->orig.sport = (uint16_t)(1024 + i % 64000);
	ev->reply.dport = (uint16_t)(ev->orig.sport ^ 0x4000);
	ev->orig.src += i >> 16 & 0xff;
}

#define BATCH_STEPS 16

/* With batches: ids of the next batch's events (NEW of the arriving
 * connections, DESTROY of the leaving ones), handed to flowtab_prefetch. */
static bool batches;

static void prefetch_batch(struct flowtab *t, uint32_t n, uint32_t i,
			   uint32_t steps)
{
	uint32_t ids[2 * BATCH_STEPS], k, m = 0;

	for (k = i; k < i + BATCH_STEPS && k < steps; k++) {
		ids[m++] = conn_id(n + k);
		ids[m++] = conn_id(k);
	}
	flowtab_prefetch(t, ids, m);
}

/* One pass: fill to n, then steps NEW + DESTROY pairs. Returns the ns per
 * event of the steady part, or a negative value on a failure. */
static double pass(uint32_t n, uint32_t steps)
{
	struct flowtab *t = flowtab_new(0);
	struct ct_event ev;
	struct flow_entry out;
	uint64_t t0, boot = 5000000000000ull;
	uint32_t i;
	bool same;
	double ns;

	if (t == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		conn_event(i, &ev);
		if (flowtab_upsert(t, &ev, boot + i, 0, NULL) == NULL)
			return -1;
	}
	t0 = clock_ns(CLOCK_MONOTONIC);
	for (i = 0; i < steps; i++) {
		if (batches && i % BATCH_STEPS == 0)
			prefetch_batch(t, n, i, steps);
		conn_event(n + i, &ev);
		if (flowtab_upsert(t, &ev, boot + n + i, 0, NULL) == NULL)
			return -1;
		conn_event(i, &ev);
		ev.type = CT_EVENT_DESTROY;
		if (!flowtab_remove_conn(t, ev.id, &ev, &same, &out, NULL) ||
		    !same)
			return -1;
	}
	ns = (double)(clock_ns(CLOCK_MONOTONIC) - t0) / (2.0 * steps);
	if (flowtab_count(t) != n)
		ns = -1;
	flowtab_free(t);
	return ns;
}

int main(int argc, char **argv)
{
	static const uint32_t def_sizes[] = { 1000, 100000, 1000000 };
	uint32_t steps;
	int runs, r, s, nsizes;
	uint32_t sizes[16];

	if (argc > 1 && strcmp(argv[1], "-b") == 0) {
		batches = true;
		argv++;
		argc--;
	}
	steps = argc > 1 ? (uint32_t)strtoul(argv[1], NULL, 10) : 2000000;
	runs = argc > 2 ? atoi(argv[2]) : 3;

	if (steps == 0 || runs <= 0 || argc > 3 + 16) {
		fprintf(stderr, "usage: flowtab [-b] [STEPS] [RUNS] [SIZE...]\n");
		return 2;
	}
	nsizes = argc > 3 ? argc - 3 : 3;
	for (s = 0; s < nsizes; s++)
		sizes[s] = argc > 3 ? (uint32_t)strtoul(argv[3 + s], NULL, 10)
				    : def_sizes[s];
	if (make_template() < 0)
		return 1;
	for (s = 0; s < nsizes; s++) {
		double best = 0, all[64];

		for (r = 0; r < runs && r < 64; r++) {
			all[r] = pass(sizes[s], steps);
			if (all[r] < 0) {
				fprintf(stderr, "flowtab: pass failed at %" PRIu32 "\n",
					sizes[s]);
				return 1;
			}
			if (r == 0 || all[r] < best)
				best = all[r];
		}
		printf("entries=%" PRIu32 " steps=%" PRIu32 " batches=%s ns_per_event=%.1f runs=",
		       sizes[s], steps, batches ? "prefetched" : "no", best);
		for (r = 0; r < runs && r < 64; r++)
			printf("%s%.1f", r ? "," : "", all[r]);
		printf("\n");
	}
	return 0;
}
