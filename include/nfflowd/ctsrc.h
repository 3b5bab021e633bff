/* The conntrack event source: a libmnl netlink socket subscribed to NEW and
 * DESTROY events, batch reads, the initial table dump, overrun accounting. */
#ifndef NFFLOWD_CTSRC_H
#define NFFLOWD_CTSRC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nfflowd/types.h"

struct event_base;
struct ctsrc;

struct ctsrc_stats {
	uint64_t messages;	/* netlink messages read */
	uint64_t ev_new;	/* CT_EVENT_NEW delivered */
	uint64_t ev_destroy;	/* CT_EVENT_DESTROY delivered */
	uint64_t ev_other;	/* other parsed messages delivered */
	uint64_t ignored;	/* not TCP/UDP/ICMP(v6) over IPv4/IPv6 */
	uint64_t malformed;	/* dropped, not trusted */
	uint64_t overruns;	/* ENOBUFS on the event socket */
	uint64_t dumped;	/* entries delivered by dumps */
	uint64_t errors;	/* other recv errors, NLMSG_ERROR, truncation */
};

struct ctsrc_opts {
	uint32_t rcvbuf;	/* bytes for SO_RCVBUFFORCE, 0 = kernel default */
	bool reliable;		/* NETLINK_BROADCAST_ERROR + NETLINK_NO_ENOBUFS */
	unsigned max_per_wakeup;	/* messages per callback, 0 = default */
	int fd;			/* an event socket kept from an earlier run
				 * (systemd's fd store), or -1 for a new one */
	/* Optional: called with the conntrack ids of each batch of received
	 * events before they are parsed and delivered (ctmsg_peek_id), so
	 * that what they will look up can be fetched meanwhile. */
	void (*on_ids)(const uint32_t *ids, unsigned n, void *arg);
};

/* Called for every parsed event. now is when its batch was read;
 * from_dump is true for entries of a table dump. */
typedef void (*ctsrc_event_fn)(const struct ct_event *ev,
			       const struct time_pair *now, bool from_dump,
			       void *arg);
/* Called after an overrun (ENOBUFS): events were lost. */
typedef void (*ctsrc_overrun_fn)(void *arg);

/* Opens and subscribes the event socket and registers it with base.
 * Returns NULL and writes err on failure. */
struct ctsrc *ctsrc_open(struct event_base *base, const struct ctsrc_opts *o,
			 ctsrc_event_fn on_event, ctsrc_overrun_fn on_overrun,
			 void *arg, char *err, size_t errlen);

/* Dumps the current conntrack table (IPv4 and IPv6) synchronously on a separate
 * socket, delivering each entry with from_dump = true. Returns the number
 * of entries or -1 (err written). */
long ctsrc_dump(struct ctsrc *s, char *err, size_t errlen);

/* ctsrc_dump, delivering each entry to fn instead of the event callback. */
long ctsrc_dump_with(struct ctsrc *s, ctsrc_event_fn fn, void *arg, char *err,
		     size_t errlen);

/* Called when an asynchronous dump ends: n entries delivered, or n < 0
 * with err. */
typedef void (*ctsrc_dump_done_fn)(long n, const char *err, void *arg);

/* Starts a dump that runs in the event loop, in slices of at most
 * CTSRC_SLICE_MS each (a table of a million entries must not stall the
 * loop), delivering entries like ctsrc_dump; done is called at its end.
 * Returns 0, or -1 with err when it cannot start (one already runs). */
#define CTSRC_SLICE_MS 50
int ctsrc_dump_start(struct ctsrc *s, ctsrc_dump_done_fn done, void *arg,
		     char *err, size_t errlen);

/* Abandons a running asynchronous dump (done is not called). */
void ctsrc_dump_cancel(struct ctsrc *s);

/* The event socket, e.g. to hand it to systemd's fd store. */
int ctsrc_fd(const struct ctsrc *s);

/* True when the event socket came from an earlier run. */
bool ctsrc_kept(const struct ctsrc *s);

/* Event messages the kernel dropped for the event socket so far
 * (SO_MEMINFO's drop count; with reliable delivery there is no ENOBUFS to
 * tell of them). */
uint32_t ctsrc_drops(const struct ctsrc *s);

/* Reads and delivers every event already queued on the socket (bounded),
 * so that a clean stop exports connections that ended just before it. */
void ctsrc_drain(struct ctsrc *s);

const struct ctsrc_stats *ctsrc_stats(const struct ctsrc *s);
/* The receive buffer size the kernel granted (SO_RCVBUF, which the kernel
 * reports doubled for its bookkeeping), for the caller to log. */
uint32_t ctsrc_rcvbuf(const struct ctsrc *s);
void ctsrc_close(struct ctsrc *s);

/* Reads CLOCK_REALTIME and CLOCK_BOOTTIME back to back. */
void ctsrc_now(struct time_pair *tp);

#endif
