/* Whether one address is configured on this host, followed through
 * rtnetlink address messages (pure): the role of a node in a firewall
 * pair, where the HA manager (keepalived) moves a virtual address to the
 * active node. */
#ifndef NFFLOWD_ADDRWATCH_H
#define NFFLOWD_ADDRWATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Interfaces that may hold the address at once (a misconfiguration can
 * put it on several; it stays present until the last one drops it). */
#define ADDRWATCH_MAX_IFS 8

struct addrwatch {
	uint8_t family;		/* AF_INET or AF_INET6 */
	uint8_t addr[16];	/* network order, IPv4 in the first 4 bytes */
	uint32_t ifs[ADDRWATCH_MAX_IFS];	/* indexes holding it */
	unsigned nifs;
	uint64_t malformed;	/* messages that could not be read */
};

/* Watches addr (network order, 4 or 16 bytes by family); not present. */
void addrwatch_init(struct addrwatch *w, uint8_t family, const void *addr);

/* Forgets where the address was (before a fresh dump of the addresses). */
void addrwatch_clear(struct addrwatch *w);

/* Applies every RTM_NEWADDR and RTM_DELADDR message of one received
 * datagram of len bytes (events or the answers to an RTM_GETADDR dump);
 * other messages are skipped, unreadable ones counted in malformed.
 * Returns how many messages were about the watched address. */
unsigned addrwatch_apply(struct addrwatch *w, const void *buf, size_t len);

/* True while some interface holds the address. */
bool addrwatch_present(const struct addrwatch *w);

#endif
