/* The address watch's socket: RTM_GETADDR dumps and address events over
 * rtnetlink (libmnl), read in the event loop; the messages are applied by
 * the pure addrwatch module. */
#include "nfflowd/role.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <linux/rtnetlink.h>
#include <poll.h>

#include <event2/event.h>
#include <libmnl/libmnl.h>

#include "nfflowd/addrwatch.h"
#include "nfflowd/log.h"

/* A dump that takes longer than this fails (an answer is due in ms). */
#define DUMP_TIMEOUT_MS 2000

struct role {
	struct mnl_socket *sock;
	struct event *ev;
	struct addrwatch w;
	role_change_fn fn;
	void *arg;
	uint32_t seq;
	bool dumping;		/* answers of a dump are awaited */
	bool reported;		/* presence the caller last heard of */
	struct role_stats st;
	char buf[32768];	/* a dump datagram is at most 32 KiB */
};

/* Asks for every address of the watched family. */
static int send_dump(struct role *r)
{
	char req[64];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(req);
	struct ifaddrmsg *ifa;

	nlh->nlmsg_type = RTM_GETADDR;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = ++r->seq;
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = r->w.family;
	if (mnl_socket_sendto(r->sock, nlh, nlh->nlmsg_len) < 0)
		return -1;
	r->dumping = true;
	addrwatch_clear(&r->w);
	return 0;
}

/* True when the datagram ends a dump (NLMSG_DONE or an error). */
static bool ends_dump(const char *buf, size_t len)
{
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;
	int rem = (int)len;

	while (mnl_nlmsg_ok(nlh, rem)) {
		if (nlh->nlmsg_type == NLMSG_DONE || nlh->nlmsg_type == NLMSG_ERROR)
			return true;
		nlh = mnl_nlmsg_next(nlh, &rem);
	}
	return false;
}

/* Reads what is waiting; returns -1 on an error other than "nothing". */
static int drain(struct role *r)
{
	uint64_t bad = r->w.malformed;

	for (;;) {
		ssize_t n = recv(mnl_socket_get_fd(r->sock), r->buf,
				 sizeof(r->buf), MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			if (errno == ENOBUFS) {
				/* events were lost: ask again for all */
				r->st.overruns++;
				if (send_dump(r) < 0)
					return -1;
				continue;
			}
			return -1;
		}
		r->st.events += addrwatch_apply(&r->w, r->buf, (size_t)n);
		if (r->dumping && ends_dump(r->buf, (size_t)n))
			r->dumping = false;
	}
	r->st.malformed += r->w.malformed - bad;
	/* in the middle of a dump the set is partial: wait for its end */
	if (!r->dumping && addrwatch_present(&r->w) != r->reported) {
		r->reported = addrwatch_present(&r->w);
		if (r->fn)
			r->fn(r->reported, r->arg);
	}
	return 0;
}

static void on_readable(evutil_socket_t fd, short what, void *arg)
{
	struct role *r = arg;

	if (drain(r) < 0)
		log_warn("address watch: %s", strerror(errno));
}

/* Reads the first dump to its end, at most DUMP_TIMEOUT_MS. */
static int first_dump(struct role *r)
{
	struct timespec t0, t;
	int fd = mnl_socket_get_fd(r->sock);

	if (send_dump(r) < 0)
		return -1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (r->dumping) {
		struct pollfd pfd = { fd, POLLIN, 0 };
		long ms;

		clock_gettime(CLOCK_MONOTONIC, &t);
		ms = (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000;
		if (ms >= DUMP_TIMEOUT_MS) {
			errno = ETIMEDOUT;
			return -1;
		}
		if (poll(&pfd, 1, (int)(DUMP_TIMEOUT_MS - ms)) < 0 && errno != EINTR)
			return -1;
		if (drain(r) < 0)
			return -1;
	}
	return 0;
}

struct role *role_new(struct event_base *base, uint8_t family,
		      const void *addr, role_change_fn fn, void *arg,
		      char *err, size_t errlen)
{
	struct role *r = calloc(1, sizeof(*r));
	unsigned groups = family == AF_INET6 ? RTMGRP_IPV6_IFADDR
					     : RTMGRP_IPV4_IFADDR;

	if (r == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	addrwatch_init(&r->w, family, addr);
	r->sock = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (r->sock == NULL || mnl_socket_bind(r->sock, groups, MNL_SOCKET_AUTOPID) < 0) {
		snprintf(err, errlen, "address watch socket: %s", strerror(errno));
		goto fail;
	}
	/* fn stays unset for the first dump: the caller reads the role */
	if (first_dump(r) < 0) {
		snprintf(err, errlen, "reading the addresses: %s", strerror(errno));
		goto fail;
	}
	r->fn = fn;
	r->arg = arg;
	r->ev = event_new(base, mnl_socket_get_fd(r->sock), EV_READ | EV_PERSIST,
			  on_readable, r);
	if (r->ev == NULL || event_add(r->ev, NULL) < 0) {
		snprintf(err, errlen, "address watch: cannot add the event");
		goto fail;
	}
	return r;
fail:
	role_free(r);
	return NULL;
}

bool role_present(const struct role *r)
{
	return addrwatch_present(&r->w);
}

const struct role_stats *role_stats(const struct role *r)
{
	return &r->st;
}

void role_free(struct role *r)
{
	if (r == NULL)
		return;
	if (r->ev)
		event_free(r->ev);
	if (r->sock)
		mnl_socket_close(r->sock);
	free(r);
}
