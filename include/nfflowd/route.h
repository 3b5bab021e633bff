/* Interfaces and next hops of connections, from route lookups over
 * rtnetlink (libmnl), cached and invalidated when routes or links change.
 * Used when `interfaces` is on. */
#ifndef NFFLOWD_ROUTE_H
#define NFFLOWD_ROUTE_H

#include <stddef.h>
#include <stdint.h>

#include "nfflowd/types.h"

struct event_base;
struct route;

struct route_stats {
	uint64_t lookups;	/* addresses asked for */
	uint64_t hits;		/* answered from the cache */
	uint64_t queries;	/* RTM_GETROUTE requests sent to the kernel */
	uint64_t failures;	/* queries without an answer (0 filled in) */
	uint64_t flushes;	/* cache invalidations on route/link changes */
};

/* Opens the query socket and subscribes to route and link changes on
 * base. Returns NULL with err written on failure. */
struct route *route_new(struct event_base *base, char *err, size_t errlen);

/* Fills c->in_if, c->out_if, c->nexthop and c->rnexthop for the
 * connection c->ev: in_if and rnexthop from the route towards the
 * original source (the reverse path), out_if and nexthop from the route
 * towards the post-NAT destination (the reply tuple's source). A next hop
 * is the route's gateway, zero for a directly connected destination.
 * Unknown values stay 0. */
void route_fill(struct route *r, struct flow_conn *c);

const struct route_stats *route_stats(const struct route *r);

void route_free(struct route *r);

#endif
