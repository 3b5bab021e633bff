/* The node's role in a firewall pair from an address the HA manager moves
 * (`active_when_address`): a rtnetlink socket subscribed to address
 * events, with a dump of the addresses at start and after lost events. */
#ifndef NFFLOWD_ROLE_H
#define NFFLOWD_ROLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct role;

/* Called when the address comes (present) or goes. */
typedef void (*role_change_fn)(bool present, void *arg);

struct role_stats {
	uint64_t events;	/* address messages about the address */
	uint64_t overruns;	/* lost events (ENOBUFS): addresses dumped again */
	uint64_t malformed;
};

/* Watches addr (network order, by family) on base: reads the addresses
 * configured now, then follows their changes. Returns NULL with err
 * written when the socket cannot be set up or the first dump fails. */
struct role *role_new(struct event_base *base, uint8_t family,
		      const void *addr, role_change_fn fn, void *arg,
		      char *err, size_t errlen);

/* True while the address is configured on this host. */
bool role_present(const struct role *r);

const struct role_stats *role_stats(const struct role *r);

void role_free(struct role *r);

#endif
