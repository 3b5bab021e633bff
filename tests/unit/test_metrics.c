/* The Prometheus text of the counters: every family with its HELP and
 * TYPE, every sample well formed, labels escaped, nothing cut short. */
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "nfflowd/metrics.h"

static struct state_counters sample_counters(void)
{
	struct state_counters c;

	memset(&c, 0, sizeof(c));
	c.events_new = 11;
	c.events_destroy = 10;
	c.records = 30;
	c.live = 7;
	c.reloads_ok = 2;
	c.reloads_failed = 1;
	c.syslog_queued = 5;
	c.ttl_alive = 3;
	c.checkpoints = 4;
	c.lost_entries = 18446744073709551615ull;
	return c;
}

static size_t format_sample(char *buf, size_t len, struct metrics_collector *col)
{
	static struct state_counters c;
	struct metrics_input in;

	c = sample_counters();
	memset(col, 0, 2 * sizeof(*col));
	snprintf(col[0].address, sizeof(col[0].address), "198.51.100.5:2055");
	col[0].protocol = "netflow_v5";
	col[0].records = 20;
	col[0].datagrams = 2;
	snprintf(col[1].address, sizeof(col[1].address), "[2001:db8::\"5\\]:4739");
	col[1].protocol = "ipfix";
	col[1].records = 10;
	col[1].templates = 1;
	in.c = &c;
	in.col = col;
	in.ncol = 2;
	in.conntrack_count = 42;
	in.conntrack_max = 262144;
	in.start_time_s = 1700000000;
	return metrics_format(buf, len, &in);
}

/* Every line is a HELP, a TYPE or a sample of the family last typed. */
static void test_well_formed(void **state)
{
	struct metrics_collector col[2];
	char buf[METRICS_TEXT_MAX], family[128] = "";
	regex_t sample;
	char *line, *save = NULL;
	size_t n;
	unsigned samples = 0;

	(void)state;
	n = format_sample(buf, sizeof(buf), col);
	assert_true(n > 0);
	assert_int_equal(strlen(buf), n);
	assert_int_equal(buf[n - 1], '\n');
	assert_int_equal(regcomp(&sample,
		"^(nfflowd_[a-z0-9_]+)(\\{([a-z_]+=\"([^\"\\\\]|\\\\.)*\",?)+\\})? [0-9]+$",
		REG_EXTENDED), 0);
	for (line = strtok_r(buf, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		regmatch_t m[2];

		if (strncmp(line, "# HELP nfflowd_", 15) == 0)
			continue;
		if (strncmp(line, "# TYPE ", 7) == 0) {
			assert_true(sscanf(line, "# TYPE %127s", family) == 1);
			assert_true(strstr(line, " counter") != NULL ||
				    strstr(line, " gauge") != NULL);
			if (strstr(line, " counter") != NULL)
				assert_non_null(strstr(family, "_total"));
			continue;
		}
		if (regexec(&sample, line, 2, m, 0) != 0)
			fail_msg("not a sample line: %s", line);
		assert_int_equal((size_t)(m[1].rm_eo - m[1].rm_so), strlen(family));
		assert_memory_equal(line + m[1].rm_so, family, strlen(family));
		samples++;
	}
	regfree(&sample);
	assert_true(samples >= 30);
}

/* The values and labels a dashboard reads. */
static void test_values_and_labels(void **state)
{
	struct metrics_collector col[2];
	char buf[METRICS_TEXT_MAX];

	(void)state;
	assert_true(format_sample(buf, sizeof(buf), col) > 0);
	assert_non_null(strstr(buf, "\nnfflowd_records_exported_total{collector=\"198.51.100.5:2055\",protocol=\"netflow_v5\"} 20\n"));
	assert_non_null(strstr(buf, "\nnfflowd_records_exported_total{collector=\"[2001:db8::\\\"5\\\\]:4739\",protocol=\"ipfix\"} 10\n"));
	assert_non_null(strstr(buf, "\nnfflowd_template_datagrams_total{collector=\"198.51.100.5:2055\",protocol=\"netflow_v5\"} 0\n"));
	assert_non_null(strstr(buf, "\n# TYPE nfflowd_live_connections gauge\nnfflowd_live_connections 7\n"));
	assert_non_null(strstr(buf, "\nnfflowd_conntrack_events_total{type=\"new\"} 11\n"));
	assert_non_null(strstr(buf, "\nnfflowd_reloads_total{result=\"failed\"} 1\n"));
	assert_non_null(strstr(buf, "\nnfflowd_syslog_lines_queued 5\n"));
	assert_non_null(strstr(buf, "\nnfflowd_lost_connections_total 18446744073709551615\n"));
	assert_non_null(strstr(buf, "\nnfflowd_conntrack_table_entries 42\n"));
	assert_non_null(strstr(buf, "\nnfflowd_conntrack_table_limit 262144\n"));
	assert_non_null(strstr(buf, "\nnfflowd_start_time_seconds 1700000000\n"));
}

/* A buffer too small gives 0, never a text cut short; an unknown table
 * size is left out. */
static void test_short_buffer_and_unknown(void **state)
{
	struct metrics_collector col[2];
	char buf[METRICS_TEXT_MAX];
	size_t n = format_sample(buf, sizeof(buf), col), len;
	struct state_counters c = sample_counters();
	struct metrics_input in = { &c, NULL, 0, -1, -1, 0 };

	(void)state;
	for (len = 1; len <= n; len += 97)
		assert_int_equal(format_sample(buf, len, col), 0);
	assert_int_equal(format_sample(buf, n + 1, col), n);
	n = metrics_format(buf, sizeof(buf), &in);
	assert_true(n > 0);
	assert_null(strstr(buf, "nfflowd_conntrack_table"));
	assert_non_null(strstr(buf, "# TYPE nfflowd_records_exported_total counter\n# HELP"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_well_formed),
		cmocka_unit_test(test_values_and_labels),
		cmocka_unit_test(test_short_buffer_and_unknown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
