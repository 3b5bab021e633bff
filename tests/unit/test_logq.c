/* Unit tests for the syslog line queue: order, bound, chunk reuse, the
 * iovecs handed to sendmmsg, and the syslog(3) header. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "nfflowd/logq.h"

/* Message i of a test: "head-i:" then a body of i % 200 + 1 letters. */
static size_t make(unsigned i, char *head, char *body)
{
	size_t blen = i % 200 + 1;

	snprintf(head, 32, "<182>h-%u:", i);
	memset(body, 'a' + (int)(i % 26), blen);
	return blen;
}

/* True when iov holds message i exactly. */
static int holds(const struct iovec *iov, unsigned i)
{
	char head[32], body[256], want[300];
	size_t blen = make(i, head, body);
	size_t hlen = strlen(head);

	memcpy(want, head, hlen);
	memcpy(want + hlen, body, blen);
	return iov->iov_len == hlen + blen &&
	       memcmp(iov->iov_base, want, hlen + blen) == 0;
}

static void push(struct logq *q, unsigned i, int want)
{
	char head[32], body[256];
	size_t blen = make(i, head, body);

	assert_int_equal(logq_push(q, head, strlen(head), body, blen), want);
}

static void test_fifo_across_chunks(void **state)
{
	struct logq q;
	struct iovec iov[64];
	unsigned i, next = 0, n;

	(void)state;
	logq_init(&q, 100000);
	/* 5,000 messages of about 110 bytes: several chunks. */
	for (i = 0; i < 5000; i++)
		push(&q, i, 0);
	assert_int_equal(logq_count(&q), 5000);
	assert_true(q.chunks >= 8);
	while ((n = logq_peek(&q, iov, 64)) > 0) {
		unsigned k, take = n > 37 ? 37 : n;	/* a short send */

		for (k = 0; k < n; k++)
			assert_true(holds(&iov[k], next + k));
		logq_pop(&q, take);
		next += take;
	}
	assert_int_equal(next, 5000);
	assert_int_equal(logq_count(&q), 0);
	/* Emptied chunks are freed but for the one in use and the spares. */
	assert_true(q.chunks <= 1 + LOGQ_SPARE_CHUNKS);
	assert_int_equal(q.nspare, q.chunks - 1);
	logq_free(&q);
	assert_int_equal(logq_memory(&q), 0);
}

static void test_bound_and_set_max(void **state)
{
	struct logq q;
	struct iovec iov[4];

	(void)state;
	logq_init(&q, 3);
	push(&q, 1, 0);
	push(&q, 2, 0);
	push(&q, 3, 0);
	push(&q, 4, -1);	/* full: not appended */
	assert_int_equal(logq_count(&q), 3);
	logq_pop(&q, 1);
	push(&q, 5, 0);
	assert_int_equal(logq_peek(&q, iov, 4), 3);
	assert_true(holds(&iov[0], 2));
	assert_true(holds(&iov[1], 3));
	assert_true(holds(&iov[2], 5));
	/* A smaller bound keeps what waits, refuses more. */
	logq_set_max(&q, 1);
	push(&q, 6, -1);
	assert_int_equal(logq_count(&q), 3);
	logq_set_max(&q, 0);	/* taken as 1 */
	assert_int_equal(q.max, 1);
	logq_free(&q);
}

static void test_too_long_refused(void **state)
{
	struct logq q;
	static char big[LOGQ_MSG_MAX + 1];
	struct iovec iov[2];

	(void)state;
	memset(big, 'x', sizeof(big));
	logq_init(&q, 10);
	assert_int_equal(logq_push(&q, "", 0, big, LOGQ_MSG_MAX + 1), -1);
	assert_int_equal(logq_push(&q, "<1>", 3, big, LOGQ_MSG_MAX - 3), 0);
	assert_int_equal(logq_peek(&q, iov, 2), 1);
	assert_int_equal(iov[0].iov_len, LOGQ_MSG_MAX);
	logq_free(&q);
}

/* In steady state (each batch sent before the next) nothing is
 * allocated after the first chunk. */
static void test_steady_state_reuses_one_chunk(void **state)
{
	struct logq q;
	unsigned round, i;

	(void)state;
	logq_init(&q, 1000);
	for (round = 0; round < 10000; round++) {
		for (i = 0; i < 30; i++)
			push(&q, round * 30 + i, 0);
		logq_pop(&q, 30);
	}
	assert_int_equal(q.chunks, 1);
	assert_true(logq_memory(&q) >= LOGQ_CHUNK_BYTES &&
		    logq_memory(&q) < 2 * LOGQ_CHUNK_BYTES);
	logq_free(&q);
}

static void test_pop_more_than_count(void **state)
{
	struct logq q;

	(void)state;
	logq_init(&q, 10);
	push(&q, 1, 0);
	logq_pop(&q, 5);
	assert_int_equal(logq_count(&q), 0);
	push(&q, 2, 0);
	assert_int_equal(logq_count(&q), 1);
	logq_free(&q);
}

/* The header is what glibc's syslog(3) writes: day padded with a space. */
static void test_header_as_syslog3(void **state)
{
	struct tm tm;
	char buf[LOGQ_HEADER_MAX];

	(void)state;
	memset(&tm, 0, sizeof(tm));
	tm.tm_mon = 11;
	tm.tm_mday = 3;
	tm.tm_hour = 7;
	tm.tm_min = 5;
	tm.tm_sec = 9;
	assert_int_equal(logq_header(buf, sizeof(buf), 22 * 8 + 6, &tm,
				     "nfflowd", 4242),
			 strlen("<182>Dec  3 07:05:09 nfflowd[4242]: "));
	assert_string_equal(buf, "<182>Dec  3 07:05:09 nfflowd[4242]: ");
	tm.tm_mon = 0;
	tm.tm_mday = 28;
	tm.tm_hour = 23;
	assert_true(logq_header(buf, sizeof(buf), 0, &tm, "x", 1) > 0);
	assert_string_equal(buf, "<0>Jan 28 23:05:09 x[1]: ");
	/* Too small a buffer: nothing usable. */
	assert_int_equal(logq_header(buf, 10, 0, &tm, "x", 1), 0);
	assert_string_equal(buf, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fifo_across_chunks),
		cmocka_unit_test(test_bound_and_set_max),
		cmocka_unit_test(test_too_long_refused),
		cmocka_unit_test(test_steady_state_reuses_one_chunk),
		cmocka_unit_test(test_pop_more_than_count),
		cmocka_unit_test(test_header_as_syslog3),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
