/* Reads the counters of chosen conntrack entries now (IPCTNL_MSG_CT_GET by
 * original tuple) for the active timeout: requests go out in batches on a
 * socket of their own, answers come back through the event loop. */
#ifndef NFFLOWD_CTQUERY_H
#define NFFLOWD_CTQUERY_H

#include <stddef.h>
#include <stdint.h>

#include "nfflowd/types.h"

struct event_base;
struct ctquery;

struct ctquery_stats {
	uint64_t sent;		/* requests sent */
	uint64_t answers;	/* entries reported back */
	uint64_t gone;		/* ENOENT: the entry ended meanwhile */
	uint64_t errors;	/* send errors, other error answers, bad input */
};

/* Called for each answer: an UPDATE event with the entry's counters. */
typedef void (*ctquery_answer_fn)(const struct ct_event *ev,
				  const struct time_pair *now, void *arg);

/* Called when the kernel answers that the entry asked for (by id) does
 * not exist (ENOENT). */
typedef void (*ctquery_gone_fn)(uint32_t id, void *arg);

/* Opens the socket and watches it on base. NULL with err on failure. */
struct ctquery *ctquery_open(struct event_base *base, ctquery_answer_fn fn,
			     ctquery_gone_fn gone_fn, void *arg, char *err,
			     size_t errlen);

/* Encodes the request for one entry into buf (at least
 * CTQUERY_REQUEST_MAX bytes). Returns its length (pure). */
#define CTQUERY_REQUEST_MAX 256
size_t ctquery_encode(void *buf, const struct ct_query *q, uint32_t seq);

/* Sends requests for n entries, many per datagram. Returns how many went
 * out (fewer when the socket is full; the rest can be asked again later). */
size_t ctquery_send(struct ctquery *cq, const struct ct_query *q, size_t n);

const struct ctquery_stats *ctquery_stats(const struct ctquery *cq);
void ctquery_close(struct ctquery *cq);

#endif
