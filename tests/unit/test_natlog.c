/* The syslog side of natlog against real sockets in a temporary
 * directory: framing byte for byte, batches, a full socket that drains, a
 * backlog that overflows, an absent or restarted syslog daemon, a stream
 * socket, and the drain at stop. */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <event2/event.h>

#include "nfflowd/clock.h"
#include "nfflowd/config.h"
#include "nfflowd/csvline.h"
#include "nfflowd/logq.h"
#include "nfflowd/natlog.h"

#define SECS 1700000000u

struct fixture {
	char dir[64];
	char path[108];
	int rx;			/* the syslog daemon's socket */
	struct event_base *base;
	struct natlog *n;
	struct config cfg;
};

static uint64_t mono_ms(void)
{
	return clock_ns(CLOCK_MONOTONIC) / 1000000u;
}

/* Binds the receiving socket at f->path. */
static int bind_rx(struct fixture *f, int type)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	strcpy(sa.sun_path, f->path);
	unlink(f->path);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	if (type == SOCK_STREAM)
		assert_int_equal(listen(fd, 4), 0);
	return fd;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char err[CONFIG_ERR_MAX];
	char json[400];

	assert_non_null(f);
	strcpy(f->dir, "/tmp/nfflowd-natlog-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/log.sock", f->dir);
	snprintf(json, sizeof(json),
		 "{\"source\": \"192.0.2.1\", \"collector\": \"198.51.100.5\", "
		 "\"port\": 2055, \"syslog\": {\"facility\": \"local3\", "
		 "\"priority\": \"notice\", \"ident\": \"natrec\", "
		 "\"socket\": \"%s\", \"backlog\": 100000}}", f->path);
	assert_int_equal(config_parse(json, strlen(json), "test", &f->cfg, err,
				      sizeof(err)), 0);
	f->rx = -1;
	f->base = event_base_new();
	assert_non_null(f->base);
	f->n = natlog_new(f->base);
	assert_non_null(f->n);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	natlog_free(f->n);
	event_base_free(f->base);
	if (f->rx >= 0)
		close(f->rx);
	unlink(f->path);
	rmdir(f->dir);
	free(f);
	return 0;
}

/* Record i: its packet count carries i, so order can be checked. */
static struct flow_record record(uint32_t i)
{
	struct flow_record r;

	memset(&r, 0, sizeof(r));
	r.src = 0xC0000202u;
	r.dst = 0xC6336402u;
	r.packets = i;
	r.octets = 60 * i;
	r.sport = 40000;
	r.dport = 80;
	r.proto = 6;
	return r;
}

static struct nf5_header header(void)
{
	struct nf5_header h;

	memset(&h, 0, sizeof(h));
	h.unix_secs = SECS;
	h.unix_nsecs = 5;
	h.sysuptime_ms = 1000;
	return h;
}

/* The message syslog should get for record i (without LF). */
static size_t expected(char *out, size_t len, uint32_t i)
{
	struct nf5_header h = header();
	struct flow_record r = record(i);
	time_t t = SECS;
	struct tm tm;
	size_t hl;

	gmtime_r(&t, &tm);	/* TZ=UTC in main */
	hl = logq_header(out, len, LOG_LOCAL3 | LOG_NOTICE, &tm, "natrec",
			 (long)getpid());
	return hl + csvline_format(out + hl, len - hl, &h, "192.0.2.1", &r);
}

/* Hands records first..first+count-1 to natlog, 30 per call as a v5
 * exporter does. */
static void emit(struct natlog *n, uint32_t first, uint32_t count)
{
	struct nf5_header h = header();
	struct flow_record recs[30];

	while (count > 0) {
		uint32_t k = count < 30 ? count : 30, i;

		for (i = 0; i < k; i++)
			recs[i] = record(first + i);
		natlog_datagram(n, &h, recs, k);
		first += k;
		count -= k;
	}
}

/* One loop turn without waiting. */
static void turn(struct fixture *f)
{
	event_base_loop(f->base, EVLOOP_NONBLOCK);
}

/* Reads datagrams for record next, next+1, ... until none comes for a
 * while, turning the loop in between; returns how many came, each
 * checked byte for byte. */
static uint32_t read_dgrams_for(struct fixture *f, uint32_t next,
				uint32_t want, unsigned ms)
{
	uint32_t got = 0;
	uint64_t end = mono_ms() + ms;

	while (got < want && mono_ms() < end) {
		char buf[600], exp[600];
		ssize_t r = recv(f->rx, buf, sizeof(buf), MSG_DONTWAIT);
		size_t el;

		if (r < 0) {
			struct timeval tv = { 0, 20000 };

			event_base_loopexit(f->base, &tv);
			event_base_loop(f->base, EVLOOP_ONCE);
			continue;
		}
		el = expected(exp, sizeof(exp), next + got);
		assert_int_equal((size_t)r, el);
		assert_memory_equal(buf, exp, el);
		got++;
	}
	return got;
}

/* The same, giving up after 5 s. */
static uint32_t read_dgrams(struct fixture *f, uint32_t next, uint32_t want)
{
	return read_dgrams_for(f, next, want, 5000);
}

static void test_framing_and_batch(void **state)
{
	struct fixture *f = *state;

	f->rx = bind_rx(f, SOCK_DGRAM);
	natlog_configure(f->n, &f->cfg);
	emit(f->n, 1, 3);
	/* Lines of one loop turn leave together, at its end. */
	assert_int_equal(natlog_queued(f->n), 3);
	turn(f);
	assert_int_equal(natlog_queued(f->n), 0);
	assert_int_equal(read_dgrams(f, 1, 3), 3);
	assert_int_equal(natlog_stats(f->n)->sent, 3);
	assert_int_equal(natlog_stats(f->n)->dropped, 0);
}

/* More lines than the socket holds: they wait, then all arrive in order. */
static void test_full_socket_drains(void **state)
{
	struct fixture *f = *state;

	f->rx = bind_rx(f, SOCK_DGRAM);
	natlog_configure(f->n, &f->cfg);
	emit(f->n, 1, 3000);
	turn(f);
	assert_true(natlog_queued(f->n) > 0);	/* the socket was full */
	assert_int_equal(read_dgrams(f, 1, 3000), 3000);
	assert_int_equal(natlog_queued(f->n), 0);
	assert_int_equal(natlog_stats(f->n)->sent, 3000);
	assert_int_equal(natlog_stats(f->n)->dropped, 0);
}

/* Beyond the backlog lines are dropped and counted; the rest arrives. */
static void test_backlog_overflow_counted(void **state)
{
	struct fixture *f = *state;
	const struct natlog_stats *st;
	uint64_t sent_before, queued_before;

	f->cfg.syslog_backlog = 100;
	f->rx = bind_rx(f, SOCK_DGRAM);
	natlog_configure(f->n, &f->cfg);
	emit(f->n, 1, 3000);
	turn(f);
	st = natlog_stats(f->n);
	assert_true(st->dropped > 0);
	assert_true(natlog_queued(f->n) <= 100);
	assert_int_equal(st->sent + natlog_queued(f->n) + st->dropped, 3000);
	sent_before = st->sent;
	queued_before = natlog_queued(f->n);
	/* The first lines, sent or waiting, arrive in order; the socket took
	 * some, and the 100 of the backlog were full before the loop turned. */
	assert_true(sent_before > 0);
	assert_int_equal(sent_before + queued_before, 100);
	assert_int_equal(read_dgrams_for(f, 1, 3000, 500), 100);
	assert_int_equal(natlog_stats(f->n)->sent + natlog_stats(f->n)->dropped, 3000);
}

/* No socket yet: lines wait and arrive once it exists (retry each 1 s). */
static void test_absent_then_present(void **state)
{
	struct fixture *f = *state;

	natlog_configure(f->n, &f->cfg);
	emit(f->n, 1, 20);
	turn(f);
	assert_int_equal(natlog_queued(f->n), 20);
	assert_true(natlog_stats(f->n)->errors >= 1);
	f->rx = bind_rx(f, SOCK_DGRAM);
	assert_int_equal(read_dgrams(f, 1, 20), 20);
	assert_int_equal(natlog_stats(f->n)->dropped, 0);
}

/* A restarted syslog daemon has a new socket at the same path. */
static void test_restarted_daemon(void **state)
{
	struct fixture *f = *state;

	f->rx = bind_rx(f, SOCK_DGRAM);
	natlog_configure(f->n, &f->cfg);
	emit(f->n, 1, 5);
	turn(f);
	assert_int_equal(read_dgrams(f, 1, 5), 5);
	close(f->rx);
	f->rx = bind_rx(f, SOCK_DGRAM);
	emit(f->n, 6, 5);
	turn(f);
	assert_int_equal(read_dgrams(f, 6, 5), 5);
	assert_int_equal(natlog_stats(f->n)->sent, 10);
	assert_true(natlog_stats(f->n)->errors >= 1);
}

/* A stream socket: LF-framed lines, many per write, none cut or lost even
 * when writes stop short. */
static void test_stream_socket(void **state)
{
	struct fixture *f = *state;
	const uint32_t total = 40000;	/* ~7 MB: more than the buffers */
	size_t cap = 16u << 20, have = 0, off = 0;
	char *all = malloc(cap);
	uint64_t end = mono_ms() + 20000;
	uint32_t i;
	int c = -1;

	assert_non_null(all);
	f->rx = bind_rx(f, SOCK_STREAM);
	natlog_configure(f->n, &f->cfg);
	emit(f->n, 1, total);
	turn(f);
	assert_true(natlog_queued(f->n) > 0);	/* the stream was full */
	c = accept(f->rx, NULL, NULL);
	assert_true(c >= 0);
	/* Read until nothing waits in natlog and the stream stays quiet. */
	while (mono_ms() < end) {
		ssize_t r = recv(c, all + have, cap - have, MSG_DONTWAIT);

		if (r > 0) {
			have += (size_t)r;
			continue;
		}
		turn(f);
		if (natlog_queued(f->n) == 0) {
			struct pollfd p = { c, POLLIN, 0 };

			if (poll(&p, 1, 300) == 0)
				break;
		}
	}
	assert_int_equal(natlog_queued(f->n), 0);
	assert_int_equal(natlog_stats(f->n)->sent, total);
	for (i = 1; i <= total; i++) {
		char exp[600];
		size_t el = expected(exp, sizeof(exp), i);

		assert_true(off + el + 1 <= have);
		assert_memory_equal(all + off, exp, el);
		assert_int_equal(all[off + el], '\n');
		off += el + 1;
	}
	assert_int_equal(off, have);
	close(c);
	free(all);
}

/* At stop what cannot leave in time is counted as dropped. */
static void test_drain_at_stop(void **state)
{
	struct fixture *f = *state;
	uint64_t t0;

	f->rx = bind_rx(f, SOCK_DGRAM);
	natlog_configure(f->n, &f->cfg);
	emit(f->n, 1, 2000);
	turn(f);
	assert_true(natlog_queued(f->n) > 0);
	t0 = mono_ms();
	natlog_drain(f->n, 200);	/* nobody reads */
	assert_true(mono_ms() - t0 < 1000);
	assert_int_equal(natlog_queued(f->n), 0);
	assert_int_equal(natlog_stats(f->n)->sent + natlog_stats(f->n)->dropped,
			 2000);
	assert_true(natlog_stats(f->n)->dropped > 0);
}

/* With syslog off nothing is queued or sent. */
static void test_disabled(void **state)
{
	struct fixture *f = *state;

	f->cfg.syslog_enabled = false;
	f->rx = bind_rx(f, SOCK_DGRAM);
	natlog_configure(f->n, &f->cfg);
	assert_false(natlog_enabled(f->n));
	emit(f->n, 1, 10);
	turn(f);
	assert_int_equal(natlog_queued(f->n), 0);
	assert_int_equal(natlog_stats(f->n)->sent, 0);
	assert_int_equal(read_dgrams_for(f, 1, 1, 300), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_framing_and_batch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_full_socket_drains, setup, teardown),
		cmocka_unit_test_setup_teardown(test_backlog_overflow_counted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_absent_then_present, setup, teardown),
		cmocka_unit_test_setup_teardown(test_restarted_daemon, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stream_socket, setup, teardown),
		cmocka_unit_test_setup_teardown(test_drain_at_stop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_disabled, setup, teardown),
	};

	setenv("TZ", "UTC", 1);
	tzset();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
