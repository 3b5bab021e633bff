/* The conntrack event source: one libmnl socket subscribed to NEW and
 * DESTROY events and read in bounded batches from the event loop, plus a
 * synchronous table dump on a second, short-lived socket. Errors at run time
 * are counted, never fatal (netlink overrun is routine). */
#include "nfflowd/ctsrc.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>

#include <linux/sock_diag.h>
#include <unistd.h>

#include <event2/event.h>
#include <libmnl/libmnl.h>
#include <libnetfilter_conntrack/libnetfilter_conntrack.h>

#include "nfflowd/clock.h"
#include "nfflowd/ctmsg.h"

/* The dump's receive buffer: the kernel builds dump datagrams of at most
 * 32 KiB, so 64 KiB never truncates one. */
#define CTSRC_BUF_SIZE (64 * 1024)
/* Events are read CTSRC_BATCH datagrams per recvmmsg() call, each into a
 * slot of its own. The kernel sends each event as its own datagram, sized
 * by ctnetlink_nlmsg_size(): a few hundred bytes plus the security context
 * and labels, well under 4 KiB. A slot of 16 KiB leaves room to spare;
 * a datagram that still does not fit is counted (MSG_TRUNC), as before.
 * Only the first page of a slot is touched by a normal event. */
#define CTSRC_BATCH 32
#define CTSRC_SLOT_SIZE (16 * 1024)
#define CTSRC_DEFAULT_PER_WAKEUP 4096u
/* A dump that gets no answer for this long is abandoned. */
#define CTSRC_DUMP_TIMEOUT_S 30
#define CTSRC_DRAIN_MAX (1u << 20)	/* messages read at a stop, at most */
/* Under load, waking up for every few events costs more than reading them:
 * after a wakeup that found at least CTSRC_PAUSE_MIN datagrams the socket
 * is left alone for CTSRC_PAUSE_US and then read on a timer, for as long as
 * each read finds that many; a quieter read goes back to waiting on the
 * socket. The queue must hold what arrives meanwhile, so this is done only
 * with a receive buffer of at least CTSRC_PAUSE_RCVBUF (as SO_RCVBUF
 * reports it): thousands of events, more than the kernel makes in 4 ms
 * (a flush of 250,000 entries runs at about 500 events per ms here).
 * Records carry the kernel's own times; reading 4 ms later changes none.
 * 4 ms rather than 1 ms: bench/e2e.sh measured 0.27-0.30 CPU s against
 * 0.31 for the same work, fewer wakeups, fuller recvmmsg batches. */
#define CTSRC_PAUSE_MIN 8u
#define CTSRC_PAUSE_US 4000
#define CTSRC_PAUSE_RCVBUF (8u << 20)

struct ctsrc {
	struct mnl_socket *nl;
	struct event *ev;
	struct event *pause_ev;	/* reads while ev is off, see CTSRC_PAUSE_MIN */
	bool paused;		/* ev is off and pause_ev runs the reading */
	struct nf_conntrack *scratch;
	char *buf;		/* dumps */
	char *ring;		/* events: CTSRC_BATCH slots */
	struct mmsghdr msgs[CTSRC_BATCH];
	struct iovec iov[CTSRC_BATCH];
	struct sockaddr_nl addrs[CTSRC_BATCH];
	unsigned max_per_wakeup;
	uint64_t last_read_ns;	/* boot clock of the latest batch */
	unsigned recent;	/* datagrams of wakeups less than a pause apart */
	uint32_t rcvbuf;
	uint32_t dump_seq;
	bool delivering;	/* buf is being walked; no dump into it now */
	bool kept;		/* the socket came from an earlier run */
	/* the asynchronous dump, when one runs */
	struct mnl_socket *adump;
	struct event *adump_ev;
	uint32_t adump_seq, adump_portid;
	uint64_t adump_before;
	ctsrc_dump_done_fn adump_done;
	void *adump_arg;
	ctsrc_event_fn on_event;
	ctsrc_overrun_fn on_overrun;
	void (*on_ids)(const uint32_t *ids, unsigned n, void *arg);
	uint32_t ids[CTSRC_BATCH];
	void *arg;
	struct ctsrc_stats st;
};

/* What one walk over a received datagram found. */
struct walk {
	unsigned messages;
	bool done;		/* NLMSG_DONE seen */
	int error;		/* errno from NLMSG_ERROR / NLMSG_DONE, or 0 */
};

/* Reads CLOCK_REALTIME between two reads of CLOCK_BOOTTIME and pairs it
 * with their midpoint. Such a pair anchors a v5 datagram's uptime to the
 * wall clock, so a pair split by being descheduled between two reads would
 * shift every record of that datagram on the collector: a pair whose boot
 * reads are over 100 us apart is read again, and the tightest of three is
 * kept. */
void ctsrc_now(struct time_pair *tp)
{
	uint64_t best = UINT64_MAX;

	for (int i = 0; i < 3 && best > 100000u; i++) {
		uint64_t b1 = clock_ns(CLOCK_BOOTTIME);
		uint64_t r = clock_ns(CLOCK_REALTIME);
		uint64_t b2 = clock_ns(CLOCK_BOOTTIME);

		if (b2 - b1 < best) {
			best = b2 - b1;
			tp->real_ns = r;
			tp->boot_ns = b1 + (b2 - b1) / 2;
		}
	}
}

/* Whether a received datagram may be walked: not truncated (counted as
 * an error) and sent by the kernel (any local process may unicast to our
 * port id; counted as malformed). */
static bool from_kernel(struct ctsrc *s, const struct msghdr *msg,
			const struct sockaddr_nl *addr)
{
	if (msg->msg_flags & MSG_TRUNC) {
		s->st.errors++;
		return false;
	}
	if (msg->msg_namelen != sizeof(*addr) || addr->nl_pid != 0) {
		s->st.malformed++;
		return false;
	}
	return true;
}

/* Receives one datagram into the dump buffer; returns its length, 0 for a
 * datagram that was dropped (see from_kernel), or -1 with errno. */
static ssize_t recv_kernel(struct ctsrc *s, int fd, int flags)
{
	struct sockaddr_nl addr;
	struct iovec iov = { s->buf, CTSRC_BUF_SIZE };
	struct msghdr msg = {
		.msg_name = &addr,
		.msg_namelen = sizeof(addr),
		.msg_iov = &iov,
		.msg_iovlen = 1,
	};
	ssize_t n;

	n = recvmsg(fd, &msg, flags);
	if (n < 0)
		return -1;
	return from_kernel(s, &msg, &addr) ? n : 0;
}

/* Reads the errno carried by an NLMSG_ERROR or NLMSG_DONE message. */
static int nl_status(const struct nlmsghdr *nlh)
{
	int code;

	if (nlh->nlmsg_len < NLMSG_HDRLEN + sizeof(code))
		return 0;
	memcpy(&code, mnl_nlmsg_get_payload(nlh), sizeof(code));
	return code < 0 ? -code : 0;
}

/* Parses one ctnetlink message and delivers it if it is an event for us. */
static void handle_ct(struct ctsrc *s, const struct nlmsghdr *nlh, int rem,
		      const struct time_pair *now, bool dump)
{
	struct ct_event ev;

	switch (ctmsg_parse(nlh, (size_t)rem, s->scratch, &ev)) {
	case CTMSG_MALFORMED:
		s->st.malformed++;
		return;
	case CTMSG_IGNORED:
		s->st.ignored++;
		return;
	case CTMSG_OK:
		break;
	}
	if (ev.type == CT_EVENT_NEW)
		s->st.ev_new++;
	else if (ev.type == CT_EVENT_DESTROY)
		s->st.ev_destroy++;
	else
		s->st.ev_other++;
	if (dump)
		s->st.dumped++;
	s->on_event(&ev, now, dump, s->arg);
}

/* Walks the messages of one datagram in buf. For a dump (seq != 0) only
 * answers to our request count, and DONE/ERROR end or fail it. */
static void walk_buf(struct ctsrc *s, const char *buf, size_t len,
		     const struct time_pair *now, uint32_t seq, uint32_t portid,
		     struct walk *w)
{
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;
	int rem = (int)len;
	bool dump = seq != 0;

	s->delivering = true;
	while (ctmsg_walk_ok(nlh, rem)) {
		w->messages++;
		s->st.messages++;
		if (dump && (!mnl_nlmsg_seq_ok(nlh, seq) ||
			     !mnl_nlmsg_portid_ok(nlh, portid))) {
			s->st.ignored++;	/* left over from an older dump */
		} else if (nlh->nlmsg_type == NLMSG_NOOP) {
			/* nothing */
		} else if (nlh->nlmsg_type == NLMSG_DONE) {
			w->done = true;
			w->error = nl_status(nlh);
			break;
		} else if (nlh->nlmsg_type == NLMSG_ERROR) {
			int e = nl_status(nlh);

			if (e != 0) {
				s->st.errors++;
				if (dump)
					w->error = e;
			}
		} else if (nlh->nlmsg_type < NLMSG_MIN_TYPE) {
			s->st.ignored++;	/* NLMSG_OVERRUN and reserved */
		} else {
			handle_ct(s, nlh, rem, now, dump);
		}
		nlh = mnl_nlmsg_next(nlh, &rem);
	}
	if (!w->done && rem > 0)
		s->st.malformed++;	/* trailing bytes that are no message */
	s->delivering = false;
}

/* Receives up to want event datagrams into the ring with one system
 * call; returns how many, or -1 with errno. */
static int recv_batch(struct ctsrc *s, unsigned want)
{
	unsigned i;

	for (i = 0; i < want; i++) {
		/* in-out fields; the rest was set up once in ctsrc_open */
		s->msgs[i].msg_hdr.msg_namelen = sizeof(s->addrs[i]);
		s->msgs[i].msg_hdr.msg_flags = 0;
		s->msgs[i].msg_len = 0;
	}
	return recvmmsg(mnl_socket_get_fd(s->nl), s->msgs, want, MSG_DONTWAIT,
			NULL);
}

/* Hands the ids of the batch's events (one per datagram: the kernel sends
 * each event alone) to on_ids before they are walked. */
static void hint_ids(struct ctsrc *s, int n)
{
	unsigned k = 0;
	int i;

	for (i = 0; i < n; i++)
		if (ctmsg_peek_id((const struct nlmsghdr *)
				  s->msgs[i].msg_hdr.msg_iov->iov_base,
				  s->msgs[i].msg_len, &s->ids[k]))
			k++;
	if (k > 0)
		s->on_ids(s->ids, k, s->arg);
}

/* Reads and delivers up to max messages, in batches of datagrams with one
 * clock reading each (records have millisecond resolution). Returns true
 * if it stopped because the socket had nothing more to read. A short batch
 * means the queue ran dry (or an error is pending, which the kernel reports
 * on the next call and which makes the socket readable again), so unless
 * until_empty is set it ends the wakeup without one more empty read. */
static bool read_events(struct ctsrc *s, unsigned max, bool until_empty,
			unsigned *datagrams)
{
	unsigned count = 0;

	*datagrams = 0;

	while (count < max) {
		struct time_pair now;
		unsigned want = max - count < CTSRC_BATCH ? max - count
							  : CTSRC_BATCH;
		int i, n = recv_batch(s, want);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return true;
			if (errno == ENOBUFS) {
				/* the kernel dropped events for us: the
				 * socket stays usable, keep reading */
				s->st.overruns++;
				if (s->on_overrun)
					s->on_overrun(s->arg);
				count++;
				continue;
			}
			s->st.errors++;
			return true;
		}
		ctsrc_now(&now);
		s->last_read_ns = now.boot_ns;
		*datagrams += (unsigned)n;
		if (s->on_ids != NULL)
			hint_ids(s, n);
		for (i = 0; i < n; i++) {
			struct walk w = { 0 };
			const struct mmsghdr *m = &s->msgs[i];

			if (from_kernel(s, &m->msg_hdr, &s->addrs[i]))
				walk_buf(s, m->msg_hdr.msg_iov->iov_base,
					 m->msg_len, &now, 0, 0, &w);
			count += w.messages ? w.messages : 1;
		}
		if ((unsigned)n < want && !until_empty)
			return true;
	}
	return false;
}

/* One read pass from the event loop: up to max_per_wakeup messages. Then
 * decides how to wait for the next: on the socket, or (busy) on the pause
 * timer. When the cap stopped the pass, the next comes as soon as the loop
 * has served the others. Wakeups less than a pause apart add up: a steady
 * stream that wakes us for one or two events at a time is busy too. */
static void read_pass(struct ctsrc *s)
{
	static const struct timeval later = { 0, CTSRC_PAUSE_US };
	static const struct timeval now = { 0, 0 };
	uint64_t before = s->last_read_ns;
	unsigned datagrams;
	bool empty = read_events(s, s->max_per_wakeup, false, &datagrams);
	bool busy;

	if (datagrams == 0)
		s->recent = 0;	/* a quiet read: no time was read either */
	else if (s->last_read_ns - before < CTSRC_PAUSE_US * 1000u)
		s->recent += datagrams;
	else
		s->recent = datagrams;
	busy = !empty || (s->recent >= CTSRC_PAUSE_MIN &&
			  s->rcvbuf >= CTSRC_PAUSE_RCVBUF);

	if (busy && !s->paused) {
		if (!empty || event_del(s->ev) < 0)
			return;	/* the socket stays readable: called again */
		s->paused = true;
	}
	if (busy) {
		if (evtimer_add(s->pause_ev, empty ? &later : &now) == 0)
			return;
	} else if (!s->paused) {
		return;
	}
	/* quiet again, or the timer failed: back to the socket; should that
	 * fail too, keep polling rather than never read again */
	if (event_add(s->ev, NULL) == 0) {
		s->paused = false;
		return;
	}
	s->st.errors++;
	evtimer_add(s->pause_ev, &later);
}

/* libevent callback: the socket is readable. */
static void on_readable(evutil_socket_t fd, short what, void *arg)
{
	struct ctsrc *s = arg;

	if (what & EV_READ)
		read_pass(s);
}

/* libevent callback: the pause is over, read what came meanwhile. */
static void on_pause(evutil_socket_t fd, short what, void *arg)
{
	read_pass(arg);
}

/* Delivers what the kernel has queued for us, e.g. before a clean stop.
 * Bounded so that a busy firewall cannot keep us here for ever. */
void ctsrc_drain(struct ctsrc *s)
{
	unsigned datagrams;

	read_events(s, CTSRC_DRAIN_MAX, true, &datagrams);
}

/* Writes a message with strerror(e) into err. */
static void set_err(char *err, size_t errlen, const char *what, int e)
{
	if (err && errlen)
		snprintf(err, errlen, "%s: %s", what, strerror(e));
}

/* Sets the receive buffer (forced if we may) and records what the kernel
 * granted; SO_RCVBUF reports the doubled value the kernel accounts with. */
static int set_rcvbuf(struct ctsrc *s, int fd, uint32_t want)
{
	int granted = 0;
	socklen_t glen = sizeof(granted);

	if (want > 0) {
		int v = want > INT_MAX ? INT_MAX : (int)want;

		if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &v, sizeof(v)) < 0) {
			if (errno != EPERM)
				return -1;
			/* without CAP_NET_ADMIN: capped by rmem_max */
			if (setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v,
				       sizeof(v)) < 0)
				return -1;
		}
	}
	if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &granted, &glen) < 0)
		return -1;
	s->rcvbuf = granted > 0 ? (uint32_t)granted : 0;
	return 0;
}

/* Whether a kept descriptor is what we stored: a conntrack netlink
 * socket. Anything else is closed and a new socket opened. */
static bool usable_kept(int fd)
{
	int v = 0;
	socklen_t len = sizeof(v);

	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &v, &len) < 0 || v != AF_NETLINK)
		return false;
	len = sizeof(v);
	if (getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &v, &len) < 0 ||
	    v != NETLINK_NETFILTER)
		return false;
	(void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
	return true;
}

/* Joins the NEW and DESTROY groups on a kept socket (already bound; a
 * group it is in already is joined again harmlessly). */
static int subscribe(int fd)
{
	static const int groups[] = { NFNLGRP_CONNTRACK_NEW,
				      NFNLGRP_CONNTRACK_DESTROY };
	size_t i;

	for (i = 0; i < sizeof(groups) / sizeof(groups[0]); i++)
		if (setsockopt(fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP,
			       &groups[i], sizeof(groups[i])) < 0)
			return -1;
	return 0;
}

/* Opens and subscribes the event socket and registers it with base. */
struct ctsrc *ctsrc_open(struct event_base *base, const struct ctsrc_opts *o,
			 ctsrc_event_fn on_event, ctsrc_overrun_fn on_overrun,
			 void *arg, char *err, size_t errlen)
{
	struct ctsrc *s;
	unsigned i;
	int fd, one = 1;

	if (!base || !o || !on_event) {
		set_err(err, errlen, "ctsrc_open", EINVAL);
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		set_err(err, errlen, "ctsrc_open", ENOMEM);
		return NULL;
	}
	s->on_event = on_event;
	s->on_overrun = on_overrun;
	s->on_ids = o->on_ids;
	s->arg = arg;
	s->max_per_wakeup = o->max_per_wakeup ? o->max_per_wakeup
					      : CTSRC_DEFAULT_PER_WAKEUP;
	s->buf = malloc(CTSRC_BUF_SIZE);
	s->ring = malloc((size_t)CTSRC_BATCH * CTSRC_SLOT_SIZE);
	s->scratch = nfct_new();
	if (!s->buf || !s->ring || !s->scratch) {
		set_err(err, errlen, "ctsrc_open", ENOMEM);
		goto fail;
	}
	for (i = 0; i < CTSRC_BATCH; i++) {
		s->iov[i].iov_base = s->ring + (size_t)i * CTSRC_SLOT_SIZE;
		s->iov[i].iov_len = CTSRC_SLOT_SIZE;
		s->msgs[i].msg_hdr.msg_name = &s->addrs[i];
		s->msgs[i].msg_hdr.msg_iov = &s->iov[i];
		s->msgs[i].msg_hdr.msg_iovlen = 1;
	}
	if (o->fd >= 0 && usable_kept(o->fd)) {
		s->nl = mnl_socket_fdopen(o->fd);
		s->kept = s->nl != NULL;
	} else if (o->fd >= 0) {
		close(o->fd);
	}
	if (!s->nl)
		s->nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (!s->nl) {
		set_err(err, errlen, "cannot open the conntrack netlink socket",
			errno);
		goto fail;
	}
	fd = mnl_socket_get_fd(s->nl);
	if (set_rcvbuf(s, fd, o->rcvbuf) < 0) {
		set_err(err, errlen, "cannot set the netlink receive buffer",
			errno);
		goto fail;
	}
	if (o->reliable &&
	    (mnl_socket_setsockopt(s->nl, NETLINK_BROADCAST_ERROR, &one,
				   sizeof(one)) < 0 ||
	     mnl_socket_setsockopt(s->nl, NETLINK_NO_ENOBUFS, &one,
				   sizeof(one)) < 0)) {
		set_err(err, errlen, "cannot ask for reliable conntrack events",
			errno);
		goto fail;
	}
	if (s->kept ? subscribe(fd) < 0 :
	    mnl_socket_bind(s->nl, NF_NETLINK_CONNTRACK_NEW |
			    NF_NETLINK_CONNTRACK_DESTROY, MNL_SOCKET_AUTOPID) < 0) {
		set_err(err, errlen, "cannot subscribe to conntrack events",
			errno);
		goto fail;
	}
	s->ev = event_new(base, fd, EV_READ | EV_PERSIST, on_readable, s);
	s->pause_ev = evtimer_new(base, on_pause, s);
	if (!s->ev || !s->pause_ev || event_add(s->ev, NULL) < 0) {
		set_err(err, errlen, "cannot watch the conntrack socket", ENOMEM);
		goto fail;
	}
	return s;
fail:
	ctsrc_close(s);
	return NULL;
}

/* Sends the dump request for all entries on nl with sequence seq. */
static int send_dump_request(struct mnl_socket *nl, uint32_t seq)
{
	uint32_t req[64];	/* aligned room for nlmsghdr + nfgenmsg */
	struct nlmsghdr *nlh;
	struct nfgenmsg *nfg;

	memset(req, 0, sizeof(req));
	nlh = mnl_nlmsg_put_header(req);
	nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_GET;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = seq;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = AF_UNSPEC;	/* IPv4 and IPv6 */
	nfg->version = NFNETLINK_V0;
	nfg->res_id = 0;
	return mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0 ? -1 : 0;
}

/* One dump attempt; returns 0, or an errno (ENOBUFS means: try again). */
static int dump_once(struct ctsrc *s, char *err, size_t errlen)
{
	struct timeval tmo = { CTSRC_DUMP_TIMEOUT_S, 0 };
	struct mnl_socket *nl;
	uint32_t seq, portid;
	int fd, rc = 0;

	nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
	if (!nl) {
		rc = errno;
		set_err(err, errlen, "cannot open the conntrack dump socket", rc);
		return rc;
	}
	fd = mnl_socket_get_fd(nl);
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tmo, sizeof(tmo)) < 0 ||
	    mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		rc = errno;
		set_err(err, errlen, "cannot set up the conntrack dump socket", rc);
		goto out;
	}
	portid = mnl_socket_get_portid(nl);
	seq = ++s->dump_seq ? s->dump_seq : ++s->dump_seq;	/* never 0 */
	if (send_dump_request(nl, seq) < 0) {
		rc = errno;
		set_err(err, errlen, "cannot request the conntrack table", rc);
		goto out;
	}
	for (;;) {
		struct time_pair now;
		struct walk w = { 0 };
		ssize_t n = recv_kernel(s, fd, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = errno == EAGAIN || errno == EWOULDBLOCK ? ETIMEDOUT
								     : errno;
			set_err(err, errlen, "reading the conntrack table", rc);
			goto out;
		}
		ctsrc_now(&now);
		walk_buf(s, s->buf, (size_t)n, &now, seq, portid, &w);
		if (w.error) {
			rc = w.error;
			set_err(err, errlen, "conntrack table dump failed", rc);
			goto out;
		}
		if (w.done)
			break;
	}
out:
	mnl_socket_close(nl);
	return rc;
}

/* Dumps the conntrack table (both families); an overrun of the dump socket (ENOBUFS)
 * restarts it once, re-delivering what the first attempt had delivered. */
long ctsrc_dump(struct ctsrc *s, char *err, size_t errlen)
{
	uint64_t before;
	int rc, attempt;

	if (!s || s->delivering || s->adump) {
		/* the buffer is being walked by the caller's caller */
		set_err(err, errlen, "ctsrc_dump from an event callback or during a dump",
			EBUSY);
		return -1;
	}
	for (attempt = 0; attempt < 2; attempt++) {
		before = s->st.dumped;
		rc = dump_once(s, err, errlen);
		if (rc == 0)
			return (long)(s->st.dumped - before);
		if (rc != ENOBUFS)
			break;
		s->st.errors++;	/* overruns counts the event socket only */
	}
	return -1;
}

long ctsrc_dump_with(struct ctsrc *s, ctsrc_event_fn fn, void *arg, char *err,
		     size_t errlen)
{
	ctsrc_event_fn keep_fn = s->on_event;
	void *keep_arg = s->arg;
	long n;

	s->on_event = fn;
	s->arg = arg;
	n = ctsrc_dump(s, err, errlen);
	s->on_event = keep_fn;
	s->arg = keep_arg;
	return n;
}

/* Ends the asynchronous dump: closes its socket, then reports. */
static void adump_finish(struct ctsrc *s, int rc, const char *err)
{
	ctsrc_dump_done_fn done = s->adump_done;
	long n = (long)(s->st.dumped - s->adump_before);

	ctsrc_dump_cancel(s);
	if (done)
		done(rc == 0 ? n : -1, err, s->adump_arg);
}

/* One slice of the asynchronous dump: datagrams until the socket is empty
 * or CTSRC_SLICE_MS have passed; the event stays armed for the rest. */
static void on_adump(evutil_socket_t fd, short what, void *arg)
{
	struct ctsrc *s = arg;
	uint64_t until = clock_ns(CLOCK_MONOTONIC) + CTSRC_SLICE_MS * 1000000ull;
	char err[160];

	if (what & EV_TIMEOUT) {
		set_err(err, sizeof(err), "reading the conntrack table", ETIMEDOUT);
		adump_finish(s, ETIMEDOUT, err);
		return;
	}
	do {
		struct time_pair now;
		struct walk w = { 0 };
		ssize_t n = recv_kernel(s, fd, MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				return;
			set_err(err, sizeof(err), "reading the conntrack table", errno);
			adump_finish(s, errno, err);
			return;
		}
		ctsrc_now(&now);
		walk_buf(s, s->buf, (size_t)n, &now, s->adump_seq, s->adump_portid, &w);
		if (w.error || w.done) {
			if (w.error)
				set_err(err, sizeof(err), "conntrack table dump failed",
					w.error);
			adump_finish(s, w.error, w.error ? err : NULL);
			return;
		}
	} while (clock_ns(CLOCK_MONOTONIC) < until);
}

int ctsrc_dump_start(struct ctsrc *s, ctsrc_dump_done_fn done, void *arg,
		     char *err, size_t errlen)
{
	struct timeval tmo = { CTSRC_DUMP_TIMEOUT_S, 0 };
	struct event_base *base = event_get_base(s->ev);
	int fd;

	if (s->adump) {
		set_err(err, errlen, "a table dump is running", EBUSY);
		return -1;
	}
	s->adump = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (!s->adump) {
		set_err(err, errlen, "cannot open the conntrack dump socket", errno);
		return -1;
	}
	fd = mnl_socket_get_fd(s->adump);
	s->adump_seq = ++s->dump_seq ? s->dump_seq : ++s->dump_seq;
	if (mnl_socket_bind(s->adump, 0, MNL_SOCKET_AUTOPID) < 0 ||
	    send_dump_request(s->adump, s->adump_seq) < 0) {
		set_err(err, errlen, "cannot request the conntrack table", errno);
		ctsrc_dump_cancel(s);
		return -1;
	}
	s->adump_portid = mnl_socket_get_portid(s->adump);
	s->adump_before = s->st.dumped;
	s->adump_done = done;
	s->adump_arg = arg;
	/* the timeout restarts at every slice: 30 s without a datagram */
	s->adump_ev = event_new(base, fd, EV_READ | EV_PERSIST, on_adump, s);
	if (!s->adump_ev || event_add(s->adump_ev, &tmo) < 0) {
		set_err(err, errlen, "cannot watch the conntrack dump socket", ENOMEM);
		ctsrc_dump_cancel(s);
		return -1;
	}
	return 0;
}

void ctsrc_dump_cancel(struct ctsrc *s)
{
	if (s->adump_ev)
		event_free(s->adump_ev);
	s->adump_ev = NULL;
	if (s->adump)
		mnl_socket_close(s->adump);
	s->adump = NULL;
	s->adump_done = NULL;
}

int ctsrc_fd(const struct ctsrc *s)
{
	return mnl_socket_get_fd(s->nl);
}

bool ctsrc_kept(const struct ctsrc *s)
{
	return s->kept;
}

uint32_t ctsrc_drops(const struct ctsrc *s)
{
	uint32_t mem[SK_MEMINFO_VARS];
	socklen_t len = sizeof(mem);

	memset(mem, 0, sizeof(mem));
	if (getsockopt(mnl_socket_get_fd(s->nl), SOL_SOCKET, SO_MEMINFO, mem,
		       &len) < 0 || len <= SK_MEMINFO_DROPS * sizeof(uint32_t))
		return 0;
	return mem[SK_MEMINFO_DROPS];
}

/* The counters so far. */
const struct ctsrc_stats *ctsrc_stats(const struct ctsrc *s)
{
	return &s->st;
}

/* The receive buffer size the kernel reported after ctsrc_open. */
uint32_t ctsrc_rcvbuf(const struct ctsrc *s)
{
	return s->rcvbuf;
}

/* Unregisters and frees everything; NULL is fine. */
void ctsrc_close(struct ctsrc *s)
{
	if (!s)
		return;
	ctsrc_dump_cancel(s);
	if (s->ev)
		event_free(s->ev);
	if (s->pause_ev)
		event_free(s->pause_ev);
	if (s->nl)
		mnl_socket_close(s->nl);
	if (s->scratch)
		nfct_destroy(s->scratch);
	free(s->buf);
	free(s->ring);
	free(s);
}
