/* Route lookup results cached by destination address, and the parser of
 * the kernel's answer to an RTM_GETROUTE query (pure: no sockets). The
 * route module does the netlink I/O around them. */
#ifndef NFFLOWD_ROUTECACHE_H
#define NFFLOWD_ROUTECACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Where the kernel sends packets for one destination. */
struct route_hop {
	uint32_t ifindex;	/* RTA_OIF, 0 when unknown */
	uint8_t gateway[16];	/* RTA_GATEWAY, network order, IPv4 in the
				 * first 4 bytes; zero when directly
				 * connected */
};

#define ROUTECACHE_DEFAULT_CAPACITY 4096

struct routecache;

/* A cache of capacity slots (rounded up to a power of two, at least 1 and
 * at most 2^24), direct-mapped: a new entry replaces whatever shared its
 * slot. seed keys the hash so that remote hosts cannot aim at one slot.
 * NULL when out of memory. */
struct routecache *routecache_new(size_t capacity, uint64_t seed);

void routecache_free(struct routecache *rc);

/* Number of slots. */
size_t routecache_capacity(const struct routecache *rc);

/* Number of valid entries (walks every slot: for tests and dumps). */
size_t routecache_count(const struct routecache *rc);

/* Looks up addr (family AF_INET: 4 bytes, AF_INET6: 16 bytes); true and
 * *out filled when cached. */
bool routecache_get(const struct routecache *rc, uint8_t family,
		    const uint8_t *addr, struct route_hop *out);

/* Stores the hop for addr, replacing the slot's previous entry. Families
 * other than AF_INET and AF_INET6 are not stored. */
void routecache_put(struct routecache *rc, uint8_t family,
		    const uint8_t *addr, const struct route_hop *hop);

/* Forgets every entry, in constant time. */
void routecache_flush(struct routecache *rc);

enum routecache_reply {
	ROUTECACHE_REPLY_ROUTE = 0,	/* *hop filled from an RTM_NEWROUTE */
	ROUTECACHE_REPLY_ERROR,		/* NLMSG_ERROR: *error = its positive
					 * errno (0 for a bare ack) */
	ROUTECACHE_REPLY_NONE,		/* no message with this seq: read on */
	ROUTECACHE_REPLY_MALFORMED,	/* bad framing, or the message with
					 * this seq is truncated or wrong */
};

/* Looks through one received datagram of len bytes (nothing in it
 * trusted) for the answer with sequence number seq to a query of family
 * (AF_INET or AF_INET6). Messages with other sequence numbers are
 * skipped. */
enum routecache_reply routecache_parse_reply(const void *buf, size_t len,
					     uint8_t family, uint32_t seq,
					     struct route_hop *hop,
					     int *error);

#endif
