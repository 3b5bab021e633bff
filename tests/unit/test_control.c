/* Tests for the control socket: the request parser, and a real server in a
 * forked child answering the --dump-state client over a UNIX socket in a
 * private temporary directory. Built with a short read timeout
 * (CONTROL_READ_TIMEOUT_MS) so that dropping a silent client is quick. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <setjmp.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <event2/event.h>
#include <jansson.h>

#include "nfflowd/control.h"
#include "nfflowd/dumpstate.h"

#define SEC 1000000000ull
#define NOW (20000 * SEC)

static char dir[64];
static char sock_path[128];

/* ---- the request parser ---- */

/* Parses a C string literal of known length (NULs included). */
#define PARSE(lit) control_parse_request(lit, sizeof(lit) - 1)

static void test_parse_valid(void **state)
{
	(void)state;
	assert_int_equal(PARSE("state"), CONTROL_REQ_STATE);
	assert_int_equal(PARSE("counters"), CONTROL_REQ_COUNTERS);
	assert_int_equal(PARSE("state\r"), CONTROL_REQ_STATE);
	assert_int_equal(PARSE("counters\r"), CONTROL_REQ_COUNTERS);
	assert_int_equal(PARSE("role active"), CONTROL_REQ_ROLE_ACTIVE);
	assert_int_equal(PARSE("role standby\r"), CONTROL_REQ_ROLE_STANDBY);
	assert_int_equal(PARSE("role auto"), CONTROL_REQ_ROLE_AUTO);
	assert_int_equal(PARSE("role"), CONTROL_REQ_INVALID);
	assert_int_equal(PARSE("role  active"), CONTROL_REQ_INVALID);
	assert_int_equal(PARSE("role master"), CONTROL_REQ_INVALID);
}

static void test_parse_invalid(void **state)
{
	(void)state;
	assert_int_equal(PARSE(""), CONTROL_REQ_INVALID);
	assert_int_equal(PARSE("\r"), CONTROL_REQ_INVALID);
	assert_int_equal(PARSE("stat"), CONTROL_REQ_INVALID);
	assert_int_equal(PARSE("states"), CONTROL_REQ_INVALID);
	assert_int_equal(PARSE("STATE"), CONTROL_REQ_INVALID);
	assert_int_equal(PARSE(" state"), CONTROL_REQ_INVALID);
	assert_int_equal(PARSE("state "), CONTROL_REQ_INVALID);
	assert_int_equal(PARSE("state\r\r"), CONTROL_REQ_INVALID);
	assert_int_equal(PARSE("state\n"), CONTROL_REQ_INVALID);
	assert_int_equal(PARSE("sta\0te"), CONTROL_REQ_INVALID);
	assert_int_equal(PARSE("state\0"), CONTROL_REQ_INVALID);
	assert_int_equal(PARSE("\0state"), CONTROL_REQ_INVALID);
	assert_int_equal(PARSE("counters state"), CONTROL_REQ_INVALID);
	assert_int_equal(PARSE("GET / HTTP/1.0"), CONTROL_REQ_INVALID);
	assert_int_equal(control_parse_request(NULL, 0), CONTROL_REQ_INVALID);
	/* Only the given length counts, not what follows in memory. */
	assert_int_equal(control_parse_request("statement", 5),
			 CONTROL_REQ_STATE);
	assert_int_equal(control_parse_request("state", 4),
			 CONTROL_REQ_INVALID);
}

static void test_parse_length_bound(void **state)
{
	char buf[CONTROL_REQUEST_MAX + 8];

	(void)state;
	/* A valid word padded to the limit is still too long to be valid. */
	memset(buf, 'a', sizeof(buf));
	assert_int_equal(control_parse_request(buf, CONTROL_REQUEST_MAX - 1),
			 CONTROL_REQ_INVALID);
	assert_int_equal(control_parse_request(buf, CONTROL_REQUEST_MAX),
			 CONTROL_REQ_INVALID);
	assert_int_equal(control_parse_request(buf, sizeof(buf)),
			 CONTROL_REQ_INVALID);
	memcpy(buf, "state", 5);
	assert_int_equal(control_parse_request(buf, CONTROL_REQUEST_MAX + 1),
			 CONTROL_REQ_INVALID);
}

/* ---- a real server in a child process ---- */

static struct flowtab *child_tab;
static pid_t server_pid;	/* the running server, for cleanup on failure */
static uint32_t churn_next_id;

/* An IPv4 address from its four bytes, host order. */
static uint32_t ip(unsigned a, unsigned b, unsigned c, unsigned d)
{
	return (uint32_t)a << 24 | (uint32_t)b << 16 | (uint32_t)c << 8 | d;
}

/* Adds entry number i (id i + 1): TCP SNAT, UDP untranslated (first seen in
 * a dump) and ICMP echo SNAT in turn, with distinct ports. */
static void add_entry(struct flowtab *t, uint32_t i)
{
	struct ct_event ev;
	uint16_t flags = 0;
	bool created;

	memset(&ev, 0, sizeof(ev));
	ev.type = CT_EVENT_NEW;
	ev.id = i + 1;
	ev.orig.src = ip(192, 0, 2, 1 + i % 250);
	ev.orig.dst = ip(198, 51, 100, 2);
	switch (i % 3) {
	case 0:
		ev.proto = 6;
		ev.tcp_state = 3;
		ev.orig.sport = (uint16_t)(1024 + i % 60000);
		ev.orig.dport = 80;
		ev.reply = (struct ct_tuple){ ev.orig.dst, ip(203, 0, 113, 1),
			80, (uint16_t)(20000 + i % 40000) };
		break;
	case 1:
		ev.proto = 17;
		ev.orig.sport = (uint16_t)(1024 + i % 60000);
		ev.orig.dport = 53;
		ev.reply = (struct ct_tuple){ ev.orig.dst, ev.orig.src, 53,
			ev.orig.sport };
		flags = 0x1;
		break;
	default:
		ev.proto = 1;
		ev.orig.sport = (uint16_t)i;
		ev.orig.dport = 0x0800;
		ev.reply = (struct ct_tuple){ ev.orig.dst, ip(203, 0, 113, 1),
			(uint16_t)i, 0 };
		break;
	}
	if (flowtab_upsert(t, &ev, NOW - (192 + i % 7) * SEC, flags,
			   &created) == NULL)
		_exit(5);
}

/* Set before start_server: the child adds the entries of add_other_protos
 * after its nentries ones. */
static bool child_other_protos;

/* Adds, from id first + 1 on, masqueraded entries of protocols other than
 * TCP, UDP and ICMP: GRE with keys (PPTP call ids) and without, ESP, SCTP,
 * and OSPF (89) without NAT. */
static void add_other_protos(struct flowtab *t, uint32_t first)
{
	static const struct {
		uint8_t proto;
		uint16_t sport, dport;
		bool nat;
	} v[] = {
		{ 47, 42, 4660, true }, { 47, 0, 0, true }, { 50, 0, 0, true },
		{ 132, 40000, 5060, true }, { 89, 0, 0, false },
	};
	struct ct_event ev;
	bool created;
	size_t i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		memset(&ev, 0, sizeof(ev));
		ev.type = CT_EVENT_NEW;
		ev.id = first + (uint32_t)i + 1;
		ev.proto = v[i].proto;
		ev.orig = (struct ct_tuple){ ip(192, 0, 2, 9),
			ip(198, 51, 100, 2 + (unsigned)i), v[i].sport,
			v[i].dport };
		ev.reply = (struct ct_tuple){ ev.orig.dst,
			v[i].nat ? ip(203, 0, 113, 1) : ev.orig.src,
			v[i].dport, v[i].sport };
		if (flowtab_upsert(t, &ev, NOW - 60 * SEC, 0, &created) == NULL)
			_exit(5);
	}
}

/* The counters the child server reports. */
static void child_counters(void *arg, struct state_counters *out)
{
	(void)arg;
	memset(out, 0, sizeof(*out));
	out->pid = (uint64_t)getpid();
	out->uptime_s = 3 * 3600 + 2 * 60 + 7;
	out->events_new = 11;
	out->events_destroy = 8;
	out->records = 24;
	out->datagrams = 3;
	out->live = flowtab_count(child_tab);
	out->reloads_ok = 2;
}

/* The table the child server lends. */
static const struct flowtab *child_table(void *arg)
{
	(void)arg;
	return child_tab;
}

/* A fixed clock for the child server. */
static uint64_t child_now(void *arg)
{
	(void)arg;
	return NOW;
}

/* SIGTERM stops the child's loop. */
static void child_term(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	event_base_loopbreak(arg);
}

/* Mutates the table while dumps run: removes a few entries, adds new ones. */
static void child_churn(evutil_socket_t fd, short what, void *arg)
{
	size_t cursor = 0;
	const struct flow_entry *e;
	int i;

	(void)fd;
	(void)what;
	(void)arg;
	for (i = 0; i < 20; i++) {
		e = flowtab_next(child_tab, &cursor);
		if (e == NULL)
			break;
		flowtab_remove(child_tab, e->id, NULL, NULL);
		add_entry(child_tab, churn_next_id++);
	}
}

/* The child: serves the control socket until SIGTERM, then checks that
 * control_close removed the socket file (exit 0) or not (exit 4). */
static void child_main(size_t nentries, bool churn, int ready)
{
	struct timeval ms = { 0, 1000 };
	struct control_source src = {
		child_counters, child_table, child_now, NULL, NULL, NULL,
	};
	struct event_base *base = event_base_new();
	struct event *term, *tick = NULL;
	struct control *c;
	char err[256];
	size_t i;

	child_tab = flowtab_new(0);
	for (i = 0; i < nentries; i++)
		add_entry(child_tab, (uint32_t)i);
	if (child_other_protos)
		add_other_protos(child_tab, (uint32_t)nentries);
	churn_next_id = (uint32_t)nentries;
	c = control_open(base, sock_path, &src, err, sizeof(err));
	if (c == NULL) {
		fprintf(stderr, "child: %s\n", err);
		_exit(3);
	}
	term = evsignal_new(base, SIGTERM, child_term, base);
	event_add(term, NULL);
	if (churn) {
		tick = event_new(base, -1, EV_PERSIST, child_churn, NULL);
		event_add(tick, &ms);
	}
	if (write(ready, "R", 1) != 1)
		_exit(6);
	close(ready);
	event_base_dispatch(base);
	control_close(c);
	if (tick != NULL)
		event_free(tick);
	event_free(term);
	event_base_free(base);
	flowtab_free(child_tab);
	_exit(access(sock_path, F_OK) == 0 ? 4 : 0);
}

/* Forks a server with nentries entries; returns once it listens. */
static pid_t start_server(size_t nentries, bool churn)
{
	int p[2];
	char c = 0;
	pid_t pid;

	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(p[0]);
		child_main(nentries, churn, p[1]);
	}
	close(p[1]);
	assert_int_equal(read(p[0], &c, 1), 1);
	assert_int_equal(c, 'R');
	close(p[0]);
	server_pid = pid;
	return pid;
}

/* Stops the server; it must exit cleanly having removed its socket. */
static void stop_server(pid_t pid)
{
	int status;

	server_pid = 0;
	assert_int_equal(kill(pid, SIGTERM), 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(access(sock_path, F_OK), -1);
}

/* Reads all of f into a NUL-terminated heap string. */
static char *slurp(FILE *f)
{
	long len;
	char *s;

	fflush(f);
	len = ftell(f);
	assert_true(len >= 0);
	s = malloc((size_t)len + 1);
	assert_non_null(s);
	rewind(f);
	assert_int_equal(fread(s, 1, (size_t)len, f), (size_t)len);
	s[len] = '\0';
	return s;
}

/* A plain client connection with a 5 s receive timeout. */
static int raw_connect(void)
{
	struct timeval tv = { 5, 0 };
	struct sockaddr_un sa;
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	strcpy(sa.sun_path, sock_path);
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv,
				    sizeof(tv)), 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

/* Reads until the server closes; fails on a receive timeout. A server that
 * closes with part of the request unread makes the kernel report
 * ECONNRESET once the reply has been read, which also ends the reply. */
static char *read_all(int fd)
{
	size_t len = 0, cap = 4096;
	char *s = malloc(cap);
	ssize_t n;

	assert_non_null(s);
	for (;;) {
		if (cap - len < 2048) {
			cap *= 2;
			s = realloc(s, cap);
			assert_non_null(s);
		}
		n = recv(fd, s + len, cap - len - 1, 0);
		if (n < 0 && errno == ECONNRESET && len > 0)
			break;
		if (n < 0)
			fail_msg("recv after %zu bytes: %s", len,
				 strerror(errno));
		if (n == 0)
			break;
		len += (size_t)n;
	}
	s[len] = '\0';
	return s;
}

/* Sends len bytes of req (optionally shutting down the write side) and
 * returns everything the server answers before it closes. */
static char *exchange(const char *req, size_t len, bool shut)
{
	int fd = raw_connect();
	char *reply;
	ssize_t n;

	/* A refusing server may close before the request is sent. */
	n = send(fd, req, len, MSG_NOSIGNAL);
	if (n != (ssize_t)len && !(n < 0 && errno == EPIPE))
		fail_msg("send: %zd of %zu bytes (%s)", n, len,
			 strerror(errno));
	if (shut)
		shutdown(fd, SHUT_WR);
	reply = read_all(fd);
	close(fd);
	return reply;
}

/* The resident memory of a process in kB. */
static long rss_kb(pid_t pid)
{
	char path[64], line[256];
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

static void test_dump_human(void **state)
{
	pid_t pid = start_server(3, false);
	FILE *out = tmpfile();
	char want[256], *text;

	(void)state;
	assert_int_equal(dumpstate_run(sock_path, false, out), 0);
	text = slurp(out);
	snprintf(want, sizeof(want), "nfflowd pid %d, up 3h02m\n", (int)pid);
	assert_ptr_equal(strstr(text, want), text);
	assert_non_null(strstr(text, "\nevents new/destroy/ignored/malformed"
				     "   11/8/0/0\n"));
	assert_non_null(strstr(text, "\nrecords exported                      "
				     " 24\n"));
	assert_non_null(strstr(text, "\nreloads ok/failed                     "
				     " 2/0\n"));
	assert_non_null(strstr(text, "\nPROTO  ORIGINAL (pre-NAT)"));
	assert_non_null(strstr(text, "  TRANSLATED (post-NAT, as it left)"));
	/* Post-NAT: reply.dst:reply.dport -> reply.src:reply.sport. */
	assert_non_null(strstr(text,
		"\ntcp    192.0.2.1:1024 -> 198.51.100.2:80                "
		"203.0.113.1:20000 -> 198.51.100.2:80               3m12s  ESTABLISHED\n"));
	assert_non_null(strstr(text,
		"\nudp    192.0.2.2:1025 -> 198.51.100.2:53                "
		"-                                                  3m13s  -\n"));
	assert_non_null(strstr(text,
		"\nicmp   192.0.2.3 -> 198.51.100.2 8/0 id 2               "
		"203.0.113.1 -> 198.51.100.2 8/0 id 2               3m14s  -\n"));
	assert_non_null(strstr(text, "\n3 live connections\n"));
	assert_int_equal(text[strlen(text) - 1], '\n');
	free(text);
	fclose(out);
	stop_server(pid);
}

/* The human table names GRE, ESP and SCTP, shows GRE's keys, SCTP's
 * ports, and no ports for ESP, keyless GRE and OSPF (a number). */
static void test_dump_human_other_protos(void **state)
{
	static const char *const rows[][3] = {
		{ "gre", "192.0.2.9 -> 198.51.100.2 key 42/4660",
		  "203.0.113.1 -> 198.51.100.2 key 42/4660" },
		{ "gre", "192.0.2.9 -> 198.51.100.3",
		  "203.0.113.1 -> 198.51.100.3" },
		{ "esp", "192.0.2.9 -> 198.51.100.4",
		  "203.0.113.1 -> 198.51.100.4" },
		{ "sctp", "192.0.2.9:40000 -> 198.51.100.5:5060",
		  "203.0.113.1:40000 -> 198.51.100.5:5060" },
		{ "89", "192.0.2.9 -> 198.51.100.6", "-" },
	};
	FILE *out = tmpfile();
	char want[256], *text;
	pid_t pid;
	size_t i;

	(void)state;
	child_other_protos = true;
	pid = start_server(0, false);
	child_other_protos = false;
	assert_int_equal(dumpstate_run(sock_path, false, out), 0);
	text = slurp(out);
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		snprintf(want, sizeof(want), "\n%-5s  %-47s  %-47s  ",
			 rows[i][0], rows[i][1], rows[i][2]);
		if (strstr(text, want) == NULL)
			fail_msg("no row \"%s\" in:\n%s", want + 1, text);
	}
	assert_non_null(strstr(text, "\n5 live connections\n"));
	free(text);
	fclose(out);
	stop_server(pid);
}

/* Dumps as JSON, parses the document and checks its shape; every id
 * 1..n must appear exactly once (the table does not change meanwhile). */
static void check_json_dump(size_t n)
{
	pid_t pid = start_server(n, false);
	FILE *out = tmpfile();
	json_error_t jerr;
	json_t *doc, *entries, *e;
	unsigned char *seen = calloc(n + 1, 1);
	size_t i;

	assert_non_null(seen);
	assert_int_equal(dumpstate_run(sock_path, true, out), 0);
	rewind(out);
	doc = json_loadf(out, 0, &jerr);
	if (doc == NULL)
		fail_msg("not JSON: %s at line %d", jerr.text, jerr.line);
	assert_int_equal(json_integer_value(json_object_get(
		json_object_get(doc, "counters"), "pid")), pid);
	assert_int_equal(json_integer_value(json_object_get(
		json_object_get(doc, "counters"), "live")), n);
	assert_null(json_object_get(json_object_get(doc, "counters"), "type"));
	assert_int_equal(json_integer_value(json_object_get(doc,
		"entries_count")), n);
	entries = json_object_get(doc, "entries");
	assert_true(json_is_array(entries));
	assert_int_equal(json_array_size(entries), n);
	json_array_foreach(entries, i, e) {
		json_int_t id = json_integer_value(json_object_get(e, "id"));

		assert_true(id >= 1 && (size_t)id <= n);
		assert_int_equal(seen[id], 0);
		seen[id] = 1;
		assert_null(json_object_get(e, "type"));
		assert_non_null(json_object_get(e, "orig"));
	}
	if (n >= 3) {
		e = json_array_get(entries, 0);
		assert_string_equal(json_string_value(json_object_get(e,
			"nat")), "snat");
		assert_int_equal(json_integer_value(json_object_get(e, "age")),
				 192);
		e = json_array_get(entries, 1);
		assert_string_equal(json_string_value(json_object_get(e,
			"source")), "dump");
	}
	json_decref(doc);
	free(seen);
	fclose(out);
	stop_server(pid);
}

static void test_dump_json_small(void **state)
{
	(void)state;
	check_json_dump(3);
}

static void test_dump_json_empty(void **state)
{
	(void)state;
	check_json_dump(0);
}

static void test_dump_json_100000(void **state)
{
	(void)state;
	check_json_dump(100000);
}

/* A client that asks for a big dump and stops reading must neither stall
 * the loop (another client is served meanwhile) nor make the server buffer
 * the whole dump; once it reads again it gets everything. */
static void test_slow_client(void **state)
{
	pid_t pid = start_server(100000, false);
	struct timespec pause = { 0, 300 * 1000 * 1000 };
	long before, after;
	char buf[256], *line = NULL, *rest;
	int fd;

	(void)state;
	before = rss_kb(pid);
	fd = raw_connect();
	assert_int_equal(send(fd, "state\n", 6, MSG_NOSIGNAL), 6);
	assert_true(recv(fd, buf, sizeof(buf), 0) > 0);
	nanosleep(&pause, NULL);
	assert_int_equal(dumpstate_counters(sock_path, &line), 0);
	assert_non_null(strstr(line, "\"live\":100000,"));
	assert_null(strchr(line, '\n'));
	free(line);
	after = rss_kb(pid);
	/* The full dump is about 23 MB; a bounded server holds well under 4. */
	if (after - before > 4096)
		fail_msg("server grew by %ld kB for a stalled client",
			 after - before);
	rest = read_all(fd);
	close(fd);
	assert_non_null(strstr(rest, "{\"type\":\"end\",\"entries\":100000}\n"));
	free(rest);
	stop_server(pid);
}

/* Every kind of bad request gets one error line and a close; a request
 * without its newline counts when the client shuts down its side. */
static void test_bad_requests(void **state)
{
	pid_t pid = start_server(2, false);
	char big[CONTROL_REQUEST_MAX + 100];
	char *r;

	(void)state;
	r = exchange("hello\n", 6, false);
	assert_string_equal(r, "{\"error\":\"unknown request (expected state, "
			    "counters, metrics or role active|standby|auto)\"}\n");
	free(r);
	r = exchange("sta\0te\n", 7, false);
	assert_non_null(strstr(r, "{\"error\":\"unknown request"));
	free(r);
	r = exchange("\n", 1, false);
	assert_non_null(strstr(r, "{\"error\":"));
	free(r);
	memset(big, 'a', sizeof(big));
	r = exchange(big, sizeof(big), false);
	assert_string_equal(r, "{\"error\":\"request too long\"}\n");
	free(r);
	/* A long line, newline included, just over the limit. */
	memset(big, ' ', CONTROL_REQUEST_MAX);
	big[CONTROL_REQUEST_MAX] = '\n';
	r = exchange(big, CONTROL_REQUEST_MAX + 1, false);
	assert_string_equal(r, "{\"error\":\"request too long\"}\n");
	free(r);

	r = exchange("counters\r\n", 10, false);
	assert_non_null(strstr(r, "{\"type\":\"counters\","));
	assert_non_null(strstr(r, "\"live\":2,"));
	assert_int_equal(strchr(r, '\n') - r + 1, (long)strlen(r));
	free(r);
	r = exchange("counters", 8, true);
	assert_non_null(strstr(r, "\"live\":2,"));
	free(r);
	r = exchange("state\nstate\n", 12, false);
	assert_ptr_equal(strstr(r, "{\"type\":\"counters\""), r);
	assert_non_null(strstr(r, "\n{\"type\":\"end\",\"entries\":2}\n"));
	free(r);
	stop_server(pid);
}

/* A silent client is dropped after the read timeout; more than the cap of
 * clients are refused with an error line, and served again once the silent
 * ones are gone. */
static void test_silent_clients_and_cap(void **state)
{
	pid_t pid = start_server(1, false);
	struct timespec settle = { 0, 50 * 1000 * 1000 };
	int idle[16], i;
	char *r, *line = NULL, c;
	time_t t0;

	(void)state;
	for (i = 0; i < 16; i++)
		idle[i] = raw_connect();
	nanosleep(&settle, NULL);
	r = exchange("counters\n", 9, false);
	assert_string_equal(r, "{\"error\":\"too many clients\"}\n");
	free(r);
	assert_int_equal(dumpstate_counters(sock_path, &line), -1);
	assert_null(line);
	t0 = time(NULL);
	for (i = 0; i < 16; i++) {
		assert_int_equal(recv(idle[i], &c, 1, 0), 0);
		close(idle[i]);
	}
	assert_true(time(NULL) - t0 <= 3);
	assert_int_equal(dumpstate_counters(sock_path, &line), 0);
	assert_non_null(strstr(line, "\"live\":1,"));
	free(line);
	stop_server(pid);
}

/* A dump while the table changes under it stays well formed: every line
 * parses and the end line counts the entries that were sent. */
static void test_dump_while_churning(void **state)
{
	pid_t pid = start_server(20000, true);
	FILE *out = tmpfile();
	json_t *doc;
	int round;

	(void)state;
	for (round = 0; round < 3; round++) {
		assert_non_null(out);
		assert_int_equal(dumpstate_run(sock_path, true, out), 0);
		rewind(out);
		doc = json_loadf(out, 0, NULL);
		assert_non_null(doc);
		assert_int_equal(json_array_size(json_object_get(doc,
			"entries")), json_integer_value(json_object_get(doc,
			"entries_count")));
		json_decref(doc);
		fclose(out);
		out = tmpfile();
	}
	fclose(out);
	stop_server(pid);
}

/* Runs f with stderr sent to a temporary file; returns what it wrote. */
static char *capture_stderr(int (*f)(void), int *rc)
{
	FILE *tmp = tmpfile();
	int saved = dup(2);
	char *text;

	fflush(stderr);
	dup2(fileno(tmp), 2);
	*rc = f();
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	fseek(tmp, 0, SEEK_END);
	text = slurp(tmp);
	fclose(tmp);
	return text;
}

/* dumpstate_run on sock_path into /dev/null. */
static int run_dump(void)
{
	FILE *null = fopen("/dev/null", "w");
	int rc = dumpstate_run(sock_path, false, null);

	fclose(null);
	return rc;
}

static void test_no_daemon(void **state)
{
	char want[256], *text, *line = (char *)"x";
	int rc;

	(void)state;
	text = capture_stderr(run_dump, &rc);
	assert_int_equal(rc, 1);
	snprintf(want, sizeof(want), "nfflowd: no daemon answers on %s: No "
		 "such file or directory; is it running?\n", sock_path);
	assert_string_equal(text, want);
	free(text);
	assert_int_equal(dumpstate_counters(sock_path, &line), -1);
	assert_null(line);
}

static void test_daemon_refusal_is_reported(void **state)
{
	pid_t pid = start_server(0, false);
	struct timespec settle = { 0, 50 * 1000 * 1000 };
	int idle[16], i, rc;
	char *text;

	(void)state;
	for (i = 0; i < 16; i++)
		idle[i] = raw_connect();
	nanosleep(&settle, NULL);
	text = capture_stderr(run_dump, &rc);
	assert_int_equal(rc, 1);
	if (strstr(text, "refused: too many clients\n") == NULL)
		fail_msg("stderr: %s", text);
	free(text);
	for (i = 0; i < 16; i++)
		close(idle[i]);
	stop_server(pid);
}

/* A no-op source for control_open in the test process itself. */
static void no_counters(void *arg, struct state_counters *out)
{
	(void)arg;
	memset(out, 0, sizeof(*out));
}

/* No table lent. */
static const struct flowtab *no_table(void *arg)
{
	(void)arg;
	return NULL;
}

/* Time zero. */
static uint64_t no_now(void *arg)
{
	(void)arg;
	return 0;
}

static const struct control_source no_src = {
	no_counters, no_table, no_now, NULL, NULL, NULL,
};

static void test_open_stale_live_and_bad_paths(void **state)
{
	struct event_base *base = event_base_new();
	struct sockaddr_un sa;
	struct control *c;
	struct stat st;
	char err[256], longpath[200];
	pid_t pid;
	int fd;

	(void)state;
	/* A stale socket file (bound, nobody listening) is replaced. */
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	strcpy(sa.sun_path, sock_path);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
	assert_int_equal(chmod(sock_path, 0666), 0);
	c = control_open(base, sock_path, &no_src, err, sizeof(err));
	if (c == NULL)
		fail_msg("%s", err);
	assert_int_equal(lstat(sock_path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	control_close(c);
	assert_int_equal(access(sock_path, F_OK), -1);

	/* A live daemon is left alone. */
	pid = start_server(0, false);
	assert_null(control_open(base, sock_path, &no_src, err, sizeof(err)));
	assert_non_null(strstr(err, "another daemon answers on "));
	assert_non_null(strstr(err, sock_path));
	stop_server(pid);

	/* Something else at the path is never removed. */
	fd = open(sock_path, O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_null(control_open(base, sock_path, &no_src, err, sizeof(err)));
	assert_non_null(strstr(err, "is not a socket"));
	assert_int_equal(access(sock_path, F_OK), 0);
	unlink(sock_path);

	memset(longpath, 'x', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	assert_null(control_open(base, longpath, &no_src, err, sizeof(err)));
	assert_null(control_open(base, "", &no_src, err, sizeof(err)));
	snprintf(longpath, sizeof(longpath), "%s/missing/ctl.sock", dir);
	assert_null(control_open(base, longpath, &no_src, err, sizeof(err)));
	assert_non_null(strstr(err, "No such file or directory"));
	event_base_free(base);
}

/* Creates the private directory for the socket. */
static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/nfflowd-ctl-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(sock_path, sizeof(sock_path), "%s/ctl.sock", dir);
	return 0;
}

/* After a failed test: kills a server left running, removes its socket. */
static int reap(void **state)
{
	(void)state;
	if (server_pid > 0) {
		kill(server_pid, SIGKILL);
		waitpid(server_pid, NULL, 0);
		server_pid = 0;
	}
	unlink(sock_path);
	return 0;
}

/* Removes it again. */
static int teardown(void **state)
{
	(void)state;
	unlink(sock_path);
	return rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_valid),
		cmocka_unit_test(test_parse_invalid),
		cmocka_unit_test(test_parse_length_bound),
		cmocka_unit_test_teardown(test_dump_human, reap),
		cmocka_unit_test_teardown(test_dump_human_other_protos, reap),
		cmocka_unit_test_teardown(test_dump_json_small, reap),
		cmocka_unit_test_teardown(test_dump_json_empty, reap),
		cmocka_unit_test_teardown(test_dump_json_100000, reap),
		cmocka_unit_test_teardown(test_slow_client, reap),
		cmocka_unit_test_teardown(test_bad_requests, reap),
		cmocka_unit_test_teardown(test_silent_clients_and_cap, reap),
		cmocka_unit_test_teardown(test_dump_while_churning, reap),
		cmocka_unit_test_teardown(test_no_daemon, reap),
		cmocka_unit_test_teardown(test_daemon_refusal_is_reported, reap),
		cmocka_unit_test_teardown(test_open_stale_live_and_bad_paths, reap),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, setup, teardown);
}
