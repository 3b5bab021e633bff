/* Counter readings of single conntrack entries, asked by original tuple. */
#include "nfflowd/ctquery.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <event2/event.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>

#include "nfflowd/ctmsg.h"
#include "nfflowd/ctsrc.h"
#include "nfflowd/log.h"

/* Requests per datagram, and answers read per wakeup at most. */
#define CTQUERY_BATCH 64
#define CTQUERY_BUF (64 * 1024)
#define CTQUERY_RCVBUF (8 << 20)
#define CTQUERY_READS_PER_WAKEUP 256
/* Requests remembered by sequence number, so that an ENOENT answer names
 * the entry it is about (more than are ever outstanding at once). */
#define CTQUERY_PENDING (1u << 16)

struct ctquery {
	struct mnl_socket *nl;
	struct event *ev;
	ctquery_answer_fn fn;
	ctquery_gone_fn gone_fn;
	void *arg;
	uint32_t seq;
	struct { uint32_t seq, id; } *pending;	/* CTQUERY_PENDING, by seq */
	char *buf;
	struct ctquery_stats st;
	struct log_rate err_rate;
};

/* Counts a failed reading and says so, at most every 10 s: the connection
 * is still exported at its end, only an interim export may be missing. */
static void fail(struct ctquery *cq, const char *what, int err)
{
	cq->st.errors++;
	log_rated(&cq->err_rate, LOG_WARNING,
		  "active timeout: %s: %s (%llu failed readings so far)", what,
		  strerror(err), (unsigned long long)cq->st.errors);
}

/* The protocol part of the original tuple. */
static void put_proto(struct nlmsghdr *nlh, const struct ct_query *q)
{
	struct nlattr *nest = mnl_attr_nest_start(nlh, CTA_TUPLE_PROTO);
	uint8_t type = (uint8_t)(q->orig.dport >> 8), code = (uint8_t)q->orig.dport;

	mnl_attr_put_u8(nlh, CTA_PROTO_NUM, q->proto);
	if (q->proto == IPPROTO_ICMP) {
		mnl_attr_put_u16(nlh, CTA_PROTO_ICMP_ID, htons(q->orig.sport));
		mnl_attr_put_u8(nlh, CTA_PROTO_ICMP_TYPE, type);
		mnl_attr_put_u8(nlh, CTA_PROTO_ICMP_CODE, code);
	} else if (q->proto == IPPROTO_ICMPV6) {
		mnl_attr_put_u16(nlh, CTA_PROTO_ICMPV6_ID, htons(q->orig.sport));
		mnl_attr_put_u8(nlh, CTA_PROTO_ICMPV6_TYPE, type);
		mnl_attr_put_u8(nlh, CTA_PROTO_ICMPV6_CODE, code);
	} else {
		mnl_attr_put_u16(nlh, CTA_PROTO_SRC_PORT, htons(q->orig.sport));
		mnl_attr_put_u16(nlh, CTA_PROTO_DST_PORT, htons(q->orig.dport));
	}
	mnl_attr_nest_end(nlh, nest);
}

size_t ctquery_encode(void *buf, const struct ct_query *q, uint32_t seq)
{
	struct nlmsghdr *nlh;
	struct nfgenmsg *nfg;
	struct nlattr *tuple, *ip;

	memset(buf, 0, CTQUERY_REQUEST_MAX);
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_GET;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	nlh->nlmsg_seq = seq;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = q->family == AF_INET6 ? AF_INET6 : AF_INET;
	nfg->version = NFNETLINK_V0;
	if (q->zone != 0)
		mnl_attr_put_u16(nlh, CTA_ZONE, htons(q->zone));
	tuple = mnl_attr_nest_start(nlh, CTA_TUPLE_ORIG);
	ip = mnl_attr_nest_start(nlh, CTA_TUPLE_IP);
	if (q->family == AF_INET6) {
		mnl_attr_put(nlh, CTA_IP_V6_SRC, 16, q->orig6.src);
		mnl_attr_put(nlh, CTA_IP_V6_DST, 16, q->orig6.dst);
	} else {
		mnl_attr_put_u32(nlh, CTA_IP_V4_SRC, htonl(q->orig.src));
		mnl_attr_put_u32(nlh, CTA_IP_V4_DST, htonl(q->orig.dst));
	}
	mnl_attr_nest_end(nlh, ip);
	put_proto(nlh, q);
	mnl_attr_nest_end(nlh, tuple);
	return nlh->nlmsg_len;
}

/* The kernel has no entry for the request seq: tells which entry it was,
 * if the request is still remembered. */
static void gone(struct ctquery *cq, uint32_t seq)
{
	size_t i = seq & (CTQUERY_PENDING - 1);

	cq->st.gone++;
	if (cq->gone_fn && cq->pending[i].seq == seq) {
		cq->pending[i].seq = 0;
		cq->gone_fn(cq->pending[i].id, cq->arg);
	}
}

/* One answer or error message from the kernel. */
static void answer(struct ctquery *cq, const struct nlmsghdr *nlh, int len,
		   const struct time_pair *now)
{
	struct ct_event ev;

	if (nlh->nlmsg_type == NLMSG_ERROR) {
		const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);

		if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*e)))
			fail(cq, "short error answer", EBADMSG);
		else if (e->error == -ENOENT)
			gone(cq, nlh->nlmsg_seq);
		else if (e->error != 0)
			fail(cq, "the kernel refused a reading", -e->error);
		return;
	}
	if (ctmsg_parse(nlh, (size_t)len, NULL, &ev) != CTMSG_OK) {
		fail(cq, "unusable answer", EBADMSG);
		return;
	}
	cq->st.answers++;
	cq->fn(&ev, now, cq->arg);
}

/* Reads what the kernel answered so far. */
static void on_readable(evutil_socket_t fd, short what, void *arg)
{
	struct ctquery *cq = arg;
	unsigned reads;

	for (reads = 0; reads < CTQUERY_READS_PER_WAKEUP; reads++) {
		struct sockaddr_nl addr;
		struct iovec iov = { cq->buf, CTQUERY_BUF };
		struct msghdr msg = {
			.msg_name = &addr, .msg_namelen = sizeof(addr),
			.msg_iov = &iov, .msg_iovlen = 1,
		};
		const struct nlmsghdr *nlh;
		struct time_pair now;
		ssize_t n = recvmsg(fd, &msg, MSG_DONTWAIT);
		int rem;

		if (n < 0) {
			int err = errno;

			if (err != EAGAIN && err != EWOULDBLOCK && err != EINTR)
				fail(cq, "reading answers", err);	/* ENOBUFS: lost */
			if (err != EINTR && err != ENOBUFS)
				return;
			continue;
		}
		if ((msg.msg_flags & MSG_TRUNC) || addr.nl_pid != 0) {
			fail(cq, "answer truncated or not from the kernel", EBADMSG);
			continue;
		}
		ctsrc_now(&now);
		rem = (int)n;
		for (nlh = (const struct nlmsghdr *)cq->buf; ctmsg_walk_ok(nlh, rem);
		     nlh = mnl_nlmsg_next(nlh, &rem))
			answer(cq, nlh, rem, &now);
	}
}

struct ctquery *ctquery_open(struct event_base *base, ctquery_answer_fn fn,
			     ctquery_gone_fn gone_fn, void *arg, char *err,
			     size_t errlen)
{
	struct ctquery *cq = calloc(1, sizeof(*cq));
	int rcvbuf = CTQUERY_RCVBUF;

	if (!cq || !(cq->buf = malloc(CTQUERY_BUF)) ||
	    !(cq->pending = calloc(CTQUERY_PENDING, sizeof(*cq->pending)))) {
		snprintf(err, errlen, "conntrack query socket: out of memory");
		goto fail;
	}
	cq->fn = fn;
	cq->gone_fn = gone_fn;
	cq->arg = arg;
	cq->err_rate = (struct log_rate)LOG_RATE_INIT(10);
	cq->nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (!cq->nl || mnl_socket_bind(cq->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		snprintf(err, errlen, "conntrack query socket: %s", strerror(errno));
		goto fail;
	}
	if (setsockopt(mnl_socket_get_fd(cq->nl), SOL_SOCKET, SO_RCVBUFFORCE,
		       &rcvbuf, sizeof(rcvbuf)) < 0)
		(void)setsockopt(mnl_socket_get_fd(cq->nl), SOL_SOCKET,
				 SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	cq->ev = event_new(base, mnl_socket_get_fd(cq->nl), EV_READ | EV_PERSIST,
			   on_readable, cq);
	if (!cq->ev || event_add(cq->ev, NULL) < 0) {
		snprintf(err, errlen, "conntrack query socket: cannot watch it");
		goto fail;
	}
	return cq;
fail:
	ctquery_close(cq);
	return NULL;
}

size_t ctquery_send(struct ctquery *cq, const struct ct_query *q, size_t n)
{
	uint32_t out[CTQUERY_BATCH * CTQUERY_REQUEST_MAX / 4];
	size_t done = 0;

	while (done < n) {
		size_t len = 0, k;

		for (k = 0; k < CTQUERY_BATCH && done + k < n; k++) {
			uint32_t seq = ++cq->seq ? cq->seq : ++cq->seq;
			size_t i = seq & (CTQUERY_PENDING - 1);

			cq->pending[i].seq = seq;
			cq->pending[i].id = q[done + k].id;
			len += ctquery_encode((char *)out + len, &q[done + k], seq);
		}
		if (mnl_socket_sendto(cq->nl, out, len) < 0) {
			fail(cq, "sending requests", errno);
			break;
		}
		cq->st.sent += k;
		done += k;
	}
	return done;
}

const struct ctquery_stats *ctquery_stats(const struct ctquery *cq)
{
	return &cq->st;
}

void ctquery_close(struct ctquery *cq)
{
	if (!cq)
		return;
	if (cq->ev)
		event_free(cq->ev);
	if (cq->nl)
		mnl_socket_close(cq->nl);
	free(cq->buf);
	free(cq->pending);
	free(cq);
}
