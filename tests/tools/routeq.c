/* Test tool: the route module's answer for one connection, as the daemon
 * would fill it in. Run it inside a throwaway network namespace.
 *
 * usage: routeq [-c COMMAND] [-w MS] ORIG_SRC REPLY_SRC
 *   Fills a flow_conn whose original source is ORIG_SRC and whose reply
 *   comes from REPLY_SRC (the post-NAT destination; both IPv4 or both
 *   IPv6) and prints one line:
 *     first in_if=N out_if=N nexthop=ADDR rnexthop=ADDR lookups=N hits=N
 *       queries=N failures=N flushes=N
 *   With -c it then fills it again ("again", from the cache), runs
 *   COMMAND with system(), runs the event loop until the cache is flushed
 *   or MS milliseconds (default 1000) have passed, and fills it a third
 *   time ("after"). Exit status 0, or 1 when route_new fails. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "nfflowd/route.h"

/* Prints the filled-in fields and the counters under label. */
static void show(const char *label, struct route *r, const struct flow_conn *c)
{
	const struct route_stats *st = route_stats(r);
	char nh[INET6_ADDRSTRLEN], rnh[INET6_ADDRSTRLEN];
	int af = c->ev->family;

	inet_ntop(af, c->nexthop, nh, sizeof(nh));
	inet_ntop(af, c->rnexthop, rnh, sizeof(rnh));
	printf("%s in_if=%u out_if=%u nexthop=%s rnexthop=%s lookups=%llu "
	       "hits=%llu queries=%llu failures=%llu flushes=%llu\n",
	       label, c->in_if, c->out_if, nh, rnh,
	       (unsigned long long)st->lookups, (unsigned long long)st->hits,
	       (unsigned long long)st->queries,
	       (unsigned long long)st->failures,
	       (unsigned long long)st->flushes);
	fflush(stdout);
}

/* Fills c again from scratch. */
static void fill(struct route *r, struct flow_conn *c)
{
	memset(c->nexthop, 0xff, sizeof(c->nexthop));	/* must be rewritten */
	memset(c->rnexthop, 0xff, sizeof(c->rnexthop));
	c->in_if = c->out_if = 0xffffffffu;
	route_fill(r, c);
}

/* Parses the two addresses into ev; false when they are not both IPv4 or
 * both IPv6. */
static bool parse_addrs(const char *osrc, const char *rsrc,
			struct ct_event *ev)
{
	uint32_t a, b;

	memset(ev, 0, sizeof(*ev));
	ev->type = CT_EVENT_DESTROY;
	ev->proto = IPPROTO_UDP;
	if (inet_pton(AF_INET, osrc, &a) == 1 &&
	    inet_pton(AF_INET, rsrc, &b) == 1) {
		ev->family = AF_INET;
		ev->orig.src = ntohl(a);
		ev->reply.src = ntohl(b);
		return true;
	}
	if (inet_pton(AF_INET6, osrc, ev->orig6.src) == 1 &&
	    inet_pton(AF_INET6, rsrc, ev->reply6.src) == 1) {
		ev->family = AF_INET6;
		return true;
	}
	return false;
}

int main(int argc, char **argv)
{
	const char *cmd = NULL;
	long wait_ms = 1000, waited;
	struct event_base *base;
	struct route *r;
	struct ct_event ev;
	struct flow_conn c;
	char err[256];
	int opt;

	while ((opt = getopt(argc, argv, "c:w:")) != -1) {
		switch (opt) {
		case 'c':
			cmd = optarg;
			break;
		case 'w':
			wait_ms = strtol(optarg, NULL, 10);
			break;
		default:
			goto usage;
		}
	}
	if (argc - optind != 2 || !parse_addrs(argv[optind], argv[optind + 1], &ev))
		goto usage;

	base = event_base_new();
	if (!base) {
		fprintf(stderr, "routeq: no event base\n");
		return 1;
	}
	r = route_new(base, err, sizeof(err));
	if (!r) {
		fprintf(stderr, "routeq: %s\n", err);
		event_base_free(base);
		return 1;
	}
	memset(&c, 0, sizeof(c));
	c.ev = &ev;
	fill(r, &c);
	show("first", r, &c);
	if (cmd) {
		uint64_t flushes = route_stats(r)->flushes;
		int rc;

		fill(r, &c);
		show("again", r, &c);
		rc = system(cmd);
		if (rc != 0)
			fprintf(stderr, "routeq: '%s' returned %d\n", cmd, rc);
		for (waited = 0; waited < wait_ms; waited += 20) {
			struct timeval tv = { 0, 20000 };

			event_base_loopexit(base, &tv);
			event_base_dispatch(base);
			if (route_stats(r)->flushes != flushes)
				break;
		}
		fill(r, &c);
		show("after", r, &c);
	}
	route_free(r);
	event_base_free(base);
	return 0;
usage:
	fprintf(stderr, "usage: routeq [-c COMMAND] [-w MS] ORIG_SRC REPLY_SRC\n");
	return 2;
}
