/* Memory per live connection: replays NEW events (built as the kernel would
 * send them, parsed by ctmsg_parse) into the live table and reports, at
 * checkpoints, the process's RSS growth and flowtab_memory() per entry, and
 * how long the load took.
 *
 * usage: memory [ENTRIES]   (default 1000000) */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "nfflowd/clock.h"
#include "nfflowd/ctmsg.h"
#include "nfflowd/flowtab.h"
#include "nfflowd/types.h"

#include "alloccount.h"
#include "ctgen.h"

/* Resident set size in bytes, from /proc/self/statm. */
static uint64_t rss_bytes(void)
{
	unsigned long size = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (!f)
		return 0;
	if (fscanf(f, "%lu %lu", &size, &resident) != 2)
		resident = 0;
	fclose(f);
	return (uint64_t)resident * (uint64_t)sysconf(_SC_PAGESIZE);
}

/* Builds and parses the NEW event of connection i into ev. */
static int next_event(uint32_t i, struct ct_event *ev)
{
	static uint8_t msg[CTGEN_MSG_MAX] __attribute__((aligned(8)));
	struct ctgen_conn c;
	size_t len;

	ctgen_conn(i, 1700000000ull * 1000000000u, &c);
	len = ctgen_msg(msg, &c, false);
	return ctmsg_parse((const void *)msg, len, NULL, ev) == CTMSG_OK ? 0 : -1;
}

int main(int argc, char **argv)
{
	uint32_t n = argc > 1 ? (uint32_t)strtoul(argv[1], NULL, 10) : 1000000;
	uint32_t i, next_cp = n / 4 ? n / 4 : n;
	struct flowtab *t;
	struct ct_event ev;
	uint64_t rss0, t0, tgen, a0, boot = 5000000000000ull;

	if (n == 0 || n > 50000000) {
		fprintf(stderr, "usage: memory [ENTRIES]\n");
		return 2;
	}
	/* The cost of building and parsing the messages alone, to subtract. */
	t0 = clock_ns(CLOCK_MONOTONIC);
	for (i = 0; i < n; i++)
		if (next_event(i, &ev) < 0)
			return 1;
	tgen = clock_ns(CLOCK_MONOTONIC) - t0;

	t = flowtab_new(0);
	rss0 = rss_bytes();
	a0 = alloccount_get();
	t0 = clock_ns(CLOCK_MONOTONIC);
	for (i = 0; i < n; i++) {
		if (next_event(i, &ev) < 0 ||
		    !flowtab_upsert(t, &ev, boot + i, FLOW_F_SEEN, NULL))
			return 1;
		if (i + 1 == next_cp || i + 1 == n) {
			uint64_t el = clock_ns(CLOCK_MONOTONIC) - t0, rss = rss_bytes() - rss0;

			printf("entries=%" PRIu32 " rss_growth=%" PRIu64
			       " rss_bytes_per_entry=%.1f flowtab_memory=%zu"
			       " flowtab_bytes_per_entry=%.1f load_s=%.3f"
			       " table_ns_per_entry=%.0f allocs=%" PRIu64 "\n",
			       i + 1, rss, (double)rss / (i + 1),
			       flowtab_memory(t),
			       (double)flowtab_memory(t) / (i + 1),
			       (double)el / 1e9,
			       ((double)el - (double)tgen * (i + 1) / n) / (i + 1),
			       alloccount_get() - a0);
			next_cp += n / 4 ? n / 4 : n;
		}
	}
	printf("build_and_parse_s=%.3f count=%zu\n", (double)tgen / 1e9,
	       flowtab_count(t));
	flowtab_free(t);
	return 0;
}
