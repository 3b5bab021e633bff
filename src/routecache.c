/* Route lookup results cached by destination address, and the parser of
 * the kernel's RTM_GETROUTE answers.
 *
 * The cache is direct-mapped: one slot per hash value, a new entry simply
 * replaces the old one. Flushing bumps a generation number instead of
 * clearing the slots, so the flush that follows every route or link change
 * costs nothing however large the cache. The hash is keyed with a seed so
 * that addresses chosen by remote hosts cannot all land in one slot; a
 * collision only costs an extra kernel query, never a wrong answer, since
 * the whole key is compared. */
#include "nfflowd/routecache.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#define CAPACITY_MAX ((size_t)1 << 24)

struct slot {
	uint32_t gen;		/* valid when equal to the cache's gen */
	uint8_t family;
	uint8_t addr[16];
	struct route_hop hop;
};

struct routecache {
	struct slot *slots;
	size_t mask;
	uint32_t gen;		/* never 0: slot gen 0 means empty */
	uint64_t seed;
};

/* Bytes of an address of family, 0 for a family the cache does not hold. */
static size_t addr_len(uint8_t family)
{
	if (family == AF_INET)
		return 4;
	if (family == AF_INET6)
		return 16;
	return 0;
}

struct routecache *routecache_new(size_t capacity, uint64_t seed)
{
	struct routecache *rc;
	size_t n = 1;

	if (capacity > CAPACITY_MAX)
		capacity = CAPACITY_MAX;
	while (n < capacity)
		n <<= 1;
	rc = calloc(1, sizeof(*rc));
	if (!rc)
		return NULL;
	rc->slots = calloc(n, sizeof(*rc->slots));
	if (!rc->slots) {
		free(rc);
		return NULL;
	}
	rc->mask = n - 1;
	rc->gen = 1;
	rc->seed = seed;
	return rc;
}

void routecache_free(struct routecache *rc)
{
	if (!rc)
		return;
	free(rc->slots);
	free(rc);
}

size_t routecache_capacity(const struct routecache *rc)
{
	return rc->mask + 1;
}

size_t routecache_count(const struct routecache *rc)
{
	size_t i, n = 0;

	for (i = 0; i <= rc->mask; i++)
		if (rc->slots[i].gen == rc->gen)
			n++;
	return n;
}

/* Mixes a 64-bit value (the finaliser of splitmix64). */
static uint64_t mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= UINT64_C(0xbf58476d1ce4e5b9);
	x ^= x >> 27;
	x *= UINT64_C(0x94d049bb133111eb);
	x ^= x >> 31;
	return x;
}

/* The slot of an address of alen bytes. */
static struct slot *slot_of(const struct routecache *rc, uint8_t family,
			    const uint8_t *addr, size_t alen)
{
	uint64_t h = rc->seed ^ family;
	size_t i;

	for (i = 0; i < alen; i += 4) {
		uint32_t w;

		memcpy(&w, addr + i, 4);
		h = mix64(h ^ w);
	}
	return &rc->slots[h & rc->mask];
}

bool routecache_get(const struct routecache *rc, uint8_t family,
		    const uint8_t *addr, struct route_hop *out)
{
	size_t alen = addr_len(family);
	const struct slot *s;

	if (!alen)
		return false;
	s = slot_of(rc, family, addr, alen);
	if (s->gen != rc->gen || s->family != family ||
	    memcmp(s->addr, addr, alen) != 0)
		return false;
	*out = s->hop;
	return true;
}

void routecache_put(struct routecache *rc, uint8_t family,
		    const uint8_t *addr, const struct route_hop *hop)
{
	size_t alen = addr_len(family);
	struct slot *s;

	if (!alen)
		return;
	s = slot_of(rc, family, addr, alen);
	memset(s, 0, sizeof(*s));
	s->gen = rc->gen;
	s->family = family;
	memcpy(s->addr, addr, alen);
	s->hop = *hop;
}

void routecache_flush(struct routecache *rc)
{
	/* After 2^32 - 1 flushes old slots could match again: clear them. */
	if (++rc->gen == 0) {
		memset(rc->slots, 0, (rc->mask + 1) * sizeof(*rc->slots));
		rc->gen = 1;
	}
}

/* Reads the attributes of an RTM_NEWROUTE payload (after struct rtmsg) of
 * len bytes into *hop; false when an attribute is cut short or the
 * gateway's length does not fit the family. */
static bool parse_route_attrs(const uint8_t *p, size_t len, size_t alen,
			      struct route_hop *hop)
{
	while (len >= sizeof(struct nlattr)) {
		struct nlattr a;
		size_t step;

		memcpy(&a, p, sizeof(a));
		if (a.nla_len < sizeof(a) || a.nla_len > len)
			return false;
		switch (a.nla_type & NLA_TYPE_MASK) {
		case RTA_OIF:
			if (a.nla_len != NLA_HDRLEN + sizeof(uint32_t))
				return false;
			memcpy(&hop->ifindex, p + NLA_HDRLEN, sizeof(uint32_t));
			break;
		case RTA_GATEWAY:
			if (a.nla_len != NLA_HDRLEN + alen)
				return false;
			memset(hop->gateway, 0, sizeof(hop->gateway));
			memcpy(hop->gateway, p + NLA_HDRLEN, alen);
			break;
		default:
			break;	/* RTA_DST, RTA_PREFSRC, RTA_TABLE, ... */
		}
		step = NLA_ALIGN(a.nla_len);
		if (step >= len)
			break;
		p += step;
		len -= step;
	}
	return true;
}

/* Parses one RTM_NEWROUTE message of len bytes (header included). */
static enum routecache_reply parse_route(const uint8_t *msg, size_t len,
					 uint8_t family,
					 struct route_hop *hop)
{
	const size_t off = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(struct rtmsg));
	struct rtmsg rtm;
	struct route_hop h;

	if (len < NLMSG_HDRLEN + sizeof(rtm))
		return ROUTECACHE_REPLY_MALFORMED;
	memcpy(&rtm, msg + NLMSG_HDRLEN, sizeof(rtm));
	if (rtm.rtm_family != family)
		return ROUTECACHE_REPLY_MALFORMED;
	memset(&h, 0, sizeof(h));
	if (len > off &&
	    !parse_route_attrs(msg + off, len - off, addr_len(family), &h))
		return ROUTECACHE_REPLY_MALFORMED;
	*hop = h;
	return ROUTECACHE_REPLY_ROUTE;
}

enum routecache_reply routecache_parse_reply(const void *buf, size_t len,
					     uint8_t family, uint32_t seq,
					     struct route_hop *hop,
					     int *error)
{
	const uint8_t *p = buf;

	if (!addr_len(family))
		return ROUTECACHE_REPLY_MALFORMED;
	while (len >= NLMSG_HDRLEN) {
		struct nlmsghdr nh;
		size_t step;

		memcpy(&nh, p, sizeof(nh));
		if (nh.nlmsg_len < NLMSG_HDRLEN || nh.nlmsg_len > len)
			return ROUTECACHE_REPLY_MALFORMED;
		if (nh.nlmsg_seq == seq) {
			if (nh.nlmsg_type == RTM_NEWROUTE)
				return parse_route(p, nh.nlmsg_len, family, hop);
			if (nh.nlmsg_type == NLMSG_ERROR) {
				struct nlmsgerr e;

				if (nh.nlmsg_len < NLMSG_HDRLEN + sizeof(int))
					return ROUTECACHE_REPLY_MALFORMED;
				memcpy(&e.error, p + NLMSG_HDRLEN, sizeof(int));
				/* The kernel sends -errno; anything else is
				 * not an error report. */
				if (e.error > 0 || e.error < -4095)
					return ROUTECACHE_REPLY_MALFORMED;
				*error = -e.error;
				return ROUTECACHE_REPLY_ERROR;
			}
		}
		step = ((size_t)nh.nlmsg_len + NLMSG_ALIGNTO - 1) &
		       ~(size_t)(NLMSG_ALIGNTO - 1);
		if (step >= len)
			break;
		p += step;
		len -= step;
	}
	return ROUTECACHE_REPLY_NONE;
}
