/* Interfaces and next hops of connections from rtnetlink route lookups.
 *
 * Two NETLINK_ROUTE sockets: one for synchronous RTM_GETROUTE queries, read
 * with a short deadline so that a kernel that never answers cannot hold up
 * the daemon, and one subscribed to route and link changes, watched on the
 * event base, whose every wakeup flushes the cache. A change reaches the
 * cache at the loop's next turn: a connection handled in the same turn
 * may still see the old route. */
#include "nfflowd/route.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <linux/rtnetlink.h>

#include <event2/event.h>
#include <libmnl/libmnl.h>

#include "nfflowd/clock.h"
#include "nfflowd/log.h"
#include "nfflowd/routecache.h"

#define QUERY_TIMEOUT_MS 100	/* one query; the kernel answers in µs */
#define QUIET_AFTER_TIMEOUT_MS 1000	/* no queries after a timeout */
#define WATCH_READS_MAX 64	/* datagrams drained per wakeup */
#define BUF_SIZE 8192

struct route {
	struct mnl_socket *query;
	struct mnl_socket *watch;
	struct event *watch_ev;
	struct routecache *cache;
	uint32_t seq;
	uint64_t quiet_until_ms;	/* monotonic; 0 when queries are on */
	struct route_stats stats;
	uint64_t foreign;	/* datagrams not from the kernel, dropped */
	struct log_rate timeout_rate;
	struct log_rate foreign_rate;
	uint64_t buf[BUF_SIZE / sizeof(uint64_t)];	/* aligned messages */
};

/* Milliseconds of CLOCK_MONOTONIC. */
static uint64_t now_ms(void)
{
	return clock_ns(CLOCK_MONOTONIC) / 1000000u;
}

/* Receives one datagram from sock into r->buf. Only the kernel (port 0)
 * may answer a query or report a change: a datagram another process sent
 * to our port is counted and dropped, as ctsrc does for conntrack.
 * Returns the length, 0 for a dropped datagram, or -1 with errno (ENOSPC
 * for a kernel datagram larger than the buffer). */
static ssize_t recv_kernel(struct route *r, struct mnl_socket *sock)
{
	struct sockaddr_nl addr;
	struct iovec iov = { r->buf, sizeof(r->buf) };
	struct msghdr msg = {
		.msg_name = &addr,
		.msg_namelen = sizeof(addr),
		.msg_iov = &iov,
		.msg_iovlen = 1,
	};
	ssize_t n;

	memset(&addr, 0, sizeof(addr));
	n = recvmsg(mnl_socket_get_fd(sock), &msg, 0);
	if (n < 0)
		return -1;
	if (msg.msg_namelen != sizeof(addr) || addr.nl_family != AF_NETLINK ||
	    addr.nl_pid != 0) {
		r->foreign++;
		log_rated(&r->foreign_rate, LOG_WARNING,
			  "interfaces: dropped a route netlink datagram from port %" PRIu32 ", not the kernel (%" PRIu64 " so far)",
			  (uint32_t)addr.nl_pid, r->foreign);
		return 0;
	}
	if (msg.msg_flags & MSG_TRUNC) {
		errno = ENOSPC;
		return -1;
	}
	return n;
}

/* Drains the change socket; anything the kernel sent (or an overrun, which
 * means changes were lost) invalidates the whole cache once. */
static void watch_cb(evutil_socket_t fd, short what, void *arg)
{
	struct route *r = arg;
	bool changed = false;
	int i;

	for (i = 0; i < WATCH_READS_MAX; i++) {
		ssize_t n = recv_kernel(r, r->watch);

		if (n > 0 || (n < 0 && (errno == ENOBUFS || errno == ENOSPC)))
			changed = true;
		else if (n < 0)
			break;	/* EAGAIN: drained */
	}
	if (changed) {
		routecache_flush(r->cache);
		r->stats.flushes++;
	}
}

struct route *route_new(struct event_base *base, char *err, size_t errlen)
{
	static const unsigned groups[] = {
		RTNLGRP_IPV4_ROUTE, RTNLGRP_IPV6_ROUTE, RTNLGRP_LINK,
	};
	struct route *r;
	uint64_t seed = 0;
	size_t i;

	r = calloc(1, sizeof(*r));
	if (!r) {
		snprintf(err, errlen, "interfaces: out of memory");
		return NULL;
	}
	r->timeout_rate = (struct log_rate)LOG_RATE_INIT(60);
	r->foreign_rate = (struct log_rate)LOG_RATE_INIT(60);
	if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != sizeof(seed))
		seed = (uint64_t)(uintptr_t)r ^ now_ms();
	r->cache = routecache_new(ROUTECACHE_DEFAULT_CAPACITY, seed);
	if (!r->cache) {
		snprintf(err, errlen, "interfaces: out of memory");
		goto fail;
	}
	r->query = mnl_socket_open2(NETLINK_ROUTE, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (!r->query || mnl_socket_bind(r->query, 0, MNL_SOCKET_AUTOPID) < 0) {
		snprintf(err, errlen, "interfaces: route query socket: %s",
			 strerror(errno));
		goto fail;
	}
	r->watch = mnl_socket_open2(NETLINK_ROUTE, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (!r->watch || mnl_socket_bind(r->watch, 0, MNL_SOCKET_AUTOPID) < 0) {
		snprintf(err, errlen, "interfaces: route change socket: %s",
			 strerror(errno));
		goto fail;
	}
	for (i = 0; i < sizeof(groups) / sizeof(groups[0]); i++) {
		int g = (int)groups[i];

		if (mnl_socket_setsockopt(r->watch, NETLINK_ADD_MEMBERSHIP,
					  &g, sizeof(g)) < 0) {
			snprintf(err, errlen,
				 "interfaces: subscribing to route changes: %s",
				 strerror(errno));
			goto fail;
		}
	}
	r->watch_ev = event_new(base, mnl_socket_get_fd(r->watch),
				EV_READ | EV_PERSIST, watch_cb, r);
	if (!r->watch_ev || event_add(r->watch_ev, NULL) < 0) {
		snprintf(err, errlen, "interfaces: cannot watch route changes");
		goto fail;
	}
	return r;
fail:
	route_free(r);
	return NULL;
}

/* Waits until the query socket is readable or the deadline passes; false
 * on timeout. */
static bool wait_readable(struct route *r, uint64_t deadline)
{
	struct pollfd pfd = { .fd = mnl_socket_get_fd(r->query), .events = POLLIN };

	for (;;) {
		uint64_t now = now_ms();
		int rc;

		if (now >= deadline)
			return false;
		rc = poll(&pfd, 1, (int)(deadline - now));
		if (rc > 0)
			return true;
		if (rc < 0 && errno != EINTR)
			return false;
	}
}

/* Asks the kernel for the route to addr; true with *hop filled when it
 * answered (an error answer, e.g. no route, fills zeros). */
static bool query(struct route *r, uint8_t family, const uint8_t *addr,
		  struct route_hop *hop)
{
	size_t alen = family == AF_INET ? 4 : 16;
	struct nlmsghdr *nlh;
	struct rtmsg *rtm;
	uint64_t deadline;
	uint32_t seq;

	nlh = mnl_nlmsg_put_header(r->buf);
	nlh->nlmsg_type = RTM_GETROUTE;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	nlh->nlmsg_seq = seq = ++r->seq;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = family;
	rtm->rtm_dst_len = (unsigned char)(alen * 8);
	mnl_attr_put(nlh, RTA_DST, alen, addr);
	r->stats.queries++;
	if (mnl_socket_sendto(r->query, nlh, nlh->nlmsg_len) < 0)
		return false;

	deadline = now_ms() + QUERY_TIMEOUT_MS;
	for (;;) {
		ssize_t n = recv_kernel(r, r->query);
		int error = 0;

		if (n == 0) {
			if (now_ms() >= deadline)
				return false;
			continue;	/* not from the kernel: dropped */
		}
		if (n < 0) {
			if (errno == EINTR || errno == ENOBUFS || errno == ENOSPC)
				continue;	/* lost or oversized: read on */
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				return false;
			if (!wait_readable(r, deadline)) {
				r->quiet_until_ms = now_ms() +
						    QUIET_AFTER_TIMEOUT_MS;
				log_rated(&r->timeout_rate, LOG_WARNING,
					  "interfaces: no route answer within %d ms; interfaces and next hops are 0 for %d ms",
					  QUERY_TIMEOUT_MS, QUIET_AFTER_TIMEOUT_MS);
				return false;
			}
			continue;
		}
		/* Answers to earlier, timed-out queries are skipped. */
		switch (routecache_parse_reply(r->buf, (size_t)n, family, seq,
					       hop, &error)) {
		case ROUTECACHE_REPLY_ROUTE:
			return true;
		case ROUTECACHE_REPLY_ERROR:
			memset(hop, 0, sizeof(*hop));
			return true;
		case ROUTECACHE_REPLY_NONE:
			if (now_ms() >= deadline)
				return false;
			continue;
		case ROUTECACHE_REPLY_MALFORMED:
			return false;
		}
	}
}

/* The hop towards addr, from the cache or the kernel; zeros when unknown.
 * A kernel's "no route" answer is cached as well (the next route change
 * flushes it); a query without an answer is not. */
static void lookup(struct route *r, uint8_t family, const uint8_t *addr,
		   uint32_t *ifindex, uint8_t *gateway)
{
	static const uint8_t zero[16];
	size_t alen = family == AF_INET ? 4 : 16;
	struct route_hop hop;
	bool answered;

	if (memcmp(addr, zero, alen) == 0)
		return;	/* no address: nothing to ask */
	r->stats.lookups++;
	if (routecache_get(r->cache, family, addr, &hop)) {
		r->stats.hits++;
	} else {
		if (r->quiet_until_ms && now_ms() < r->quiet_until_ms) {
			r->stats.failures++;
			return;
		}
		r->quiet_until_ms = 0;
		memset(&hop, 0, sizeof(hop));
		answered = query(r, family, addr, &hop);
		if (!answered || hop.ifindex == 0)
			r->stats.failures++;
		if (!answered)
			return;
		routecache_put(r->cache, family, addr, &hop);
	}
	*ifindex = hop.ifindex;
	memcpy(gateway, hop.gateway, 16);
}

void route_fill(struct route *r, struct flow_conn *c)
{
	const struct ct_event *ev = c->ev;
	uint8_t osrc[16] = { 0 }, rsrc[16] = { 0 };

	c->in_if = c->out_if = 0;
	memset(c->nexthop, 0, sizeof(c->nexthop));
	memset(c->rnexthop, 0, sizeof(c->rnexthop));
	if (!r || !ev)
		return;
	if (ev->family == AF_INET) {
		uint32_t a = htonl(ev->orig.src), b = htonl(ev->reply.src);

		memcpy(osrc, &a, 4);
		memcpy(rsrc, &b, 4);
	} else if (ev->family == AF_INET6) {
		memcpy(osrc, ev->orig6.src, 16);
		memcpy(rsrc, ev->reply6.src, 16);
	} else {
		return;
	}
	lookup(r, ev->family, osrc, &c->in_if, c->rnexthop);
	lookup(r, ev->family, rsrc, &c->out_if, c->nexthop);
}

const struct route_stats *route_stats(const struct route *r)
{
	return &r->stats;
}

void route_free(struct route *r)
{
	if (!r)
		return;
	if (r->watch_ev)
		event_free(r->watch_ev);
	if (r->watch)
		mnl_socket_close(r->watch);
	if (r->query)
		mnl_socket_close(r->query);
	routecache_free(r->cache);
	free(r);
}
