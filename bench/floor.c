/* Benchmark tool: the cheapest user-space reader of conntrack events, the
 * floor that bench/burst.sh holds nfflowd's CPU per connection against in
 * the same burst of traffic. It subscribes to DESTROY events (and NEW with
 * -n) on a raw NETLINK_NETFILTER socket with nfflowd's default receive
 * buffer of 64 MiB, reads them with recvmmsg() as nfflowd does (32
 * datagrams per call, 16 KiB each, MSG_DONTWAIT) and only counts the
 * messages by type: no attribute is parsed, nothing is exported.
 *
 * Reading: a call that fills all 32 slots is followed by another at once;
 * one that finds fewer (the queue ran dry) by a pause of 4 ms, as nfflowd
 * pauses under load (src/ctsrc.c, CTSRC_PAUSE_US), so that each wakeup
 * reads a fuller batch; one that finds nothing by poll() on the socket.
 * Pausing after every call instead would read at most 8,000 datagrams a
 * second, less than a burst brings, and lose events: no floor then.
 *
 * Stops after SECONDS, or at SIGTERM or SIGINT. COUNTFILE is rewritten
 * (atomically: a temporary file renamed over it) at the start, every 0.2 s
 * while events come and at the end, with one line, also printed on stdout
 * at the end:
 *   new=N destroy=N datagrams=N reads=N enobufs=N
 * reads counts the recvmmsg() calls, those that found nothing included;
 * enobufs the calls that failed with ENOBUFS (the kernel dropped events).
 *
 * usage: floor [-n] -t SECONDS COUNTFILE
 *   -n  also subscribe to NEW events (counted as new=) */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <linux/netlink.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>

#define BATCH 32
#define SLOT_SIZE (16 * 1024)
#define RCVBUF (64 << 20)		/* nfflowd's netlink_buffer default */
#define PAUSE_NS 4000000L
#define WRITE_EVERY_NS 200000000ull
#define POLL_MAX_MS 1000		/* a signal that raced poll() waits no longer */

struct counts {
	unsigned long long new, destroy, datagrams, reads, enobufs;
};

static volatile sig_atomic_t stopping;

static void on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Rewrites the count file through a temporary file and rename(), so that
 * a reader never sees half a line. */
static int write_counts(const char *path, const struct counts *c)
{
	char tmp[PATH_MAX];
	FILE *f;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -1;
	f = fopen(tmp, "we");
	if (f == NULL)
		return -1;
	fprintf(f, "new=%llu destroy=%llu datagrams=%llu reads=%llu enobufs=%llu\n",
		c->new, c->destroy, c->datagrams, c->reads, c->enobufs);
	if (fclose(f) != 0)
		return -1;
	return rename(tmp, path);
}

/* Counts the NEW and DESTROY messages of one datagram by their type alone
 * (nlmsg_type & 0xff is the ctnetlink message; its high byte the
 * subsystem). The kernel sends one event per datagram, but the chain is
 * walked all the same. */
static void count_datagram(const char *buf, size_t len, struct counts *c)
{
	while (len >= sizeof(struct nlmsghdr)) {
		const struct nlmsghdr *nh = (const struct nlmsghdr *)buf;
		size_t step = NLMSG_ALIGN(nh->nlmsg_len);

		if (nh->nlmsg_len < sizeof(*nh) || nh->nlmsg_len > len)
			return;
		if ((nh->nlmsg_type & 0xff) == IPCTNL_MSG_CT_NEW)
			c->new++;
		else if ((nh->nlmsg_type & 0xff) == IPCTNL_MSG_CT_DELETE)
			c->destroy++;
		if (step >= len)
			return;
		buf += step;
		len -= step;
	}
}

/* The subscribed socket with the large receive buffer, or -1. SO_RCVBUFFORCE
 * (CAP_NET_ADMIN) passes net.core.rmem_max; SO_RCVBUF is capped by it. */
static int open_events(bool with_new)
{
	int fd, size = RCVBUF;
	unsigned group = NFNLGRP_CONNTRACK_DESTROY;
	socklen_t len = sizeof(size);
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
	if (fd < 0)
		return -1;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0 &&
	    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size)) < 0)
		goto fail;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    setsockopt(fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &group,
		       sizeof(group)) < 0)
		goto fail;
	group = NFNLGRP_CONNTRACK_NEW;
	if (with_new && setsockopt(fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP,
				   &group, sizeof(group)) < 0)
		goto fail;
	if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, &len) == 0)
		fprintf(stderr, "floor: listening to DESTROY%s events, receive buffer %d bytes\n",
			with_new ? " and NEW" : "", size);
	return fd;
fail:
	close(fd);
	return -1;
}

int main(int argc, char **argv)
{
	static char ring[BATCH][SLOT_SIZE];
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	struct counts c = { 0 };
	struct sigaction sa = { .sa_handler = on_signal };
	const struct timespec pause = { 0, PAUSE_NS };
	bool with_new = false;
	long secs = 0;
	uint64_t t, deadline, mark;
	const char *path;
	int opt, fd, i, n, rc = 0;

	while ((opt = getopt(argc, argv, "nt:")) != -1) {
		if (opt == 'n')
			with_new = true;
		else if (opt == 't')
			secs = strtol(optarg, NULL, 10);
		else
			secs = -1;
	}
	if (secs <= 0 || optind != argc - 1) {
		fprintf(stderr, "usage: floor [-n] -t SECONDS COUNTFILE\n");
		return 2;
	}
	path = argv[optind];
	/* no SA_RESTART: the signal ends poll() and nanosleep() early */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	for (i = 0; i < BATCH; i++) {
		iov[i].iov_base = ring[i];
		iov[i].iov_len = SLOT_SIZE;
		memset(&msgs[i], 0, sizeof(msgs[i]));
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	fd = open_events(with_new);
	if (fd < 0 || write_counts(path, &c) < 0) {
		perror("floor");
		return 1;
	}
	t = now_ns();
	deadline = t + (uint64_t)secs * 1000000000u;
	mark = t + WRITE_EVERY_NS;

	while (!stopping) {
		n = recvmmsg(fd, msgs, BATCH, MSG_DONTWAIT, NULL);
		c.reads++;
		if (n > 0) {
			c.datagrams += (unsigned)n;
			for (i = 0; i < n; i++)
				count_datagram(ring[i], msgs[i].msg_len, &c);
			if (n < BATCH)
				nanosleep(&pause, NULL);
		} else if (n < 0 && errno == ENOBUFS) {
			c.enobufs++;	/* events were dropped; the socket goes on */
		} else if (n == 0 || errno == EAGAIN || errno == EWOULDBLOCK) {
			struct pollfd p = { .fd = fd, .events = POLLIN };
			uint64_t left_ms = (deadline - t) / 1000000u + 1;

			poll(&p, 1, left_ms < POLL_MAX_MS ? (int)left_ms : POLL_MAX_MS);
		} else if (errno != EINTR) {
			perror("floor: recvmmsg");
			rc = 1;
			break;
		}
		t = now_ns();
		if (t >= deadline)
			break;
		if (t >= mark) {
			write_counts(path, &c);
			mark = t + WRITE_EVERY_NS;
		}
	}
	close(fd);
	if (write_counts(path, &c) < 0) {
		perror("floor: count file");
		rc = 1;
	}
	printf("new=%llu destroy=%llu datagrams=%llu reads=%llu enobufs=%llu\n",
	       c.new, c.destroy, c.datagrams, c.reads, c.enobufs);
	return rc;
}
